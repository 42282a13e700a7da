"""`personseg annotate`: a COCO file that pycocotools reads, with the masks `segment` makes; the same bytes after
a kill and a rerun, and with worker processes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from pycocotools.coco import COCO

from personseg import Segmenter, __version__
from personseg.annotate import annotate
from personseg.errors import NotPlacedWarning, PersonsegError

PHOTOS = ("pose_mini/images/coco_000000040083.jpg", "pose_mini/images/coco_000000197388.jpg",
          "eg1800/images/00002.jpg", "eg1800/images/00013.jpg", "eg1800/images/00005.jpg")


@pytest.fixture
def photos(tmp_path, data_dir):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for k, rel in enumerate(PHOTOS):
        shutil.copy(data_dir / rel, folder / ("sub" if k % 2 else "") / f"p{k}.jpg")
    return folder


def test_the_coco_file_holds_the_masks_segment_makes(photos, tmp_path):
    out = tmp_path / "people.json"
    summary = annotate([photos], out, {"method": "fast", "keypoints": True}, min_area=50)
    coco = COCO(str(out))
    assert summary["images"] == 5 and len(coco.imgs) == 5 and not summary["failed"]
    assert [im["file_name"] for im in coco.imgs.values()] == sorted(im["file_name"] for im in coco.imgs.values())
    assert coco.cats[1]["name"] == "person" and len(coco.cats[1]["keypoints"]) == 17
    seg = Segmenter("fast", keypoints=True, instances=True)
    for image in coco.imgs.values():
        masks = [i.mask > 0 for i in seg(photos / image["file_name"]).instances if i.area >= 50]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert len(anns) == len(masks)
        for ann, mask in zip(anns, masks):
            assert np.array_equal(coco.annToMask(ann) > 0, mask) and ann["area"] == mask.sum()
            assert len(ann["keypoints"]) == 51 and ann["num_keypoints"] == sum(v == 2 for v in ann["keypoints"][2::3])
    rle = {a["id"]: coco.annToMask(a) for a in coco.dataset["annotations"]}
    smallest = min(a["area"] for a in coco.dataset["annotations"])   # another --min-area: the file written again
    fewer = annotate([photos], out, {"method": "fast", "keypoints": True}, min_area=smallest + 1)
    assert fewer["done_before"] == 5 and fewer["people"] < summary["people"]   # from the parts: no segmenting
    assert len(json.loads(out.read_text())["annotations"]) == fewer["people"]
    again = annotate([photos], out, {"method": "fast", "keypoints": True}, min_area=50, polygons=0.0)
    assert again["done_before"] == 5 and again["people"] == summary["people"]   # the parts keep run lengths: nothing
    # segmented again
    drawn = COCO(str(out))
    for ann in drawn.dataset["annotations"]:   # the same pixels, holes filled, specks under 1% left out
        parts, count = ndimage.label(ndimage.binary_fill_holes(rle[ann["id"]]), np.ones((3, 3)))   # as outlines
        sizes = np.bincount(parts.ravel())[1:]   # are traced: diagonal neighbours touch
        kept = [k + 1 for k in range(count) if sizes[k] >= 0.01 * ann["area"] or sizes[k] == sizes.max()]
        assert isinstance(ann["segmentation"], list) and np.array_equal(drawn.annToMask(ann) > 0, np.isin(parts, kept))


def test_a_rerun_adds_the_photos_added_since_and_leaves_a_file_changed_since(photos, tmp_path, data_dir):
    # a finished file refused every rerun ("output exists"): photos added later meant annotating all again
    out, whole = tmp_path / "people.json", tmp_path / "whole.json"
    moved = photos / "p0.jpg"
    moved.rename(tmp_path / "later.jpg")
    assert annotate([photos], out, {"method": "fast"})["images"] == 4
    first = json.loads(out.read_text())
    (tmp_path / "later.jpg").rename(moved)
    again = annotate([photos], out, {"method": "fast"})
    assert again["images"] == 5 and again["done_before"] == 4
    inside = photos / "people.json"   # the file among the photos is no photo left out: it is the run's own
    annotate([photos], inside, {"method": "fast"})
    assert annotate([photos], inside, {"method": "fast"})["others"] == []
    annotate([photos], whole, {"method": "fast"})
    added, one_run = json.loads(out.read_text()), json.loads(whole.read_text())

    def by_name(coco: dict) -> dict:
        names = {im["id"]: im["file_name"] for im in coco["images"]}
        return {name: [{k: v for k, v in a.items() if k not in ("id", "image_id")} for a in coco["annotations"]
                       if names[a["image_id"]] == name] for name in names.values()}

    assert by_name(added) == by_name(one_run)   # as one run over all of them, but for the ids: those given stay
    ids = {im["file_name"]: im["id"] for im in added["images"]}
    assert {im["file_name"]: im["id"] for im in first["images"]}.items() < ids.items() and ids["p0.jpg"] == 5
    assert {a["id"] for a in first["annotations"]} < {a["id"] for a in added["annotations"]}
    (tmp_path / ".people.json.parts" / "ids.json").unlink()   # parts of an earlier version: the file's ids are read
    annotate([photos], out, {"method": "fast"})
    assert json.loads(out.read_text()) == added
    assert annotate([photos], out, {"method": "fast"})["done_before"] == 5   # nothing new: nothing done
    moved.unlink()   # a photo gone from the folder leaves the file, said
    assert annotate([photos], out, {"method": "fast"})["gone"] == ["p0.jpg"]
    assert len(json.loads(out.read_text())["images"]) == 4 and not annotate([photos], out, {"method": "fast"})["gone"]
    parts = tmp_path / ".people.json.parts"
    assert len(list(parts.glob("*.json"))) == 2 + 4   # the settings, the ids and the photos there now: the gone
    # one's went
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(photos / "p2.jpg", other / "z.jpg")
    with pytest.raises(PersonsegError, match=r"other settings \(paths"):   # another folder: not over this file
        annotate([other], out, {"method": "fast"})
    out.write_text(out.read_text().replace('"person"', '"Person"'))   # edited since, e.g. in a labelling tool
    with pytest.raises(PersonsegError, match=r"not as this command last wrote it.*--people \S+people.json --edited --out"):
        annotate([photos], out, {"method": "fast"})


def test_an_interrupted_overwrite_goes_on_where_it_stopped(photos, tmp_path, monkeypatch):
    """--overwrite removed the parts and left the old file: the interrupted run's rerun was refused ("output
    exists"), and with --overwrite again started from nothing (a review)."""
    from personseg import annotate as module

    out = tmp_path / "people.json"
    annotate([photos], out, {"method": "fast"})
    fresh = out.read_bytes()
    out.write_text('{"images": [{"id": 41, "file_name": "p0.jpg"}], "annotations": [{"id": 901, "image_id": 41}]}')
    saved, save = [], module.Shards.save

    def stopping(self, entry, job):
        if len(saved) == 2:
            raise KeyboardInterrupt
        saved.append(job)
        save(self, entry, job)

    monkeypatch.setattr(module.Shards, "save", stopping)
    with pytest.raises(KeyboardInterrupt):
        annotate([photos], out, {"method": "fast"}, overwrite=True)
    monkeypatch.setattr(module.Shards, "save", save)
    assert annotate([photos], out, {"method": "fast"})["done_before"] == 2
    assert out.read_bytes() == fresh   # numbered afresh: nothing of the file it replaced


