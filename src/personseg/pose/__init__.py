"""Pose keypoints: the backend interface, the BlazePose backend and COCO-17 helpers."""

from __future__ import annotations

from .base import PoseBackend
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


def get_backend(name: str = "blazepose", video: bool = False) -> PoseBackend:
    """Make the keypoint backend called ``name``; ``video``: for the frames of one clip, in order."""
    if name == "blazepose":
        from .blazepose import BlazePoseBackend

        return BlazePoseBackend(video=video)
    raise ValueError(f"unknown pose backend {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS", "COCO_NAMES", "COCO_SKELETON", "JOINT14_LIMBS", "JOINT14_NAMES", "PoseBackend",
    "body_scale", "empty_keypoints", "get_backend", "head_point", "to_joints14", "validate_keypoints",
]
