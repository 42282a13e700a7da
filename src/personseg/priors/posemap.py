"""Seed 002's inputs: the gaussian pose map of the 14 joints and the limb prior mask."""

from __future__ import annotations

import numpy as np

from ..pose.keypoints import JOINT14_LIMBS, MIN_SCORE, body_scale, to_joints14, validate_keypoints

#: Joint bump size and limb thickness, in body scales (about shoulder widths).
JOINT_SIGMA = 0.08
LIMB_SIGMA = 0.15


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    h, w = shape
    return np.arange(w, dtype=np.float32)[None, :], np.arange(h, dtype=np.float32)[:, None]


def pose_map(kp: np.ndarray, shape: tuple[int, int], min_score: float = MIN_SCORE) -> np.ndarray:
    """float32 HxW in [0, 1]: a gaussian bump at each seen joint of the 14-joint body (max over joints)."""
    kp = validate_keypoints(kp)
    joints = to_joints14(kp, min_score)
    out = np.zeros(shape, np.float32)
    sigma = max(JOINT_SIGMA * body_scale(kp, min_score), 1.0)
    xs, ys = _grid(shape)
    for x, y, s in joints:
        if s > 0:
            np.maximum(out, np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2)), out=out)
    return out


def limb_prior(kp: np.ndarray, shape: tuple[int, int], min_score: float = MIN_SCORE) -> np.ndarray:
    """float32 HxW in [0, 1]: per limb a gaussian centred at the midpoint of its two joints.

    Along the limb the spread is half its length, across it ``LIMB_SIGMA`` body scales, so each
    limb is an elongated soft oval (seed 002's prior mask, added to the U-Net's output).
    """
    kp = validate_keypoints(kp)
    joints = to_joints14(kp, min_score)
    out = np.zeros(shape, np.float32)
    across = max(LIMB_SIGMA * body_scale(kp, min_score), 1.0)
    xs, ys = _grid(shape)
    for a, b in JOINT14_LIMBS:
        if joints[a, 2] <= 0 or joints[b, 2] <= 0:
            continue
        p, q = joints[a, :2], joints[b, :2]
        d = q - p
        length = float(np.linalg.norm(d))
        if length < 1e-3:
            continue
        u = d / length
        mx, my = (p + q) / 2
        along = (xs - mx) * u[0] + (ys - my) * u[1]
        perp = -(xs - mx) * u[1] + (ys - my) * u[0]
        g = np.exp(-0.5 * ((along / max(length / 2, 1.0)) ** 2 + (perp / across) ** 2))
        np.maximum(out, g, out=out)
    return out
