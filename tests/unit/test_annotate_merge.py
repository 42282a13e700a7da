"""The COCO file of `personseg annotate`: annotations of a result, and a merge that does not depend on the order
images finished in (synthetic results; no network runs)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from personseg.annotate import PERSON, filled, given_people, merge, person_annotations, read_people_file
from personseg.errors import PersonsegError
from personseg.result import Instance, Result, coco_rle


def _result() -> Result:
    mask = np.zeros((40, 30), np.uint8)
    mask[5:25, 5:15] = 255
    small = np.zeros_like(mask)
    small[30:32, 20:22] = 255
    kp = np.zeros((17, 3), np.float32)
    kp[0] = (10.123, 8.0, 0.9)
    kp[5] = (7.0, 12.0, 0.1)   # not confident: written as 0 0 0
    kp[13] = (12.0, 46.0, 0.9)  # a knee placed below the photo: not a labelled point in COCO, 0 0 0
    return Result(mask=mask | small, alpha=(mask | small) / 255.0, keypoints=kp, people=[kp],
                  rgb=np.zeros((40, 30, 3), np.uint8), instances=[Instance(mask, kp, 0.8), Instance(small, kp * 0, 0.5)])


def test_each_person_gets_mask_box_area_and_visible_keypoints():
    anns = person_annotations(_result())
    assert [a["area"] for a in anns] == [200, 4]   # largest first; --min-area filters as the file is written
    ann = anns[0]
    assert ann["bbox"] == [5, 5, 10, 20] and ann["area"] == 200 and ann["num_keypoints"] == 1
    assert ann["keypoints"][:3] == [10.12, 8.0, 2] and ann["keypoints"][15:18] == [0, 0, 0]
    assert ann["keypoints"][39:42] == [0, 0, 0]
    assert ann["segmentation"]["size"] == [40, 30] and isinstance(ann["segmentation"]["counts"], str)


def test_the_merge_is_the_same_bytes_in_any_order():
    entries = [{"file_name": name, "width": 30, "height": 40, "annotations": person_annotations(_result())}
               for name in ("b/x.jpg", "a.jpg", "c.png")]
    first = merge(entries)
    for seed in range(5):
        random.Random(seed).shuffle(entries)
        assert merge(entries) == first
    coco = json.loads(first[0])
    assert [im["file_name"] for im in coco["images"]] == ["a.jpg", "b/x.jpg", "c.png"]
    assert [a["id"] for a in coco["annotations"]] == list(range(1, 7)) and coco["categories"] == [PERSON]
    assert PERSON["skeleton"][0] == [16, 14]   # 1-based, as COCO writes it
    assert coco["licenses"] == [] and coco["info"]["version"]   # CVAT's importer refuses a file without them


def test_a_rerun_keeps_the_ids_it_gave_and_never_gives_one_twice():
    """Images and people keep their ids across reruns (references to them elsewhere stay true); a photo added,
    even one named before the others, and the people of a photo whose annotations changed are numbered on from the
    largest id ever given, also after the photo that held it went (its ids go to nobody else)."""
    def entries(*names: str, changed: str = "") -> list[dict]:
        out = [{"file_name": n, "width": 30, "height": 40, "annotations": person_annotations(_result())}
               for n in names]
        for e in out:
            if e["file_name"] == changed:   # segmented again, e.g. replaced under its name: the same count
                e["annotations"] = [a | {"score": 0.1} for a in e["annotations"]]
        return out

    def ids(data: bytes) -> tuple[dict, list]:
        coco = json.loads(data)
        return ({im["file_name"]: im["id"] for im in coco["images"]},
                [(a["image_id"], a["id"]) for a in coco["annotations"]])

    data, record = merge(entries("b.jpg", "c.jpg", "d.jpg"))
    assert ids(data) == ({"b.jpg": 1, "c.jpg": 2, "d.jpg": 3}, [(1, 1), (1, 2), (2, 3), (2, 4), (3, 5), (3, 6)])
    data, record = merge(entries("a.jpg", "b.jpg", "c.jpg", "d.jpg", changed="c.jpg"), record)
    assert ids(data) == ({"a.jpg": 4, "b.jpg": 1, "c.jpg": 2, "d.jpg": 3},
                         [(4, 7), (4, 8), (1, 1), (1, 2), (2, 9), (2, 10), (3, 5), (3, 6)])
    data, record = merge(entries("a.jpg", "b.jpg", "c.jpg", changed="c.jpg"), record)   # d.jpg gone: 3, 5, 6 its
    data, record = merge(entries("a.jpg", "b.jpg", "c.jpg", "e.jpg", changed="c.jpg"), record)
    assert ids(data)[0]["e.jpg"] == 5 and ids(data)[1][-2:] == [(5, 11), (5, 12)]
    assert merge(entries("b.jpg"), merge(entries("b.jpg"))[1]) == merge(entries("b.jpg"))   # nothing new: the same
    _, kept = merge(entries("a.jpg", "c.jpg", "e.jpg", changed="c.jpg"), record, still={"b.jpg"})   # b failed
    assert kept["images"]["b.jpg"] == record["images"]["b.jpg"]   # this time: its ids stay its own
    data, _ = merge(entries("a.jpg", "b.jpg", "c.jpg", "e.jpg", changed="c.jpg"), kept)
    assert ids(data)[0]["b.jpg"] == 1 and (1, 1) in ids(data)[1]


def test_a_file_written_before_the_parts_kept_ids_keeps_its_ids():
    from personseg.annotate import ids_of

    entries = [{"file_name": n, "width": 30, "height": 40, "annotations": person_annotations(_result())}
               for n in ("b.jpg", "c.jpg")]
    old = json.loads(merge(entries)[0])
    for im in old["images"]:   # numbered as an earlier version numbered it (any way: ids are read, not assumed)
        im["id"] += 10
    for a in old["annotations"]:
        a["image_id"] += 10
        a["id"] += 20
    data = json.loads(merge(entries + [entries[0] | {"file_name": "a.jpg"}], ids_of(old))[0])
    assert [(im["file_name"], im["id"]) for im in data["images"]] == [("a.jpg", 13), ("b.jpg", 11), ("c.jpg", 12)]
    assert [a["id"] for a in data["annotations"]] == [25, 26, 21, 22, 23, 24]


def test_polygons_draw_the_same_pixels_back_but_for_holes_and_specks():
    """Traced along the pixels' outer edges, each separate part one polygon, the largest first; a hole is filled, a
    part under 1% of the person's pixels left out; simplified, fewer corners; an empty mask keeps its run lengths
    (pycocotools cannot read an empty polygon list)."""
    from pycocotools import mask as coco_mask

    from personseg.coco import as_polygons

    def drawn(polygons: list) -> np.ndarray:
        return coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(polygons, 50, 40)))

    shown = np.zeros((50, 40), np.uint8)
    shown[40:45, 30:35] = 1                 # a small part (25 px, 6%), named first
    shown[5:30, 5:20] = 1                   # the body (375 px)
    mask = shown.copy()
    mask[47, 2] = 1                         # a speck: 1 px, under 1%
    holed = mask.copy()
    holed[10:15, 10:14] = 0
    for given in (mask, holed):
        polygons = as_polygons(coco_rle(given))
        assert len(polygons) == 2 and all(len(p) >= 8 and len(p) % 2 == 0 for p in polygons)
        assert np.array_equal(drawn(polygons), shown) and max(polygons[0][1::2]) < 31   # the body first
    blob = np.zeros((50, 40), np.uint8)
    cv2.circle(blob, (20, 25), 15, 1, -1)
    exact, simple = as_polygons(coco_rle(blob)), as_polygons(coco_rle(blob), 1.0)
    assert np.array_equal(drawn(exact), blob) and len(simple[0]) < len(exact[0]) / 3
    assert (drawn(simple) != blob).mean() < 0.05
    assert 3 <= len(as_polygons(coco_rle(blob), 1e9)[0]) // 2 <= 4   # however coarse: a few corners, not all
    thin = np.zeros((50, 40), np.uint8)
    thin[2:40, 2:30] = 1
    thin[45, 0:30] = 1                      # a line 1 px wide, 2.8% of the pixels: a part, not a speck
    assert len(as_polygons(coco_rle(thin))) == 2
    empty = coco_rle(np.zeros((5, 5), np.uint8))
    assert as_polygons(empty) == empty
    entries = [{"file_name": "a.jpg", "width": 30, "height": 40, "annotations": person_annotations(_result())}]
    coco = json.loads(merge(entries, polygons=0.0)[0])
    assert all(isinstance(a["segmentation"], list) for a in coco["annotations"])
    assert [a["area"] for a in coco["annotations"]] == [a["area"] for a in entries[0]["annotations"]]


def test_a_person_given_who_cannot_be_placed_keeps_a_labelled_box():
    data = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1}],
            "annotations": [{"id": 1, "image_id": 1, "keypoints": [1] * 51, "bbox": [150.0, 224.0, 19.0, 71.7],
                             "area": 900.0},
                            {"id": 2, "image_id": 1, "keypoints": [1] * 51}]}
    empty = {"segmentation": {"size": [40, 30], "counts": "X"}, "area": 0, "bbox": [0, 0, 0, 0]}
    made = {"file_name": "a.jpg", "width": 30, "height": 40, "annotations": [empty, empty]}
    first, second = json.loads(filled(data, [made])[0])["annotations"]
    assert first["bbox"] == [150.0, 224.0, 19.0, 71.7] and first["area"] == 900.0 and "segmentation" in first
    assert second["bbox"] == [0, 0, 0, 0] and second["area"] == 0   # no box given: the mask's
    # keypoint files often hold `segmentation: []`, on which pycocotools' annToMask fails: the empty mask instead;
    # a labelled polygon stays
    data["annotations"][0]["segmentation"] = []
    data["annotations"][1]["segmentation"] = [[1, 1, 5, 1, 5, 5]]
    first, second = json.loads(filled(data, [made])[0])["annotations"]
    assert first["segmentation"] == empty["segmentation"] and second["segmentation"] == [[1, 1, 5, 1, 5, 5]]
    del data["annotations"][1]["area"]   # a labelled box without an area: COCOeval reads every person's
    data["annotations"][1]["bbox"] = [1, 1, 4, 4]
    assert json.loads(filled(data, [made])[0])["annotations"][1]["area"] == 16.0   # the box's


def test_people_of_a_photo_not_segmented_get_an_empty_mask_where_they_have_none():
    """A photo that failed (or was not found) leaves its people as given, and people without keypoints are not
    segmented, but pycocotools' annToMask and COCOeval fail on a person without a segmentation: an empty mask of
    the photo's size where the file gives it in whole pixels."""
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 30.0, "height": 40},
                       {"id": 2, "file_name": "b.jpg"}, {"id": 3, "file_name": "c.jpg", "width": "30", "height": 40},
                       {"id": 4, "file_name": "d.jpg", "width": 30, "height": 40}], "categories": [{"id": 1}],
            "annotations": [{"id": 1, "image_id": 1, "keypoints": [1] * 51, "bbox": [1, 1, 4, 4]},
                            {"id": 2, "image_id": 1, "keypoints": [1] * 51, "segmentation": [[1, 1, 5, 1, 5, 5]]},
                            {"id": 3, "image_id": 1, "keypoints": [1] * 51, "segmentation": []},
                            {"id": 4, "image_id": 2, "keypoints": [1] * 51},
                            {"id": 5, "image_id": 3, "keypoints": [1] * 51},
                            {"id": 6, "image_id": 4, "bbox": [0, 0, 2, 3]}]}   # a box alone: not segmented
    made = {"file_name": "d.jpg", "width": 30, "height": 40, "annotations": []}
    first, second, third, fourth, fifth, sixth = json.loads(filled(data, [made])[0])["annotations"]
    empty = coco_rle(np.zeros((40, 30), np.uint8))
    assert first["segmentation"] == third["segmentation"] == sixth["segmentation"] == empty
    assert first["area"] == 16.0 and third["area"] == 0.0 and sixth["area"] == 6.0   # a labelled box's area
    assert second["segmentation"] == [[1, 1, 5, 1, 5, 5]] and "area" not in second   # labelled: as it was
    assert "segmentation" not in fourth and "segmentation" not in fifth   # no size in whole pixels: no mask


