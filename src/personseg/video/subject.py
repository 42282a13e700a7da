"""One person followed through a clip by identity (``subject="main"``). The most prominent person of the first
frame with anyone in it is the subject; from then on the single-person pose backend looks only at a crop around
where the subject is expected, and a pose it finds there counts as the subject only when its keypoints lie where
the subject's tracked keypoints are heading and it looks like them (colours along the body). A pose that is
someone else (a bystander walking into the crop) is
painted out and the crop searched once more; where the subject is still not found, optical flow carries them.
A subject found once and missed on the next call (a pose placed on the background) is forgotten, and the
search for a first subject passes over poses placed there again."""

from __future__ import annotations

import cv2
import numpy as np

from ..framing import area, keypoint_box
from ..instances import SAME_PERSON, find_people, paint_out, person_pose
from ..pose import PoseBackend, detect_people
from ..pose.keypoints import keypoint_distance
from ..pose.tracking import PointTrack
from ..priors.body import body_from_keypoints, draw_frame

#: The crop the pose backend looks at: the subject's expected box grown by this share of its longer side.
SEARCH_MARGIN = 0.5
#: A pose is the subject when its mean keypoint distance from the subject's expected keypoints, over the
#: subject's size, is below this (``keypoint_distance``).
SAME_SUBJECT = 0.5
#: A subject whose track was lost is taken back only by a pose this near where they were last seen.
LOST_SAME = 1.0
#: A pose looks like the subject when its look (``looks``) is less than this ``unlike`` theirs, with the pose
#: backend on every frame; UNLIKE_SPARSE where it runs on every few frames (the look changes more between calls).
#: Each just above the same person's largest distance on the clips without bystanders (parkour, tennis, hike: 0.35
#: on every frame, 0.42 on every 5th); different people are further apart (pairs of Penn-Fudan train pedestrians:
#: 99% at 0.45 or more); ``python benchmarks/bystanders.py --looks``. 0.45 on every frame let a crossing
#: bystander take the hiker's track on a choice clip (another pedestrian than the benchmark's).
UNLIKE = 0.4
UNLIKE_SPARSE = 0.45
#: The share of each frame's look in the subject's look.
LOOK_RATE = 0.2
#: The search for a first subject passes over poses where the latest this many forgotten ones were (until the
#: next search in its turn).
FORGOTTEN_KEPT = 4


def looks(rgb: np.ndarray, kp: np.ndarray) -> np.ndarray:
    """What the person of ``kp`` looks like: a normalised hue-saturation-value histogram (8 x 4 x 4 bins) of the
    pixels of their skeleton-and-torso frame."""
    frame = draw_frame(body_from_keypoints(kp), rgb.shape[:2])
    x, y, w, h = cv2.boundingRect(frame)   # only the frame's pixels count: only their box is converted
    if w == 0:
        return np.zeros(8 * 4 * 4, np.float32)
    hsv = cv2.cvtColor(rgb[y:y + h, x:x + w], cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], frame[y:y + h, x:x + w], [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, None, 1.0, 0.0, cv2.NORM_L1).ravel()


def unlike(a: np.ndarray, b: np.ndarray) -> float:
    """How different two ``looks`` are: 0 the same, 1 nothing in common (Bhattacharyya distance)."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))


def search_box(expected: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The whole-pixel crop (x0, y0, x1, y1) around the subject's expected keypoints."""
    box = keypoint_box(expected, shape[0])
    h, w = shape[:2]
    if box is None:
        return 0, 0, w, h
    x0, y0, x1, y1 = box
    pad = SEARCH_MARGIN * max(x1 - x0, y1 - y0)
    return (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(w, int(np.ceil(x1 + pad))),
            min(h, int(np.ceil(y1 + pad))))


