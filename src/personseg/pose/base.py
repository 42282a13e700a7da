"""The interface every keypoint backend implements."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PoseBackend(Protocol):
    """Finds people's COCO-17 keypoints in an RGB image."""

    name: str

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Return one float32 (17, 3) array (x, y in pixels, score) per person found, most prominent first."""
        ...
