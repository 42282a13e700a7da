"""COCO annotations for whole folders: everyone's box, keypoints and mask in each image. Each finished image is
written at once as a small shard beside the output (a killed run loses only the images in flight, a rerun skips
what is done); the shards are merged at the end into one COCO file, the same byte for byte whatever order the
images finished in."""

from __future__ import annotations

import ctypes
import hashlib
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import sys
import warnings
from collections import Counter, deque
from collections.abc import Callable, Collection, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from . import __version__
from .batch import ANNOTATE_CLASH, Job, plan_batch, sole_writer_of
from .coco import as_polygons, is_person, person_ids, segmentation_mask
from .edits import edited, outline_unchanged
from .errors import PersonsegError, describe, show_note
from .image import ImageInput, not_there, write_bytes
from .pipeline import Segmenter
from .pose.keypoints import COCO_NAMES, COCO_SKELETON, MIN_SCORE, given_keypoints, inside
from .raywork import ImageActor, ray_run
from .result import Result, coco_rle
from .runsettings import changes, models_recorded

#: Where the images are segmented: in this process or worker processes, or on a Ray cluster.
ENGINES = ("local", "ray")
#: prctl's option for the signal a process gets when its parent ends (linux/prctl.h)
PR_SET_PDEATHSIG = 1
#: The file in a shard folder that records the run's settings (a rerun must match them).
SETTINGS = "settings.json"
#: The file in a shard folder that records the sha256 of the output last written from it.
WRITTEN = "written.sha256"
#: The ids the file last written from the parts gave (``merge``'s record): a rerun keeps them.
IDS = "ids.json"
#: COCO's person category, with the 17 keypoints and the skeleton (1-based, as COCO writes it).
PERSON = {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO_NAMES),
          "skeleton": [[a + 1, b + 1] for a, b in COCO_SKELETON]}


def person_annotations(result: Result, given: bool = False) -> list[dict]:
    """COCO annotations (no ids yet) of everyone in ``result`` (a Segmenter(instances=True) result) whose mask
    has a pixel: RLE mask, box, area, keypoints (v = 2 where the pose backend is confident
    and the point lies in the photo, else 0 0 0, as COCO labels), their count and the person's score; largest
    first. ``given``: the people were given
    (Segmenter(people=...)): one annotation per given person, in their order, whatever their area."""
    out = []
    for inst in result.instances or []:
        if not given and not inst.area:
            continue
        seen = (inst.keypoints[:, 2] >= MIN_SCORE) & inside(inst.keypoints, inst.mask.shape)
        keypoints = [v for (x, y, _), s in zip(inst.keypoints.tolist(), seen)
                     for v in ((round(x, 2), round(y, 2), 2) if s else (0, 0, 0))]
        out.append({"category_id": PERSON["id"], "iscrowd": 0, "segmentation": inst.rle(), "area": inst.area,
                    "bbox": list(inst.box), "keypoints": keypoints, "num_keypoints": int(seen.sum()),
                    "score": round(inst.score, 4)})
    return out


def image_entry(name: str, result: Result, given: bool) -> dict:
    """What one finished image contributes: its COCO image fields and its people's annotations
    (person_annotations)."""
    h, w = result.mask.shape
    return {"file_name": name, "width": w, "height": h, "annotations": person_annotations(result, given)}


class Shards:
    """One JSON file per finished image in a hidden folder beside the output, named by the image's name and the
    photo's size and time of change (a photo replaced under its name is not finished). They stay after the run,
    with the sha256 of the file last written from them: a later run of the same command adds the photos added
    since, and leaves a file changed since as it is."""

    def __init__(self, out: Path) -> None:
        self.folder = out.parent / f".{out.name}.parts"

    def path(self, job: Job) -> Path:
        info = job.path.stat()
        made_from = f"{job.name}\0{info.st_size}\0{info.st_mtime_ns}"
        return self.folder / f"{hashlib.sha1(made_from.encode()).hexdigest()}.json"

    def start(self, settings: str) -> None:
        """Begin (or go on with) a run of these settings."""
        if not (self.folder / SETTINGS).is_file():
            write_bytes(self.folder / SETTINGS, settings.encode())

    def settings(self) -> str | None:
        path = self.folder / SETTINGS
        return path.read_text() if path.is_file() else None

    def may_be(self, *contents: bytes) -> None:
        """Record that the output may hold any of ``contents`` (as this run found it, or about to be written):
        it is this run's to replace."""
        write_bytes(self.folder / WRITTEN, "\n".join(hashlib.sha256(c).hexdigest() for c in contents).encode(),
                    overwrite=True)

    def changed(self, out: Path) -> bool:
        """Whether ``out`` is none of the files recorded by ``may_be`` (edited since, or another run's)."""
        path = self.folder / WRITTEN
        return not path.is_file() or hashlib.sha256(out.read_bytes()).hexdigest() not in path.read_text().split()

    def keep_only(self, jobs: list[Job]) -> None:
        """Remove the parts of photos not among ``jobs`` (removed, or changed since)."""
        kept = {self.path(job).name for job in jobs if self.done(job)} | {SETTINGS, WRITTEN, IDS}
        for part in self.folder.iterdir():
            if part.name not in kept:
                part.unlink(missing_ok=True)

    def done(self, job: Job) -> bool:
        try:
            return self.path(job).is_file()
        except OSError:   # the photo is gone
            return False

    def save(self, entry: dict, job: Job) -> None:
        write_bytes(self.path(job), json.dumps(entry | {"file_name": job.name}).encode(), overwrite=True)

    def load(self, jobs: list[Job]) -> list[dict]:
        return [json.loads(self.path(job).read_text()) for job in jobs]

    def ids(self) -> dict | None:
        """The ids the file last written from these parts gave (``merge``'s record), None before any."""
        path = self.folder / IDS
        return json.loads(path.read_text()) if path.is_file() else None

    def keep_ids(self, record: dict) -> None:
        write_bytes(self.folder / IDS, json.dumps(record).encode(), overwrite=True)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self, settings: str) -> None:
        """Begin a run of these settings over again: every photo's part goes, the ids and the record of the file
        written stay."""
        self.keep_only([])
        (self.folder / SETTINGS).unlink(missing_ok=True)
        self.start(settings)


