"""LWPSN (seed 000): a compressed ResNeXt-29 (cardinality 32), atrous spatial pyramid pooling with dilation
rates 4, 8 and 12, and a decoder that brings back detail from the early features.

The input has RGB plus, optionally, extra prior channels (the Spatial Saliency Map). The ResNeXt is the
29-layer one of the paper's family (a two-conv stem, three stages of three bottleneck blocks, each a 1x1
reduction, a 3x3 convolution in 32 groups and a 1x1 expansion) with every width cut down so that the
network runs on a CPU in tens of milliseconds. ASPP sees the 1/16 scale features through depthwise
separable atrous convolutions; the decoder upsamples to 1/4 scale, joins the stage-1 features and predicts
there. Training also returns the ASPP head's coarse logits (deep supervision), like SINet.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CARDINALITY = 32
#: (output channels, bottleneck width, stride) of the three stages.
STAGES = ((64, 64, 1), (128, 128, 2), (192, 192, 2))
RATES = (4, 8, 12)


def conv_bn(cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1, dilation: int = 1,
            relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, dilation * (k // 2), dilation, groups, bias=False),
                               nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    """ResNeXt block: 1x1 reduce, grouped 3x3, 1x1 expand, plus the (projected) shortcut."""

    def __init__(self, cin: int, cout: int, width: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, width), conv_bn(width, width, 3, stride, groups=CARDINALITY),
                                  conv_bn(width, cout, relu=False))
        self.short = (nn.Identity() if cin == cout and stride == 1
                      else conv_bn(cin, cout, 1, stride, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.short(x), inplace=True)


class ASPP(nn.Module):
    """A 1x1 branch, one depthwise separable atrous branch per rate and an image-pooling branch, fused by 1x1."""

    def __init__(self, cin: int, cout: int, rates: tuple[int, ...] = RATES) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [conv_bn(cin, cout)]
            + [nn.Sequential(conv_bn(cin, cin, 3, groups=cin, dilation=r), conv_bn(cin, cout)) for r in rates])
        self.pool = conv_bn(cin, cout)
        self.fuse = conv_bn(cout * (len(rates) + 2), cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(x.mean(dim=(2, 3), keepdim=True)).expand(-1, -1, x.shape[2], x.shape[3])
        return self.fuse(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))


class LWPSN(nn.Module):
    """Person segmentation network of seed 000; ``in_channels`` 3 (RGB) or 4 (RGB + SSM)."""

    def __init__(self, in_channels: int = 4, classes: int = 2) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv_bn(in_channels, 24, 3, 2), conv_bn(24, 32, 3, 2))
        stages, cin = [], 32
        for cout, width, stride in STAGES:
            stages.append(nn.Sequential(Bottleneck(cin, cout, width, stride), Bottleneck(cout, cout, width, 1),
                                        Bottleneck(cout, cout, width, 1)))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.aspp = ASPP(cin, 96)
        self.coarse = nn.Conv2d(96, classes, 1)
        self.low = conv_bn(STAGES[0][0], 32)
        self.decode = nn.Sequential(conv_bn(96 + 32, 96 + 32, 3, groups=96 + 32), conv_bn(96 + 32, 64),
                                    conv_bn(64, 64, 3, groups=64), conv_bn(64, 48))
        self.head = nn.Conv2d(48, classes, 1)

    def forward(self, x: torch.Tensor):
        size = x.shape[2:]
        low = self.stages[0](self.stem(x))
        deep = self.aspp(self.stages[2](self.stages[1](low)))
        up = F.interpolate(deep, size=low.shape[2:], mode="bilinear", align_corners=False)
        logits = self.head(self.decode(torch.cat([up, self.low(low)], dim=1)))
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        if not self.training:
            return logits
        return logits, F.interpolate(self.coarse(deep), size=size, mode="bilinear", align_corners=False)
