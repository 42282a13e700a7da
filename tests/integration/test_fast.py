import hashlib

import cv2
import numpy as np
import pytest

from personseg import PersonsegError, Segmenter
from personseg.image import load_image, load_mask
from personseg.metrics import foreground_iou
from personseg.models.registry import spec


@pytest.mark.parametrize("name", ["sinet", "lwpsn", "pose-unet", "refine"])
def test_shipped_models_match_their_cards(name):
    model = spec(name)
    card = model.card()
    data = model.onnx_path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == card["sha256"] and len(data) == card["bytes"]
    assert card["input"]["size_wh"] == list(model.size) and len(card["input"]["mean"]) == model.channels
    assert set(card["scores"]) >= {"eg1800_test", "ccp_test", "pose_mini_union", "parkour_frames"}
    if name == "sinet":
        assert card["parameters"] < 100_000


def test_weights_folder_stays_small():
    assert sum(f.stat().st_size for f in spec("sinet").onnx_path.parent.iterdir()) < 30 * 2**20


@pytest.fixture(scope="module")
def fast():
    return Segmenter(method="fast", matting=None)


@pytest.mark.parametrize("method", ["fast", "pose-unet", "accurate"])
def test_network_methods_segment_real_test_portraits(method, data_dir):
    seg = Segmenter(method=method, matting=None)
    ious, chance = [], []
    for ident in ("00002", "00005", "00008", "00011"):
        rgb = load_image(data_dir / f"eg1800/images/{ident}.jpg")
        gt = load_mask(data_dir / f"eg1800/masks/{ident}.png")
        r = seg(rgb)
        assert r.mask.shape == rgb.shape[:2] and r.alpha.dtype == np.float32
        ious.append(foreground_iou(r.mask, gt))
        chance.append(foreground_iou(np.full_like(gt, 255), gt))
    # Calling everything foreground scores the foreground share; the models must do far better.
    assert np.mean(ious) > 0.85 and np.mean(ious) > np.mean(chance) + 0.15


def test_fast_runs_pose_only_when_asked(fast, portrait):
    assert fast(portrait[0]).people == []
    with_kp = Segmenter(method="fast", matting=None, keypoints=True)(portrait[0])
    assert with_kp.keypoints[:, 2].max() > 0.5
    with pytest.raises(PersonsegError, match="needs keypoints"):
        Segmenter(method="classical", keypoints=False)


def test_keypoints_frame_a_small_person_for_the_network(data_dir):
    """A wide shot: framed by its keypoints, the network sees the runner at full resolution and finds far
    more of them than on the whole letterboxed frame."""
    from personseg.framing import whole_frame
    from personseg.framing import people_box
    from personseg.runtime import network_probability
    from personseg.pose import get_backend

    iou_whole, iou_framed = [], []
    for stem in ("00010", "00050", "00090"):
        rgb = load_image(data_dir / f"video/parkour/images/{stem}.jpg")
        gt = load_mask(data_dir / f"video/parkour/masks/{stem}.png")
        box = people_box(get_backend().detect(rgb), rgb.shape[0])
        assert box is not None
        iou_framed.append(foreground_iou(network_probability(rgb, "sinet", box=box) >= 0.5, gt))
        iou_whole.append(foreground_iou(network_probability(rgb, "sinet", box=whole_frame(rgb.shape, 0.75)) >= 0.5, gt))
    assert np.mean(iou_framed) > 0.6 and np.mean(iou_framed) > np.mean(iou_whole) + 0.2


def test_a_portrait_framed_on_keypoints_keeps_the_body_below_them(portrait, data_dir):
    """No ankles seen (a portrait): the body goes on below the shoulders, so the box reaches the bottom edge;
    a runner seen whole keeps a box that ends below their feet."""
    from personseg.framing import keypoint_box
    from personseg.pose import get_backend

    pose = get_backend()
    rgb = portrait[0]
    (kp,) = pose.detect(rgb)
    assert keypoint_box(kp)[3] < rgb.shape[0] - 50 and keypoint_box(kp, rgb.shape[0])[3] >= rgb.shape[0]
    runner = load_image(data_dir / "video/parkour/images/00010.jpg")
    (kp,) = pose.detect(runner)
    assert keypoint_box(kp, runner.shape[0]) == keypoint_box(kp) and keypoint_box(kp)[3] < runner.shape[0]


