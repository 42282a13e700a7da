"""People edited on a photo (the web page): whoever still has the keypoints the search found keeps the mask the
search gave them; only the people moved or added are segmented again, from their keypoints, and those removed
take their soft edge along.

Segmenting every person again from keypoints (``Segmenter(people=...)``) remakes everyone's mask, and the search's
own keypoints sent back score lower than the search itself (train splits, `accurate` instances, mean IoU over all
people: pennfudan 0.622 -> 0.604, coco_people 0.147 -> 0.127), so an edit of one person changed the others.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import warnings
from collections.abc import Collection, Sequence

import numpy as np

from .coco import as_polygons, segmentation_mask
from .errors import PersonsegError
from .image import load_image
from .pipeline import Segmenter
from .pose.keypoints import MIN_SCORE, given_keypoints, inside, placed_people
from .result import Instance, Result, coco_rle, nearest_owner

#: Keypoints sent back as the search gave them: equal to within their JSON rounding (a hundredth).
SAME = 0.006


def edited(seg: Segmenter, image, people, dropped: Collection[int] = (), strict: bool = False,
           outlines: Sequence[list | dict | None] | None = None, polygons: float | None = None) -> Result:
    """``seg``'s Result for ``image`` with exactly ``people`` (keypoints, as ``Segmenter(people=...)`` takes
    them): those whose keypoints are a person the search finds keep the search's mask, a person with no keypoint
    at all stands for the search's next region found without a pose (the page sends them back so), and the others
    are segmented from their keypoints, taking their pixels from anyone they overlap (one who cannot be placed on
    the photo gets an empty mask). ``dropped``: the search's regions found without a pose (by their place among
    them, from 0) that are removed, taking their soft edge along; the people with no keypoint stand for the others.
    Its instances are one per person of ``people``, in their order, then the regions none stood for. ``seg`` must
    make instances; PersonsegError for a person given twice or a region dropped that the search did not find, and
    with ``strict`` (the service's edits, which the page sends as the search gave them) for a person with no
    keypoints where no region is left to stand for, who else gets an empty mask (an annotations file's person
    drawn without keypoints, or written by another method that found more regions). ``outlines``: each person's
    outline as an annotations file has it (a COCO segmentation, or None): where they keep the search's mask, one
    that is not the search's mask (``outline_unchanged``: as written with ``polygons``, else in pixels) is their
    mask instead (an outline corrected by hand); one that cannot be read is left aside with a note."""
    if not seg.instances:
        raise PersonsegError("edits are made per person: use a Segmenter with instances=True")
    people = given_keypoints(people)
    rgb = load_image(image)
    placed = {id(kp) for kp in placed_people(people, rgb.shape)}
    found = seg(rgb)
    posed = [i for i in found.instances if i.posed]
    unposed = [i for i in found.instances if not i.posed]
    whole = {k for k in dropped if isinstance(k, numbers.Integral) and not isinstance(k, (bool, np.bool_))}
    if len(whole) < len(set(dropped)):
        raise PersonsegError("dropped: give the regions' numbers (0, 1, ...)")
    wrong = sorted(k for k in whole if not 0 <= k < len(unposed))
    if wrong:
        raise PersonsegError(f"dropped region {wrong[0]}: the search found {len(unposed)} region"
                             f"{'s' * (len(unposed) != 1)} without a pose (numbered from 0)")
    regions = iter([i for k, i in enumerate(unposed) if k not in whole])
    empty = np.zeros(rgb.shape[:2], np.uint8)
    slots: list[Instance | np.ndarray] = []   # per person: an instance (the search's, or empty), or keypoints
    redrawn: set[int] = set()   # the search's people given another outline
    for k, kp in enumerate(people):
        twin = next((j for j in range(k) if _same(kp, people[j], rgb.shape)), None)
        if twin is not None and kp[:, 2].any():
            raise PersonsegError(f"person {k + 1} is given twice (the same keypoints as person {twin + 1})")
        if not kp[:, 2].any():
            slot = next(regions, None)
            if slot is None and strict:
                dropped_said = f" ({len(whole)} of them dropped)" if whole else ""
                raise PersonsegError(f"person {k + 1} has no keypoints, so stands for a region the search found "
                                     f"without a pose: it found {len(unposed)}{dropped_said}, fewer than the people "
                                     "given without keypoints")
        else:
            slot = next((i for i in posed if _same(i.keypoints, kp, rgb.shape)), kp if id(kp) in placed else None)
        if isinstance(slot, Instance) and outlines is not None and outlines[k]:
            named = f"{image}: " if isinstance(image, (str, os.PathLike)) else ""
            drawn = _outlined(slot, outlines[k], f"{named}person {k + 1}", polygons)
            if drawn is not slot:   # the search's person, outlined otherwise: their soft edge stays
                redrawn.add(id(slot))
                slot = drawn
        slots.append(Instance(empty, kp, 0.0) if slot is None else slot)
    slots += list(regions)   # regions no one stood for
    if [id(i) for i in slots] == [id(i) for i in found.instances]:
        return found   # everyone as the search found them, in its order
    changed = [kp for kp in slots if isinstance(kp, np.ndarray)]
    new = seg(rgb, people=changed) if changed else None
    taken = np.zeros(rgb.shape[:2], bool) if new is None else new.mask > 0
    alpha = found.alpha.copy()
    kept = {id(i) for i in slots if isinstance(i, Instance)} | redrawn
    gone = [k for k, i in enumerate(found.instances, start=1) if id(i) not in kept]
    if gone:   # someone no longer there takes their soft edge along: each pixel belongs to the nearest of the
        # search's people and regions, whatever the photo's size
        alpha[np.isin(nearest_owner([i.mask for i in found.instances]), gone)] = 0.0
    if new is not None:
        np.maximum(alpha, new.alpha, out=alpha)
    fresh = iter(new.instances if new is not None else [])   # one per changed person, in their order
    instances = [next(fresh) if isinstance(slot, np.ndarray) else
                 Instance(np.where(taken, 0, slot.mask).astype(np.uint8), slot.keypoints, slot.score)
                 for slot in slots]
    mask = np.zeros(rgb.shape[:2], np.uint8)
    for i in instances:
        mask |= i.mask
    alpha = np.where(mask > 0, np.maximum(alpha, 0.5), np.minimum(alpha, 0.499)).astype(np.float32)
    everyone = [i.keypoints for i in instances if i.posed and i.mask.any()]
    return dataclasses.replace(
        found, mask=mask, alpha=alpha, people=everyone,
        keypoints=everyone[0] if everyone else np.zeros((17, 3), np.float32), instances=instances,
        timings={k: found.timings.get(k, 0.0) + (new.timings.get(k, 0.0) if new else 0.0)
                 for k in {*found.timings, *(new.timings if new else {})}})


def _same(a: np.ndarray, b: np.ndarray, shape: tuple[int, ...]) -> bool:
    """One person: every keypoint and score alike to within SAME (the search's sent back, rounded for JSON), or the
    same sure keypoints inside the photo at the same places (``annotate``'s COCO form: v = 2 on them, zeros on the
    others, whose places and scores a COCO file does not hold)."""
    if _close(a, b):
        return True
    sure = (a[:, 2] >= MIN_SCORE) & inside(a, shape)
    return bool(sure.any() and np.array_equal(sure, (b[:, 2] >= MIN_SCORE) & inside(b, shape))
                and _close(a[sure, :2], b[sure, :2]))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)) <= SAME))


def _outlined(found: Instance, outline: list | dict, who: str, polygons: float | None) -> Instance:
    """``found`` (the search's person, ``who`` in a note), with ``outline`` (a COCO segmentation) as their mask
    where that is not theirs (``outline_unchanged``); ``found`` with a note where it cannot be read."""
    try:
        if outline_unchanged(outline, found.mask, polygons):
            return found
        mask = segmentation_mask(outline, found.mask.shape)
    except (ValueError, TypeError) as e:
        warnings.warn(f"{who}'s outline cannot be read ({e}): the search's mask is kept", stacklevel=2)
        return found
    return Instance(mask, found.keypoints, found.score)


def outline_unchanged(outline: list | dict, mask: np.ndarray, polygons: float | None) -> bool:
    """Whether ``outline`` (a COCO segmentation) is ``mask`` (uint8 HxW): as `annotate` writes it (run lengths, or
    ``as_polygons`` of ``polygons``' tolerance), or failing that the same pixels (another format or tolerance).
    ValueError or TypeError for an outline that cannot be read."""
    written = coco_rle(mask)
    if outline == (written if polygons is None else as_polygons(written, polygons)):
        return True
    return bool(np.array_equal(segmentation_mask(outline, mask.shape) > 0, mask > 0))
