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
    x0, y0, w, h = cv2.boundingRect(mask)   # regions are labelled within the box that holds them all
    if w == 0:
        return prob
    # labels only, areas counted from them: OpenCV's per-region statistics cost five times the labelling; with
    # at most 256 labels, as bytes, whose histogram and lookup table take a fifth of numpy's bincount and gather
    count, labels = cv2.connectedComponentsWithAlgorithm(mask[y0:y0 + h, x0:x0 + w], 8, cv2.CV_32S, cv2.CCL_GRANA)
    if count <= 2:
        return prob
    if count <= 256 and labels.size < 2**24:   # float32 counts are exact up to 2**24
        labels = labels.astype(np.uint8)
        areas = cv2.calcHist([labels], [0], None, [count], [0, count]).ravel()[1:]
    else:
        areas = np.bincount(labels.ravel(), minlength=count)[1:]
    points = [(x - x0, y - y0) for kp in people for x, y in kp[kp[:, 2] >= MIN_SCORE, :2].astype(int)
              if 0 <= x - x0 < w and 0 <= y - y0 < h]
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


#: ``keep_subject`` keeps the subject's probability this far (a share of the image diagonal) around their regions:
#: their soft edge, for the matting.
SUBJECT_EDGE = 0.02


def keep_subject(prob: np.ndarray, kp: np.ndarray, lost_empty: bool) -> np.ndarray:
    """``prob`` (float HxW) on the subject's regions of ``prob >= 0.5`` and within SUBJECT_EDGE of them, 0
    elsewhere (no faint trace of anyone else for the matting). The subject's regions: those holding two or more
    of the one person ``kp``'s confident keypoints, and the one holding the most (a single stray keypoint, left
    on someone who walked across them, does not keep that person). Where no region holds one: 0 everywhere with
    ``lost_empty`` (a subject followed in video and lost), else ``prob`` as it is (nothing to go by)."""
    mask = binary_mask(prob)
    h, w = mask.shape
    pts = pixels_inside(kp, mask.shape)
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    held = np.bincount(labels[pts[:, 1], pts[:, 0]], minlength=count)
    held[0] = 0
    if not held.any():
        return np.zeros_like(prob) if lost_empty else prob
    theirs = ((held >= 2) | (held == held.max()))[labels].astype(np.uint8)
    # their soft edge: the dilation worked out only in their box grown by its radius (nothing is nearer)
    r = max(1, round(SUBJECT_EDGE * np.hypot(h, w)))
    x, y, bw, bh = cv2.boundingRect(theirs)
    x0, y0, x1, y1 = max(0, x - r), max(0, y - r), min(w, x + bw + r), min(h, y + bh + r)
    near = np.zeros_like(theirs)
    near[y0:y1, x0:x1] = cv2.dilate(theirs[y0:y1, x0:x1],
                                    cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return np.where((near > 0) & ((theirs > 0) | (labels == 0)), prob, 0.0).astype(prob.dtype, copy=False)
