"""Seed 003's deep refinement: a coarse person probability corrected by the refinement network, fed the image
and the boundary and leftover masks of the coarse probability's matte."""

from __future__ import annotations

import cv2
import numpy as np

from ..framing import mask_box
from ..models.registry import spec
from ..runtime import network_probability
from .matting import GUIDE_MAPS, working_matte


def refined_probability(rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Alpha matting of ``prob``'s mask and the boundary and leftover masks of that matte, made on the image
    shrunk to the matting's working size (as the refine model's training mattes were), then the refinement
    network fed the image and those maps. Nobody in the coarse mask: nothing to refine."""
    if not (prob >= 0.5).any():
        return prob
    coarse = working_matte(rgb, prob)
    guides = np.dstack([GUIDE_MAPS[name](coarse) for name in spec("refine").guides])
    h, w = rgb.shape[:2]
    guides = cv2.resize(guides, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
    return network_probability(rgb, "refine", box=mask_box(cv2.resize(coarse, (w, h))), guides=guides)
