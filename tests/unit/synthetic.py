"""Synthetic inputs for the unit tier."""

from __future__ import annotations

import numpy as np


def person(cx: float, top: float, scale: float, score: float = 0.9) -> np.ndarray:
    """COCO-17 keypoints (17, 3) of an upright person centred at ``cx``, head at ``top``, ``scale`` pixels from
    shoulders to hips."""
    s = scale
    pts = [(0, 0.15), (-0.05, 0.1), (0.05, 0.1), (-0.1, 0.12), (0.1, 0.12),     # nose, eyes, ears
           (-0.25, 0.4), (0.25, 0.4), (-0.35, 0.8), (0.35, 0.8), (-0.4, 1.15), (0.4, 1.15),   # arms
           (-0.15, 1.4), (0.15, 1.4), (-0.15, 1.9), (0.15, 1.9), (-0.15, 2.4), (0.15, 2.4)]   # hips, knees, ankles
    return np.array([(cx + dx * s, top + dy * s, score) for dx, dy in pts], np.float32)
