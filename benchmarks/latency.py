"""Latency a user feels, next to MediaPipe selfie segmentation: end-to-end calls of the methods (decoded image
in, Result out), the fast network alone, and what a cut-out adds; each timed in its own pass (no other model
running in between, whose idle threads would steal the CPU), in one process.

    python benchmarks/latency.py [--images 100] [--rounds 3]

Writes benchmarks/results/latency.json and the latency section of benchmarks/RESULTS.md. Times are per
image (EG1800 test, 600x800): MediaPipe's whole `process` call; `Segmenter(...)(rgb)` from the RGB array to
the Result (pose, networks, refinement, matting); the cut-out: rendering it from a fresh Result (foreground
colours, then RGBA).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image
from personseg.methods import DEFAULT_METHOD, METHODS
from personseg.outputs import render
from personseg.pipeline import Segmenter
from personseg.runtime import network_probability
from report import machine, write_results

PEER = "MediaPipe selfie segmentation `process` (peer)"


def _median_ms(fn, images: list[np.ndarray], rounds: int, prepare=lambda rgb: rgb) -> float:
    """Median ms of ``fn(prepare(rgb))``, ``prepare`` untimed."""
    for rgb in images[:5]:
        fn(prepare(rgb))
    times = []
    for _ in range(rounds):
        for rgb in images:
            arg = prepare(rgb)
            t = time.perf_counter()
            fn(arg)
            times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def run(count: int, rounds: int) -> dict:
    root = data_root() / "eg1800"
    images = [load_image(root / "images" / f"{i}.jpg") for i in read_ids(root / "test.txt")[:count]]
    from mediapipe.python.solutions import selfie_segmentation

    with selfie_segmentation.SelfieSegmentation(model_selection=0) as selfie:
        rows = {PEER: _median_ms(selfie.process, images, rounds)}
    (model,) = METHODS["fast"].networks
    rows[f"fast's network alone ({model}: resize, network, upsampling)"] = _median_ms(
        lambda rgb: network_probability(rgb, model), images, rounds)
    rows["`Segmenter('fast', matting=None)(rgb)`"] = _median_ms(Segmenter("fast", matting=None), images, rounds)
    fast = Segmenter("fast")
    rows["`Segmenter('fast')(rgb)` (guided matting)"] = _median_ms(fast, images, rounds)
    rows[f"`Segmenter()(rgb)` ({DEFAULT_METHOD}, the default)"] = _median_ms(Segmenter(), images, rounds)
    rows["cut-out of a fast Result (foreground colours + RGBA), extra"] = _median_ms(
        lambda result: render(result, "cutout"), images, rounds, prepare=fast)
    return {"dataset": "eg1800 test", "images": len(images), "rounds": rounds, "machine": machine(),
            "median_ms": {k: round(v, 2) for k, v in rows.items()}}


def write(results: dict) -> None:
    ms = results["median_ms"]
    peer = ms[PEER]
    lines = [f"## Latency, end to end next to MediaPipe selfie segmentation, {results['machine']}", "",
             f"Made by `python benchmarks/latency.py`: the first {results['images']} EG1800 test images (600x800), "
             f"{results['rounds']} rounds, each call in its own pass; median per image.", "",
             "| call | median ms/image | x MediaPipe |", "|---|---|---|"]
    lines += [f"| {name} | {v:.2f} | {v / peer:.2f} |" for name, v in ms.items()]
    write_results("latency", results, "## Latency", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    write(run(args.images, args.rounds))
