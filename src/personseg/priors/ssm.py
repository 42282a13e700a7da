"""Seed 000's Spatial Saliency Map: skeleton map -> frame map -> saliency falling off with distance."""

from __future__ import annotations

import cv2
import numpy as np

from ..pose.keypoints import MIN_SCORE, validate_keypoints
from .body import body_from_keypoints, draw_frame, draw_skeleton

#: Distance (in body scales, about shoulder widths) at which the saliency has fallen to exp(-1/2).
FALLOFF = 0.25


def skeleton_map(kp: np.ndarray, shape: tuple[int, int], min_score: float = MIN_SCORE) -> np.ndarray:
    """float32 HxW in {0, 1}: ovals connecting the associated keypoints."""
    body = body_from_keypoints(validate_keypoints(kp), min_score)
    return draw_skeleton(body, shape).astype(np.float32)


def frame_map(kp: np.ndarray, shape: tuple[int, int], min_score: float = MIN_SCORE) -> np.ndarray:
    """float32 HxW in {0, 1}: the skeleton map with torso and head filled."""
    body = body_from_keypoints(validate_keypoints(kp), min_score)
    return draw_frame(body, shape).astype(np.float32)


def spatial_saliency_map(
    kp: np.ndarray, shape: tuple[int, int], min_score: float = MIN_SCORE, falloff: float = FALLOFF
) -> np.ndarray:
    """float32 HxW in [0, 1]: 1 on the frame map, a gaussian of the distance to it elsewhere.

    The fall-off length is ``falloff`` body scales, so the map is the same for the same person at
    any image size. Without any seen keypoint the map is all zeros.
    """
    body = body_from_keypoints(validate_keypoints(kp), min_score)
    if body.empty:
        return np.zeros(shape, np.float32)
    frame = draw_frame(body, shape)
    if not frame.any():   # the body lies outside this image (a crop showing someone else)
        return np.zeros(shape, np.float32)
    dist = cv2.distanceTransform((1 - frame).astype(np.uint8), cv2.DIST_L2, 5)
    sigma = max(falloff * body.scale, 1.0)
    return np.exp(-0.5 * (dist / sigma) ** 2).astype(np.float32)
