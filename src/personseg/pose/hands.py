"""A hand on a photo: mediapipe's hand detector and landmark model (bundled with mediapipe 0.10.14), the person
check's second opinion on parts of people that no pose is found on (an arm on a bed, hands holding a phone)."""

from __future__ import annotations

import threading
import weakref

import numpy as np

from .._mediapipe import Started, refuse_forked, solution, started

#: A hand counts when mediapipe's handedness score for it is at least this. Chosen out of fold on the region
#: check's training photos (docs/ARCHITECTURE.md, "No one where there is nobody"): 0.8 left two more of the
#: painted-out photos marked than 0.9, with the same people kept.
HAND_SURE = 0.9
#: The palm detector's own threshold.
PALM_FOUND = 0.3


class HandFinder:
    """mediapipe's Hands in photo mode, started at its first call (a graph of about 100 MB), one call at a time."""

    def __init__(self) -> None:
        self._hands: Started | None = None
        self._lock = threading.Lock()

    def seen(self, rgb: np.ndarray) -> bool:
        """True when a hand is found on ``rgb`` (uint8 HxWx3) with a score of HAND_SURE or more."""
        refuse_forked()   # before the lock, which a thread of the parent may have held when it forked
        if min(rgb.shape[:2]) == 0:   # mediapipe fails on an empty image, and its graph stays broken after
            return False
        with self._lock:
            if self._hands is None:
                self._hands = started(lambda: solution("hands").Hands(
                    static_image_mode=True, max_num_hands=2, model_complexity=1,
                    min_detection_confidence=PALM_FOUND))
                weakref.finalize(self, self._hands.close)   # its graph is held until closed
        found = self._hands.process(np.ascontiguousarray(rgb)).multi_handedness or []
        return any(hand.classification[0].score >= HAND_SURE for hand in found)
