"""Everyone in a clip (``subject="all"``). The pose backend finds one person per call, so besides the person it
finds on the whole frame, each other person followed is looked for again on a crop around where their track is
heading, and every SEARCH_EVERY frames the frame is searched for people not yet known (everyone known painted
out, the backend on the whole frame and on ``tiles``), so that people standing beside the subject or walking in
are found. A track is confirmed only where the backend finds its person again on that crop: one that drifted onto
the background is not, so no network is framed on it and its regions are not kept."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..framing import Box, keypoint_box
from ..instances import ERASE_GREY, MAX_PEOPLE, PERSON_VISIBILITY, new_person, pose_in, seen_visibility
from ..pose import PoseBackend
from ..pose.keypoints import keypoint_distance
from .subject import SAME_SUBJECT

#: The frame is searched on the first frame and then every this many frames (at 25 frames/s, somebody walking
#: in is found within 0.6 s). A search costs about 0.09 s on a 854x480 frame, 2 cores.
SEARCH_EVERY = 15
#: Before a search, everyone known is painted out: their keypoint box grown by this share of its longer side.
PAINT_MARGIN = 0.1


class OthersFinder:
    """Call on each frame the pose backend looks at, with the people it found on the whole frame and where the
    tracked people are heading; returns the other people found on that frame (keypoints, (17, 3) each)."""

    def __init__(self, pose: PoseBackend, every: int) -> None:
        """``pose``: a backend that looks at each call afresh (not in video mode: it is given crops). ``every``:
        the frames between calls. At most ``instances.MAX_PEOPLE`` people, those found on the whole frame
        included."""
        self.pose = pose
        self.search_every = max(1, round(SEARCH_EVERY / every))
        self.calls = 0

    def __call__(self, rgb: np.ndarray, found: list[np.ndarray], expected: Iterable[np.ndarray]) -> list[np.ndarray]:
        others: list[np.ndarray] = []
        for kp in expected:
            box = keypoint_box(kp, rgb.shape[0])
            if box is None or not new_person(kp, found + others) or len(found) + len(others) >= MAX_PEOPLE:
                continue
            others.extend([q for q in pose_in(rgb, box, self.pose) if keypoint_distance(q, kp) < SAME_SUBJECT
                           and _person(q, rgb.shape) and new_person(q, found + others)][:1])
        if self.calls % self.search_every == 0:
            work = rgb.copy()
            for kp in found + others:   # their whole box: BlazePose reads a painted-out silhouette as a pose
                box = keypoint_box(kp, rgb.shape[0])
                if box is not None:
                    pad = PAINT_MARGIN * max(box[2] - box[0], box[3] - box[1])
                    x0, y0 = (max(0, int(v - pad)) for v in box[:2])
                    work[y0:max(y0, int(box[3] + pad)), x0:max(x0, int(box[2] + pad))] = ERASE_GREY
            h, w = rgb.shape[:2]
            for box in [(0.0, 0.0, float(w), float(h)), *tiles(rgb.shape)]:
                for kp in pose_in(work, box, self.pose):
                    if _person(kp, rgb.shape) and new_person(kp, found + others):
                        others.append(kp)
            del others[max(0, MAX_PEOPLE - len(found)):]
        self.calls += 1
        return others


def tiles(shape: tuple[int, ...]) -> list[Box]:
    """Squares as wide as the frame's shorter side, overlapping, across its longer side (a person a third of the
    frame tall, whom the backend misses on the whole frame, fills more of one): three on a 16:9 frame, none on a
    square one (the whole frame is one)."""
    h, w = shape[:2]
    side = min(h, w)
    if max(h, w) == side:
        return []
    n = int(np.ceil(max(h, w) / side)) + 1
    starts = np.linspace(0, max(h, w) - side, n)
    return [(float(s), 0.0, float(s + side), float(h)) if w >= h else (0.0, float(s), float(w), float(s + side))
            for s in starts]


def _person(kp: np.ndarray, shape: tuple[int, ...]) -> bool:
    return seen_visibility(kp, shape) >= PERSON_VISIBILITY
