"""Seed 002's network-free method: a keypoint-seeded graph cut of the main person, refined by a dense CRF."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..refine.components import keep_people
from ..refine.fusion import own_outline
from ..refine.graphcut import classical_probability
from .base import Method, Scene


@dataclass(frozen=True)
class ClassicalMethod(Method):
    """The graph cut (refine/graphcut.py) seeded by the main person's keypoints, with the pose backend's outline
    as its spatial prior where one person is known; widened to everyone, one cut per person. It splits
    several people by colour (no person maps)."""

    name: str
    summary: str
    needs_keypoints: bool = True
    uses_outline: bool = True
    #: its cuts of people the check doubts (video: a pedestrian beside the runner, 0.5 to 0.7 of him marked
    #: without it) did not pass on any of 20 frames, nor the runner's on the first
    regions_checked: ClassVar[bool] = False
    uses_crf: ClassVar[bool] = True

    def coarse(self, scene: Scene, crf: bool) -> np.ndarray:
        return classical_probability(scene.rgb, scene.main, crf=crf, outline=own_outline(scene.outline, scene.people))

    def widen(self, scene: Scene, prob: np.ndarray, crf: bool) -> np.ndarray:
        """The maximum of ``prob`` and each person's own cut."""
        return np.maximum.reduce([prob] + [classical_probability(scene.rgb, kp, crf=crf) for kp in scene.people])

    def finish(self, scene: Scene, prob: np.ndarray) -> np.ndarray:
        """Regions dropped unless the people it cut vouch for them: the main person, or everyone once widened."""
        return keep_people(prob, scene.vouched if scene.everyone else [scene.main])
