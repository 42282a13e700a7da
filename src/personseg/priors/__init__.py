"""Spatial priors made from keypoints (seeds 000 and 002)."""

from .posemap import limb_prior, pose_map
from .ssm import frame_map, skeleton_map, spatial_saliency_map

__all__ = ["frame_map", "limb_prior", "pose_map", "skeleton_map", "spatial_saliency_map"]
