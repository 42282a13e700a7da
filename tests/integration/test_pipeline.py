from pathlib import Path

import cv2
import numpy as np
import pytest

import personseg
from personseg import pipeline
from personseg.image import load_image, load_mask
from personseg.metrics import foreground_iou


def test_segmenter_on_a_real_portrait(segmenter, portrait):
    rgb, mask = portrait
    r = segmenter(rgb)
    assert r.mask.shape == mask.shape and r.mask.dtype == np.uint8 and set(np.unique(r.mask)) <= {0, 255}
    assert r.alpha.dtype == np.float32 and 0 <= r.alpha.min() and r.alpha.max() <= 1
    assert r.keypoints.shape == (17, 3) and r.keypoints[:, 2].max() > 0.5
    assert foreground_iou(r.mask, mask) > 0.85
    assert np.array_equal(r.mask > 0, r.alpha >= 0.5)


def test_matting_refinement_keeps_a_soft_edge(segmenter, portrait):
    r = segmenter(portrait[0])
    soft = (r.alpha > 0.05) & (r.alpha < 0.95)
    assert 0 < soft.mean() < 0.1


def test_full_body_photo(segmenter, single_person):
    rgb, mask, _ = single_person
    assert foreground_iou(segmenter(rgb).mask, mask) > 0.7


def test_nobody_gives_an_empty_mask(segmenter):
    from skimage import data

    r = segmenter(data.coffee())
    assert not r.mask.any() and r.people == [] and r.keypoints[:, 2].max() == 0


def test_public_api(portrait, data_dir):
    assert "classical" in personseg.METHODS
    r = personseg.segment(data_dir / "eg1800/images/00002.jpg", matting=None)
    assert foreground_iou(r.mask, portrait[1]) > 0.8
    with pytest.raises(personseg.PersonsegError, match="unknown method"):
        personseg.Segmenter(method="magic")
    with pytest.raises(personseg.PersonsegError, match="unknown matting"):
        personseg.Segmenter(method="fast", matting="magic")
    with pytest.raises(personseg.PersonsegError):
        personseg.segment(b"not an image")


def test_without_matting_a_photo_s_person_is_opaque_not_their_probability(data_dir):
    r = personseg.Segmenter("fast", matting=None)(data_dir / "pennfudan/images/FudanPed00001.jpg")
    inside = r.alpha[r.mask > 0]
    assert (inside < 0.9).mean() < 0.25   # the probability itself: 0.56 of the walkers under 0.9, see-through
    assert np.array_equal(r.alpha >= 0.5, r.mask > 0)


def test_require_person_empties_a_photo_of_nobody_and_keeps_a_portrait(data_dir, portrait):
    """no_people's 000000024577: without the person check most of it is marked; with require_person nothing,
    and no people."""
    seg = personseg.Segmenter(matting=None, require_person=True, person_check=False)
    plain = personseg.Segmenter(matting=None, person_check=False)(data_dir / "no_people/images/000000024577.jpg")
    r = seg(data_dir / "no_people/images/000000024577.jpg")
    assert plain.mask.mean() > 0.1 * 255 and not r.mask.any() and r.people == []
    assert foreground_iou(seg(portrait[0]).mask, portrait[1]) > 0.85
    fast = personseg.Segmenter("fast", matting=None, require_person=True)
    assert fast.pose is not None and not fast.find_people   # the pose backend for the check alone
    assert np.array_equal(fast(portrait[0]).mask, personseg.Segmenter("fast", matting=None)(portrait[0]).mask)
    with pytest.raises(personseg.PersonsegError, match="require_person"):
        personseg.Segmenter("fast", require_person=True, keypoints=False)


def test_the_person_check_empties_a_photo_of_doughnuts_and_leaves_a_portrait(data_dir, portrait):
    """no_people's 000000024577 (doughnuts): BlazePose places nobody, the networks mark three quarters of it, and
    the region check takes none of that for a person; on a portrait, where BlazePose places the person, the
    check does not run and the mask is the same."""
    doughnuts = data_dir / "no_people/images/000000024577.jpg"
    checked, plain = personseg.Segmenter(matting=None), personseg.Segmenter(matting=None, person_check=False)
    assert plain(doughnuts).mask.mean() > 0.5 * 255
    r = checked(doughnuts)
    assert not r.mask.any() and not r.alpha.any() and r.people == [] and "person check" in r.timings
    kept = checked(portrait[0])
    assert np.array_equal(kept.mask, plain(portrait[0]).mask) and "person check" not in kept.timings
    with pytest.raises(personseg.PersonsegError, match="person_check"):
        personseg.Segmenter(person_check="yes")