def merge(entries: list[dict], ids: dict | None = None, polygons: float | None = None,
          still: Collection[str] = (), min_area: int = 0) -> tuple[bytes, dict]:
    """The COCO file of ``entries`` (images in name order, ids counted from 1 in that order) and the record of its
    ids to keep for a rerun. ``ids``: the record an earlier run of the same command kept (or ``ids_of`` its file):
    each image keeps its id, and its people theirs while their annotations are as they were (where the record has
    no digest of them, while they are as many); what is new is numbered on from the largest ids ever given (so ids
    kept elsewhere stay true: no id goes to another photo or person). ``still``: names of photos not in ``entries``
    (failed this time) whose ids the record keeps. ``polygons``: each segmentation as polygons (``as_polygons``,
    this tolerance) instead of run lengths. ``min_area``: people of fewer pixels are left out of the file (they
    keep their ids in the record: another ``min_area`` brings them back as they were)."""
    known = (ids or {}).get("images", {})
    last_image, last_person = (ids or {}).get("last", (0, 0))
    filtered_at = (ids or {}).get("filtered_at", 0)   # the record's people were only those over this area
    images, annotations = [], []
    record = {name: known[name] for name in still if name in known}
    for entry in sorted(entries, key=lambda e: e["file_name"]):
        name, people = entry["file_name"], entry["annotations"]
        digest = _digest(people)
        before = known.get(name, {})
        image_id = before.get("id")
        if image_id is None:
            last_image += 1
            image_id = last_image
        person_ids = _kept_ids(before, people, digest, filtered_at)
        for k, person_id in enumerate(person_ids):
            if person_id is None:   # new, or the image's people changed: numbered on
                last_person += 1
                person_ids[k] = last_person
        record[name] = {"id": image_id, "people": person_ids, "digest": digest}
        images.append({"id": image_id, "file_name": name, "width": entry["width"], "height": entry["height"]})
        for person_id, ann in zip(person_ids, people):
            if ann["area"] < min_area:   # (over_area's rule)
                continue
            annotations.append({"id": person_id, "image_id": image_id, **ann})
            if polygons is not None:
                annotations[-1]["segmentation"] = as_polygons(ann["segmentation"], polygons)
    # info and licenses too: importers (CVAT's Datumaro) refuse a file without them
    coco = {"info": {"description": "people found by personseg", "version": __version__}, "licenses": [],
            "images": images, "annotations": annotations, "categories": [PERSON]}
    return (json.dumps(coco, separators=(",", ":")).encode(),
            {"last": [last_image, last_person], "images": record})


def _kept_ids(before: dict, people: list[dict], digest: str, filtered_at: int) -> list:
    """The ids an image's ``people`` keep from its record ``before`` (None for each to number anew): all of them
    where the people are as they were (``digest``; where the record has none, as many), or, where the record holds
    only the people over ``filtered_at`` pixels (parts of an older personseg: ``Shards.restart``), theirs for those
    people as they were."""
    old = before.get("people", [])
    if before.get("digest") in (digest, None) and len(old) == len(people):
        return list(old)
    over = over_area(people, filtered_at) if filtered_at else None
    if over is not None and len(old) == len(over) and before.get("digest") in (_digest(over), None):
        given = iter(old)
        return [next(given) if p["area"] >= filtered_at else None for p in people]
    return [None] * len(people)


def over_area(people: list[dict], least: int) -> list[dict]:
    """The annotations of ``people`` of at least ``least`` pixels (--min-area), in order."""
    return [p for p in people if p["area"] >= least]


def _digest(people: list[dict]) -> str:
    """What ``merge`` records of an image's people to tell whether they changed."""
    return hashlib.sha1(json.dumps(people, sort_keys=True).encode()).hexdigest()


def ids_of(coco: dict) -> dict:
    """``merge``'s record of a file written before the parts kept one: its images' and people's ids (no digests)."""
    people: dict[int, list[int]] = {}
    for ann in coco.get("annotations", []):
        people.setdefault(ann["image_id"], []).append(ann["id"])
    images = {im["file_name"]: {"id": im["id"], "people": people.get(im["id"], []), "digest": None}
              for im in coco.get("images", [])}
    return {"last": [max((im["id"] for im in coco.get("images", [])), default=0),
                     max((a["id"] for a in coco.get("annotations", [])), default=0)], "images": images}


