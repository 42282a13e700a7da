"""On-the-fly augmentation: scale/rotate/crop/flip in one affine warp, colour, black and white, blur, noise, seed 001's
composites (a person pasted on another photo's background) and seed 000's image pyramid resizing. Prior map
channels after RGB move with the image but keep their values. Every draw comes from the given generator."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..image import black_and_white


@dataclass(frozen=True)
class AugmentConfig:
    scale: tuple[float, float] = (0.5, 1.25)   # 0.5: the person in half the frame, as in a wide shot
    rotate: float = 20.0          # degrees, either way
    shift: float = 0.1            # share of the output size
    flip: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.3
    grey: float = 0.0             # probability of a black-and-white photo (luminance in all three channels)
    blur: float = 0.2             # probability of a gaussian blur
    noise: float = 0.2            # probability of gaussian noise
    composite: float = 0.5        # probability of swapping the background
    pyramid: int = 0              # image pyramid resizing: up to this many halvings of the resolution
    prior_drop: float = 0.1       # probability of emptying the prior maps (as when the pose finds nobody)


#: Named settings (``personseg train --augment``). "full" trains a network from scratch or fine-tunes it;
#: "light" finishes a trained one: people framed near the way the pipeline frames them (scale 0.8-1.1, little
#: rotation), a fifth of the backgrounds swapped. A small network spends less of itself on rarer views. Both
#: turn one image in ten black and white (since SINet's stage 8; runs before had none, AugmentConfig's default).
AUGMENT_PRESETS = {
    "full": AugmentConfig(grey=0.1),
    "light": AugmentConfig(scale=(0.8, 1.1), rotate=8.0, shift=0.05, blur=0.1, noise=0.1, composite=0.2, grey=0.1),
}


def warp_params(rng: np.random.Generator, src: tuple[int, int], out: tuple[int, int], cfg: AugmentConfig) -> np.ndarray:
    """2x3 affine matrix mapping a (w, h) ``src`` image onto the (w, h) ``out`` frame with random scale,
    rotation, shift and flip (the whole image fitted to the frame at scale 1)."""
    sw, sh = src
    ow, oh = out
    fit = min(ow / sw, oh / sh) * 1.0
    s = fit * rng.uniform(*cfg.scale)
    angle = rng.uniform(-cfg.rotate, cfg.rotate)
    m = cv2.getRotationMatrix2D((sw / 2, sh / 2), angle, s)
    m[0, 2] += ow / 2 - sw / 2 + rng.uniform(-cfg.shift, cfg.shift) * ow
    m[1, 2] += oh / 2 - sh / 2 + rng.uniform(-cfg.shift, cfg.shift) * oh
    if rng.random() < cfg.flip:
        m[0] = -m[0]
        m[0, 2] += ow
    return m


#: The most pyramid levels (``pyramid_resize``): four halvings show a 256-px network input as 16 px.
MAX_PYRAMID = 4


def pyramid_resize(rng: np.random.Generator, img: np.ndarray, levels: int) -> np.ndarray:
    """Seed 000's image pyramid resizing (IPR), as we read it: the network is shown the image at a random
    pyramid level (full, 1/2, 1/4 ... resolution, the aspect ratio kept) brought back to its input size, so it
    keeps its precision on low-resolution inputs."""
    level = int(rng.integers(levels + 1))
    if level == 0:
        return img
    small = img
    for _ in range(level):
        small = cv2.pyrDown(small)
    return cv2.resize(small, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)


def augment(rng: np.random.Generator, image: np.ndarray, mask: np.ndarray, out: tuple[int, int],
            cfg: AugmentConfig, background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One augmented (image, mask) pair of size ``out`` (w, h); ``image`` is RGB, optionally followed by prior
    map channels. With ``background`` (an RGB image of that size) and probability ``cfg.composite`` the
    person is pasted onto it."""
    m = warp_params(rng, (image.shape[1], image.shape[0]), out, cfg)
    warped = cv2.warpAffine(image, m, out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # Both replicate their edges: a person cut by the frame (a portrait's shoulders) continues as a person.
    msk = cv2.warpAffine(mask, m, out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    img, priors = warped[..., :3], warped.reshape(out[1], out[0], -1)[..., 3:]
    if background is not None and rng.random() < cfg.composite:
        a = cv2.GaussianBlur(msk.astype(np.float32) / 255.0, (5, 5), 0)[..., None]
        bg = background[:, ::-1] if rng.random() < 0.5 else background
        img = (img * a + bg * (1 - a)).astype(np.uint8)
    img = img.astype(np.float32)
    img = img * rng.uniform(1 - cfg.contrast, 1 + cfg.contrast) + rng.uniform(-1, 1) * cfg.brightness * 255 * 0.5
    gray = img.mean(axis=2, keepdims=True)
    img = gray + (img - gray) * rng.uniform(1 - cfg.saturation, 1 + cfg.saturation)
    grey = cfg.grey > 0 and rng.random() < cfg.grey   # no draw at 0: runs without it draw as before it existed
    if grey:
        img = black_and_white(img)
    if rng.random() < cfg.blur:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < cfg.noise:
        img = img + rng.normal(0, rng.uniform(2, 8), img.shape[:2] + (1 if grey else 3,)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if cfg.pyramid:
        img = pyramid_resize(rng, img, cfg.pyramid)
    if priors.shape[2]:   # drawn last, so a run with priors sees the same images as one without
        img = np.dstack([img, priors if rng.random() >= cfg.prior_drop else np.zeros_like(priors)])
    return img, np.where(msk > 127, 1, 0).astype(np.uint8)
