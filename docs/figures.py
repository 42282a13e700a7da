"""Draw the seed 000 and seed 002 priors for a real photo (scikit-image's astronaut, public domain).

    python docs/figures.py     # writes docs/priors.png
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from personseg.image import write_image
from personseg.pose import get_backend
from personseg.priors import frame_map, limb_prior, pose_map, skeleton_map, spatial_saliency_map
from personseg.refine.graphcut import BG, FG, PR_FG, seed_labels


def _gray(m: np.ndarray) -> np.ndarray:
    return np.dstack([np.clip(m * 255, 0, 255).astype(np.uint8)] * 3)


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    cv2.rectangle(tile, (0, 0), (tile.shape[1], 26), (0, 0, 0), -1)
    cv2.putText(tile, text, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def main() -> None:
    rgb = data.astronaut()
    kp = get_backend("blazepose").detect(rgb)[0]
    shape = rgb.shape[:2]
    labels, _ = seed_labels(rgb, kp)
    seeds = rgb.copy() // 2
    seeds[labels == FG] = (255, 60, 60)
    seeds[labels == PR_FG] = seeds[labels == PR_FG] // 2 + np.array([100, 30, 30], np.uint8)
    seeds[labels == BG] = seeds[labels == BG] // 2 + np.array([0, 0, 110], np.uint8)
    tiles = [
        _label(rgb, "photo"), _label(_gray(skeleton_map(kp, shape)), "000: skeleton map"),
        _label(_gray(frame_map(kp, shape)), "000: frame map"), _label(_gray(spatial_saliency_map(kp, shape)), "000: SSM"),
        _label(_gray(pose_map(kp, shape)), "002: pose map"), _label(_gray(limb_prior(kp, shape)), "002: limb prior"),
        _label(seeds, "002: graph-cut seeds"),
    ]
    tiles.append(np.zeros_like(rgb))
    grid = np.concatenate([np.concatenate(tiles[:4], 1), np.concatenate(tiles[4:], 1)], 0)
    grid = cv2.resize(grid, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    write_image(Path(__file__).parent / "priors.png", grid, overwrite=True)


if __name__ == "__main__":
    main()
