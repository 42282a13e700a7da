"""People edited on a photo (the web page): whoever still has the keypoints the search found keeps the mask the
search gave them; only the people moved, added or removed are segmented again, from their keypoints.

Segmenting every person again from keypoints (``Segmenter(people=...)``) remakes everyone's mask, and the search's
own keypoints sent back score lower than the search itself (train splits, `accurate` instances, mean IoU over all
people: pennfudan 0.622 -> 0.604, coco_people 0.147 -> 0.127), so an edit of one person changed the others.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from .errors import PersonsegError
from .image import load_image
from .pipeline import Segmenter
from .result import Instance, Result

#: Keypoints sent back as the search gave them: equal to within their JSON rounding (a hundredth).
SAME = 0.006


def edited(seg: Segmenter, image, people: list[np.ndarray]) -> Result:
    """``seg``'s Result for ``image`` with exactly ``people`` (keypoints, as ``Segmenter(people=...)`` takes
    them): those whose keypoints are a person the search finds keep the search's mask, the regions the search
    found without a pose stay, and the others are segmented from their keypoints, taking their pixels from
    anyone they overlap. Its instances are one per person of ``people``, in their order, then those regions.
    ``seg`` must make instances."""
    if not seg.instances:
        raise PersonsegError("edits are made per person: use a Segmenter with instances=True")
    rgb = load_image(image)
    found = seg(rgb)
    posed = [i for i in found.instances if i.keypoints[:, 2].any()]
    kept = [i for i in posed if any(_same(i.keypoints, kp) for kp in people)]
    changed = [kp for kp in people if not any(_same(i.keypoints, kp) for i in posed)]
    if not changed and len(kept) == len(posed):
        return found
    regions = [i for i in found.instances if not i.keypoints[:, 2].any()]
    new = seg(rgb, people=changed) if changed else None
    taken = np.zeros(rgb.shape[:2], bool) if new is None else new.mask > 0
    alpha = found.alpha.copy()
    gone = {id(i) for i in posed if not any(i is k for k in kept)}
    if gone:   # a person no longer there takes their soft edge along: each pixel belongs to the nearest of the
        # search's people and regions, whatever the photo's size
        owner = np.zeros(rgb.shape[:2], np.int32)
        for k, i in enumerate(found.instances, start=1):
            owner[i.mask > 0] = k
        _, nearest = cv2.distanceTransformWithLabels((owner == 0).astype(np.uint8), cv2.DIST_L2, 3,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
        ys, xs = np.nonzero(owner)   # the labels number the mask's pixels in this order
        theirs = [k for k, i in enumerate(found.instances, start=1) if id(i) in gone]
        alpha[np.isin(owner[ys, xs][nearest - 1], theirs)] = 0.0
    if new is not None:
        np.maximum(alpha, new.alpha, out=alpha)
    fresh = iter(new.instances if new is not None else [])   # one per changed person, in their order
    instances = []   # in the order of ``people`` (a client's own order: its colours and selection stay put)
    for kp in people:
        same = next((i for i in kept if _same(i.keypoints, kp)), None)
        instances.append(next(fresh) if same is None else
                         Instance(np.where(taken, 0, same.mask).astype(np.uint8), same.keypoints, same.score))
    instances += [r for r in (Instance(np.where(taken, 0, i.mask).astype(np.uint8), i.keypoints, i.score)
                              for i in regions) if r.mask.any()]
    mask = np.zeros(rgb.shape[:2], np.uint8)
    for i in instances:
        mask |= i.mask
    alpha = np.where(mask > 0, np.maximum(alpha, 0.5), np.minimum(alpha, 0.499)).astype(np.float32)
    everyone = [i.keypoints for i in instances if i.keypoints[:, 2].any()]
    return dataclasses.replace(
        found, mask=mask, alpha=alpha, people=everyone,
        keypoints=everyone[0] if everyone else np.zeros((17, 3), np.float32), instances=instances,
        timings={k: found.timings.get(k, 0.0) + (new.timings.get(k, 0.0) if new else 0.0)
                 for k in {*found.timings, *(new.timings if new else {})}})


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)) <= SAME))
