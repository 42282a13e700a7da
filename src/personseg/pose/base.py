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


class BodyMaskBackend(PoseBackend, Protocol):
    """A backend whose model also outlines the person it found (BlazePose made with ``body_mask=True``)."""

    def detect_with_mask(self, rgb: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        """``detect``'s people and the most prominent one's float32 HxW probability map (None when there is
        none: nobody found, or the backend was made without masks)."""
        ...