class SubjectFinder:
    """The pose step of ``subject="main"``: call with each frame the pose backend is to look at and the
    subject's track (None when there is none); returns the subject's keypoints, or None, and with ``outline``
    the backend's outline of them."""

    def __init__(self, pose: PoseBackend, outline: bool, refresh: int, every: int) -> None:
        """``refresh``: after this many calls without finding the subject near their track (or with no track),
        the whole frame is searched, and again every this many calls; until the subject is first found, also
        as soon as the backend places someone on the whole frame. ``every``: the frames between calls."""
        self.pose, self.outline, self.refresh = pose, outline, refresh
        self.unlike_max = UNLIKE if every == 1 else UNLIKE_SPARSE
        self.look: np.ndarray | None = None       # what the subject looks like, recent frames weighing more
        self.last_seen: np.ndarray | None = None  # their keypoints when the backend last found them
        self.waited = refresh                     # calls since they were last found or the whole frame searched
        self.sightings = 0                        # calls that found them
        self.forgotten: list[np.ndarray] = []    # the keypoints of the latest subjects found once and forgotten

    def __call__(self, rgb: np.ndarray, track: PointTrack | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        if track is not None and self.look is not None:
            kp, outline = self._near(rgb, track.expected)
            if kp is None and self.last_seen is not None and self._drifted(track):
                kp, outline = self._near(rgb, self.last_seen)
            if kp is not None:
                self.waited = 0
                self.sightings += 1
                return kp, outline
            if self.sightings == 1:   # chosen and not found again: a pose placed on the background, forgotten
                self.forgotten = [*self.forgotten, self.last_seen][-FORGOTTEN_KEPT:]
                self.look, self.last_seen, self.sightings, self.waited = None, None, 0, 0
                return None, None
        self.waited += 1
        # until the subject is first found, the backend looks at each frame whole (one call), and a person it
        # places (one the search keeps, not where a pose was forgotten) starts the search at once: someone walking
        # in is not left out until the next search
        if self.waited < self.refresh and (self.last_seen is not None or not self._someone(rgb)):
            return None, None
        if self.waited >= self.refresh:   # a search in its turn looks at everyone again: someone real missed once
            self.forgotten = []           # is passed over until then at most
        self.waited = 0   # a track that drifted off them, or none: the whole frame is searched
        kp = self._first(rgb) if self.last_seen is None else self._refound(rgb)
        if kp is None:
            return None, None
        if self.look is None:
            self.look = looks(rgb, kp)
        found, outline = self._near(rgb, kp)
        self.last_seen = kp if found is None else found
        self.sightings += 1
        return self.last_seen, outline

    def _someone(self, rgb: np.ndarray) -> bool:
        """True when the backend places a person on the whole of ``rgb`` whom ``find_people`` would keep, not
        where a pose was forgotten (placed there again, it would start a search every other call)."""
        return any(person_pose(kp, rgb.shape) and not self._passed_over(kp) for kp in self.pose.detect(rgb))

    def _passed_over(self, kp: np.ndarray) -> bool:
        """Whether ``kp`` lies where one of the ``forgotten`` poses was."""
        return any(keypoint_distance(kp, gone) < SAME_SUBJECT for gone in self.forgotten)

    def _drifted(self, track: PointTrack) -> bool:
        """The track has moved off where the backend last found the subject (optical flow can carry it onto
        someone crossing in front of them): worth a second search there."""
        return keypoint_distance(track.expected, self.last_seen) >= SAME_SUBJECT

    def _near(self, rgb: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Search the crop around ``expected`` (``search_box``). A pose is the subject when it lies where they
        are heading (SAME_SUBJECT) and looks like them (UNLIKE, UNLIKE_SPARSE); one that is someone else is
        painted out (its body frame and the backend's outline of it) and the crop searched once more."""
        x0, y0, x1, y1 = search_box(expected, rgb.shape)
        work = rgb[y0:y1, x0:x1]
        for attempt in range(2):
            found, drawn = detect_people(self.pose, work, outline=True)
            if not found:
                break
            kp = found[0].copy()
            kp[:, :2] += (x0, y0)
            look = looks(rgb, kp)
            if keypoint_distance(kp, expected) < SAME_SUBJECT and unlike(self.look, look) < self.unlike_max:
                self.look = (1 - LOOK_RATE) * self.look + LOOK_RATE * look
                self.last_seen = kp
                if not self.outline or drawn is None:
                    return kp, None
                full = np.zeros(rgb.shape[:2], np.float32)
                full[y0:y1, x0:x1] = drawn
                return kp, full
            if attempt == 0:   # the backend's outline covers the whole body, not just its frame
                work = work.copy()
                paint_out(work, found[0], drawn)
        return None, None

    def _first(self, rgb: np.ndarray) -> np.ndarray | None:
        """The most prominent person in ``rgb`` (the largest keypoint box of everyone found but where a pose was
        forgotten), or None."""
        people = [kp for kp in find_people(rgb, np.zeros(rgb.shape[:2], np.uint8), self.pose, same=SAME_PERSON)
                  if not self._passed_over(kp)]
        return max(people, key=lambda kp: area(keypoint_box(kp) or (0, 0, 0, 0)), default=None)

    def _refound(self, rgb: np.ndarray) -> np.ndarray | None:
        """The person in ``rgb`` who looks like the lost subject, nearest where they were last seen, if near
        enough to be them (LOST_SAME), or None."""
        people = [kp for kp in find_people(rgb, np.zeros(rgb.shape[:2], np.uint8), self.pose, same=SAME_PERSON)
                  if keypoint_distance(kp, self.last_seen) < LOST_SAME
                  and unlike(self.look, looks(rgb, kp)) < self.unlike_max]
        return min(people, key=lambda kp: keypoint_distance(kp, self.last_seen), default=None)