def test_subject_main_keeps_the_person_found_and_all_keeps_the_other(data_dir):
    """pennfudan FudanPed00009: two pedestrians, BlazePose finds one; the other is confirmed on its crop."""
    photo = data_dir / "pennfudan/images/FudanPed00009.jpg"
    everyone = personseg.Segmenter(matting=None)(photo).mask > 0
    main = personseg.Segmenter(matting=None, subject="main")(photo).mask > 0
    assert main.sum() < 0.75 * everyone.sum() and not (main & ~everyone).sum() > 0.05 * main.sum()
    fast = personseg.Segmenter("fast", matting=None, subject="main")   # the pose backend for the choice alone
    street = data_dir / "pennfudan/images/FudanPed00016.jpg"   # fast's mask holds its people apart
    fast_all = personseg.Segmenter("fast", matting=None)(street).mask > 0
    fast_main = fast(street)
    assert fast.pose is not None and not fast.find_people and fast_main.keypoints[:, 2].max() > 0
    assert 0 < (fast_main.mask > 0).sum() < 0.75 * fast_all.sum() and not ((fast_main.mask > 0) & ~fast_all).any()
    with pytest.raises(personseg.PersonsegError, match="subject 'main' needs keypoints"):
        personseg.Segmenter("fast", subject="main", keypoints=False)
    with pytest.raises(personseg.PersonsegError, match="unknown subject"):
        personseg.Segmenter(subject="me")
    with pytest.raises(personseg.PersonsegError, match="choose one"):
        personseg.Segmenter(subject="main", instances=True)


def test_a_walker_beside_the_one_blazepose_found_is_kept_when_the_region_check_takes_them(data_dir):
    """pennfudan FudanPed00071 (train): two women walking, BlazePose places the left one; finishing for her alone
    (her outline joined) dropped the other, whom the pose backend did not find on her crop (IoU 0.43). The region
    check takes her for a person: she is put back."""
    photo = data_dir / "pennfudan/images/FudanPed00071.jpg"
    r = personseg.Segmenter(matting=None)(photo)
    assert len(r.people) == 1
    assert foreground_iou(r.mask, load_mask(data_dir / "pennfudan/masks/FudanPed00071.png")) > 0.75


def test_subject_main_is_the_most_prominent_person(data_dir):
    """FudanPed00025: BlazePose places a woman at the side of the street; the one walking in front, three times her
    size, is found with the girl painted out and taken instead (instances.PROMINENT)."""
    mask = personseg.Segmenter(matting=None, subject="main")(data_dir / "pennfudan/images/FudanPed00025.jpg").mask
    assert foreground_iou(mask, load_mask(data_dir / "pennfudan/instance_masks/FudanPed00025_0.png")) > 0.8


def test_subject_main_keeps_the_largest_region_where_nobody_is_placed(data_dir):
    """Two walkers apart (FudanPed00071) and a pose backend that places nobody: the person check keeps both, and
    `main` kept both too ("nothing to go by"); now the larger alone."""
    class Nobody:
        name = "nobody"

        def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
            return []

    photo = data_dir / "pennfudan/images/FudanPed00071.jpg"
    areas = {subject: sorted(cv2.connectedComponentsWithStats(
        personseg.Segmenter(matting=None, pose=Nobody(), subject=subject)(photo).mask)[2][1:, 4])
        for subject in ("all", "main")}
    assert len(areas["all"]) == 2 and areas["main"] == areas["all"][-1:]


def test_given_people_are_segmented_without_looking_for_others(data_dir, pose_mini, monkeypatch):
    """pose_mini 000000197388, one labelled person given: the regions of the others are not checked."""
    entry = next(e for e in pose_mini["images"] if e["image"].endswith("000000197388.jpg"))
    kp = np.array(entry["instances"][0]["keypoints"], np.float32).reshape(17, 3)
    kp[:, 2] = (kp[:, 2] > 0).astype(np.float32)
    calls = []
    monkeypatch.setattr(pipeline, "person_in", lambda *a, **k: calls.append(a) or True)
    personseg.Segmenter(matting=None)(data_dir / "pose_mini" / entry["image"], people=[kp])
    assert calls == []



