"""Seed 002's pose-guided U-Net: an encoder-decoder with skip connections; the gaussian pose map of the
14 joints joins at the second convolution at half resolution, and the network's output is added to the log
of the (unlearned) limb prior mask, the seed's equation (4): M = dM + log(M_prior).

The input is one tensor: RGB, then the pose map and the limb prior as planes scaled to [-1, 1] (as every
prior map is fed, models/registry.py); the network takes them apart itself. The first convolution is 7x7, the
others 3x3, with leaky ReLU, as in the seed. Differences: batch normalisation after each convolution, and the
output is a logit trained with cross-entropy (our loss) instead of a tanh trained with squared error;
``PRIOR_FLOOR`` keeps log(prior) finite where no limb passes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: Added to the limb prior before its log: where no limb passes the output starts at log(0.05) ~ -3.
PRIOR_FLOOR = 0.05
ENCODER = (24, 32, 48, 64)   # channels at 1/2 (after the pose map joins), 1/4, 1/8, 1/16


def conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.LeakyReLU(0.1, inplace=True))


class PoseUNet(nn.Module):
    """Input (N, 5, H, W): RGB, pose map, limb prior; output (N, 2, H, W) background/person logits."""

    def __init__(self) -> None:
        super().__init__()
        self.first = conv(3, 16, 7, 2)
        self.second = conv(16 + 1, ENCODER[0])
        self.down = nn.ModuleList(
            [nn.Sequential(conv(a, b, 3, 2), conv(b, b)) for a, b in zip(ENCODER[:-1], ENCODER[1:])])
        self.up = nn.ModuleList(
            [nn.Sequential(conv(a + b, b), conv(b, b)) for a, b in zip(ENCODER[:0:-1], ENCODER[-2::-1])])
        self.last = nn.Sequential(conv(ENCODER[0] + 3, 12), nn.Conv2d(12, 1, 3, padding=1))
        self.coarse = nn.Conv2d(ENCODER[-1], 1, 1)

    def forward(self, x: torch.Tensor):
        rgb, pose, limbs = x[:, :3], x[:, 3:4], x[:, 4:5]
        log_prior = torch.log(((limbs + 1.0) * 0.5).clamp(0.0, 1.0) + PRIOR_FLOOR)
        half = self.second(torch.cat([self.first(rgb), F.avg_pool2d(pose, 2)], dim=1))
        skips = [half]
        for block in self.down:
            skips.append(block(skips[-1]))
        y = skips[-1]
        for block, skip in zip(self.up, skips[-2::-1]):
            y = block(torch.cat([F.interpolate(y, size=skip.shape[2:], mode="bilinear", align_corners=False),
                                 skip], dim=1))
        y = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        person = self.last(torch.cat([y, rgb], dim=1)) + log_prior
        logits = torch.cat([torch.zeros_like(person), person], dim=1)
        if not self.training:
            return logits
        coarse = F.interpolate(self.coarse(skips[-1]), size=x.shape[2:], mode="bilinear", align_corners=False)
        coarse = coarse + log_prior
        return logits, torch.cat([torch.zeros_like(coarse), coarse], dim=1)