def test_a_tolerance_that_is_not_a_number_of_pixels_is_refused_before_any_work(tmp_path):
    from personseg.annotate import annotate

    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(PersonsegError, match="--simplify"):
            annotate([tmp_path], tmp_path / "o.json", polygons=bad)


def test_a_rerun_with_another_people_file_says_so_in_words():
    from personseg.annotate import _changes

    def settings(people: str | None) -> str:
        return json.dumps({"options": {"method": "fast"}, "min_area": 0, "people": people, "paths": ["/p"]})

    assert _changes(settings("ab" * 32), settings("cd" * 32)) == "the --people file changed since"
    assert _changes(settings(None), settings("cd" * 32)) == "--people given"
    assert "ab" * 32 not in _changes(settings("ab" * 32), settings(None))
    edited = json.dumps(json.loads(settings("ab" * 32)) | {"edits": True})
    assert _changes(settings("ab" * 32), edited) == "--edited given"
    assert _changes(edited, settings("ab" * 32)) == "--edited left out"


def test_a_file_that_is_not_coco_keypoints_is_refused_saying_what_is_missing(tmp_path):
    no_ids = tmp_path / "poses.json"
    no_ids.write_text(json.dumps({"images": [{"image": "a.jpg", "instances": []}]}))
    with pytest.raises(PersonsegError, match="no 'id' field .COCO's images have id and file_name"):
        read_people_file(no_ids)
    elsewhere = tmp_path / "coco.json"
    elsewhere.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg"}],
                                     "annotations": [{"id": 3, "image_id": 2, "keypoints": [0] * 51}]}))
    with pytest.raises(PersonsegError, match="annotation 3 is of image 2, which it does not list"):
        read_people_file(elsewhere)


