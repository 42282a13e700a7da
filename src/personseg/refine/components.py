"""Dropping stray blobs from a person mask: separate regions that no found person vouches for (background
clutter a network took for skin or clothes) are removed, people are kept."""

from __future__ import annotations

import cv2
import numpy as np

from ..framing import binary_mask
from ..pose.keypoints import MIN_SCORE, pixels_inside

#: Without keypoints, a separate region is kept when its area is at least this share of the largest one's.
KEEP_SHARE = 0.2
#: With keypoints, a region holding none of them must be at least this share of the largest to be kept
#: (people the pose backend missed stay; clutter beside a detected person goes).
KEEP_SHARE_UNSEEN = 0.5


def keep_people(prob: np.ndarray, people: list[np.ndarray] = (), unseen: bool = True) -> np.ndarray:
    """``prob`` (float HxW person probability) with every connected region of ``prob >= 0.5`` set to 0 unless
    it holds a confident keypoint of one of ``people`` or is large next to the largest region (KEEP_SHARE,
    KEEP_SHARE_UNSEEN). The largest region always stays. ``unseen`` False: only the regions holding a keypoint
    stay (``prob`` as it is where none does: nothing to go by)."""
    mask = binary_mask(prob)
    x0, y0, w, h = cv2.boundingRect(mask)   # regions are sought within the box that holds them all
    if w == 0:
        return prob
    box = mask[y0:y0 + h, x0:x0 + w]
    # each region's outer border first (holes, and what lies in them, on the second level): a quarter of the
    # labelling's time, and enough where there is one region, or clutter beside one person (``_clutter``)
    borders, tree = cv2.findContours(box, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    outer = [c for c, parent in zip(borders, tree[0, :, 3]) if parent < 0]
    if len(outer) == 1:
        return prob
    points = [(x - x0, y - y0) for kp in people for x, y in kp[kp[:, 2] >= MIN_SCORE, :2].astype(int)
              if 0 <= x - x0 < w and 0 <= y - y0 < h]
    clutter = _clutter(box, outer) if unseen and not points else None
    if clutter is not None:
        return _cleared(prob, box, clutter, (x0, y0))
    # labels only, areas counted from them: OpenCV's per-region statistics cost five times the labelling; with
    # at most 256 labels, as bytes, whose histogram and lookup table take a fifth of numpy's bincount and gather
    count, labels = cv2.connectedComponentsWithAlgorithm(box, 8, cv2.CV_32S, cv2.CCL_GRANA)
    if count <= 256 and labels.size < 2**24:   # float32 counts are exact up to 2**24
        labels = labels.astype(np.uint8)
        areas = cv2.calcHist([labels], [0], None, [count], [0, count]).ravel()[1:]
    else:
        areas = np.bincount(labels.ravel(), minlength=count)[1:]
    keep = (areas >= (KEEP_SHARE_UNSEEN if points else KEEP_SHARE) * areas.max() if unseen
            else np.zeros(count - 1, bool))
    for x, y in points:
        if labels[y, x]:
            keep[labels[y, x] - 1] = True
    if keep.all() or not keep.any():
        return prob
    dropped = np.concatenate([[False], ~keep])   # by label; the background (0) stays as it is
    if labels.dtype == np.uint8:
        gone = cv2.LUT(labels, np.pad(dropped, (0, 256 - count)).astype(np.uint8)).view(bool)
    else:
        gone = dropped[labels]
    out = prob.copy()
    out[y0:y0 + h, x0:x0 + w][gone] = 0.0
    return out


def only_people(prob: np.ndarray, people: list[np.ndarray]) -> np.ndarray:
    """``prob`` with every connected region of ``prob >= 0.5`` that holds no confident keypoint of ``people`` set to
    0 (all of them where none does): the given people's regions and nothing else (``keep_people`` also keeps large
    regions no keypoint is on, people a pose backend missed)."""
    mask = binary_mask(prob)
    count, labels = cv2.connectedComponents(mask, connectivity=8, ltype=cv2.CV_32S)
    keep = np.zeros(count, bool)
    keep[0] = True   # the background (the probability's haze under 0.5) stays as it is
    h, w = mask.shape
    for kp in people:
        for x, y in kp[kp[:, 2] >= MIN_SCORE, :2].astype(int):
            if 0 <= x < w and 0 <= y < h:
                keep[labels[y, x]] = True
    if keep.all():
        return prob
    out = prob.copy()
    out[~keep[labels]] = 0.0
    return out


def _clutter(mask: np.ndarray, outer: list[np.ndarray]) -> list[np.ndarray] | None:
    """The outer borders (of ``outer``) of the regions of ``mask`` (uint8) other than the one with the largest
    bounding box, where each region surely falls under KEEP_SHARE of the largest: its box's area does, of the
    least area the largest can have (every pixel but those in the others' boxes); else None."""
    boxes = np.array([cv2.boundingRect(c) for c in outer])
    sizes = boxes[:, 2] * boxes[:, 3]
    largest = int(np.argmax(sizes))
    others = np.delete(sizes, largest)
    if (others >= KEEP_SHARE * (cv2.countNonZero(mask) - int(others.sum()))).any():
        return None
    return [c for i, c in enumerate(outer) if i != largest]


def _cleared(prob: np.ndarray, mask: np.ndarray, regions: list[np.ndarray], at: tuple[int, int]) -> np.ndarray:
    """``prob`` with 0 on the regions of ``mask`` (uint8, its corner at ``at`` in ``prob``) that ``regions``
    (outer borders) go round, each flood-filled from a pixel of its border."""
    out, left = prob.copy(), mask.copy()
    for border in regions:
        x, y = (int(v) for v in border[0, 0])
        rx, ry, rw, rh = cv2.floodFill(left, None, (x, y), 0, flags=8)[3]
        gone = left[ry:ry + rh, rx:rx + rw] != mask[ry:ry + rh, rx:rx + rw]
        out[at[1] + ry:at[1] + ry + rh, at[0] + rx:at[0] + rx + rw][gone] = 0.0
    return out


#: ``keep_subject`` keeps the subject's probability this far (a share of the image diagonal) around their regions:
#: their soft edge, for the matting.
SUBJECT_EDGE = 0.02
#: ``near_regions`` draws its band at the image's size divided by this.
NEAR_SHRINK = 4


def keep_subject(prob: np.ndarray, kp: np.ndarray, lost_empty: bool) -> np.ndarray:
    """``prob`` (float HxW) on the subject's regions of ``prob >= 0.5`` and within SUBJECT_EDGE of them, 0
    elsewhere (no faint trace of anyone else for the matting). The subject's regions: those holding two or more
    of the one person ``kp``'s confident keypoints, and the one holding the most (a single stray keypoint, left
    on someone who walked across them, does not keep that person). Where no region holds one (or nobody is
    placed): 0 everywhere with ``lost_empty`` (a subject followed in video and lost), else the largest region."""
    mask = binary_mask(prob)
    pts = pixels_inside(kp, mask.shape)
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    held = np.bincount(labels[pts[:, 1], pts[:, 0]], minlength=count)
    held[0] = 0
    if not held.any():
        if lost_empty:
            return np.zeros_like(prob)
        if count < 2:   # no region at all
            return prob
        held[1 + int(np.argmax(np.bincount(labels.ravel(), minlength=count)[1:]))] = 1   # the largest region
    return keep_regions(prob, labels, (held >= 2) | (held == held.max()))


def near_regions(prob: np.ndarray) -> np.ndarray:
    """``prob`` (float HxW) within about SUBJECT_EDGE of its regions (``prob >= 0.5``), 0 farther out: a faint
    haze of probability over the background, which a composite shows as background kept, goes; the mask stays.
    The band is drawn at a quarter of the size (a 41 px disc on a 854x480 frame took 4 ms at full size)."""
    h, w = prob.shape
    mask = binary_mask(prob)
    size = (max(1, w // NEAR_SHRINK), max(1, h // NEAR_SHRINK))
    r = max(1, round(SUBJECT_EDGE * np.hypot(h, w) / NEAR_SHRINK))
    small = cv2.dilate(cv2.resize(mask, size, interpolation=cv2.INTER_AREA),
                       cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    near = cv2.bitwise_or(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), mask)
    return cv2.bitwise_and(prob, prob, mask=near)   # bit for bit ``prob`` where ``near`` is set, 0 elsewhere


def keep_regions(prob: np.ndarray, labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``prob`` (float HxW) on the regions of ``labels`` (regions of ``prob >= 0.5``, 0 the background) whose
    label ``keep`` (bool, by label) marks and within SUBJECT_EDGE of them, 0 elsewhere (no faint trace of the
    others for the matting)."""
    h, w = labels.shape
    kept = keep[labels].astype(np.uint8)
    # their soft edge: the dilation worked out only in their box grown by its radius (nothing is nearer)
    r = max(1, round(SUBJECT_EDGE * np.hypot(h, w)))
    x, y, bw, bh = cv2.boundingRect(kept)
    x0, y0, x1, y1 = max(0, x - r), max(0, y - r), min(w, x + bw + r), min(h, y + bh + r)
    near = np.zeros_like(kept)
    near[y0:y1, x0:x1] = cv2.dilate(kept[y0:y1, x0:x1],
                                    cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return np.where((near > 0) & ((kept > 0) | (labels == 0)), prob, 0.0).astype(prob.dtype, copy=False)