def read_people_file(path: str | os.PathLike) -> dict:
    """A COCO keypoint file, checked: images with ids and file names, annotations with image ids."""
    try:
        data = json.loads(Path(path).read_text())
        _given_annotations(data)
    except KeyError as e:
        raise PersonsegError(f"{path}: not a COCO keypoint file: no {e} field (COCO's images have id and file_name, "
                             "its annotations image_id and keypoints)") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError) as e:
        raise PersonsegError(f"{path}: not a COCO keypoint file ({type(e).__name__}: {e})") from None
    except ValueError as e:   # a COCO file whose people cannot be read as written (_given_annotations)
        raise PersonsegError(f"{path}: {e}") from None
    return data


def _given_annotations(data: dict) -> dict[str, list[dict]]:
    """The annotations of each image of a COCO keypoint file by ``file_name`` that are people to segment:
    category person (``coco.person_ids``: by name), not a crowd, with keypoints; in the file's order. ValueError
    where there are none, where two annotations share an id, or where keypoints are not 17 x [x, y, v] numbers
    with v from 0 to 2 (COCO's visibility, or a score)."""
    names = {im["id"]: im["file_name"] for im in data["images"]}
    person = person_ids(data)
    if not person:
        raise ValueError("no category named person among its categories")
    out: dict[str, list[dict]] = {name: [] for name in names.values()}
    ids: set = set()
    for ann in data["annotations"]:
        if ann.get("id") is not None:
            if ann["id"] in ids:
                raise ValueError(f"two annotations have the id {ann['id']}: ids are unique in a COCO file")
            ids.add(ann["id"])
        if is_person(ann, person) and not ann.get("iscrowd") and ann.get("keypoints"):
            if ann["image_id"] not in names:
                raise ValueError(f"annotation {ann.get('id')} is of image {ann['image_id']}, which it does not list")
            _check_keypoints(ann)
            out[names[ann["image_id"]]].append(ann)
    if not any(out.values()):
        raise ValueError("none of its annotations is a person with keypoints: --people segments the people of its "
                         "keypoints")
    return out


def _check_keypoints(ann: dict) -> None:
    """ValueError unless ``ann``'s keypoints are 51 numbers, each third (v) from 0 to 2."""
    kp = ann["keypoints"]
    if (not isinstance(kp, list) or len(kp) != 51
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in kp)):
        raise ValueError(f"annotation {ann.get('id')}: keypoints must be 51 numbers (17 x [x, y, v])")
    bad = next((k for k, v in enumerate(kp[2::3]) if not 0 <= v <= 2), None)
    if bad is not None:
        raise ValueError(f"annotation {ann.get('id')}: keypoint {bad + 1}'s v is {kp[3 * bad + 2]}; expected 0 (not "
                         "labelled), 1 (hidden), 2 (seen) or a score from 0 to 1")


def given_people(data: dict) -> dict[str, list[list[float]]]:
    """The people to segment in each image of a COCO keypoint file (read_people_file) by ``file_name``: 51
    numbers each (pose.given_keypoints reads them)."""
    return {name: [given_keypoints([a["keypoints"]])[0].tolist() for a in anns]
            for name, anns in _given_annotations(data).items()}


def filled(data: dict, entries: list[dict], polygons: float | None = None,
           ids: dict | None = None) -> tuple[bytes, dict | None]:
    """The COCO keypoint file ``data`` written back with each person's ``segmentation`` (RLE, or with ``polygons``
    ``as_polygons`` of that tolerance), ``area`` and ``bbox`` taken from their image's entry (people in the file's
    order), and an image's ``width`` and ``height`` where missing; everything else as it was (a labelled box stays
    where the mask is empty, with the box's area where it had none: COCOeval reads every person's). People of
    images not segmented (failed, or not found), and people without keypoints, are left as they were, but one
    without a ``segmentation`` gets an empty mask (``_no_one_without_a_mask``), as someone who cannot be placed
    does; images of ``entries`` that ``data`` does not list are added, in
    name order, they and their people numbered on from its largest ids (``merge``), keeping those that ``ids``,
    the record of an earlier run's, gave them. Returns the file and the record of the added images' ids (None
    where none were added)."""
    listed = {im["file_name"] for im in data["images"]}
    by_name = {e["file_name"]: e["annotations"] for e in entries}
    sizes = {e["file_name"]: (e["width"], e["height"]) for e in entries}
    for im in data["images"]:
        if im["file_name"] in sizes:
            im.setdefault("width", sizes[im["file_name"]][0])
            im.setdefault("height", sizes[im["file_name"]][1])
    for name, anns in _given_annotations(data).items():
        for ann, made in zip(anns, by_name.get(name, [])):
            if polygons is not None:
                made = made | {"segmentation": as_polygons(made["segmentation"], polygons)}
            if made["area"] or "bbox" not in ann:
                ann.update(segmentation=made["segmentation"], area=made["area"], bbox=made["bbox"])
            elif not ann.get("segmentation"):   # an empty mask (a person who cannot be placed) leaves a labelled
                # box and area as they were; the empty mask in place of none or of `[]` (pycocotools fails on it)
                ann["segmentation"] = made["segmentation"]
            if "area" not in ann:   # the mask's; for a labelled box around an empty mask, the box's (COCOeval
                # reads every person's area, and a keypoint's similarity divides by it)
                box = ann.get("bbox") or [0, 0, 0, 0]
                ann["area"] = made["area"] or float(box[2] * box[3])
    _no_one_without_a_mask(data)
    added = [e for e in entries if e["file_name"] not in listed]
    record = _add(data, added, polygons, ids) if added else None
    data.setdefault("licenses", [])   # importers (CVAT's Datumaro) refuse a file without them
    return json.dumps(data, separators=(",", ":")).encode(), record


