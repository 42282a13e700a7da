"""Keypoints followed across video frames (seed 002's tracking): Lucas-Kanade optical flow carries every point
into the next frame, a constant-velocity Kalman filter per point fuses the flow with the pose detector's
measurements, and points the detector misses are bridged by flow for a while. Several people keep their
identities by matching detections to tracks."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..framing import area, overlap
from .keypoints import MIN_SCORE, keypoint_distance

_F = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1]], np.float64)   # constant velocity
_LK = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))


@dataclass
class TrackConfig:
    process_noise: float = 4.0     # pixels of unexplained motion per frame
    detect_noise: float = 3.0      # pixels: the detector's error
    flow_noise: float = 2.0        # pixels: optical flow's error between two frames
    max_gap: int = 30              # frames a point is bridged by flow without a detection
    fade: float = 0.97             # per-frame factor on the score of a point carried by flow
    coast: float = 0.7             # per-frame factor on the score of a point neither flow nor detector saw
    damping: float = 0.5           # per-frame factor on the velocity of such a point (it does not fly off)
    max_flow_error: float = 30.0   # LK's patch error above which a flow step is not trusted
    max_round_trip: float = 2.0    # pixels: a point flowed forward and back must land this near its start


class PointTrack:
    """One person's 17 keypoints, filtered. ``keypoints`` is the current (17, 3) estimate (x, y, score)."""

    def __init__(self, kp: np.ndarray, cfg: TrackConfig) -> None:
        self.cfg = cfg
        self.x = np.zeros((17, 4))
        self.x[:, :2] = kp[:, :2]
        self.p = np.tile(self._p0(), (17, 1, 1))
        self.score = np.where(kp[:, 2] >= MIN_SCORE, kp[:, 2], 0.0)
        self.gap = np.where(self.score > 0, 0, cfg.max_gap + 1)
        self.missed = 0   # frames since the detector last saw this person

    def _p0(self) -> np.ndarray:
        return np.diag([self.cfg.detect_noise**2] * 2 + [self.cfg.process_noise**2 * 4] * 2)

    @property
    def keypoints(self) -> np.ndarray:
        return np.column_stack([self.x[:, :2], self.score]).astype(np.float32)

    @property
    def expected(self) -> np.ndarray:
        """Where the keypoints are heading: the estimate moved on by its velocity for one frame."""
        return np.column_stack([self.x[:, :2] + self.x[:, 2:], self.score]).astype(np.float32)

    def predict(self) -> None:
        q = np.diag([0.25, 0.25, 1.0, 1.0]) * self.cfg.process_noise**2
        self.x = self.x @ _F.T
        self.p = _F @ self.p @ _F.T + q

    def correct(self, idx: np.ndarray, z: np.ndarray, noise: float) -> None:
        """Kalman update of points ``idx`` with measured positions ``z`` (len(idx), 2)."""
        if len(idx) == 0:
            return
        p = self.p[idx]
        gain = p[:, :, :2] @ np.linalg.inv(p[:, :2, :2] + np.eye(2) * noise**2)   # P H^T S^-1, all points at once
        self.x[idx] += (gain @ (z - self.x[idx, :2])[:, :, None])[:, :, 0]
        self.p[idx] = p - gain @ p[:, :2, :]   # (I - K H) P

    def flow(self, prev: np.ndarray, gray: np.ndarray) -> np.ndarray:
        """Carry the live points from frame ``prev`` to ``gray`` (both uint8 grayscale); returns the indices of
        the points the flow followed."""
        live = np.flatnonzero(self.gap <= self.cfg.max_gap)
        if live.size == 0:
            return live
        start = self._before[live].astype(np.float32).reshape(-1, 1, 2)
        moved, ok, err = cv2.calcOpticalFlowPyrLK(prev, gray, start, None, **_LK)
        back, ok_back, _ = cv2.calcOpticalFlowPyrLK(gray, prev, moved, None, **_LK)
        round_trip = np.linalg.norm((back - start).reshape(-1, 2), axis=1)   # forward-backward check
        good = ((ok.ravel() == 1) & (ok_back.ravel() == 1) & (err.ravel() < self.cfg.max_flow_error)
                & (round_trip < self.cfg.max_round_trip))
        # where the flow fails the point coasts on its damped motion and fades (see step)
        self.correct(live[good], moved.reshape(-1, 2)[good], self.cfg.flow_noise)
        return live[good]

    def step(self, prev: np.ndarray | None, gray: np.ndarray, detection: np.ndarray | None) -> None:
        """Advance one frame: predict, follow the flow, then take the detector's confident points."""
        self._before = self.x[:, :2].copy()
        self.predict()
        followed = self.flow(prev, gray) if prev is not None else np.zeros(0, int)
        unseen = np.ones(17, bool)
        unseen[followed] = False
        self.gap += 1
        self.score *= np.where(unseen, self.cfg.coast, self.cfg.fade)
        self.x[unseen, 2:] *= self.cfg.damping
        if detection is not None:
            seen = np.flatnonzero(detection[:, 2] >= MIN_SCORE)
            reborn = seen[self.gap[seen] > self.cfg.max_gap]   # points lost before start afresh
            self.x[reborn] = 0.0
            self.x[reborn, :2] = detection[reborn, :2]
            self.p[reborn] = self._p0()
            self.correct(seen, detection[seen, :2].astype(np.float64), self.cfg.detect_noise)
            self.score[seen] = detection[seen, 2]
            self.gap[seen] = 0
            self.missed = 0
        else:
            self.missed += 1
        self.score[self.gap > self.cfg.max_gap] = 0.0