def test_the_mask_of_given_people_is_theirs_alone(data_dir, pose_mini, portrait):
    """Given keypoints, the default mask holds exactly those people: a person made up on an empty corner of a
    portrait gets nothing (the portrait's woman, whose keypoints were not given, was the whole mask), and the
    people of a group photo (five skiers) are each framed on their own, as found ones are with instances (one frame
    around them all lost the small ones: the union's IoU was 0.779 here, 0.807 now)."""
    rgb, _ = portrait
    corner = np.array([[530 + (i % 3) * 15, 20 + i * 10, 2] for i in range(17)], np.float32)
    assert personseg.Segmenter(matting=None)(rgb, people=[corner]).mask.max() == 0
    entry = next(e for e in pose_mini["images"] if e["image"].endswith("000000197388.jpg"))
    people = [np.array(i["keypoints"], np.float32).reshape(17, 3) for i in entry["instances"]]
    truth = np.logical_or.reduce([load_mask(data_dir / "pose_mini" / i["instance_mask"]) > 0
                                  for i in entry["instances"]])
    union = personseg.Segmenter(matting=None)(data_dir / "pose_mini" / entry["image"], people=people).mask > 0
    apart = personseg.Segmenter(matting=None, instances=True)(data_dir / "pose_mini" / entry["image"], people=people)
    assert foreground_iou(union, truth) > 0.795 and np.array_equal(union, apart.mask > 0)


#: The keypoints BlazePose placed on a woman walking side-on (pennfudan FudanPed00036, the search for everyone):
#: her shoulders 0.4 px apart, her hips 2 px.
SIDE_ON = [[880.3, 147.5, 1], [877.6, 141.4, 1], [876.9, 142.1, 1], [869.2, 141.3, 1], [869.6, 141.7, 1],
           [857.0, 164.2, 1], [857.3, 164.5, 1], [841.9, 204.2, 0.1], [841.5, 206.5, 1], [831.6, 234.0, 0.1],
           [816.8, 240.8, 1], [861.6, 245.6, 1], [861.7, 247.6, 1], [853.1, 305.8, 0.8], [886.7, 303.4, 1],
           [818.5, 357.8, 1], [905.1, 364.3, 1]]


def test_a_person_given_side_on_is_cut_out(data_dir):
    """Her mask was empty: a body scale of 4.6 px (her face's) drew her priors as a thread, and the person model's
    map of her was nothing (pose.keypoints.TORSO_SCALE, priors.body.TORSO_WIDTH)."""
    mask = personseg.Segmenter(matting=None)(data_dir / "pennfudan/images/FudanPed00036.jpg", people=[SIDE_ON]).mask
    assert foreground_iou(mask, load_mask(data_dir / "pennfudan/instance_masks/FudanPed00036_1.png")) > 0.75


def test_one_person_given_of_several_is_cut_out_alone(data_dir, pose_mini):
    """pose_mini 000000040083, two men under an umbrella, each given alone: the mask held the umbrella, the street
    and the other man (IoU 0.087 and 0.089 with the one given); the person model's map of the one given now weighs
    half (pipeline.GIVEN_MAP_WEIGHT)."""
    entry = next(e for e in pose_mini["images"] if e["image"].endswith("000000040083.jpg"))
    seg = personseg.Segmenter(matting=None)
    for person in entry["instances"][:2]:
        kp = np.array(person["keypoints"], np.float32).reshape(17, 3)
        mask = seg(data_dir / "pose_mini" / entry["image"], people=[kp]).mask > 0
        assert foreground_iou(mask, load_mask(data_dir / "pose_mini" / person["instance_mask"]) > 0) > 0.5


def test_only_photos_searched_for_everyone_look_beyond_the_people_and_put_regions_back(monkeypatch, portrait):
    rgb, _ = portrait
    scene, made = pipeline.Scene, []
    monkeypatch.setattr(pipeline, "Scene", lambda *a, **k: made.append((k["beyond"], k["put_back"])) or scene(*a, **k))

    def flags(image=rgb, people=None, **options):
        made.clear()
        personseg.Segmenter(matting=None, **options)(image, people=people)
        return made[0]

    assert flags() == (True, True)
    assert flags(person_check=False) == (True, False)
    assert flags(method="fast", keypoints=True) == (True, True)
    assert flags(method="fast") == (False, False)                      # the pose backend does not look
    assert flags(method="fast", require_person=True) == (False, False)  # it looks after the method, for that alone
    assert flags(subject="main") == (False, False)
    assert flags(instances=True) == (False, False)
    placed = pipeline.Segmenter(matting=None)(rgb).people
    assert placed and flags(people=[placed[0]]) == (False, False)       # given people are exactly who is cut