def _no_one_without_a_mask(data: dict) -> None:
    """Give every person of the COCO file ``data`` without a segmentation (none, or `[]`: people of a photo that
    failed or was not found, people given without keypoints, crowds) an empty mask where the file gives their photo's
    size in whole pixels, in place (pycocotools' annToMask and COCOeval fail on a person without one); their area
    stays, or is their box's, or 0."""
    shapes = {}
    for im in data["images"]:
        w, h = im.get("width"), im.get("height")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v == int(v) and v > 0 for v in (w, h)):
            shapes[im["id"]] = (int(h), int(w))
    person = person_ids(data)
    empty: dict[tuple[int, int], dict] = {}
    for ann in data["annotations"]:
        shape = shapes.get(ann.get("image_id"))
        if is_person(ann, person) and not ann.get("segmentation") and shape is not None:
            box = ann.get("bbox") or [0, 0, 0, 0]
            if shape not in empty:
                empty[shape] = coco_rle(np.zeros(shape, np.uint8))
            ann.update(segmentation=empty[shape], area=ann.get("area", float(box[2] * box[3])))


def _add(data: dict, entries: list[dict], polygons: float | None, ids: dict | None) -> dict:
    """``entries`` added to the COCO file ``data`` (ids integers: ``_numbered``): images and their people numbered
    on from its largest ids, those the record ``ids`` holds keeping theirs, the people of its person category;
    returns the record of their ids (``merge``'s)."""
    own = ids_of(data)
    taken = ({im["id"] for im in data["images"]}, {a["id"] for a in data["annotations"]})
    kept = {} if ids is None else {   # the earlier run's, where the file has not given those ids since
        name: image for name, image in ids["images"].items()
        if image["id"] not in taken[0] and not taken[1] & set(image["people"])}
    known = own if ids is None else {"last": [max(a, b) for a, b in zip(own["last"], ids["last"])], "images": kept}
    made, record = merge(entries, known, polygons)
    more = json.loads(made)
    person = min(person_ids(data))
    data["images"] += more["images"]
    data.setdefault("annotations", []).extend(a | {"category_id": person} for a in more["annotations"])
    return record


def _numbered(data: dict) -> None:
    """PersonsegError unless the COCO file ``data`` numbers its images and annotations with integers (``_add``
    numbers on from them)."""
    ids = [x.get("id") for x in (*data["images"], *data["annotations"])]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise PersonsegError("the people file has ids that are not integers: photos it does not list cannot be "
                             "numbered on from them")


_WORKER: dict = {}   # a worker process's Segmenter


def _start_worker(options: dict, parent: int) -> None:
    _end_with(parent)
    warnings.showwarning = show_note   # a worker's notes as the command line shows them
    _WORKER["segmenter"] = Segmenter(**options)


def _end_with(parent: int) -> None:
    """Have this worker ended when the process ``parent`` that started it ends, however it ends: killed (kill -9,
    the out-of-memory killer) it cannot stop its workers, which waited on their queue for ever, 470 MB each.
    Linux's parent-death signal; elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:   # ended before the signal was asked for
        os._exit(1)


def _entry_in_worker(job: Job, people: list | None, edits: bool) -> dict:
    return image_entry(job.name, _result(_WORKER["segmenter"], job.path, people, edits), people is not None)


def _result(seg: Segmenter, image: ImageInput, people: list | None, edits: bool) -> Result:
    """``seg``'s Result for ``image``: everyone searched for (``people`` None), exactly ``people``, or with
    ``edits`` the people of an edited file, each {"keypoints", "outline", "polygons"} (``edits.edited``: those the
    search finds as they are keep its masks, or their outline where it was corrected)."""
    if edits and people is not None:
        return edited(seg, image, [p["keypoints"] for p in people], outlines=[p["outline"] for p in people],
                      polygons=people[0]["polygons"] if people else None)
    return seg(image, people=people)


def _filtered_parts(before: str | None, now: str) -> bool:
    """Whether the parts of a run of settings ``before`` differ from ``now``'s only in having kept just the people
    over a --min-area (personseg before the parts held everyone)."""
    try:
        old, new = json.loads(before or "{}"), json.loads(now)
    except ValueError:
        return False
    return isinstance(old, dict) and bool(old.get("min_area")) and old | {"min_area": 0} == new


def _changes(before: str | None, now: str) -> str:
    """What differs between two runs' settings (Shards.settings JSON), as ``runsettings.changes`` says it."""
    def flat(text: str | None) -> dict | None:
        try:
            d = json.loads(text or "{}")
        except ValueError:
            return None
        if not isinstance(d, dict):
            return None
        return {**d.get("options", {}), **{k: v for k, v in d.items() if k != "options"}}

    old, new = flat(before), flat(now)
    if old is None:
        return "unreadable"
    said = []
    if old.get("people") != new.get("people"):   # a digest of the file: say so in words
        said.append("the --people file changed since" if old.get("people") and new.get("people") else
                    "--people given" if new.get("people") else "--people left out")
    if old.get("edits") != new.get("edits"):   # recorded where given
        said.append("--edited given" if new.get("edits") else "--edited left out")
    for key in ("people", "edits"):
        old.pop(key, None)
        new.pop(key, None)
    return "; ".join(said + changes(new, old))


