"""Score a method on a folder of images with ground-truth masks; picture the worst cases."""

from __future__ import annotations

import heapq
import posixpath
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from .coco import is_person, person_ids, segmentation_mask
from .errors import ImageError, PersonsegError
from .image import IMAGE_SUFFIXES, image_files, load_image, mask_of, name_order
from .metrics import Flicker, InstanceMatch, Scores, foreground_iou


@dataclass
class Evaluation:
    scores: Scores
    per_image: list[tuple[str, float]] = field(default_factory=list)   # (id, foreground IoU)
    seconds: list[float] = field(default_factory=list)
    flicker: Flicker | None = None   # for a clip (pairs in frame order)


def find_pairs(images: Path, masks: Path, ids: Iterable[str] | None = None) -> list[tuple[str, Path, Path]]:
    """(id, image path, mask path) for every image with a mask of the same stem (or for ``ids``), in the order of
    the stems with numbers by value (a clip's frames 1 ... 12 as ``personseg video`` reads them); PersonsegError
    where an id lacks its image or mask (``paired``)."""
    pairs, lacking = paired(images, masks, ids)
    if lacking:
        raise PersonsegError(lacking)
    return pairs


def paired(images: Path, masks: Path, ids: Iterable[str] | None = None) -> tuple[list[tuple[str, Path, Path]], str]:
    """``find_pairs``' complete pairs, and what is lacking in words ("" where nothing is): the caller names it
    with the pairs that cannot be used, in one error. The folders themselves only: images in their subfolders are
    left out, with a note."""
    by_stem, masks_by_stem = _by_stem(images), _by_stem(masks)
    below = {folder.name: len(image_files(folder)) for folder in sorted(images.iterdir())
             if folder.is_dir() and not folder.name.startswith(".") and folder.resolve() != masks.resolve()}
    count = sum(below.values())
    if count:   # (the masks' folder among them was counted as images)
        named = ", ".join(f"{name}/" for name, n in below.items() if n)
        warnings.warn(f"{count} image{'s' * (count > 1)} in subfolders of {images} ({named}) left out (the folder "
                      "itself is read, not its subfolders)", stacklevel=3)
    wanted = list(ids) if ids is not None else sorted(by_stem, key=name_order)
    for folder, files in ((images, by_stem), (masks, masks_by_stem)):
        twice = [", ".join(p.name for p in files[i]) for i in wanted if len(files.get(i, ())) > 1]
        if twice:
            raise PersonsegError(f"{folder}: two files of one name, which pair is meant is not known: "
                                 f"{'; '.join(twice[:3])}{'; ...' * (len(twice) > 3)} (keep one of each)")
    by_stem = {i: files[0] for i, files in by_stem.items()}
    masks_by_stem = {i: files[0] for i, files in masks_by_stem.items()}
    twice = sorted(i for i, n in Counter(wanted).items() if n > 1)
    if twice:   # each would be scored twice
        raise PersonsegError(f"ids listed more than once: {', '.join(twice[:5])}{', ...' * (len(twice) > 5)}")
    no_image = [i for i in wanted if i not in by_stem]
    no_mask = [i for i in wanted if i in by_stem and i not in masks_by_stem]
    pairs = [(i, by_stem[i], masks_by_stem[i]) for i in wanted if i in by_stem and i in masks_by_stem]
    if not no_image and not no_mask:
        return pairs, ""
    lacking = [f"{len(ids)} without {what} in {folder} ({', '.join(ids[:5])}{', ...' * (len(ids) > 5)})"
               for ids, what, folder in ((no_image, "an image", images), (no_mask, "a mask", masks)) if ids]
    named = any(Path(i).suffix.lower() in IMAGE_SUFFIXES for i in no_image)   # 00002.jpg for 00002
    return pairs, ("pairs incomplete: " + "; ".join(lacking) + " (ids are file names without their extension)" * named
                   + _naming_hint(no_mask, masks_by_stem, by_stem))


