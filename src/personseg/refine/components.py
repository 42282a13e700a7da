"""Dropping stray blobs from a person mask: separate regions that no found person vouches for (background
clutter a network took for skin or clothes) are removed, people are kept."""

from __future__ import annotations

import cv2
import numpy as np

from ..pose.keypoints import MIN_SCORE

#: Without keypoints, a separate region is kept when its area is at least this share of the largest one's.
KEEP_SHARE = 0.2
#: With keypoints, a region holding none of them must be at least this share of the largest to be kept
#: (people the pose backend missed stay; clutter beside a detected person goes).
KEEP_SHARE_UNSEEN = 0.5


def keep_people(prob: np.ndarray, people: list[np.ndarray] = ()) -> np.ndarray:
    """``prob`` (float HxW person probability) with every connected region of ``prob >= 0.5`` set to 0 unless
    it holds a confident keypoint of one of ``people`` or is large next to the largest region (KEEP_SHARE,
    KEEP_SHARE_UNSEEN). The largest region always stays."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((prob >= 0.5).astype(np.uint8), connectivity=8)
    if count <= 2:
        return prob
    areas = stats[1:, cv2.CC_STAT_AREA]
    h, w = labels.shape
    points = [p for kp in people for p in kp[kp[:, 2] >= MIN_SCORE, :2].astype(int)
              if 0 <= p[0] < w and 0 <= p[1] < h]
    keep = areas >= (KEEP_SHARE_UNSEEN if points else KEEP_SHARE) * areas.max()
    for x, y in points:
        if labels[y, x]:
            keep[labels[y, x] - 1] = True
    drop = ~np.concatenate([[True], keep])[labels]
    if not drop.any():
        return prob
    out = prob.copy()
    out[drop] = 0.0
    return out
