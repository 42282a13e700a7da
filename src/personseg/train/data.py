"""Training data: image/mask pairs held in memory at a working size, from the eg1800 layout or any folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..data import read_ids
from ..errors import PersonsegError
from ..evaluate import find_pairs
from ..image import load_image, load_mask


@dataclass
class PairSet:
    """Images (uint8 HxWx3) and masks (uint8 HxW 0/255), each pair the same size."""

    ids: list[str]
    images: list[np.ndarray]
    masks: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)


def load_pairs(root: str | Path, split: str | None = None, max_side: int = 400,
               images: str = "images", masks: str = "masks") -> PairSet:
    """Read ``root/images`` + ``root/masks`` (same stems), limited to the ids in ``root/<split>.txt`` when given
    (the eg1800 and ccp layout), each pair shrunk so its longest side is at most ``max_side``."""
    root = Path(root)
    img_dir, mask_dir = root / images, root / masks
    if not img_dir.is_dir() or not mask_dir.is_dir():
        raise PersonsegError(f"{root}: expected folders '{images}/' and '{masks}/' with pairs of the same name")
    ids = read_ids(root / f"{split}.txt") if split else None
    pairs = find_pairs(img_dir, mask_dir, ids)
    if not pairs:
        raise PersonsegError(f"{root}: no image/mask pairs found")
    out = PairSet([], [], [])
    for ident, ip, mp in pairs:
        rgb, m = load_image(ip), load_mask(mp)
        if m.shape != rgb.shape[:2]:
            raise PersonsegError(f"{mp}: mask is {m.shape[::-1]}, image is {rgb.shape[1::-1]}")
        f = min(1.0, max_side / max(rgb.shape[:2]))
        if f < 1.0:
            size = (round(rgb.shape[1] * f), round(rgb.shape[0] * f))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            m = np.where(cv2.resize(m, size, interpolation=cv2.INTER_LINEAR) > 127, 255, 0).astype(np.uint8)
        out.ids.append(ident)
        out.images.append(rgb)
        out.masks.append(m)
    return out


def backgrounds(pairs: PairSet, size: tuple[int, int]) -> list[np.ndarray]:
    """Each image with its person painted out (OpenCV in-painting), at ``size`` (w, h): backgrounds onto
    which other images' people are composited (seed 001's extra data)."""
    out = []
    for rgb, m in zip(pairs.images, pairs.masks):
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        hole = cv2.dilate(cv2.resize(m, size, interpolation=cv2.INTER_NEAREST), np.ones((7, 7), np.uint8))
        out.append(cv2.inpaint(small, (hole > 0).astype(np.uint8), 5, cv2.INPAINT_TELEA))
    return out