@pytest.mark.parametrize("change, words", [
    (lambda d: d.pop("annotations"), "no 'annotations' field"),
    (lambda d: d.__setitem__("annotations", [{"id": 1, "image_id": 1, "bbox": [1, 1, 5, 5]}]),   # boxes alone
     "none of its annotations is a person with keypoints"),
    (lambda d: d["annotations"][1].__setitem__("id", 1), "two annotations have the id 1"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, "12"), "annotation 1: keypoints must be 51 numbers"),
    (lambda d: d["annotations"][0].__setitem__("keypoints", [10, 10, 2] * 16), "must be 51 numbers"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(5, 3), "keypoint 2's v is 3; expected 0"),
])
def test_a_people_file_whose_people_cannot_be_read_as_written_is_refused(tmp_path, change, words):
    data = {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "person"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": [10, 10, 2] * 17},
                            {"id": 2, "image_id": 1, "category_id": 1, "keypoints": [10.5, 10, 0.9] * 17}]}
    path = tmp_path / "people.json"
    path.write_text(json.dumps(data))
    assert len(given_people(read_people_file(path))["a.jpg"]) == 2
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(PersonsegError, match=words):
        read_people_file(path)


def test_a_photo_the_people_file_gives_another_size_fails_rather_than_mixing_two_sizes():
    from personseg.annotate import _as_stated

    image = {"id": 1, "file_name": "a.jpg", "width": 30, "height": 40}
    entry = {"file_name": "a.jpg", "width": 30, "height": 40, "annotations": []}
    assert _as_stated(entry, image) is entry and _as_stated(entry, {"id": 2, "file_name": "a.jpg"}) is entry
    assert _as_stated(entry, None) is entry   # a photo it does not list (--edited)
    assert "gives it as 30x40; the photo is 40x30 (turned upright" in str(_as_stated(entry | {"width": 40,
                                                                                             "height": 30}, image))
    image["width"] = 15
    assert str(_as_stated(entry, image)) == ("the people file gives it as 15x40; the photo is 30x40: its keypoints "
                                             "are for another size of it")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's parent-death signal")