def _side_by_side(data_dir, names: list[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Penn-Fudan photos scaled to 400 px high, side by side: the panorama, its mask, where each photo starts."""
    import cv2

    rgbs, masks = [], []
    for name in names:
        rgb = load_image(data_dir / f"pennfudan/images/{name}.jpg")
        mask = load_mask(data_dir / f"pennfudan/masks/{name}.png")
        size = (round(rgb.shape[1] * 400 / rgb.shape[0]), 400)
        rgbs.append(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
        masks.append(cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST))
    return np.hstack(rgbs), np.hstack(masks), list(np.cumsum([0] + [r.shape[1] for r in rgbs]))


def test_a_panorama_is_segmented_across_its_width(data_dir):
    """Three Penn-Fudan photos side by side (400 px high, 1347 wide): letterboxed whole into the networks' frame
    and squashed into the selfie model's, every person but one was lost (accurate IoU 0.21, two of the photos
    0.0); seen through tiles, each photo keeps its people. Five side by side (2237 wide): BlazePose, given the
    whole of it, found nobody (0.40); searching it tile by tile finds them."""
    pano, truth, edges = _side_by_side(data_dir, ["FudanPed00009", "FudanPed00011", "FudanPed00012"])
    accurate = personseg.Segmenter()
    mask = accurate(pano).mask
    assert foreground_iou(mask, truth) > 0.65
    assert all(foreground_iou(mask[:, a:b], truth[:, a:b]) > 0.5 for a, b in zip(edges, edges[1:]))
    assert foreground_iou(personseg.Segmenter(method="fast")(pano).mask, truth) > 0.6
    pano, truth, _ = _side_by_side(data_dir, [f"FudanPed000{k}" for k in (12, 14, 16, 17, 19)])
    assert foreground_iou(accurate(pano).mask, truth) > 0.6


def test_a_network_file_alone_replaces_the_one_network_a_method_runs():
    from personseg.errors import PersonsegError
    from personseg.models.registry import spec

    mine = spec("sinet").onnx_path
    assert personseg.Segmenter("fast", models=str(mine)).models == {"sinet": mine}
    with pytest.raises(PersonsegError, match="runs sinet, lwpsn, refine; say which it replaces"):
        personseg.Segmenter("accurate", models=mine)
    with pytest.raises(PersonsegError, match="a mapping of model name to file"):
        personseg.Segmenter("fast", models=["x.onnx"])


def test_a_person_model_of_your_own_splits_the_people_of_photos(data_dir, tmp_path):
    """`--model lwpsn-person=FILE` with --instances was refused ("method 'accurate' runs sinet, lwpsn, refine; it has
    no model lwpsn-person to replace"), though the person model runs there; video runs none, so it refuses it."""
    import shutil

    from personseg import runtime
    from personseg.errors import PersonsegError
    from personseg.instances import PERSON_MODEL
    from personseg.models.registry import spec
    from personseg.video.stream import VideoSegmenter

    mine = tmp_path / "mine.onnx"
    shutil.copy(spec(PERSON_MODEL).onnx_path, mine)
    seg = personseg.Segmenter("fast", instances=True, models={PERSON_MODEL: mine})
    assert len(seg(load_image(data_dir / "pennfudan/images/FudanPed00012.jpg")).instances) >= 2
    assert any(Path(key[2]) == mine for key in runtime._SESSIONS)
    with pytest.raises(PersonsegError, match="it has no model lwpsn-person to replace"):
        VideoSegmenter("fast", models={PERSON_MODEL: mine})
    with pytest.raises(PersonsegError, match="runs no network"):
        personseg.Segmenter("classical", models={PERSON_MODEL: mine})


def test_a_1_bit_photo_is_segmented_and_its_cut_out_keeps_its_own_pixels(data_dir):
    from PIL import Image

    photo = data_dir / "eg1800/images/00002.jpg"
    dots = np.asarray(Image.open(photo).convert("1").convert("RGB"))
    result = personseg.Segmenter("accurate", matting=None)(dots)
    truth = load_mask(data_dir / "eg1800/masks/00002.png") > 0
    assert foreground_iou(result.mask > 0, truth) > 0.8   # 0.0: nobody found in the dots before
    assert result.rgb is dots or np.array_equal(result.rgb, dots)
