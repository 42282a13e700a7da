"""Grouping pixels into people on synthesised overlaps: two EG1800 train portraits, the second person scaled and
pasted in front of the first, so every pixel's person is known (real multi-person masks are too few here).

    python benchmarks/people_composites.py [--images 80]

Each person's keypoints are BlazePose's on their own source photo, carried into the composite; the union of
the true masks is split among them (instances.group_pixels), grouped by the image gradient as shipped and by
the true outlines (the upper bound for learnt boundaries, seed 004). Writes results/people_composites.json
and its section of RESULTS.md. Data is read from PERSONSEG_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from personseg.data import data_root
from personseg.instances import group_pixels
from personseg.metrics import InstanceMatch
from personseg.pose import get_backend
from personseg.train.data import load_pairs
from report import machine, write_results

Scene = tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]   # image, true masks, keypoints


def composites(count: int, seed: int = 7) -> list[Scene]:
    """``count`` scenes made from EG1800 train pairs (400 px on the long side) in which BlazePose sees a person."""
    pairs = load_pairs(data_root() / "eg1800", "train", max_side=400)
    rng = np.random.default_rng(seed)
    pose = get_backend("blazepose")
    keypoints = {}
    for i in rng.permutation(len(pairs))[:3 * count]:
        found = pose.detect(pairs.images[i])
        if found and (found[0][:, 2] >= 0.5).sum() >= 6:
            keypoints[int(i)] = found[0]
    ids = list(keypoints)
    scenes: list[Scene] = []
    while len(scenes) < count:
        a, b = rng.choice(ids, 2, replace=False)
        back, back_mask, front, front_mask = pairs.images[a], pairs.masks[a], pairs.images[b], pairs.masks[b]
        h, w = back.shape[:2]
        s = rng.uniform(0.6, 0.95)
        xs_back, xs_front = np.nonzero(back_mask)[1], np.nonzero(front_mask)[1]
        # the front person's centre 0.3-0.65 of the back person's width to one side, standing on the bottom edge
        tx = xs_back.mean() + rng.choice([-1, 1]) * rng.uniform(0.3, 0.65) * np.ptp(xs_back) - s * xs_front.mean()
        ty = h - s * front.shape[0] + rng.uniform(0, 0.15) * h
        m = np.array([[s, 0, tx], [0, s, ty]], np.float32)
        pasted = cv2.warpAffine(front, m, (w, h), flags=cv2.INTER_LINEAR)
        on = np.where(cv2.warpAffine(front_mask, m, (w, h), flags=cv2.INTER_LINEAR) > 127, 255, 0).astype(np.uint8)
        alpha = cv2.GaussianBlur(on.astype(np.float32) / 255, (3, 3), 0)[..., None]
        behind = np.where((back_mask > 0) & (on == 0), 255, 0).astype(np.uint8)
        if (behind > 0).sum() < 0.3 * (back_mask > 0).sum() or (on > 0).sum() < 0.01 * h * w:
            continue
        moved = keypoints[b].copy()
        moved[:, :2] = moved[:, :2] * s + (tx, ty)
        scenes.append(((pasted * alpha + back * (1 - alpha)).astype(np.uint8), [behind, on], [keypoints[a], moved]))
    return scenes


def outlines(masks: list[np.ndarray]) -> np.ndarray:
    """1 on the pixels where one person's mask meets another's or the background, else 0."""
    labels = np.zeros(masks[0].shape, np.float32)
    for k, m in enumerate(masks, start=1):
        labels[m > 0] = k
    square = np.ones((3, 3), np.uint8)
    return (cv2.dilate(labels, square) != cv2.erode(labels, square)).astype(np.float32)


def run(count: int) -> dict:
    scenes = composites(count)
    rows = {}
    for name, edges in (("image gradient (shipped)", lambda masks: None), ("true outlines (upper bound)", outlines)):
        match, t = InstanceMatch(), time.perf_counter()
        for rgb, masks, people in scenes:
            match.add(group_pixels(rgb, np.maximum.reduce(masks), people, edges(masks)), masks)
        rows[name] = match.summary() | {"s_per_image": (time.perf_counter() - t) / len(scenes)}
    return {"images": len(scenes), "machine": machine(), "rows": rows}


def write(results: dict) -> None:
    lines = [f"## Grouping pixels into people, synthesised overlaps, {results['machine']}", "",
             f"`python benchmarks/people_composites.py`: {results['images']} scenes, each two EG1800 train portraits, "
             "the second person scaled and pasted in front; BlazePose's keypoints of each source photo and the union "
             "of the true masks in, one mask per person out (matching as for pose_mini).", "",
             "| boundary map | found | missed | spurious | matched IoU | mean IoU, all | s/image |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results["rows"].items():
        lines.append(f"| {name} | {r['found']}/{r['people']} | {r['missed']} | {r['spurious']} | "
                     f"{r['matched_iou']:.4f} | {r['mean_iou_all']:.4f} | {r['s_per_image']:.2f} |")
    write_results("people_composites", results, "## Grouping pixels into people", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=80)
    write(run(ap.parse_args().images))
