"""Latency of the fast method next to MediaPipe selfie segmentation, each timed in its own pass (no other model
running in between, whose idle threads would steal the CPU), in one process.

    python benchmarks/latency.py [--images 100] [--rounds 3]

Writes benchmarks/results/latency.json and the latency section of benchmarks/RESULTS.md. Times are per
image: resize, network, upsampling to the image's size (MediaPipe: its whole `process` call).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image
from personseg.methods import METHODS
from personseg.runtime import network_probability
from report import machine, write_results


def _median_ms(fn, images: list[np.ndarray], rounds: int) -> float:
    for rgb in images[:5]:
        fn(rgb)
    times = []
    for _ in range(rounds):
        for rgb in images:
            t = time.perf_counter()
            fn(rgb)
            times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def run(count: int, rounds: int) -> dict:
    root = data_root() / "eg1800"
    images = [load_image(root / "images" / f"{i}.jpg") for i in read_ids(root / "test.txt")[:count]]
    from mediapipe.python.solutions import selfie_segmentation

    (model,) = METHODS["fast"].networks
    rows = {f"fast ({model}, onnxruntime)": _median_ms(lambda rgb: network_probability(rgb, model), images, rounds)}
    with selfie_segmentation.SelfieSegmentation(model_selection=0) as selfie:
        rows["MediaPipe selfie segmentation (peer)"] = _median_ms(selfie.process, images, rounds)
    return {"dataset": "eg1800 test", "images": len(images), "rounds": rounds, "machine": machine(),
            "median_ms": {k: round(v, 2) for k, v in rows.items()}}


def write(results: dict) -> None:
    ms = results["median_ms"]
    fast, peer = list(ms.values())
    lines = [f"## Latency, fast method vs MediaPipe selfie segmentation, {results['machine']}", "",
             f"Made by `python benchmarks/latency.py`: the first {results['images']} EG1800 test images (600x800), "
             f"{results['rounds']} rounds, each method in its own pass; median per image.", "",
             "| method | median ms/image |", "|---|---|"]
    lines += [f"| {name} | {v:.2f} |" for name, v in ms.items()]
    lines += ["", f"Ratio fast / MediaPipe: {fast / peer:.2f}."]
    write_results("latency", results, "## Latency", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    write(run(args.images, args.rounds))