def test_a_worker_ends_with_the_process_that_started_it(tmp_path):
    # kill -9 of `annotate --workers 2` left both workers waiting on their queue for ever, 470 MB each
    worker = ("import os, sys, time; from personseg.annotate import _end_with; _end_with(os.getppid()); "
              "open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)")
    ready = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); "
                               "time.sleep(60)", sys.executable, "-c", worker, str(ready)])
    try:
        for _ in range(300):
            if ready.exists() and ready.read_text():
                break
            time.sleep(0.05)
        child = int(ready.read_text())
        parent.kill()
        parent.wait()
        for _ in range(100):
            if not _alive(child):
                break
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()


def test_each_worker_asks_to_end_with_the_process_that_started_it(monkeypatch):
    from personseg import annotate

    asked = []
    monkeypatch.setattr(annotate, "_end_with", asked.append)
    monkeypatch.setattr(annotate, "Segmenter", lambda **options: options)
    annotate._start_worker({"method": "fast"}, 1234)
    assert asked == [1234] and annotate._WORKER["segmenter"] == {"method": "fast"}


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended and not yet reaped by init, counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def test_people_given_are_those_of_the_category_named_person_whatever_its_id():
    # Label Studio numbers categories from 0, CVAT as it pleases: a person of id 7 was silently never segmented
    data = {"images": [{"id": 1, "file_name": "a.jpg"}],
            "categories": [{"id": 1, "name": "dog"}, {"id": 7, "name": "person"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "keypoints": [10, 10, 2] * 17},
                            {"id": 2, "image_id": 1, "category_id": 1, "keypoints": [10, 10, 2] * 17}]}
    assert [len(people) for people in given_people(data).values()] == [1]
    data["categories"] = [{"id": 1, "name": "dog"}]
    with pytest.raises(ValueError, match="no category named person"):
        given_people(data)


