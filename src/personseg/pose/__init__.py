"""Pose keypoints: the backend interface, the BlazePose backend and COCO-17 helpers."""

from __future__ import annotations

import numpy as np

from ..errors import PersonsegError
from .base import BodyMaskBackend, PoseBackend
from .keypoints import (
    COCO_NAMES,
    COCO_SKELETON,
    JOINT14_LIMBS,
    JOINT14_NAMES,
    body_scale,
    empty_keypoints,
    head_point,
    to_joints14,
    validate_keypoints,
)

BACKENDS = ("blazepose",)


def get_backend(name: str = "blazepose", video: bool = False, body_mask: bool = False) -> PoseBackend:
    """Make the keypoint backend called ``name``; ``video``: for the frames of one clip, in order;
    ``body_mask``: one that also outlines the person it finds (a BodyMaskBackend)."""
    check_backend(name)
    from .blazepose import BlazePoseBackend

    return BlazePoseBackend(video=video, body_mask=body_mask)


def check_backend(pose: object) -> None:
    """Raise PersonsegError where ``pose`` is a name that is not a backend's (BACKENDS) or an object without a
    backend's ``detect``."""
    if isinstance(pose, str) and pose not in BACKENDS:
        raise PersonsegError(f"unknown pose backend {pose!r}; choose one of {', '.join(BACKENDS)}")
    if not isinstance(pose, str) and not callable(getattr(pose, "detect", None)):
        raise PersonsegError(f"pose={pose!r}: give a backend's name ({', '.join(BACKENDS)}) or an object with "
                             "detect(rgb) -> list of (17, 3) keypoints (pose.PoseBackend)")


def detect_people(backend: PoseBackend, rgb: np.ndarray, outline: bool = False
                  ) -> tuple[list[np.ndarray], np.ndarray | None]:
    """``backend``'s people in ``rgb`` and, when ``outline`` is asked for and the backend draws one (a
    BodyMaskBackend made with ``body_mask=True``), its probability map of the most prominent person."""
    if outline and hasattr(backend, "detect_with_mask"):
        return backend.detect_with_mask(rgb)
    return backend.detect(rgb), None


__all__ = [
    "BACKENDS", "BodyMaskBackend", "COCO_NAMES", "COCO_SKELETON", "JOINT14_LIMBS", "JOINT14_NAMES", "PoseBackend",
    "body_scale", "check_backend", "detect_people", "empty_keypoints", "get_backend", "head_point", "to_joints14",
    "validate_keypoints",
]
