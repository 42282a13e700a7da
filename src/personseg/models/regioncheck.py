"""The region check (presence.py): a small convolutional classifier. A 64x64 crop of the photo with the region's
mask as a fourth channel goes through four stages (16 to 96 channels), each a strided conv-BN-ReLU then a
depthwise-separable conv; pooled, one linear layer gives the logit that the region is a person."""

from __future__ import annotations

import torch
from torch import nn


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, 1, 1, groups=cout, bias=False), nn.BatchNorm2d(cout),
                         nn.Conv2d(cout, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class RegionCheck(nn.Module):
    def __init__(self, in_channels: int = 4, widths: tuple[int, ...] = (16, 32, 64, 96)) -> None:
        super().__init__()
        layers, cin = [], in_channels
        for w in widths:
            layers.append(_stage(cin, w))
            cin = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(cin, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, 64, 64) -> (N, 1) logits."""
        return self.head(self.features(x).mean(dim=(2, 3)))
