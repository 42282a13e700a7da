import json
import re

import cv2
import numpy as np
import pytest
from pycocotools import mask as rle

from personseg.cli import main
from personseg.image import load_image, load_mask
from personseg.instances import find_people, group_pixels, person_in
from personseg.metrics import InstanceMatch
from personseg.outputs import save_outputs
from personseg.result import Instance, Result
from personseg.pose import get_backend


def _entry(data_dir, pose_mini, name):
    e = next(e for e in pose_mini["images"] if e["image"].endswith(name))
    root = data_dir / "pose_mini"
    kps = []
    for inst in e["instances"]:
        kp = np.array(inst["keypoints"], np.float32).reshape(17, 3)
        kp[:, 2] = (kp[:, 2] > 0).astype(np.float32)
        kps.append(kp)
    return (load_image(root / e["image"]), load_mask(root / e["mask"]),
            [load_mask(root / i["instance_mask"]) for i in e["instances"]], kps)


def test_grouping_splits_the_mask_among_people(data_dir, pose_mini):
    """Three people (one too small for keypoints): true keypoints and union mask in, one mask each out."""
    rgb, union, truth, kps = _entry(data_dir, pose_mini, "000000040083.jpg")
    masks = group_pixels(rgb, union, [kp for kp in kps if kp[:, 2].sum() >= 3])
    match = InstanceMatch()
    match.add(masks, truth)
    s = match.summary()
    assert (s["found"], s["spurious"]) == (3, 0)
    assert s["matched_iou"] > 0.85
    assert np.array_equal(np.maximum.reduce(masks), union)   # a split: nothing lost, nothing added


def test_the_person_model_separates_overlapping_people(data_dir):
    """Two EG1800 test portraits, one pasted in front of the other (train/overlaps.py): the shipped person
    model's maps split the union into both people."""
    from personseg.instances import person_maps
    from personseg.train.overlaps import overlap_scene

    pose = get_backend()
    sides = []
    for name in ("00002", "00005"):
        rgb = load_image(data_dir / f"eg1800/images/{name}.jpg")
        sides.append((rgb, load_mask(data_dir / f"eg1800/masks/{name}.png"), pose.detect(rgb)[0]))
    rng = np.random.default_rng(0)
    scene = None
    while scene is None:
        scene = overlap_scene(rng, *sides)
    rgb, truth, people = scene
    union = np.maximum.reduce(truth)
    by_model = group_pixels(rgb, union, people, maps=person_maps(rgb, people))
    match = InstanceMatch()
    match.add(by_model, truth)
    s = match.summary()
    assert (s["found"], s["spurious"]) == (2, 0) and s["matched_iou"] > 0.85
    assert np.array_equal(np.maximum.reduce(by_model), union)


def test_people_are_found_beyond_the_first(data_dir, pose_mini):
    """Five skiers: the single-person pose backend alone finds one; painting out and crops find more."""
    rgb, union, _, truth_kps = _entry(data_dir, pose_mini, "000000197388.jpg")
    pose = get_backend()
    assert len(pose.detect(rgb)) == 1
    people = find_people(rgb, union, pose)
    assert len(people) >= 3
    # each found pose lies on a labelled person: its confident points mostly inside the union mask
    for kp in people:
        pts = kp[kp[:, 2] >= 0.3, :2].astype(int)
        inside = union[np.clip(pts[:, 1], 0, union.shape[0] - 1), np.clip(pts[:, 0], 0, union.shape[1] - 1)] > 0
        assert inside.mean() >= 0.5


