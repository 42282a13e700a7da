"""Multi-person training scenes synthesised from single-person pairs: one photo's person scaled and pasted in
front of another's, with overlap, so that every pixel's person is known (real multi-person masks are too
few here). Each scene gives one training pair per person: the image with that person's prior maps after RGB,
and that person's visible mask (seed 004's instances, learnt the seed 000 way: the prior says whom to cut)."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import PersonsegError
from .data import PairSet

#: A scene is kept when the person behind shows at least this share of themselves, and the one in front
#: covers at least MIN_FRONT of the image.
MIN_BEHIND = 0.3
MIN_FRONT = 0.01
#: Scale of the person in front relative to their photo, and their centre's offset from the person behind,
#: in shares of the latter's width (either side).
FRONT_SCALE = (0.6, 1.0)
OFFSET = (0.3, 0.7)


def overlap_scene(rng: np.random.Generator, back: tuple[np.ndarray, np.ndarray, np.ndarray],
                  front: tuple[np.ndarray, np.ndarray, np.ndarray]
                  ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]] | None:
    """(image, visible masks, keypoints) of ``front``'s person pasted before ``back``'s, each given as (RGB,
    mask 0/255, COCO keypoints); the back photo's size. None when the draw hides either person too much."""
    (b_rgb, b_mask, b_kp), (f_rgb, f_mask, f_kp) = back, front
    h, w = b_rgb.shape[:2]
    xs_back, xs_front = np.nonzero(b_mask)[1], np.nonzero(f_mask)[1]
    if xs_back.size == 0 or xs_front.size == 0:
        return None
    s = rng.uniform(*FRONT_SCALE)
    tx = xs_back.mean() + rng.choice([-1, 1]) * rng.uniform(*OFFSET) * np.ptp(xs_back) - s * xs_front.mean()
    ty = h - s * f_rgb.shape[0] + rng.uniform(0.0, 0.15) * h   # standing on the bottom edge, like a portrait
    m = np.array([[s, 0, tx], [0, s, ty]], np.float32)
    on = np.where(cv2.warpAffine(f_mask, m, (w, h), flags=cv2.INTER_LINEAR) > 127, 255, 0).astype(np.uint8)
    behind = np.where((b_mask > 0) & (on == 0), 255, 0).astype(np.uint8)
    if (behind > 0).sum() < MIN_BEHIND * (b_mask > 0).sum() or (on > 0).sum() < MIN_FRONT * h * w:
        return None
    alpha = cv2.GaussianBlur(on.astype(np.float32) / 255.0, (3, 3), 0)[..., None]
    pasted = cv2.warpAffine(f_rgb, m, (w, h), flags=cv2.INTER_LINEAR)
    image = (pasted * alpha + b_rgb * (1 - alpha)).astype(np.uint8)
    moved = f_kp.copy()
    moved[:, :2] = moved[:, :2] * s + (tx, ty)
    return image, [behind, on], [b_kp, moved]


def overlap_pairs(pairs: PairSet, people: list[list[np.ndarray]], count: int, priors: tuple[str, ...],
                  seed: int) -> PairSet:
    """``count`` scenes (``overlap_scene``) from the pairs in which one person was found, two training pairs
    each: the scene with one person's ``priors`` maps after RGB, and that person's visible mask."""
    from ..priors import people_map

    alone = [i for i, found in enumerate(people) if len(found) == 1]
    if len(alone) < 2:
        raise PersonsegError("overlapping scenes need at least two photos with one person found in each, among "
                             "the training and among the validation photos (a small set: raise --val-fraction)")
    rng = np.random.default_rng(seed)
    out = PairSet([], [], [])
    while len(out) < 2 * count:
        a, b = (int(i) for i in rng.choice(alone, 2, replace=False))
        scene = overlap_scene(rng, (pairs.images[a][..., :3], pairs.masks[a], people[a][0]),
                              (pairs.images[b][..., :3], pairs.masks[b], people[b][0]))
        if scene is None:
            continue
        image, masks, kps = scene
        for k, (mask, kp) in enumerate(zip(masks, kps)):
            maps = [np.round(people_map(name, [kp], image.shape[:2]) * 255).astype(np.uint8) for name in priors]
            out.ids.append(f"{pairs.ids[a]}+{pairs.ids[b]}:{k}")
            out.images.append(np.dstack([image] + maps))
            out.masks.append(mask)
    return out