def _entries(jobs: list[Job], options: dict, seg: Segmenter, workers: int, given: dict[str, list] | None,
             edits: bool) -> Iterator[tuple[Job, dict | Exception]]:
    """(job, its entry or what went wrong) for every job, in the order they finish: by ``seg`` here, or by
    ``workers`` processes each with a Segmenter of ``options``; ``given``: the people of each image by name, to
    segment instead of searching (None, or an image it does not list: search); ``edits``: as ``_result``'s."""
    def people(job: Job) -> list | None:
        return None if given is None else given.get(job.name)

    if workers <= 0:
        for job in jobs:
            try:
                listed = people(job)
                yield job, image_entry(job.name, _result(seg, job.path, listed, edits), listed is not None)
            except Exception as e:   # noqa: BLE001 - reported with the image; the run goes on
                yield job, e
        return
    waiting, suspects = deque(jobs), deque()   # suspects: in hand when a worker ended abruptly, tried again alone
    tried: set[str] = set()   # the names of the suspects
    fruitless = 0   # pools broken in a row before any photo finished
    worked = False   # a photo finished in a worker: they can start, so a broken pool is its photos' doing
    while waiting or suspects:
        in_hand, finished = yield from _pooled(waiting, suspects, options, workers, people, edits)
        worked |= finished > 0
        fruitless = 0 if worked or not in_hand else fruitless + 1
        if fruitless >= BROKEN_IN_A_ROW:   # workers that cannot start: the rest fail, not one by one
            for job in (*in_hand, *suspects, *waiting):
                yield job, PersonsegError(f"worker processes ended abruptly {fruitless} times in a row before any "
                                          "photo finished (killed, or out of memory: try fewer --workers)")
            return
        if len(in_hand) == 1 and in_hand[0].name in tried:   # alone, and again: it ends its worker
            yield in_hand[0], PersonsegError("its worker process ended abruptly on it twice (killed, or out of "
                                             "memory: try fewer --workers)")
        elif in_hand:
            names = ", ".join(job.name for job in in_hand)   # (each note its own text: shown, not taken as a repeat)
            warnings.warn(f"a worker process ended abruptly (killed, or out of memory) with {names} in hand: each is "
                          "tried again alone, in a new worker")
            tried.update(job.name for job in in_hand)
            suspects.extend(in_hand)


#: Photos in hand beyond one a worker (``_pooled``): the next is queued while each worker segments.
IN_HAND_EXTRA = 1
#: Pools broken in a row before any photo finished after which the photos left fail (``_entries``).
BROKEN_IN_A_ROW = 3


