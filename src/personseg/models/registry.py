"""The models personseg knows: how each is fed and what it returns, and where shipped weights live."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    size: tuple[int, int]                  # input (w, h); images are resized to it (aspect not kept)
    mean: tuple[float, ...]                # per input channel, on 0..255 (RGB, then each prior map)
    std: tuple[float, ...]
    priors: tuple[str, ...] = ()           # maps after RGB, drawn from keypoints: "ssm" (seed 000)
    guides: tuple[str, ...] = ()           # maps after the priors, made from a coarse matte (seed 003)
    output: str = "logits2"                # (N, 2, h, w) background/person logits at the input size or a fraction of it
    overlaps: bool = False                 # trained on synthesised overlaps: one person's priors in, their mask out
    threads: int | None = None             # onnxruntime intra-op threads unless the caller sets them (None: a core each)
    architecture: str = "lwpsn"            # the torch network it is (ARCHITECTURES)
    int8: bool = False                     # runs its int8 copy (scripts/quantise_model.py); the float32 file trains

    @property
    def channels(self) -> int:
        return 3 + len(self.priors) + len(self.guides)

    @property
    def aspect(self) -> float:
        """Input width / height."""
        return self.size[0] / self.size[1]

    @property
    def onnx_path(self) -> Path:
        return WEIGHTS / f"{self.name}.onnx"

    @property
    def runtime_path(self) -> Path:
        """The file inference runs: the int8 copy where the card chose it, else the float32 file."""
        return WEIGHTS / f"{self.name}.int8.onnx" if self.int8 else self.onnx_path

    @property
    def card_path(self) -> Path:
        return WEIGHTS / f"{self.name}.json"

    def card(self) -> dict:
        return json.loads(self.card_path.read_text())


IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
#: A prior map in [0, 1] is fed as a 0..255 plane scaled to [-1, 1].
PRIOR_MEAN, PRIOR_STD = (127.5,), (127.5,)
SPECS = {
    # every model on every core (onnxruntime's default) but the region check: with the workers spinning within a
    # call, SINet takes 1.9 ms on two cores against 2.5 on one (runtime.py _open; docs/speed.md)
    "sinet": ModelSpec("sinet", (192, 256), IMAGENET_MEAN, IMAGENET_STD, architecture="sinet"),
    "lwpsn": ModelSpec("lwpsn", (192, 256), IMAGENET_MEAN + PRIOR_MEAN, IMAGENET_STD + PRIOR_STD, ("ssm",)),
    "lwpsn-rgb": ModelSpec("lwpsn-rgb", (192, 256), IMAGENET_MEAN, IMAGENET_STD),
    "pose-unet": ModelSpec("pose-unet", (192, 256), IMAGENET_MEAN + PRIOR_MEAN * 2, IMAGENET_STD + PRIOR_STD * 2,
                           ("posemap", "limbs"), architecture="pose-unet", int8=True),
    # seed 004's instances the seed 000 way: fed one person's SSM in a scene of several, it cuts that person
    "lwpsn-person": ModelSpec("lwpsn-person", (192, 256), IMAGENET_MEAN + PRIOR_MEAN, IMAGENET_STD + PRIOR_STD,
                              ("ssm",), overlaps=True),
    "refine": ModelSpec("refine", (192, 256), IMAGENET_MEAN + PRIOR_MEAN * 2, IMAGENET_STD + PRIOR_STD * 2,
                        guides=("boundary", "leftover")),
    # is a marked region a person (presence.py): the photo around the region and the region itself in, one logit out
    "region-check": ModelSpec("region-check", (64, 64), IMAGENET_MEAN + PRIOR_MEAN, IMAGENET_STD + PRIOR_STD,
                              guides=("region",), output="logit", threads=1, architecture="region-check"),
}


def spec(name: str) -> ModelSpec:
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(SPECS)}")
    return SPECS[name]


def _sinet(model: ModelSpec):
    from .sinet import SINet

    return SINet()


def _lwpsn(model: ModelSpec):
    from .lwpsn import LWPSN

    return LWPSN(in_channels=model.channels)


def _pose_unet(model: ModelSpec):
    from .poseunet import PoseUNet

    return PoseUNet()


def _region_check(model: ModelSpec):
    from .regioncheck import RegionCheck

    return RegionCheck(in_channels=model.channels)


#: The torch architecture behind each model (torch is an extra: each is imported only when built).
ARCHITECTURES = {"sinet": _sinet, "lwpsn": _lwpsn, "pose-unet": _pose_unet, "region-check": _region_check}


def torch_model(name: str):
    """A fresh torch module for ``name`` (training and export only)."""
    model = spec(name)
    return ARCHITECTURES[model.architecture](model)