def _naming_hint(no_mask: list[str], masks: dict[str, Path], images: dict[str, Path]) -> str:
    """Where masks lack but one that is no photo's is named after one of them with more to its name (ID_mask.png
    for ID.jpg): how a mask is named."""
    orphans = sorted(stem for stem in masks if stem not in images)
    missing = set(no_mask)
    near = next((masks[stem] for stem in orphans if any(stem[:k] in missing for k in range(1, len(stem)))), None)
    if near is None:
        return ""
    return f" (a mask takes its photo's name but for the extension: {near.name} is not the mask of any photo)"


#: Unusable pairs are named in one error, this many at most.
BAD_NAMED = 5


def unusable(bad: list[str], pairs: int, where: str, lacking: str = "") -> ImageError:
    """The one error naming the pairs that cannot be used (``bad``: each one's own error), of the ``pairs`` in
    ``where``, after what is lacking (``paired``): every one found at once, not one a run."""
    more = f"; and {len(bad) - BAD_NAMED} more" if len(bad) > BAD_NAMED else ""
    parts = [lacking] * bool(lacking) + [f"{len(bad)} of the {pairs} pairs in {where} cannot be used: "
                                         + "; ".join(bad[:BAD_NAMED]) + more] * bool(bad)
    return ImageError("; and ".join(parts))


def check_pairs(pairs: list[tuple[str, Path, Path]], where: str, lacking: str = "") -> None:
    """ImageError naming every pair that cannot be scored (an unreadable mask, one of another size than its photo,
    a file that is not an image, one cut short) and what is lacking (``paired``), found before any is segmented:
    each photo decoded (about as quick as reading the masks: a truncated photo passes its header)."""
    bad = []
    for _, image, mask in pairs:
        try:
            mask_of(mask, load_image(image).shape, image)
        except ImageError as e:
            bad.append(str(e))
    if bad or lacking:
        raise unusable(bad, len(pairs), where, lacking)