def test_a_killed_run_rerun_gives_the_same_bytes_and_workers_too(photos, tmp_path):
    args = [sys.executable, "-m", "personseg", "annotate", str(photos), "--method", "fast", "--quiet"]
    subprocess.run(args + ["--out", "whole.json"], cwd=tmp_path, check=True, capture_output=True)
    parts = tmp_path / ".killed.json.parts"
    p = subprocess.Popen(args + ["--out", "killed.json"], cwd=tmp_path, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 120
    while len(list(parts.glob("*.json"))) < 3 and time.monotonic() < end and p.poll() is None:   # settings + 2 images
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not (tmp_path / "killed.json").exists()
    done = subprocess.run(args + ["--out", "killed.json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and "done by an earlier run" in done.stderr
    subprocess.run(args + ["--out", "workers.json", "--workers", "2"], cwd=tmp_path, check=True, capture_output=True)
    whole = (tmp_path / "whole.json").read_bytes()
    assert (tmp_path / "killed.json").read_bytes() == whole and (tmp_path / "workers.json").read_bytes() == whole


def test_a_finished_file_is_kept_and_other_settings_do_not_mix(photos, tmp_path):
    out = tmp_path / "people.json"
    out.write_text("{}")
    with pytest.raises(Exception, match="output exists"):
        annotate([photos], out, {"method": "fast"})
    out.unlink()
    (tmp_path / ".people.json.parts").mkdir()
    (tmp_path / ".people.json.parts/settings.json").write_text("other")
    with pytest.raises(Exception, match="other settings .unreadable."):
        annotate([photos], out, {"method": "fast"})
    (tmp_path / ".people.json.parts/settings.json").write_text(json.dumps(
        {"options": {"method": "accurate"}, "min_area": 0, "people": None, "paths": [str(photos.resolve())],
         "version": __version__}))
    with pytest.raises(Exception, match=r"other settings \(--method fast, was accurate\)"):
        annotate([photos], out, {"method": "fast"})


def test_parts_of_an_earlier_version_that_kept_only_people_over_min_area_are_made_again_ids_kept(photos, tmp_path):
    from personseg.annotate import Shards, merge

    out = tmp_path / "people.json"
    annotate([photos], out, {"method": "fast"})
    least = min(a["area"] for a in json.loads(out.read_text())["annotations"]) + 1   # leaves someone out
    # the parts, ids and file as personseg before the parts held everyone left them after `--min-area least`
    parts = Shards(out)
    entries = []
    for part in sorted(parts.folder.glob("*.json")):
        entry = json.loads(part.read_text())
        if "annotations" in entry:
            entry["annotations"] = [a for a in entry["annotations"] if a["area"] >= least]
            part.write_text(json.dumps(entry))
            entries.append(entry)
    data, record = merge(entries)
    out.write_bytes(data)
    parts.may_be(data)
    parts.keep_ids(record)
    settings = parts.folder / "settings.json"
    settings.write_text(json.dumps(json.loads(settings.read_text()) | {"min_area": least}))
    before = {(a["image_id"], a["area"]): a["id"] for a in json.loads(data)["annotations"]}
    with pytest.warns(UserWarning, match="every photo is segmented again, each keeping its ids"):
        summary = annotate([photos], out, {"method": "fast"}, min_area=least)
    assert summary["done_before"] == 0 and not summary["failed"]
    assert {(a["image_id"], a["area"]): a["id"] for a in json.loads(out.read_text())["annotations"]} == before
    everyone = json.loads(annotate([photos], out, {"method": "fast"}) and out.read_text())["annotations"]
    back = {(a["image_id"], a["area"]): a["id"] for a in everyone}
    assert {k: v for k, v in back.items() if k in before} == before   # the people left out come back, numbered on
    assert len(back) > len(before) and min(v for k, v in back.items() if k not in before) > max(before.values())


def test_options_refused_at_the_start_leave_no_run_behind_and_a_network_file_is_recorded_by_its_contents(
        photos, tmp_path):
    from personseg.models.registry import spec

    out, mine = tmp_path / "people.json", tmp_path / "mine.onnx"
    with pytest.raises(Exception, match="model file .*mine.onnx is missing"):
        annotate([photos / "p0.jpg"], out, {"method": "fast", "models": {"sinet": mine}})
    assert not (tmp_path / ".people.json.parts").exists()
    shutil.copy(spec("sinet").onnx_path, mine)
    parts = tmp_path / ".people.json.parts"
    parts.mkdir()   # an unfinished run with this file, before it was exported again
    (parts / "settings.json").write_text(json.dumps({"options": {"method": "fast", "models": str(
        {"sinet": f"{mine} (sha256 000000000000)"})}, "min_area": 0, "people": None,
        "paths": [str((photos / "p0.jpg").resolve())], "version": __version__}))
    with pytest.raises(Exception, match=r"other settings \(--model .*mine.onnx \(sha256 [0-9a-f]{12}\)'\}, was"):
        annotate([photos / "p0.jpg"], out, {"method": "fast", "models": {"sinet": mine}})
    for models in (None, str(mine)):   # the Segmenter's other ways to say it
        assert annotate([photos / "p0.jpg"], tmp_path / f"{models is None}.json", {"method": "fast",
                                                                                  "models": models})["images"] == 1


def test_options_that_cannot_work_together_are_refused_before_any_work(photos, tmp_path):
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(PersonsegError, match="folder.json: is a folder"):
        annotate([photos], tmp_path / "folder.json", {"method": "fast"})
    with pytest.raises(PersonsegError, match="--workers -1: expected 0 or more"):
        annotate([photos], tmp_path / "a.json", {"method": "fast"}, workers=-1)
    (tmp_path / "given.json").write_text('{"images": [], "annotations": []}')
    with pytest.raises(PersonsegError, match="with --people every given person is written"):
        annotate([photos], tmp_path / "a.json", {"method": "fast"}, min_area=100, people=tmp_path / "given.json")


def test_a_photo_replaced_under_its_name_is_done_again_when_an_unfinished_run_goes_on(tmp_path, data_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(data_dir / "eg1800/images/00002.jpg", folder / "a.jpg")   # 600x800
    (folder / "broken.jpg").write_bytes(b"not a photo")   # the run stays unfinished: its parts are kept
    out = tmp_path / "people.json"
    assert annotate([folder], out, {"method": "fast"})["failed"]
    shutil.copy(data_dir / "pose_mini/images/coco_000000040083.jpg", folder / "a.jpg")   # another photo
    annotate([folder], out, {"method": "fast"})
    image = json.loads(out.read_text())["images"][0]
    assert (image["width"], image["height"]) == Image.open(folder / "a.jpg").size


@pytest.fixture
def ray_here():
    """Ray, shut down after the test (its cluster's processes would take CPU from the tests after it)."""
    ray = pytest.importorskip("ray")
    yield
    ray.shutdown()


@pytest.mark.xdist_group("ray")   # one Ray cluster at a time on the machine
def test_ray_on_a_local_cluster_gives_the_plain_loops_file(photos, tmp_path, ray_here):
    options = {"method": "fast", "keypoints": True}
    annotate([photos], tmp_path / "plain.json", options)
    summary = annotate([photos], tmp_path / "ray.json", options, engine="ray", workers=2)
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "plain.json").read_bytes()
    assert sum(summary["nodes"].values()) == 5


def test_people_given_in_a_coco_file_are_the_people_annotated(tmp_path, data_dir, pose_mini):
    """Seed 002's job: masks for a pose dataset. Every person of pose_mini with keypoints is given; the file
    comes back as it was, each person's segmentation, area and box filled from a mask placed on their keypoints."""
    images, anns = [], []
    folder = tmp_path / "images"
    folder.mkdir()
    for entry in pose_mini["images"][:3]:
        name = Path(entry["image"]).name
        shutil.copy(data_dir / "pose_mini" / entry["image"], folder / name)
        images.append({"id": 10 + len(images), "file_name": name})
        for inst in entry["instances"]:
            if inst.get("keypoints"):
                anns.append({"id": 100 + len(anns), "image_id": images[-1]["id"], "category_id": 1,
                             "keypoints": [float(v) for v in inst["keypoints"]], "mine": "kept"})
    # someone of whom only a wrist is on the photo: nothing to place them by
    anns.append({"id": 100 + len(anns), "image_id": 10, "category_id": 1, "keypoints": [0.0] * 27 + [5, 5, 2] + [0.0] * 21})
    # and someone COCO lists without a labelled joint: no mask is expected of them
    anns.append({"id": 100 + len(anns), "image_id": 10, "category_id": 1, "keypoints": [0.0] * 51})
    given = tmp_path / "given.json"
    original = {"info": {"note": "mine"}, "images": images, "annotations": anns, "categories": [{"id": 1}]}
    given.write_text(json.dumps(original))
    out = tmp_path / "masks.json"
    with pytest.warns(NotPlacedWarning, match="1 of the 3 people given cannot be placed"):
        summary = annotate([folder], out, {"method": "fast"}, people=given)
    assert summary["images"] == 3 and summary["people"] == len(anns) and not summary["failed"]
    coco = COCO(str(out))
    back = json.loads(out.read_text())
    assert back["info"] == original["info"]
    assert [{k: im[k] for k in ("id", "file_name")} for im in back["images"]] == images   # sizes added
    for before, after in zip(anns, back["annotations"]):
        assert {k: after[k] for k in before} == before   # ids, keypoints and the user's own fields untouched
        mask = coco.annToMask(after)
        kp = np.reshape(before["keypoints"], (17, 3))
        assert mask.sum() == after["area"]
        if (kp[:, 2] > 0).sum() < 2:   # nothing to place this person by: an empty mask, said so
            assert after["area"] == 0 and after["bbox"] == [0, 0, 0, 0]
            continue
        assert after["area"] > 0
        x, y, w, h = after["bbox"]
        ys, xs = np.nonzero(mask)
        assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        inside = [mask[min(int(py), mask.shape[0] - 1), min(int(px), mask.shape[1] - 1)]
                  for px, py, v in kp if v > 0]
        assert np.mean(inside) > 0.5   # the mask is this person's: it covers most of their keypoints
    names = {im["id"]: im["file_name"] for im in images}
    empty = sorted((names[a["image_id"]], a["id"]) for a in back["annotations"]
                   if not a["area"] and any(a["keypoints"][2::3]))
    assert (images[0]["file_name"], anns[-2]["id"]) in empty and sorted(summary["unplaced"]) == empty   # named
    assert Segmenter("fast")(folder / images[0]["file_name"], people=[]).mask.max() == 0


def test_a_photo_whose_people_were_all_removed_by_hand_is_said_to_have_nobody(tmp_path, data_dir):
    """--edited, a photo of nobody whose people (posed, and a region found without a pose) were all removed from
    the file: the summary counts the file's people, not those the search found (it counted the region)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(data_dir / "no_people/images/000000025986.jpg", folder / "table.jpg")   # a dining table
    shutil.copy(data_dir / "pennfudan/images/FudanPed00002.jpg", folder / "walker.jpg")   # one person
    first = tmp_path / "found.json"
    annotate([folder], first, {})
    found = json.loads(first.read_text())
    table = next(im["id"] for im in found["images"] if im["file_name"] == "table.jpg")
    assert any(a["num_keypoints"] == 0 for a in found["annotations"] if a["image_id"] == table)   # measured
    found["annotations"] = [a for a in found["annotations"] if a["image_id"] != table]
    (tmp_path / "edited.in.json").write_text(json.dumps(found))
    summary = annotate([folder], tmp_path / "edited.json", {}, people=tmp_path / "edited.in.json", edits=True)
    assert summary["people"] == len(found["annotations"]) == 1 and summary["nobody"] == ["table.jpg"]
    assert json.loads((tmp_path / "edited.json").read_text())["annotations"] == found["annotations"]
    # its names without their folder, as an annotation tool exports them: refused (every photo was searched again
    # beside the file's, which lists none of them, and the file doubled)
    sub = tmp_path / "by_kind"
    shutil.copytree(folder, sub / "street")
    with pytest.raises(PersonsegError, match=r"lists none of the photos.*'table.jpg'.*'street/table.jpg'.*"
                                             r"lack the subfolders"):
        annotate([sub], tmp_path / "doubled.json", {}, people=tmp_path / "edited.in.json", edits=True)
    assert not (tmp_path / "doubled.json").exists()


@pytest.mark.xdist_group("ray")
def test_segment_on_ray_writes_the_files_of_a_local_run(photos, tmp_path):
    pytest.importorskip("ray")
    args = [sys.executable, "-m", "personseg", "segment", str(photos), "--method", "fast", "--quiet"]
    subprocess.run(args + ["--out", "here"], cwd=tmp_path, check=True, capture_output=True)
    done = subprocess.run(args + ["--out", "ray", "--engine", "ray", "--workers", "2"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "5 of 5 images segmented" in done.stderr
    here = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*.png"))
    assert here and here == sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*.png"))
    assert all((tmp_path / "here" / p).read_bytes() == (tmp_path / "ray" / p).read_bytes() for p in here)


def test_an_edited_file_keeps_the_masks_of_the_people_it_did_not_touch(tmp_path, data_dir):
    """--edited: annotate's own file given back keeps every mask; with one person moved, the others keep theirs but
    for what the moved one now covers (without it, everyone is segmented from their keypoints again); a photo added
    since is searched and added, numbered on."""
    from pycocotools import mask as rle

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("FudanPed00002.jpg", "FudanPed00007.jpg"):
        shutil.copy(data_dir / "pennfudan/images" / name, folder / name)
    first = tmp_path / "found.json"
    annotate([folder], first, {"method": "fast"})
    found = json.loads(first.read_text())
    masks = {a["id"]: rle.decode(a["segmentation"]) > 0 for a in found["annotations"]}
    posed = [a for a in found["annotations"] if a["num_keypoints"] >= 2]
    assert len(posed) >= 3
    moved = posed[0]
    edited = json.loads(first.read_text())
    for ann in edited["annotations"]:
        if ann["id"] == moved["id"]:
            ann["keypoints"] = [v + 20 * (k % 3 == 0 and ann["keypoints"][k + 2] > 0) for k, v in
                                enumerate(ann["keypoints"])]
    for name, given, extra in (("same", found, {}), ("edited", edited, {}), ("remade", found, {"edits": False})):
        (tmp_path / f"{name}.in.json").write_text(json.dumps(given))
        annotate([folder], tmp_path / f"{name}.json", {"method": "fast"}, people=tmp_path / f"{name}.in.json",
                 edits=extra.get("edits", True))
    back = {name: {a["id"]: rle.decode(a["segmentation"]) > 0
                   for a in json.loads((tmp_path / f"{name}.json").read_text())["annotations"]}
            for name in ("same", "edited", "remade")}
    assert all(np.array_equal(back["same"][k], m) for k, m in masks.items())
    assert not all(np.array_equal(back["remade"][k], m) for k, m in masks.items())   # measured: most differ
    now = back["edited"]
    assert not np.array_equal(now[moved["id"]], masks[moved["id"]])
    same_image = [a["id"] for a in found["annotations"] if a["image_id"] == moved["image_id"]]
    for k, m in masks.items():
        if k in same_image and k != moved["id"]:   # only what the moved person took
            assert not (now[k] & ~m).any() and not (m & ~now[k] & ~now[moved["id"]]).any()
        elif k not in same_image:
            assert np.array_equal(now[k], m)
    shutil.copy(data_dir / "pennfudan/images/FudanPed00012.jpg", folder / "added.jpg")
    grown = tmp_path / "grown.json"
    annotate([folder], grown, {"method": "fast"}, people=tmp_path / "edited.in.json", edits=True)
    coco = COCO(str(grown))
    back = json.loads(grown.read_text())
    assert back["annotations"][:len(edited["annotations"])] == json.loads((tmp_path / "edited.json").read_text())[
        "annotations"]
    new = back["images"][-1]
    assert new["file_name"] == "added.jpg" and new["id"] == max(im["id"] for im in found["images"]) + 1
    added = [a for a in back["annotations"] if a["image_id"] == new["id"]]
    annotate([folder / "added.jpg"], tmp_path / "alone.json", {"method": "fast"})
    alone = json.loads((tmp_path / "alone.json").read_text())["annotations"]
    last = max(a["id"] for a in found["annotations"])
    assert added and [a["id"] for a in added] == list(range(last + 1, last + 1 + len(added)))
    assert [{k: v for k, v in a.items() if k not in ("id", "image_id")} for a in added] == [
        {k: v for k, v in a.items() if k not in ("id", "image_id")} for a in alone]
    assert len(coco.getAnnIds()) == len(edited["annotations"]) + len(added)
    with pytest.raises(PersonsegError, match="give it with --people"):
        annotate([folder], tmp_path / "x.json", {"method": "fast"}, edits=True)


def test_an_outline_corrected_by_hand_is_kept(tmp_path, data_dir):
    """--edited: a person whose keypoints are as the search found them but whose outline was corrected (a box
    here) keeps that outline (the search's mask came back without a word); the others keep theirs, and a photo whose
    people are all unchanged is not searched again only while their outlines are unchanged too."""
    from pycocotools import mask as rle

    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(data_dir / "pennfudan/images/FudanPed00007.jpg", folder / "a.jpg")
    first = tmp_path / "found.json"
    annotate([folder], first, {"method": "fast"})
    found = json.loads(first.read_text())
    posed = [a for a in found["annotations"] if a["num_keypoints"] >= 2]
    assert len(posed) >= 2   # measured
    x, y, w, h = (int(v) for v in posed[0]["bbox"])
    box = np.zeros(rle.decode(posed[0]["segmentation"]).shape, np.uint8)
    box[y:y + h, x:x + w // 2] = 1   # the left half of the person's box
    drawn = rle.encode(np.asfortranarray(box))
    drawn["counts"] = drawn["counts"].decode()
    edited = json.loads(first.read_text())
    next(a for a in edited["annotations"] if a["id"] == posed[0]["id"])["segmentation"] = drawn
    # one that cannot be read is left aside with a note (it failed the photo, or was an internal error)
    next(a for a in edited["annotations"] if a["id"] == posed[1]["id"])["segmentation"] = {"size": 5, "counts": "x"}
    (tmp_path / "edited.in.json").write_text(json.dumps(edited))
    with pytest.warns(UserWarning, match=r"a.jpg: person \d's outline cannot be read .*: the search's mask is kept"):
        summary = annotate([folder], tmp_path / "edited.json", {"method": "fast"},
                           people=tmp_path / "edited.in.json", edits=True)
    assert summary["unchanged"] == 0   # its outline changed: searched again
    back = {a["id"]: rle.decode(a["segmentation"]) > 0 for a in json.loads((tmp_path / "edited.json").read_text())[
        "annotations"]}
    assert np.array_equal(back[posed[0]["id"]], box > 0)
    for a in found["annotations"]:
        if a["id"] != posed[0]["id"]:
            assert np.array_equal(back[a["id"]], rle.decode(a["segmentation"]) > 0), a["id"]
    edited["annotations"] = edited["annotations"][1:]   # a second round of edits into the same output
    (tmp_path / "edited.in.json").write_text(json.dumps(edited))
    with pytest.raises(PersonsegError, match="--overwrite to start afresh; for a new round of edits it redoes only"):
        annotate([folder], tmp_path / "edited.json", {"method": "fast"}, people=tmp_path / "edited.in.json",
                 edits=True)
    # simplified polygons given back as written are no corrections: a person beside one moved keeps theirs (each
    # round of edits wore them away, simplified again)
    annotate([folder], tmp_path / "poly.json", {"method": "fast"}, polygons=2.0)
    poly = json.loads((tmp_path / "poly.json").read_text())
    one = next(a for a in poly["annotations"] if a["id"] == posed[0]["id"])
    one["keypoints"] = [v + 15 * (k % 3 == 0 and one["keypoints"][k + 2] > 0) for k, v in enumerate(one["keypoints"])]
    (tmp_path / "poly.in.json").write_text(json.dumps(poly))
    annotate([folder], tmp_path / "moved.json", {"method": "fast"}, people=tmp_path / "poly.in.json", edits=True,
             polygons=2.0)
    after = json.loads((tmp_path / "moved.json").read_text())["annotations"]
    assert [a["segmentation"] for a in after if a["id"] != one["id"]] == [
        a["segmentation"] for a in poly["annotations"] if a["id"] != one["id"]]


def test_a_photo_failing_on_a_person_given_names_them_by_their_annotation_id(tmp_path, data_dir):
    """The segmenter numbers the people given for a photo 1, 2, ...; an annotator knows them by their ids."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(data_dir / "pennfudan/images/FudanPed00002.jpg", folder / "a.jpg")
    kp = [0.0] * 51
    for j, (x, y) in {0: (100, 60), 1: (105, 55), 2: (95, 55), 11: (100, 200), 12: (120, 200)}.items():
        kp[3 * j:3 * j + 3] = [x, y, 2]
    far = [50000.0] + kp[1:]
    for name, people, edits, said in (("far", [(7, kp), (12, far)], False, "annotation 12: a keypoint at (50000, 60)"),
                                      ("twice", [(7, kp), (9, kp)], True,
                                       "annotation 9 is given twice (the same keypoints as annotation 7)")):
        given = tmp_path / f"{name}.json"
        given.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                                     "categories": [{"id": 1, "name": "person"}],
                                     "annotations": [{"id": i, "image_id": 1, "category_id": 1, "keypoints": k}
                                                     for i, k in people]}))
        summary = annotate([folder], tmp_path / f"{name}.out.json", {"method": "fast"}, people=given, edits=edits)
        assert [(path.name, why.startswith(said)) for path, why in summary["failed"]] == [("a.jpg", True)]


def test_edited_photos_alone_are_searched_again(tmp_path, data_dir, monkeypatch):
    """--edited: a photo whose people are as the earlier run found them keeps that run's part (its parts folder
    beside the file) without a search; the file is the same bytes as with every photo searched again."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("FudanPed00002.jpg", "FudanPed00007.jpg", "FudanPed00012.jpg"):
        shutil.copy(data_dir / "pennfudan/images" / name, folder / name)
    annotate([folder], tmp_path / "found.json", {"method": "fast"})
    edited = json.loads((tmp_path / "found.json").read_text())
    moved = next(a for a in edited["annotations"] if a["num_keypoints"] >= 2)
    moved["keypoints"] = [v + 15 * (k % 3 == 0 and moved["keypoints"][k + 2] > 0) for k, v in
                          enumerate(moved["keypoints"])]
    (tmp_path / "mine.json").write_text(json.dumps(edited))   # the edits saved under another name
    calls = []
    searched = Segmenter.__call__
    monkeypatch.setattr(Segmenter, "__call__", lambda self, image, **kw: calls.append(image) or searched(
        self, image, **kw))
    summary = annotate([folder], tmp_path / "kept.json", {"method": "fast"}, people=tmp_path / "mine.json",
                       edits=True)
    assert summary["unchanged"] == 2 and len(calls) == 2   # the edited photo: searched, its moved person segmented
    other = next(im for im in edited["images"] if im["id"] != moved["image_id"])
    other["width"] += 1   # a size the photo is not: it fails, as its search would
    (tmp_path / "sized.json").write_text(json.dumps(edited))
    sized = annotate([folder], tmp_path / "sized.out.json", {"method": "fast"}, people=tmp_path / "sized.json",
                     edits=True)
    assert sized["unchanged"] == 1 and [p.name for p, _ in sized["failed"]] == [other["file_name"]]
    shutil.move(tmp_path / ".found.json.parts", tmp_path / "elsewhere")
    again = annotate([folder], tmp_path / "again.json", {"method": "fast"}, people=tmp_path / "mine.json",
                     edits=True)
    assert again["unchanged"] == 0 and len(calls) > 4
    assert (tmp_path / "kept.json").read_bytes() == (tmp_path / "again.json").read_bytes()
