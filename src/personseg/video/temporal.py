"""Temporal smoothing of per-frame person probabilities that follows motion instead of lagging behind it:
the previous smoothed map is carried into the current frame along dense optical flow (DIS, at low resolution)
and blended with the new one, except where the flow does not explain the new frame (occlusions, fast motion),
where the new frame's map is taken as it is."""

from __future__ import annotations

import cv2
import numpy as np

#: The flow is computed on the frame halved (gaussian pyramid) until its longest edge is at most this many pixels.
FLOW_SIDE = 256
#: OpenCV's DIS flow refuses a frame narrower or lower than this: such a frame's map is taken as it is.
FLOW_LEAST = 12


class TemporalSmoother:
    """Call once per frame with the frame (RGB uint8) and its probability map (float32 HxW in [0, 1])."""

    def __init__(self, keep: float = 0.5, tolerance: float = 12.0) -> None:
        """``keep``: weight of the carried-over map where the flow fits; ``tolerance``: grey-level error of the
        flow-warped previous frame at which that weight has fallen to zero."""
        self.keep = keep
        self.tolerance = tolerance
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._gray: np.ndarray | None = None
        self._prob: np.ndarray | None = None
        self._grid: np.ndarray | None = None

    def __call__(self, rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
        h, w = prob.shape
        gray = _halved(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        small = _halved(prob)
        out = small
        if self._gray is not None and self._gray.shape == gray.shape and min(gray.shape) >= FLOW_LEAST:
            flow = self._flow.calc(gray, self._gray, None)   # for each pixel now, where it was before
            if self._grid is None or self._grid.shape[:2] != gray.shape:
                self._grid = np.dstack(np.meshgrid(np.arange(gray.shape[1], dtype=np.float32),
                                                   np.arange(gray.shape[0], dtype=np.float32)))
            where = self._grid + flow
            before = cv2.remap(self._prob, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            seen = cv2.remap(self._gray, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            err = cv2.GaussianBlur(np.abs(gray.astype(np.float32) - seen), (5, 5), 0)
            weight = self.keep * np.clip(1.0 - err / self.tolerance, 0.0, 1.0)
            out = weight * before + (1.0 - weight) * small
        self._gray, self._prob = gray, out
        if out is small:
            return prob
        # Apply the low-resolution change to the full-resolution map so that its detail is kept.
        full = prob + cv2.resize(out - small, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.minimum(np.maximum(full, 0.0, out=full), 1.0, out=full)


def _halved(image: np.ndarray) -> np.ndarray:
    """``image`` halved by gaussian pyramid steps until its longest edge is at most FLOW_SIDE."""
    while max(image.shape[:2]) > FLOW_SIDE:
        image = cv2.pyrDown(image)
    return image