def test_instance_outputs_round_trip(data_dir, pose_mini, tmp_path):
    rgb, union, truth, kps = _entry(data_dir, pose_mini, "000000040083.jpg")
    insts = [Instance(m, kp, 0.9) for m, kp in zip(truth, kps)]
    r = Result(mask=union, alpha=(union / 255).astype(np.float32), keypoints=kps[0], people=kps, rgb=rgb,
               instances=sorted(insts, key=lambda i: -i.area))
    written = save_outputs(r, tmp_path, "photo", ("mask",))
    names = sorted(p.name for p in written)
    assert names == ["photo.instances.json", "photo.mask.png", "photo.person-1.mask.png", "photo.person-2.mask.png",
                     "photo.person-3.mask.png"]
    data = json.loads((tmp_path / "photo.instances.json").read_text())
    assert [p["id"] for p in data["people"]] == [1, 2, 3]
    for p, inst in zip(data["people"], r.instances):
        seg = {"size": p["segmentation"]["size"], "counts": p["segmentation"]["counts"].encode()}
        assert np.array_equal(rle.decode(seg) > 0, inst.mask > 0)
        assert np.array_equal(load_mask(tmp_path / f"photo.person-{p['id']}.mask.png"), inst.mask)
        assert p["bbox"] == list(inst.box) and p["area"] == inst.area
    areas = [p["area"] for p in data["people"]]
    assert areas == sorted(areas, reverse=True)


@pytest.mark.parametrize("method", ["fast"])
def test_cli_instances(data_dir, tmp_path, method):
    img = data_dir / "pose_mini/images/coco_000000040083.jpg"
    assert main(["segment", str(img), "--out", str(tmp_path), "--method", method, "--instances", "--matting", "none",
                 "--save", "mask", "--quiet"]) == 0
    data = json.loads((tmp_path / "coco_000000040083.instances.json").read_text())
    assert len(data["people"]) >= 1
    union = load_mask(tmp_path / "coco_000000040083.mask.png") > 0
    for p in data["people"]:
        m = load_mask(tmp_path / f"coco_000000040083.person-{p['id']}.mask.png") > 0
        assert not (m & ~union).any()


def test_cli_scores_people(data_dir, tmp_path, capsys):
    out = tmp_path / "people.json"
    assert main(["eval", "--people", str(data_dir / "pose_mini/annotations.json"), "--method", "fast",
                 "--matting", "none", "--limit", "2", "--quiet", "--json", str(out)]) == 0
    s = json.loads(out.read_text())
    assert s["images"] == 2 and s["people"] == 4
    assert s["found"] + s["missed"] == s["people"] and s["found"] >= 1


