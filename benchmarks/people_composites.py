"""Grouping pixels into people on synthesised overlaps: two EG1800 test portraits, the second person scaled and
pasted in front of the first (train/overlaps.py), so every pixel's person is known (real multi-person masks are
too few here; the test ids, as the person model trained on scenes made from the train ids).

    python benchmarks/people_composites.py [--images 80] [--split test]

Each person's keypoints are BlazePose's on their own source photo, carried into the composite; the union of
the true masks is split among them (instances.group_pixels) by a random walk over colour and the image
gradient, by the same walk over the true outlines, and by the person model's maps. Writes results/people_composites.json
and its section of RESULTS.md. Data is read from PERSONSEG_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from personseg.data import data_root
from personseg.instances import group_pixels, person_maps
from personseg.metrics import InstanceMatch
from personseg.pose import get_backend
from personseg.train.data import load_pairs
from personseg.train.overlaps import overlap_scene
from report import machine, write_results

Scene = tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]   # image, true masks, keypoints


def composites(count: int, split: str, seed: int = 7) -> list[Scene]:
    """``count`` scenes (train/overlaps.py) made from the EG1800 ``split`` pairs in which BlazePose finds one
    person."""
    pairs = load_pairs(data_root() / "eg1800", split)
    rng = np.random.default_rng(seed)
    pose = get_backend("blazepose")
    people = {}
    for i in rng.permutation(len(pairs))[:3 * count]:
        found = pose.detect(pairs.images[i])
        if len(found) == 1 and (found[0][:, 2] >= 0.5).sum() >= 6:
            people[int(i)] = found[0]
    ids = list(people)
    scenes: list[Scene] = []
    while len(scenes) < count:
        a, b = (int(i) for i in rng.choice(ids, 2, replace=False))
        scene = overlap_scene(rng, (pairs.images[a], pairs.masks[a], people[a]),
                              (pairs.images[b], pairs.masks[b], people[b]))
        if scene is not None:
            scenes.append(scene)
    return scenes


def outlines(masks: list[np.ndarray]) -> np.ndarray:
    """1 on the pixels where one person's mask meets another's or the background, else 0."""
    labels = np.zeros(masks[0].shape, np.float32)
    for k, m in enumerate(masks, start=1):
        labels[m > 0] = k
    square = np.ones((3, 3), np.uint8)
    return (cv2.dilate(labels, square) != cv2.erode(labels, square)).astype(np.float32)


def run(count: int, split: str) -> dict:
    scenes = composites(count, split)
    ways = {
        "frames and a random walk over colour and the image gradient (classical)": lambda rgb, masks, people: {},
        "the same walk over the true outlines (upper bound for learnt boundaries)":
            lambda rgb, masks, people: {"edges": outlines(masks)},
        "the person model's maps (network methods)": lambda rgb, masks, people: {"maps": person_maps(rgb, people)},
    }
    rows = {}
    for name, extra in ways.items():
        match, t = InstanceMatch(), time.perf_counter()
        for rgb, masks, people in scenes:
            match.add(group_pixels(rgb, np.maximum.reduce(masks), people, **extra(rgb, masks, people)), masks)
        rows[name] = match.summary() | {"s_per_image": (time.perf_counter() - t) / len(scenes)}
    return {"images": len(scenes), "split": split, "machine": machine(), "rows": rows}


def write(results: dict) -> None:
    lines = [f"## Grouping pixels into people, synthesised overlaps, {results['machine']}", "",
             f"`python benchmarks/people_composites.py`: {results['images']} scenes, each two EG1800 "
             f"{results['split']} portraits, the second person scaled and pasted in front; BlazePose's keypoints of "
             "each source photo and the union of the true masks in, one mask per person out (matching as for "
             "pose_mini).", "",
             "| grouped by | found | missed | spurious | matched IoU | mean IoU, all | s/image |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results["rows"].items():
        lines.append(f"| {name} | {r['found']}/{r['people']} | {r['missed']} | {r['spurious']} | "
                     f"{r['matched_iou']:.4f} | {r['mean_iou_all']:.4f} | {r['s_per_image']:.2f} |")
    write_results("people_composites", results, "## Grouping pixels into people", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=80)
    ap.add_argument("--split", default="test", help="EG1800 id list the scenes are made from")
    args = ap.parse_args()
    write(run(args.images, args.split))