def test_accurate_segments_a_small_full_body_person(data_dir):
    seg = Segmenter(method="accurate", matting=None)
    ious = [foreground_iou(seg(load_image(data_dir / f"video/parkour/images/{stem}.jpg")).mask,
                           load_mask(data_dir / f"video/parkour/masks/{stem}.png")) for stem in ("00010", "00050", "00090")]
    assert np.mean(ious) > 0.7


def test_sessions_take_each_models_thread_count_unless_the_caller_sets_one():
    from personseg.runtime import session, threads

    assert session(spec("region-check")).get_session_options().intra_op_num_threads == 1
    assert session(spec("sinet")).get_session_options().intra_op_num_threads == 0   # onnxruntime's default
    with threads(1):
        assert session(spec("sinet")).get_session_options().intra_op_num_threads == 1
    options = session(spec("lwpsn")).get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert options.get_session_config_entry("session.force_spinning_stop") == "1"


@pytest.mark.parametrize("box", [(100.0, 120.0, 180.0, 260.0),     # inside the image
                                 (-30.0, -20.0, 60.0, 150.0),      # past the top left corner
                                 (500.0, 250.0, 640.0, 400.0)])    # to the bottom edge and past the right one
def test_a_zoomed_pass_keeps_what_the_whole_image_shows_beyond_its_crop(box):
    from personseg.framing import frame_box, on_pixels
    from personseg.runtime import foreground_probability, network_probability

    rgb = np.random.default_rng(0).integers(0, 255, (400, 600, 3), np.uint8)
    zoomed = network_probability(rgb, "sinet", box=box)
    joined = network_probability(rgb, "sinet", box=box, beyond=True)
    whole = foreground_probability(rgb, "sinet")
    x0, y0, x1, y1 = (int(v) for v in on_pixels(frame_box(box, spec("sinet").aspect)))
    inside = np.zeros(rgb.shape[:2], bool)
    inside[max(y0, 0):y1, max(x0, 0):x1] = True
    assert 0 < inside.mean() < 0.5
    assert not zoomed[~inside].any()
    np.testing.assert_array_equal(joined[inside], zoomed[inside])
    np.testing.assert_array_equal(joined[~inside], whole[~inside])


@pytest.mark.parametrize("stem", ["000000018770",    # seen whole
                                  "000000039480"])   # a small person: a second pass zoomed on them
def test_fast_makes_its_map_at_the_mattings_working_size(stem, data_dir):
    """Without the pose backend `fast` pastes the network's map at the matting's working size, not at the photo's
    (then shrunk): the same map, on a landscape photo seen whole or zoomed on a small person; the mask and alpha
    are still the photo's size, also for a photo smaller than the working size."""
    from personseg.framing import binary_mask
    from personseg.metrics import foreground_iou
    from personseg.refine.matting import MATTING_SIDE, working_size
    from personseg.runtime import network_probability

    rgb = load_image(data_dir / f"coco_single/images/{stem}.jpg")
    size = working_size(rgb.shape, MATTING_SIDE)
    small = network_probability(rgb, "sinet", size=size)
    full = network_probability(rgb, "sinet")
    assert small.shape == (size[1], size[0])
    shrunk = cv2.resize(full, size, interpolation=cv2.INTER_AREA)
    assert np.abs(small - shrunk).mean() < 0.0015 and foreground_iou(binary_mask(small), binary_mask(shrunk)) > 0.99
    for image in (rgb, cv2.resize(rgb, (300, 200), interpolation=cv2.INTER_AREA)):
        r = Segmenter("fast")(image)
        assert r.mask.shape == r.alpha.shape == image.shape[:2] and r.mask.any()


def test_a_segmenter_call_makes_the_photos_half_once_for_the_crop_and_the_matting(data_dir, monkeypatch):
    """The 600x800 photo's 300x400 half, made for the network's crop, is the matting's working image: one halving
    a call, not two (docs/speed.md)."""
    from personseg import framing

    stem = (data_dir / "eg1800/test.txt").read_text().split()[0]
    rgb = load_image(data_dir / "eg1800/images" / f"{stem}.jpg")
    halvings = []
    resize = framing.cv2.resize

    def counted(image, size, *args, **kwargs):
        halvings.append(image.shape[:2] == (800, 600) and tuple(size) == (300, 400))   # (the call's own copy)
        return resize(image, size, *args, **kwargs)

    monkeypatch.setattr(framing.cv2, "resize", counted)   # the same cv2 module the matting calls
    alpha = Segmenter("fast")(rgb).alpha
    assert rgb.shape[:2] == (800, 600) and sum(halvings) == 1 and alpha.shape == (800, 600)
