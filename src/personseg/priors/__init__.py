"""Spatial priors made from keypoints (seeds 000 and 002)."""

from __future__ import annotations

import numpy as np

from .posemap import limb_prior, pose_map
from .ssm import frame_map, skeleton_map, spatial_saliency_map

#: The prior maps a network can be fed, by the name its model spec uses.
PRIOR_MAPS = {"ssm": spatial_saliency_map, "posemap": pose_map, "limbs": limb_prior}


def people_map(name: str, people: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """float32 HxW in [0, 1]: prior map ``name`` of everyone (the largest value over the people; zeros when
    nobody was found)."""
    if name not in PRIOR_MAPS:
        raise ValueError(f"unknown prior map {name!r}; choose one of {', '.join(PRIOR_MAPS)}")
    out = np.zeros(shape, np.float32)
    for kp in people:
        np.maximum(out, PRIOR_MAPS[name](kp, shape), out=out)
    return out


__all__ = ["PRIOR_MAPS", "frame_map", "limb_prior", "people_map", "pose_map", "skeleton_map",
           "spatial_saliency_map"]