def _pooled(waiting: deque[Job], suspects: deque[Job], options: dict, workers: int,
            people: Callable[[Job], list | None], edits: bool
            ) -> Generator[tuple[Job, dict | Exception], None, tuple[list[Job], int]]:
    """Segment jobs from ``waiting`` on a pool of ``workers`` processes (IN_HAND_EXTRA more in hand than there
    are workers), or from ``suspects`` one at a time with nothing else in hand, taking them off as they go;
    yields as ``_entries``. Returns the jobs in hand when a worker ended abruptly (the broken pool is left; []
    where none did; a job the broken pool refused goes back where it came from) and how many jobs finished."""
    spawn = multiprocessing.get_context("spawn")   # a fresh interpreter each: mediapipe and onnxruntime hold threads
    with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_start_worker,
                             initargs=(options, os.getpid())) as pool:
        in_hand: dict[Future, Job] = {}
        finished = 0

        def hand(source: deque[Job]) -> bool:
            """The next job of ``source`` into the pool's hands; False where a worker ended since the last look
            (the pool refuses it, and it stays in ``source``)."""
            try:
                in_hand[pool.submit(_entry_in_worker, source[0], people(source[0]), edits)] = source[0]
            except BrokenProcessPool:
                return False
            source.popleft()
            return True

        try:
            while True:
                if suspects:
                    if not in_hand and not hand(suspects):
                        return list(in_hand.values()), finished
                else:
                    while waiting and len(in_hand) < workers + IN_HAND_EXTRA:
                        if not hand(waiting):
                            return list(in_hand.values()), finished
                if not in_hand:
                    return [], finished
                done, _ = wait(in_hand, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    if isinstance(future.exception(), BrokenProcessPool):
                        broken = True   # the pool is done for: the jobs in hand are returned
                        continue
                    finished += 1
                    job = in_hand.pop(future)
                    try:
                        yield job, future.result()
                    except Exception as e:   # noqa: BLE001
                        yield job, e
                if broken:
                    return list(in_hand.values()), finished
        finally:   # the jobs not started are dropped by the pool's own thread: cancelled from here, Python 3.11's
            # pool, broken by workers a SIGTERM to the group ended, set an error on them (InvalidStateError traceback)
            pool.shutdown(wait=False, cancel_futures=True)


def _entries_ray(jobs: list[Job], options: dict, actors: int, address: str | None,
                 nodes: Counter, given: dict[str, list] | None, edits: bool
                 ) -> Iterator[tuple[Job, dict | Exception]]:
    """As ``_entries``, on Ray (raywork.ray_run): ``actors`` actors each hold one Segmenter."""
    by_path = {str(job.path.resolve()): job for job in jobs}
    people = {path: None if given is None else given.get(job.name) for path, job in by_path.items()}
    kwargs = {"options": options, "people": people, "edits": edits}
    for path, made in ray_run(list(by_path), _Annotator, kwargs, actors, address, nodes):
        yield by_path[path], made if isinstance(made, Exception) else json.loads(made)


class _Annotator(ImageActor):
    """The Ray actor of `annotate`: an image's entry (``image_entry``) as JSON."""

    def __init__(self, options: dict, people: dict[str, list | None], edits: bool) -> None:
        super().__init__(options)
        self.people, self.edits = people, edits   # each image's by path (None: searched for)

    def work(self, path: str, rgb: np.ndarray) -> str:
        listed = self.people[path]
        return json.dumps(image_entry(path, _result(self.segmenter, rgb, listed, self.edits), listed is not None))


def annotate(paths: list[str | os.PathLike], out: str | os.PathLike, options: dict | None = None, min_area: int = 0,
             workers: int = 0, overwrite: bool = False, engine: str = "local", address: str | None = None,
             people: str | os.PathLike | None = None, polygons: float | None = None, edits: bool = False,
             progress: Callable[[Iterator, int], Iterator] = lambda it, total: it) -> dict:
    """Write ``out``, one COCO file of everyone in the images under ``paths`` (files, folders searched
    recursively; ``file_name`` relative to the folder named). ``options``: the Segmenter's (instances are
    always on); ``workers``: processes, each with its own Segmenter (0: this one); ``engine`` "ray": Ray actors
    instead (``workers`` of them, default one per two CPUs of the cluster at ``address``: _entries_ray).
    ``people``: a COCO keypoint file whose people are segmented instead of searched for (images matched by
    ``file_name``; only the images it lists are annotated); ``out`` is then that file with each person's
    segmentation, area and box filled (``filled``); with ``edits`` it is an earlier ``out`` after edits, whose
    people as the search finds them keep the search's masks, the others segmented from their keypoints
    (``edits.edited``, as the web page's edits); a photo whose people are all as an earlier run's search found
    them (its parts beside the file or ``out``, same options and version) keeps that run's part, not searched
    again (``_found_before``; counted in 'unchanged'). ``polygons``: segmentations as polygons (``as_polygons``, this
    tolerance in pixels), not run lengths (the parts keep run lengths: a rerun with or without it writes the file
    anew in that form). Returns {'images', 'people', 'nobody' (file names of the
    images where no person was found), 'failed': [(path, why)] (segmenting failed: a rerun tries them again),
    'missing': [(path, why)] (named, or listed by ``people``, and not there), 'done_before', 'unchanged', 'nodes',
    'others', 'gone', 'small' (people left out by ``min_area``), 'unplaced'}
    ('nodes': images segmented by each Ray node; 'gone': file names the file last written held that are no longer
    under ``paths``; 'unplaced': with ``people``, (file name, annotation id) of each given person with a labelled
    joint whose mask came out empty). Images already in the shards of an earlier run (interrupted, or finished and
    ``out`` not changed since) are not done again, if it ran with the same settings: a rerun tries the failed
    images again and adds those added since; ``out`` holds the images under ``paths`` now.
    ``overwrite``: start afresh."""
    out = Path(out)
    if out.suffix.lower() != ".json":
        raise PersonsegError(f"--out {out}: give a .json file")
    for flag, value in (("--min-area", min_area), ("--workers", workers)):
        if value < 0:
            raise PersonsegError(f"{flag} {value}: expected 0 or more")
    if out.is_dir():
        raise PersonsegError(f"--out {out}: is a folder; give a .json file")
    if polygons is not None and not (math.isfinite(polygons) and polygons >= 0):
        raise PersonsegError(f"--simplify {polygons}: expected 0 (exact outlines) or more pixels")
    if edits and people is None:
        raise PersonsegError("--edited takes the people of an edited file: give it with --people")
    if people is not None and min_area:
        raise PersonsegError("--min-area leaves out people found; with --people every given person is written")
    if engine not in ENGINES:
        raise PersonsegError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    shards = Shards(out)
    people_file = None if people is None else read_people_file(people)
    given = None if people_file is None else given_people(people_file)
    stated = {} if people_file is None else {im["file_name"]: im for im in people_file["images"]}
    given_anns = {} if people_file is None else _given_annotations(people_file)
    if edits and given is not None:   # each person's outline goes along (as --polygons writes them): one
        # corrected by hand is kept
        given = {name: [{"keypoints": kp, "outline": ann.get("segmentation") or None, "polygons": polygons}
                        for kp, ann in zip(people, given_anns[name])] for name, people in given.items()}
    asked = options or {}
    options = asked | {"instances": True}
    # options it refuses (a missing --model file) are refused before a run is recorded; its networks of your own
    # are recorded by their contents; it segments here where no worker or actor does
    seg = Segmenter(**options)
    # and what it annotates and with which version: a run on other folders, or of a version whose shipped networks
    # differ, does not write over this one's file or mix with its parts. The parts hold everyone found ("min_area"
    # 0: --min-area leaves people out as the file is written, so another one rewrites it without segmenting again;
    # parts of runs before, which held only the people over theirs, are made again: _filtered_parts)
    settings = json.dumps({"options": {k: str(models_recorded(seg.models) if k == "models" else v)
                                       for k, v in sorted(asked.items())}, "min_area": 0,
                           "people": None if people is None else hashlib.sha256(Path(people).read_bytes()).hexdigest(),
                           **({"edits": True} if edits else {}),
                           "paths": sorted(str(Path(p).resolve()) for p in paths), "version": __version__})
    plan = plan_batch(paths, shards.folder, ANNOTATE_CLASH)
    if given is not None:   # only the images the file lists; those it lists that are missing are failures
        _some_listed_here(given, plan.jobs, people)
        plan.only(given, rest=edits)   # with edits, the photos it does not list are searched and added
        if any(job.name not in given for job in plan.jobs):
            _numbered(people_file)
    if not plan.jobs:
        raise plan.nothing_found(listed=given is not None)
    # a second run writing this file (and its shards) is refused, not mixed in: held from before they are read
    with sole_writer_of(out):
        if overwrite:
            shards.remove()
            if out.exists():   # this run's to replace: an interrupted one goes on where it stopped, numbering
                shards.start(settings)   # afresh (none of the replaced file's ids)
                shards.may_be(out.read_bytes())
                shards.keep_ids(merge([])[1])
        elif out.exists() and (not shards.folder.is_dir() or shards.changed(out)):
            raise PersonsegError(f"output exists: {out}, not as this command last wrote it (edited since, or another "
                                 "command's): --overwrite replaces it, its edits lost, and annotates every photo "
                                 f"again; or give another --out (for edits made since, --people {out} --edited "
                                 "--out ANOTHER.json keeps them)")
        elif shards.folder.is_dir() and _filtered_parts(shards.settings(), settings):
            warnings.warn(f"{shards.folder} holds parts of an earlier personseg that kept only the people over "
                          "its --min-area: every photo is segmented again, each keeping its ids", stacklevel=2)
            record = shards.ids() or (ids_of(json.loads(out.read_bytes())) if out.exists() else None)
            earlier = json.loads(shards.settings())["min_area"]
            shards.restart(settings)
            if record is not None:   # its people's ids are those of the people over the older --min-area
                shards.keep_ids(record | {"filtered_at": earlier})
        elif shards.folder.is_dir() and shards.settings() != settings:
            changed = _changes(shards.settings(), settings)
            again = ("; for a new round of edits it redoes only the photos edited, the others taken from the earlier "
                     "search's parts" if edits and changed == "the --people file changed since" else "")
            raise PersonsegError(f"{shards.folder} holds a run with other settings ({changed}): rerun with them, or "
                                 f"use --overwrite to start afresh{again}")
        todo = [job for job in plan.jobs if not shards.done(job)]
        failed: list[tuple[Path, str]] = []
        shards.start(settings)
        nodes: Counter = Counter()
        taken = (_found_before([Path(people).parent, out.parent], settings, todo, given_anns, polygons)
                 if edits else {})
        unchanged = 0
        for job in [job for job in todo if job.name in taken]:   # a search would give the same (and fail alike)
            entry = _as_stated(taken[job.name], stated.get(job.name))
            if isinstance(entry, Exception):
                failed.append((job.path, describe(entry)))
            else:
                shards.save(entry, job)
                unchanged += 1
        todo = [job for job in todo if job.name not in taken]
        if todo:
            found = (_entries(todo, options, seg, workers, given, edits) if engine == "local" else
                     _entries_ray(todo, options, workers, address, nodes, given, edits))
            for job, entry in progress(found, len(todo)):
                if people_file is not None and not isinstance(entry, Exception):
                    entry = _as_stated(entry, stated.get(job.name))
                if isinstance(entry, Exception):
                    ids = [a.get("id") for a in given_anns.get(job.name, [])]
                    failed.append((job.path, _by_annotation(describe(entry), ids)))
                else:
                    shards.save(entry, job)
        entries = shards.load([job for job in plan.jobs if shards.done(job)])
        before = shards.ids()
        if before is None and out.exists() and people_file is None:   # this command's own last file (checked
            before = ids_of(json.loads(out.read_bytes()))   # above), from parts that kept no ids yet
        names = {job.name for job in plan.jobs}
        gone = sorted(set(before["images"]) - names) if before else []
        data, ids = (merge(entries, before, polygons, names, min_area) if people_file is None else
                     filled(people_file, entries, polygons, before))
        if ids is not None:   # before the file: a record that never reached it leaves only gaps in the numbering
            shards.keep_ids(ids)
        shards.may_be(*([out.read_bytes()] if out.exists() else []), data)   # stopped between the two: either
        write_bytes(out, data, overwrite=True)
        shards.may_be(data)
        shards.keep_only(plan.jobs)
    if people_file is None:
        counts = [len(over_area(e["annotations"], min_area)) for e in entries]
    else:   # as the file was written (filled): with --edited a region found without a pose that the file no longer
        # lists is in the photo's entry, not in the file
        listed = _people_by_name(people_file)
        counts = [listed[e["file_name"]] for e in entries]
    return {"images": len(entries), "people": sum(counts),
            "nobody": [e["file_name"] for e, people in zip(entries, counts) if not people], "failed": failed,
            "missing": [(p, not_there(p)) for p in plan.missing],
            "done_before": len(plan.jobs) - len(todo) - len(taken), "unchanged": unchanged,
            "nodes": dict(nodes), "gone": gone,
            "others": [f for f in plan.others if f.resolve() != Path(out).resolve()],   # not its own file
            "small": 0 if people_file is not None else sum(len(e["annotations"]) for e in entries) - sum(counts),
            "unplaced": [] if people_file is None else _empty_masks(people_file, entries)}


def _some_listed_here(given: dict, jobs: list[Job], people: str | os.PathLike) -> None:
    """PersonsegError where none of the photos the people file lists (``given``, by file name) is among ``jobs``
    (with --edited every photo was then searched as new beside the file's, doubling it): a file of another folder,
    or one whose names lost their subfolders (an annotation tool's export)."""
    here = {job.name for job in jobs}
    if not given or not here or here & set(given):
        return
    listed, found = sorted(given)[0], sorted(here)[0]
    bare = {Path(name).name for name in here} & {Path(name).name for name in given}
    why = (" (its names lack the subfolders the photos are in here: put them back, e.g. with a script)" if bare else
           "")
    raise PersonsegError(f"{people} lists none of the photos under the paths given: it names them as {listed!r}, "
                         f"the photos here are named as {found!r}, relative to the folders given{why}; give the "
                         "folder the file was made from")


def _found_before(folders: list[Path], settings: str, jobs: list[Job], given: dict[str, list[dict]],
                  polygons: float | None) -> dict[str, dict]:
    """For --edited, by name: the parts of the photos of ``jobs`` whose people the file gives exactly as a search
    found them, outlines too (``given``: the file's people of each photo, ``_given_annotations``; outlines as
    written with ``polygons``, ``filled``'s), taken from the parts folders of
    earlier runs in ``folders`` (those beside the file and the output) that searched with this run's method options
    and version, to be kept as they are rather than searched again: ``edits.edited`` gives their people unchanged."""
    now = json.loads(settings)
    sources = []
    for folder in sorted({f for place in folders for f in place.glob(".*.parts") if f.is_dir()}):
        source = Shards(folder.parent / folder.name[1:-len(".parts")])
        try:
            then = json.loads(source.settings() or "null")
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(then, dict) and then.get("people") is None and all(
                then.get(key) == now[key] for key in ("options", "version")):
            sources.append(source)
    out = {}
    for job in jobs:
        anns = given.get(job.name, [])
        for source in sources:
            entry = source.load([job])[0] if source.done(job) else None
            if entry is not None and [a["keypoints"] for a in anns] == [a["keypoints"] for a in entry["annotations"]] \
                    and all(_outline_kept(a.get("segmentation"), b["segmentation"], polygons)
                            for a, b in zip(anns, entry["annotations"])):
                out[job.name] = entry
                break
    return out


def _outline_kept(outline: list | dict | None, found: dict, polygons: float | None) -> bool:
    """Whether a person's ``outline`` in an edited file (none: nothing to keep) is the mask a search found for
    them (``found``, run lengths), as ``edits.outline_unchanged`` says; False for one that cannot be read (the
    search then says so)."""
    if not outline:
        return True
    try:
        return outline_unchanged(outline, segmentation_mask(found, tuple(found["size"])), polygons)
    except (ValueError, TypeError):
        return False


def _people_by_name(data: dict) -> Counter:
    """How many people (annotations of the person category, crowds aside) the COCO file ``data`` lists on each of
    its images, by file name."""
    names = {im["id"]: im["file_name"] for im in data["images"]}
    person = person_ids(data)
    return Counter(names.get(a.get("image_id")) for a in data["annotations"]
                   if is_person(a, person) and not a.get("iscrowd"))


def _by_annotation(why: str, ids: list) -> str:
    """``why`` a photo failed, its "person N" (the N-th of the people given for it, as the segmenter numbers them)
    named as the file names them: "annotation ID" (of ``ids``, the ids of the photo's people in the file's order)."""
    return re.sub(r"\bperson (\d+)\b",
                  lambda m: f"annotation {ids[int(m[1]) - 1]}" if 0 < int(m[1]) <= len(ids) and ids[int(m[1]) - 1]
                  is not None else m[0], why)


def _as_stated(entry: dict, image: dict | None) -> dict | PersonsegError:
    """``entry`` (image_entry), or a PersonsegError where ``image``, its photo's entry in the COCO keypoint file
    given, gives it another width or height: its keypoints were placed on another picture, and the file would say
    one size and hold masks of another."""
    if image is None:   # a photo it does not list (--edited): searched, at its own size
        return entry
    w, h = image.get("width", entry["width"]), image.get("height", entry["height"])
    if (w, h) == (entry["width"], entry["height"]):
        return entry
    turned = (" (turned upright by its EXIF orientation: keypoints are in pixels of the photo as it is seen)"
              if (h, w) == (entry["width"], entry["height"]) else "")
    return PersonsegError(f"the people file gives it as {w}x{h}; the photo is {entry['width']}x{entry['height']}"
                          f"{turned}: its keypoints are for another size of it")


def _empty_masks(data: dict, entries: list[dict]) -> list[tuple[str, object]]:
    """(file name, annotation id) of each person of the COCO keypoint file ``data`` with a labelled joint whose
    mask in ``entries`` (the people in the file's order, as ``filled`` reads them) is empty (COCO files list many
    people with none: no mask is expected of them)."""
    made = {e["file_name"]: e["annotations"] for e in entries}
    return [(name, ann.get("id")) for name, anns in _given_annotations(data).items()
            for ann, person in zip(anns, made.get(name, []))
            if not person["area"] and any(v > 0 for v in ann["keypoints"][2::3])]