def test_people_scored_against_annotates_own_coco_file_match_it_exactly(data_dir, tmp_path, capsys):
    """annotate's COCO file (RLE masks) read back by eval --people: the same method (and --min-area) finds itself,
    every person matched at IoU 1; and coco_people's crowds are read from a COCO file as from its own layout."""
    from personseg.evaluate import instance_sets, true_mask

    photos = tmp_path / "photos"
    ids = ["000000005001", "000000017627"]   # a crowd, and several people
    for i in ids:
        photos.mkdir(exist_ok=True)
        (photos / f"{i}.jpg").write_bytes((data_dir / f"coco_people/images/{i}.jpg").read_bytes())
    ann = tmp_path / "ann.json"
    assert main(["annotate", str(photos), "--out", str(ann), "--method", "fast", "--matting",
                 "none", "--quiet", "--min-area", "3000"]) == 0
    out = tmp_path / "scores.json"
    assert main(["eval", "--people", str(tmp_path / "ann.json"), "--images", str(photos), "--method", "fast",
                 "--matting", "none", "--quiet", "--json", str(out), "--min-area", "3000"]) == 0
    s = json.loads(out.read_text())
    assert s["images"] == 2 and s["people"] >= 2 and s["found"] == s["people"] and s["spurious"] == 0
    assert s["matched_iou"] == 1.0
    assert [name for name, _ in s["per_image"]] == [f"{i}.jpg" for i in ids]   # each image's counts, in order
    assert sum(c["found"] for _, c in s["per_image"]) == s["found"] and all(not c["missed"] for _, c in s["per_image"])
    # coco_people's own layout, written as a COCO file with run lengths: the same true masks and crowds
    own = {e[0]: e for e in instance_sets(data_dir / "coco_people/annotations.json") if e[0] in ids}
    images, annotations = [], []
    for n, i in enumerate(ids, start=1):
        images.append({"id": n, "file_name": f"{i}.jpg"})
        for crowd, path in [(0, p) for p in own[i][2]] + [(1, p) for p in own[i][3]]:
            encoded = rle.encode(np.asfortranarray((load_mask(path) > 0).astype(np.uint8)))
            annotations.append({"id": len(annotations) + 1, "image_id": n, "category_id": 1, "iscrowd": crowd,
                                "segmentation": encoded | {"counts": encoded["counts"].decode()}})
    (tmp_path / "coco.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    for i, _, people, crowds in instance_sets(tmp_path / "coco.json", photos):
        rgb = load_image(photos / i)
        stem = i[:-4]
        assert len(people) == len(own[stem][2]) and len(crowds) == len(own[stem][3])
        for ours, theirs in zip(people + crowds, own[stem][2] + own[stem][3]):
            assert np.array_equal(true_mask(ours, rgb, photos / i) > 0, load_mask(theirs) > 0)
    # --predictions: annotate's file scored as it is (no method runs) gives what eval gives running that method
    truth, keys = ["--people", str(tmp_path / "coco.json"), "--images", str(photos)], (
        "people", "found", "missed", "spurious", "matched_iou", "recall_by_size", "per_image")
    scores = {}
    for name, how in (("ran", ["--method", "fast", "--matting", "none"]), ("read", ["--predictions", str(ann)])):
        assert main(["eval", *truth, *how, "--min-area", "3000", "--quiet", "--json", str(tmp_path / name)]) == 0
        scores[name] = json.loads((tmp_path / name).read_text())
    assert {k: scores["ran"][k] for k in keys} == {k: scores["read"][k] for k in keys} and scores["ran"]["found"]
    # a file of one photo, its people removed by hand: the other photo is not scored, said; this one's all missed
    edited = json.loads(ann.read_text())
    edited["images"], edited["annotations"] = edited["images"][:1], []
    ann.write_text(json.dumps(edited))
    assert main(["eval", *truth, "--predictions", str(ann), "--quiet", "--json", str(out), "--overwrite"]) == 0
    s = json.loads(out.read_text())
    assert s["images"] == 1 and s["true_photos_not_listed"] == 1 and s["found"] == s["spurious"] == 0
    assert s["missed"] == s["people"] == len(own[ids[0]][2])
    capsys.readouterr()
    assert main(["eval", *truth, "--predictions", str(ann), "--method", "fast"]) == 2
    assert "--method: no method runs with --predictions" in capsys.readouterr().err
    elsewhere = json.loads(ann.read_text())   # its names under a folder the photos are not in: which, said
    elsewhere["images"] = [im | {"file_name": "street/" + im["file_name"].rsplit("/", 1)[-1]}
                           for im in elsewhere["images"]]
    ann.write_text(json.dumps(elsewhere))
    assert main(["eval", *truth, "--predictions", str(ann)]) == 2
    assert re.search(r"lists none of the .*: it names 'street/.*', where the photo is ", capsys.readouterr().err)


def test_a_second_person_is_confirmed_and_an_empty_wall_is_not(data_dir, pose_mini):
    """person_in: the pose backend on a region's crop, the person already found painted out."""
    rgb, _, truth, _ = _entry(data_dir, pose_mini, "000000040083.jpg")
    pose = get_backend("blazepose")
    first, second = sorted(truth, key=lambda m: -int((m > 0).sum()))[:2]
    x, y, w, h = cv2.boundingRect(first)
    known = (float(x), float(y), float(x + w), float(y + h))
    assert person_in(rgb, second > 0, known, pose)
    grey = np.full_like(rgb, 127)
    assert not person_in(grey, second > 0, known, pose)


def test_coco_crowds_are_read_with_the_people_and_a_mask_on_one_is_not_spurious(data_dir):
    """coco_people 000000005001 has a crowd region: a predicted person lying on it is not counted as spurious
    (the same prediction without the crowd known is)."""
    from personseg.evaluate import evaluate_people, instance_sets

    entry = next(s for s in instance_sets(data_dir / "coco_people/annotations.json") if s[0] == "000000005001")
    crowd = entry[3]
    assert crowd and all(p.is_file() for p in crowd)
    on_crowd = load_mask(crowd[0])
    assert evaluate_people(lambda rgb: [on_crowd], [entry]).spurious == 0
    assert evaluate_people(lambda rgb: [on_crowd], [(*entry[:3], [])]).spurious == 1


def test_with_instances_a_teddy_bear_is_still_checked_and_nobody_is_left(data_dir):
    from personseg import Segmenter

    bear = load_image(data_dir / "no_people/images/000000114694.jpg")
    unchecked = Segmenter("accurate", matting=None, instances=True, person_check=False)(bear)
    assert unchecked.people and unchecked.mask.any()   # the search places "people" on crops of the teddy bear
    checked = Segmenter("accurate", matting=None, instances=True)(bear)
    assert not checked.mask.any() and checked.people == [] and checked.instances == []


def test_instances_on_a_panorama_look_beyond_the_person_blazepose_found(data_dir):
    """Three Penn-Fudan test photos side by side (3.3:1): the search for everyone looks at what the networks mark
    on the whole panorama, not only in the frame of the person BlazePose found on it (then 2 of 6 were found)."""
    from personseg.evaluate import instance_sets
    from personseg.pipeline import Segmenter

    people = {s[0]: s for s in instance_sets(data_dir / "pennfudan" / "annotations.json")}
    photos, truth, x = [], [], 0
    for name in ("FudanPed00007", "FudanPed00008", "FudanPed00010"):
        _, image, masks, _ = people[name]
        rgb = load_image(image)
        w = round(rgb.shape[1] * 400 / rgb.shape[0])
        photos.append(cv2.resize(rgb, (w, 400), interpolation=cv2.INTER_AREA))
        truth += [(x, cv2.resize(load_mask(m), (w, 400), interpolation=cv2.INTER_NEAREST)) for m in masks]
        x += w
    panorama = np.hstack(photos)
    match = InstanceMatch()
    match.add([i.mask for i in Segmenter("fast", matting=None, instances=True)(panorama).instances],
              [np.pad(m, ((0, 0), (at, x - at - m.shape[1]))) for at, m in truth])
    s = match.summary()
    assert s["people"] == 6 and s["found"] >= 4 and s["spurious"] <= 1


def test_a_region_the_person_model_missed_goes_to_whoever_stands_on_it_not_to_nobody():
    """FudanPed00036: a person with 15 sure keypoints got an instance without any, beside their own pose in
    ``people``; here two people apart, the second one's map under 0.5 everywhere."""
    rgb = np.full((200, 300, 3), 128, np.uint8)
    union = np.zeros((200, 300), np.uint8)
    union[40:180, 30:90] = union[40:180, 200:260] = 255
    people = []
    for x0 in (40, 210):
        kp = np.zeros((17, 3), np.float32)
        kp[:, 0], kp[:, 1], kp[:, 2] = x0 + np.arange(17) * 2, 50 + np.arange(17) * 7, 0.9
        people.append(kp)
    maps = [np.where(union[:, :150] > 0, 0.9, 0.0), np.full((200, 300), 0.3, np.float32)]
    maps[0] = np.pad(maps[0], ((0, 0), (0, 150))).astype(np.float32)
    first, second, *extra = group_pixels(rgb, union, people, maps=maps)
    assert (second[40:180, 200:260] > 0).all() and not extra and not (first[:, 150:] > 0).any()
