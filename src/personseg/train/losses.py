"""Losses for thin structures and boundaries: cross-entropy, a boundary-weighted term and a soft IoU."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def boundary_band(target: torch.Tensor, width: int = 5) -> torch.Tensor:
    """1 where a pixel lies within ``width`` pixels of the mask's outline (N, H, W float)."""
    t = target.float()[:, None]
    k = 2 * width + 1
    dil = F.max_pool2d(t, k, 1, width)
    ero = -F.max_pool2d(-t, k, 1, width)
    return (dil - ero)[:, 0]


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, boundary_weight: float = 2.0,
                      iou_weight: float = 0.5) -> torch.Tensor:
    """Cross-entropy, plus cross-entropy again on the boundary band (weight ``boundary_weight``), plus
    1 - soft IoU of the foreground. ``logits`` (N, 2, H, W), ``target`` (N, H, W) in {0, 1}."""
    if logits.shape[2:] != target.shape[1:]:
        logits = F.interpolate(logits, size=target.shape[1:], mode="bilinear", align_corners=False)
    target = target.long()
    ce = F.cross_entropy(logits, target, reduction="none")
    band = boundary_band(target)
    loss = ce.mean() + boundary_weight * (ce * band).sum() / band.sum().clamp(min=1.0)
    p = torch.softmax(logits, dim=1)[:, 1]
    t = target.float()
    inter = (p * t).sum(dim=(1, 2))
    union = (p + t - p * t).sum(dim=(1, 2))
    return loss + iou_weight * (1 - (inter + 1) / (union + 1)).mean()