def test_people_under_min_area_are_left_out_of_the_file_and_keep_their_ids():
    entries = [{"file_name": "a.jpg", "width": 30, "height": 40, "annotations": person_annotations(_result())}]
    data, record = merge(entries, min_area=5)
    assert [(a["id"], a["area"]) for a in json.loads(data)["annotations"]] == [(1, 200)]
    data, _ = merge(entries, record)   # --min-area 0 again: the small person back with the id kept for them
    assert [(a["id"], a["area"]) for a in json.loads(data)["annotations"]] == [(1, 200), (2, 4)]


def test_simplified_outlines_never_cross_themselves():
    from pycocotools import mask as mask_rle

    from personseg.coco import as_polygons, crosses_itself

    line = np.zeros((60, 60), np.uint8)   # a thin zigzag: Douglas-Peucker within 1 px crosses its outline
    cv2.polylines(line, [np.array([[54, 20], [44, 48], [24, 26], [23, 10], [28, 17], [17, 14]], np.int32)], False, 1)
    doubled = cv2.resize(line, (120, 120), interpolation=cv2.INTER_NEAREST)
    outline = max(cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0], key=len)
    assert crosses_itself(cv2.approxPolyDP(outline, 2.0, True).reshape(-1, 2))
    rle = mask_rle.encode(np.asfortranarray(line))
    (polygon,) = as_polygons({"size": rle["size"], "counts": rle["counts"].decode()}, 1.0)
    assert not crosses_itself(np.reshape(polygon, (-1, 2)))
    assert crosses_itself(np.array([[0, 0], [10, 10], [10, 0], [0, 10]]))   # a bow tie
    assert not crosses_itself(np.array([[0, 0], [4, 0], [4, 4], [2, 0], [0, 4]]))   # touching at a corner only
    assert crosses_itself(np.array([[0, 0], [2, 2], [4, 4], [4, 0], [0, 4]]))   # crossing through a corner
    assert not crosses_itself(np.array([[2, 2], [4, 0], [6, 2], [4, 4], [2, 2], [0, 4], [-2, 2], [0, 0]]))   # two
    # diamonds meeting at a corner, both the same way round
    assert crosses_itself(np.array([[0, 0], [10, 0], [10, 4], [16, 4], [11, 4], [10, 8], [0, 8]]))   # a spike: an
    # edge back along the one before, enclosing nothing



def test_photos_an_edited_file_does_not_list_keep_their_ids_when_more_are_added():
    """--edited: the photos added to the file are numbered on from its ids, and keep them on a rerun that adds
    another before them in name order (a review: z.jpg went from image 2 to 3, its people with it)."""
    def entry(name: str) -> dict:
        return {"file_name": name, "width": 30, "height": 40,
                "annotations": person_annotations(_result(), given=False)}

    def edited() -> dict:
        return {"images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1, "name": "person"}],
                "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "keypoints": [10, 10, 2] * 17}]}

    first, record = filled(edited(), [entry("a.jpg"), entry("z.jpg")])
    z = json.loads(first)["images"][-1]
    assert z == {"id": 2, "file_name": "z.jpg", "width": 30, "height": 40}
    people = [a["id"] for a in json.loads(first)["annotations"] if a["image_id"] == 2]
    assert people[0] == 8
    again = json.loads(filled(edited(), [entry("a.jpg"), entry("b.jpg"), entry("z.jpg")], ids=record)[0])
    assert {im["file_name"]: im["id"] for im in again["images"]} == {"a.jpg": 1, "b.jpg": 3, "z.jpg": 2}
    assert [a["id"] for a in again["annotations"] if a["image_id"] == 2] == people
    taken = edited()
    taken["annotations"].append({"id": people[0], "image_id": 1, "category_id": 1, "keypoints": [9, 9, 2] * 17})
    moved = json.loads(filled(taken, [entry("a.jpg"), entry("z.jpg")], ids=record)[0])   # its id given since
    assert len({a["id"] for a in moved["annotations"]}) == len(moved["annotations"])
