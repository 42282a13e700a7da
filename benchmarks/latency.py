"""Latency a user feels, next to MediaPipe selfie segmentation: end-to-end calls of the methods (decoded image
in, Result out), the fast network alone, and what a cut-out adds; each timed in its own pass (no other model
running in between, whose idle threads would steal the CPU), between two passes of MediaPipe, in one process.

    python benchmarks/latency.py [--images 100] [--rounds 5]

Writes benchmarks/results/latency.json and the latency section of benchmarks/RESULTS.md. Times are per
image (EG1800 test, 600x800 portraits; and, for MediaPipe and `fast`, the coco_people test photos, COCO's
sizes, 43 of 56 landscapes, which `fast` sees through tiles): MediaPipe's whole `process` call;
`Segmenter(...)(rgb)` from the RGB array to the Result (pose, networks, refinement, matting); the cut-out:
rendering it from a fresh Result (foreground colours, then RGBA).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from personseg.allocator import tune_allocator
from personseg.data import data_root, read_ids
from personseg.image import load_image
from personseg.methods import DEFAULT_METHOD, METHODS
from personseg.outputs import render
from personseg.pipeline import Segmenter
from personseg.runtime import network_probability
from report import machine, write_results

PEER = "MediaPipe selfie segmentation `process` (peer)"
SCENE_PEER = "landscapes: MediaPipe selfie segmentation `process` (their peer)"


def _pass_ms(fn, images: list[np.ndarray], prepare=lambda rgb: rgb) -> float:
    """Median ms of ``fn(prepare(rgb))`` over ``images`` after a warm-up on five, ``prepare`` untimed."""
    for rgb in images[:5]:
        fn(prepare(rgb))
    times = []
    for rgb in images:
        arg = prepare(rgb)
        t = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def run(count: int, rounds: int) -> dict:
    tune_allocator()   # as every Segmenter does, before MediaPipe runs too: the same allocator for all
    root = data_root()
    images = [load_image(root / "eg1800/images" / f"{i}.jpg") for i in read_ids(root / "eg1800/test.txt")[:count]]
    scenes = [load_image(root / "coco_people/images" / f"{i}.jpg")
              for i in read_ids(root / "coco_people/test.txt")[:count]]
    from mediapipe.python.solutions import selfie_segmentation

    selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)
    (model,) = METHODS["fast"].networks
    fast, bare = Segmenter("fast"), Segmenter("fast", matting=None)
    calls = {PEER: (selfie.process, None, images),
             f"fast's network alone ({model}: resize, network, upsampling)":
                 (lambda rgb: network_probability(rgb, model), None, images),
             "`Segmenter('fast', matting=None)(rgb)`": (bare, None, images),
             "`Segmenter('fast')(rgb)` (guided matting)": (fast, None, images),
             f"`Segmenter()(rgb)` ({DEFAULT_METHOD}, the default)": (Segmenter(), None, images),
             "cut-out of a fast Result (foreground colours + RGBA), extra": (lambda r: render(r, "cutout"), fast,
                                                                             images),
             SCENE_PEER: (selfie.process, None, scenes),
             "landscapes: `Segmenter('fast', matting=None)(rgb)`": (bare, None, scenes),
             "landscapes: `Segmenter('fast')(rgb)` (guided matting)": (fast, None, scenes)}
    passes: dict[str, list[float]] = {name: [] for name in calls}
    between: dict[str, list[float]] = {name: [] for name in calls}   # each pass as a multiple of its peer's
    peers = {name: SCENE_PEER if group is scenes else PEER for name, (_, _, group) in calls.items()}
    for _ in range(rounds):   # every call once a round: drift in the machine's speed reaches all of them
        last: dict[str, float] = {}   # each peer's latest pass in this round
        for name, (fn, prepare, group) in calls.items():
            peer = peers[name]
            if name == peer:
                continue
            # the peer's passes right before and right after this one: the machine's speed drifts within seconds
            peer_fn, _, peer_group = calls[peer]
            if peer not in last:
                last[peer] = _pass_ms(peer_fn, peer_group)
                passes[peer].append(last[peer])
            before = last[peer]
            passes[name].append(_pass_ms(fn, group, prepare or (lambda rgb: rgb)))
            last[peer] = _pass_ms(peer_fn, peer_group)
            passes[peer].append(last[peer])
            between[name].append(passes[name][-1] * 2 / (before + last[peer]))
    selfie.close()
    ratios = {name: 1.0 if name == peers[name] else float(np.median(between[name])) for name in calls}
    return {"dataset": "eg1800 test; coco_people test (landscapes)", "images": len(images), "scenes": len(scenes),
            "rounds": rounds, "machine": machine(),
            "median_ms": {k: round(float(np.median(v)), 2) for k, v in passes.items()},
            "pass_ms": {k: [round(x, 2) for x in v] for k, v in passes.items()},
            "x_peer": {k: round(v, 2) for k, v in ratios.items()}}


def write(results: dict) -> None:
    ms, ratio = results["median_ms"], results["x_peer"]
    lines = [f"## Latency, end to end next to MediaPipe selfie segmentation, {results['machine']}", "",
             f"Made by `python benchmarks/latency.py`: the first {results['images']} EG1800 test images (600x800) "
             f"and, in the rows marked landscapes, the first {results['scenes']} coco_people test photos (COCO's "
             "sizes, most of them landscapes that `fast` sees through tiles; each such row as a multiple of "
             "MediaPipe on them), "
             f"{results['rounds']} rounds, each round one pass of every call in turn (no other model running in "
             "between), each pass between two passes of MediaPipe (its own passes: all of those); ms: median per "
             "image of a pass, median of the passes; x MediaPipe: median over the rounds of the pass's ratio to "
             "the mean of the MediaPipe passes right before and right after it (this machine's speed drifts within "
             "seconds).", "",
             "| call | median ms/image | x MediaPipe |", "|---|---|---|"]
    lines += [f"| {name} | {v:.2f} | {ratio[name]:.2f} |" for name, v in ms.items()]
    write_results("latency", results, "## Latency", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    write(run(args.images, args.rounds))