@dataclass
class PeopleTracker:
    """Everyone's keypoints across frames, each person with a stable id (1, 2, ...)."""

    cfg: TrackConfig = field(default_factory=TrackConfig)
    tracks: dict[int, PointTrack] = field(default_factory=dict)
    _next_id: int = 1
    _prev: np.ndarray | None = None
    confirmed: set[int] = field(default_factory=set)   # ids the detector saw when it last ran

    def update(self, rgb: np.ndarray, detections: list[np.ndarray] | None) -> dict[int, np.ndarray]:
        """Take one frame and the detector's people on it (None on frames where the detector did not run:
        every track is then carried by optical flow). Returns {id: (17, 3) keypoints} of the people present."""
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        assigned: dict[int, np.ndarray] = {}
        fresh: list[np.ndarray] = []
        if detections is not None:
            assigned, fresh = self._match(detections)
        for tid, track in self.tracks.items():
            track.step(self._prev, gray, assigned.get(tid) if detections is not None else None)
        if detections is not None:
            self.confirmed = set(assigned)
        for kp in fresh:
            self.tracks[self._next_id] = PointTrack(kp, self.cfg)
            self.confirmed.add(self._next_id)
            self._next_id += 1
        if detections is not None:   # a track the detector no longer confirms, lying on one it does, is a stray copy
            seen = [tr.keypoints for tr in self.tracks.values() if tr.missed == 0]
            for tid in [t for t, tr in self.tracks.items() if tr.missed > 0]:
                if any(_box_iou(self.tracks[tid].keypoints, kp) > 0.3 for kp in seen):
                    del self.tracks[tid]
        for tid in [t for t, tr in self.tracks.items() if tr.missed > self.cfg.max_gap or tr.score.max() == 0]:
            del self.tracks[tid]
        self._prev = gray
        return {tid: tr.keypoints for tid, tr in self.tracks.items()}

    def _match(self, detections: list[np.ndarray]) -> tuple[dict[int, np.ndarray], list[np.ndarray]]:
        """Pair detections with tracks by mean keypoint distance (relative to the person's size)."""
        ids = list(self.tracks)
        if not ids or not detections:
            return {}, list(detections)
        cost = np.array([[keypoint_distance(self.tracks[t].keypoints, d) for t in ids] for d in detections])
        from scipy.optimize import linear_sum_assignment   # 0.3 s to import: only where people are paired

        rows, cols = linear_sum_assignment(cost)
        assigned, used = {}, set()
        for r, c in zip(rows, cols):
            if cost[r, c] < 1.0:
                assigned[ids[c]] = detections[r]
                used.add(r)
        return assigned, [d for i, d in enumerate(detections) if i not in used]


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of the boxes around two people's confident keypoints."""
    boxes = []
    for kp in (a, b):
        pts = kp[kp[:, 2] >= MIN_SCORE, :2]
        if len(pts) < 2:
            return 0.0
        boxes.append((*pts.min(axis=0), *pts.max(axis=0)))
    inter = overlap(*boxes)
    total = area(boxes[0]) + area(boxes[1]) - inter
    return float(inter / total) if total > 0 else 0.0