def _by_stem(folder: Path) -> dict[str, list[Path]]:
    """The image files of ``folder`` by stem (the pairs' ids): one each, or more where files share a stem
    (0005.jpg and 0005.png: which is the pair's is not known)."""
    out: dict[str, list[Path]] = {}
    for p in image_files(folder):
        out.setdefault(p.stem, []).append(p)
    return out


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray],
    pairs: list[tuple[str, Path, Path]],
    progress: Callable[[Iterable], Iterable] = iter,
    on_image: Callable[[str, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    clip: bool = False,
) -> Evaluation:
    """Run ``predict`` (RGB -> uint8 mask) on each pair and score it; ``on_image`` sees every prediction.
    ``clip``: the pairs are a video's frames in order; flicker is measured too."""
    ev = Evaluation(Scores(), flicker=Flicker() if clip else None)
    inverse = []   # each image's IoU against its mask inverted: masks drawn person black score near 0
    framed = []   # each mask marks most of its border as the person (a method that marks everything scores its
    # inverse well too)
    for ident, image_path, mask_path in progress(pairs):
        rgb = load_image(image_path)
        gt, void = mask_of(mask_path, rgb.shape, image_path)
        t = time.perf_counter()
        pred = predict(rgb)
        ev.seconds.append(time.perf_counter() - t)
        ev.per_image.append((ident, ev.scores.add(pred, gt, void)))
        inverse.append(foreground_iou(pred, 255 - gt, void))
        framed.append(marks_its_border(gt))
        if ev.flicker is not None:
            ev.flicker.add(pred, gt)
        if on_image is not None:
            on_image(ident, rgb, pred, gt)
    if sum(framed) > len(framed) / 2 and np.mean(inverse) > max(INVERTED_HINT, ev.scores.mean_iou + INVERTED_HINT / 2):
        warnings.warn(f"the masks may be inverted (the person black): against them inverted the mean IoU would be "
                      f"{np.mean(inverse):.3f}, not {ev.scores.mean_iou:.3f}; masks are read as the person bright "
                      "on black", stacklevel=2)
    else:   # one mask of many drawn inverted scored near 0 unsaid
        odd = [(ident, iou, inv) for (ident, iou), inv, framed in zip(ev.per_image, inverse, framed)
               if framed and inv >= INVERTED_ONE and iou <= 1.0 - INVERTED_ONE]
        if odd:
            named = ", ".join(f"{ident} ({iou:.2f}; inverted {inv:.2f})" for ident, iou, inv in odd[:3])
            more = f" and {len(odd) - 3} more" if len(odd) > 3 else ""
            warnings.warn(f"{len(odd)} mask{'s' * (len(odd) != 1)} may be inverted (the person black), scoring "
                          f"far better against {'their' if len(odd) != 1 else 'its'} inverse: {named}{more}",
                          stacklevel=2)
    return ev


def marks_its_border(mask: np.ndarray) -> bool:
    """Whether ``mask`` (uint8) marks most of its border as the person, as a mask drawn inverted does."""
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    return np.count_nonzero(edge) > edge.size / 2


#: ``evaluate`` says the masks may be inverted where the method's masks agree with their inverse at least this well
#: (mean IoU), and half this better than with the masks.
INVERTED_HINT = 0.5
#: ... and names each image whose mask agrees with the method's inverted at least this well (IoU), and at most 1
#: minus this as it is.
INVERTED_ONE = 0.75


#: A person's true mask in an annotations file: a mask file, or a COCO segmentation (polygons or RLE).
TrueMask = Path | list | dict


def instance_sets(annotations: Path, images: Path | None = None, limit: int | None = None,
                  crowds_as_people: bool = False) -> list[tuple[str, Path, list[TrueMask], list[TrueMask]]]:
    """(id, image, one true mask per person, crowd masks) of each image of an annotations file (the first ``limit``):
    a COCO file (``coco_sets``: its ``file_name``s under ``images``, by default the file's folder) or one laid out
    like pose_mini's: ``images`` entries with ``image``, ``instances[].instance_mask`` and, where there are any,
    ``crowd_regions[].crowd_mask`` (COCO's crowds: not people, pixels nobody is scored on); paths relative to
    the file (``images`` and ``crowds_as_people`` refused)."""
    import json

    try:
        data = json.loads(Path(annotations).read_text())
    except (OSError, ValueError) as e:
        raise PersonsegError(f"{annotations}: not a readable annotations file ({type(e).__name__}: {e})") from None
    if isinstance(data, dict) and "annotations" in data:
        return coco_sets(data, annotations, Path(annotations).parent if images is None else Path(images), limit,
                         crowds_as_people)
    if images is not None or crowds_as_people:
        raise PersonsegError(f"{annotations} names its images and crowds itself (laid out like pose_mini's "
                             "annotations.json); a folder of images, and crowds taken for people, go with a COCO file")
    try:
        root = Path(annotations).parent
        return [(Path(im["image"]).stem, root / im["image"], [root / i["instance_mask"] for i in im["instances"]],
                 [root / c["crowd_mask"] for c in im.get("crowd_regions", [])]) for im in data["images"]][:limit]
    except (KeyError, TypeError) as e:
        raise PersonsegError(f"{annotations}: not a readable annotations file ({type(e).__name__}: {e}; a COCO file, "
                             "or one laid out like pose_mini's annotations.json, each image's `image` and its "
                             "people's `instance_mask` files)") from None


def coco_sets(data: dict, annotations: Path, images: Path, limit: int | None = None,
              crowds_as_people: bool = False) -> list[tuple[str, Path, list[TrueMask], list[TrueMask]]]:
    """``instance_sets`` of a COCO instances file (``data``, read from ``annotations``; ``personseg annotate``
    writes one, CVAT and Label Studio export one): each image under ``images`` by its ``file_name`` (its id; a
    Windows path's backslashes as slashes), its people those of the category named person (``coco.person_ids``),
    their crowds (``iscrowd``) apart, or taken for people with ``crowds_as_people`` (CVAT writes its mask
    annotations as crowds: a file of crowds alone is refused without it). Checked before anything is segmented
    (PersonsegError), for the first ``limit`` images: each there, at the size the file gives it (EXIF orientation
    applied, as photos are segmented), listed once, and every segmentation readable at that size. People without
    a segmentation are not scored (a warning), unless nobody has one (a keypoint or box file)."""
    listed, found = _coco_people(data, annotations)
    people: dict[str, tuple[list, list]] = {name: ([], []) for name, _ in listed}
    unscored = crowds = 0
    for name, anns in found.items():
        for ann in anns:
            if not ann.get("segmentation"):
                unscored += 1
                continue
            crowd = bool(ann.get("iscrowd")) and not crowds_as_people
            crowds += crowd
            people[name][crowd].append((ann.get("id"), ann["segmentation"]))
    if crowds and not any(masks for masks, _ in people.values()):
        raise PersonsegError(f"{annotations}: all of its {crowds} people are marked as crowds (iscrowd), which are "
                             "not scored; CVAT writes its mask annotations so: --crowds-as-people scores them as "
                             "people")
    if unscored and not any(masks or crowd_masks for masks, crowd_masks in people.values()):
        raise PersonsegError(f"{annotations}: none of its {unscored} people has a segmentation: people are scored by "
                             "their masks (a file of keypoints or boxes goes to annotate --people)")
    listed = listed[:limit]
    paths = {name: images / name.replace("\\", "/") for name, _ in listed}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise PersonsegError(f"{len(missing)} of the {len(listed)} images of {annotations} are not under {images} "
                             f"({', '.join(missing[:3])}{', ...' * (len(missing) > 3)}): give the folder their "
                             "file_names are under (--images)")
    if unscored:
        warnings.warn(f"{annotations}: {unscored} people without a segmentation are not scored")
    for name, size in listed:
        _check_segmentations(annotations, paths[name], size, people[name][0] + people[name][1])
    return [(name, paths[name], [m for _, m in people[name][0]], [c for _, c in people[name][1]])
            for name, _ in listed]


def _coco_people(data: dict, annotations: Path, key: Callable[[str], str] = str
                 ) -> tuple[list[tuple[str, tuple]], dict[str, list[dict]]]:
    """The images of the COCO file ``data`` (read from ``annotations``) as (``key`` of their file_name, (width,
    height)), in its order, and the annotations of the category named person (``coco.person_ids``) on each, by
    that key. PersonsegError where it is not a COCO file, names no person category, lists an image twice, or
    has a person of an image it does not list."""
    try:
        person = person_ids(data)
        listed = [(key(str(im["file_name"])), (im.get("width"), im.get("height"))) for im in data["images"]]
        names = {str(im["id"]): name for im, (name, _) in zip(data["images"], listed)}
        people: dict[str, list[dict]] = {name: [] for name, _ in listed}
        for ann in data["annotations"]:
            if not is_person(ann, person):
                continue
            if str(ann["image_id"]) not in names:
                raise PersonsegError(f"{annotations}: annotation {ann.get('id')} is of image {ann['image_id']}, "
                                     "which the file does not list")
            people[names[str(ann["image_id"])]].append(ann)
    except (KeyError, TypeError, AttributeError) as e:
        raise PersonsegError(f"{annotations}: not a readable COCO file ({type(e).__name__}: {e}; COCO's images have "
                             "id and file_name, its annotations image_id, category_id and segmentation)") from None
    if not person:
        raise PersonsegError(f"{annotations}: no category named person among its categories")
    twice = sorted(name for name, n in Counter(name for name, _ in listed).items() if n > 1)
    if twice:
        raise PersonsegError(f"{annotations} lists {', '.join(twice[:3])}{', ...' * (len(twice) > 3)} more than once")
    return listed, people


@dataclass
class Predicted:
    """A COCO file of people found (``predicted_people``): each true photo's predicted segmentations (None where the
    file does not list the photo: not scored; ``[]`` where it lists nobody there) and the size the file gives it
    (w, h; None where not given), and the file names it lists that are none of the photos."""

    people: list[list | None]
    sizes: list[tuple[int | None, int | None]]
    unmatched: list[str]


def _as_key(name: str) -> str:
    """A file_name as ``predicted_people`` matches it: slashes, no drive, no ``./`` or ``..`` steps, no leading
    slash."""
    name = name.replace("\\", "/")
    if re.match(r"^[A-Za-z]:/", name):
        name = name[2:]
    return posixpath.normpath(name).lstrip("/")


def predicted_people(annotations: Path, photos: list[Path]) -> Predicted:
    """The people of a COCO file of predictions (``personseg annotate``'s, edited or not, or another tool's) on each
    of ``photos`` (the true sets' image paths, ``instance_sets``): every annotation of the person category with a
    segmentation, crowds too. A photo is the file's image whose ``file_name`` ends its absolute path
    (``people/a.jpg`` is ``/.../people/a.jpg``), so a file written for the photos' folder or for one above it both
    match. Refused: a file that lists a name twice, a person of an image it does not list, no segmentation at all,
    and a name that fits two photos or a photo that two names fit."""
    import json

    try:
        data = json.loads(Path(annotations).read_text())
    except (OSError, ValueError) as e:
        raise PersonsegError(f"{annotations}: not a readable COCO file ({type(e).__name__}: {e})") from None
    listed, people = _coco_people(data, annotations, _as_key)
    found = {name: [a["segmentation"] for a in anns if a.get("segmentation")] for name, anns in people.items()}
    if not any(found.values()) and any(people.values()):
        raise PersonsegError(f"{annotations}: none of its people has a segmentation: people are scored by their "
                             "masks")
    given = dict(listed)
    by_base: dict[str, list[str]] = {}
    for name in found:
        by_base.setdefault(name.rsplit("/", 1)[-1], []).append(name)
    out = Predicted([], [], [])
    fits: dict[str, Path] = {}
    for photo in photos:
        path = "/" + Path(photo).absolute().as_posix().lstrip("/")
        names = [name for name in by_base.get(Path(photo).name, []) if path.endswith("/" + name)]
        if len(names) > 1:
            raise PersonsegError(f"{annotations} lists {names[0]} and {names[1]}, both names of {photo}")
        for name in names:
            if name in fits:
                raise PersonsegError(f"{annotations} lists {name}, a name of {fits[name]} and of {photo}: name the "
                                     "photos by more of their path")
            fits[name] = photo
        out.people.append(found[names[0]] if names else None)
        out.sizes.append(given[names[0]] if names else (None, None))
    out.unmatched.extend(sorted(set(found) - set(fits)))
    return out


def _check_segmentations(annotations: Path, image: Path, size: tuple[int | None, int | None],
                         segmentations: list[tuple[object, list | dict]]) -> None:
    """PersonsegError unless ``image`` is the ``size`` (w, h; None where not given) its COCO file gives it and each
    of its (annotation id, segmentation) can be read at that size; the photo decoded (one cut short passes its
    header)."""
    h, w = load_image(image).shape[:2]
    if None not in size and tuple(size) != (w, h):
        turned = " (its EXIF orientation turns it; the annotations may be of the pixels as stored)" if tuple(
            size) == (h, w) else ""
        raise PersonsegError(f"{annotations} gives {image.name} as {size[0]}x{size[1]}; the photo is {w}x{h}{turned}: "
                             "annotations are scored on the photo as it is")
    for ident, segmentation in segmentations:
        try:
            segmentation_mask(segmentation, (h, w))
        except ValueError as e:
            raise PersonsegError(f"{annotations}: annotation {ident} of {image.name} cannot be read ({e})") from None


def true_mask(source: TrueMask, rgb: np.ndarray, image: Path) -> np.ndarray:
    """uint8 {0, 255} mask of one true person (``instance_sets``) on the photo ``rgb`` (read from ``image``): a mask
    file (``mask_of``), or a COCO segmentation (``coco.segmentation_mask``; ImageError where it cannot be read at
    the photo's size)."""
    if isinstance(source, Path):
        return mask_of(source, rgb.shape, image)[0]
    try:
        return segmentation_mask(source, rgb.shape)
    except ValueError as e:
        raise ImageError(f"{image}: a segmentation in the annotations cannot be read ({e})") from None


def evaluate_people(predict: Callable[[np.ndarray], list[np.ndarray]],
                    sets: list[tuple[str, Path, list[TrueMask], list[TrueMask]]],
                    progress: Callable[[Iterable], Iterable] = iter,
                    on_image: Callable[[str, dict[str, int]], None] | None = None) -> InstanceMatch:
    """Match ``predict``'s per-person masks to the true ones (``instance_sets``), image by image; a prediction
    lying mostly on a crowd is not spurious (``InstanceMatch.add``). ``on_image(id, counts)``: each image's true
    people, found, missed and spurious."""
    match = InstanceMatch()
    for ident, image_path, masks, crowds in progress(sets):
        rgb = load_image(image_path)
        crowd = np.maximum.reduce([true_mask(c, rgb, image_path) for c in crowds]) if crowds else None
        before = len(match.ious), match.missed, match.spurious
        match.add(predict(rgb), [true_mask(m, rgb, image_path) for m in masks], ignore=crowd)
        if on_image is not None:
            found, missed = len(match.ious) - before[0], match.missed - before[1]
            on_image(ident, {"people": found + missed, "found": found, "missed": missed,
                             "spurious": match.spurious - before[2]})
    return match


#: Height of the legend strip above the worst cases' tiles.
LEGEND_HEIGHT = 24


def worst_grid(cases: list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray]], tile: int = 240) -> np.ndarray:
    """uint8 RGB picture of (id, IoU, rgb, pred, gt) cases: prediction outline magenta, truth green."""
    tiles = []
    for ident, iou, rgb, pred, gt in cases:
        f = tile / max(rgb.shape[:2])
        size = (round(rgb.shape[1] * f), round(rgb.shape[0] * f))
        t = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        for m, colour in ((gt, (0, 255, 0)), (pred, (255, 0, 255))):
            small = cv2.resize(m, size, interpolation=cv2.INTER_NEAREST)
            contours, _ = cv2.findContours(small, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(t, contours, -1, colour, 2)
        canvas = np.zeros((tile, tile, 3), np.uint8)
        canvas[: t.shape[0], : t.shape[1]] = t
        # yellow on a black edge, readable on white photos too; on the whole tile (past a portrait's edge),
        # smaller for a long id, and its middle left out where even that does not fit
        label, scale = _label(ident, iou, tile - 8)
        for colour, thickness in (((0, 0, 0), 3), ((255, 255, 0), 1)):
            cv2.putText(canvas, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)
        tiles.append(canvas)
    cols = min(4, len(tiles))
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i:i + cols], axis=1) for i in range(0, len(tiles), cols)]
    legend = np.zeros((LEGEND_HEIGHT, rows[0].shape[1], 3), np.uint8)
    for x, text, colour in ((4, "true outline", (0, 255, 0)), (124, "method's outline", (255, 0, 255)),
                            (284, "image id, foreground IoU", (255, 255, 0))):
        cv2.putText(legend, text, (x, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    return np.concatenate([legend] + rows, axis=0)


def _label(ident: str, iou: float, width: int) -> tuple[str, float]:
    """A tile's label (id and IoU) and its font scale, within ``width`` pixels."""
    for scale in (0.5, 0.4):
        label = f"{ident} {iou:.3f}"
        if cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] <= width:
            return label, scale
    while len(ident) > 6 and cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width:
        ident = ident[: len(ident) // 2 - 1] + ident[len(ident) // 2 + 1:]
        label = f"{ident[: len(ident) // 2]}..{ident[len(ident) // 2:]} {iou:.3f}"
    return label, scale


#: How many of the worst images a picture of them shows by default.
WORST_COUNT = 12


class WorstCases:
    """The ``count`` images with the lowest foreground IoU seen so far (feed ``keep`` to ``evaluate`` as
    ``on_image``), and their picture."""

    def __init__(self, count: int = WORST_COUNT) -> None:
        self.count = count
        self._heap: list[tuple[float, str, np.ndarray, np.ndarray, np.ndarray]] = []

    def keep(self, ident: str, rgb: np.ndarray, pred: np.ndarray, gt: np.ndarray) -> None:
        item = (-foreground_iou(pred, gt), ident, rgb, pred, gt)
        (heapq.heappush if len(self._heap) < self.count else heapq.heappushpop)(self._heap, item)

    def cases(self) -> list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray]]:
        """(id, IoU, rgb, prediction, truth), worst first."""
        return [(i, -n, rgb, p, g) for n, i, rgb, p, g in sorted(self._heap, reverse=True)]

    def picture(self) -> np.ndarray | None:
        """``worst_grid`` of the cases kept (None when none were)."""
        return worst_grid(self.cases()) if self._heap else None
