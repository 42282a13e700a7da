"""Foreground colours for cut-outs, on synthetic composites: I = a F + (1 - a) B with a real soft alpha (the
fast method's, guided matting) of an EG1800 photo F over another photo B. Each estimate F^ is scored by the
mean of a |F^ - F| over the soft pixels (0.02 < a < 0.98), what a cut-out on a new background shows, in 0..255.

    python benchmarks/foreground.py [--images 40]

Rows: the image's own colours (no estimate), pymatting's multi-level estimate at full size (what personseg used
before), and the shipped `refine.matting.estimate_foreground`. The choice was made on EG1800 train photos; test
photos are reported.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image
from personseg.pipeline import Segmenter
from personseg.refine.matting import _pymatting, estimate_foreground
from report import machine, write_results


def full_size_ml(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    est = _pymatting().estimate_foreground_ml(rgb.astype(np.float64) / 255.0, alpha.astype(np.float64))
    return np.clip(est * 255.0 + 0.5, 0, 255).astype(np.uint8)


ESTIMATES = {"image's own colours": lambda rgb, alpha: rgb, "pymatting, full size (before)": full_size_ml,
             "shipped (pymatting at 400 px on the soft pixels' box, in halves on two threads; soft pixels "
             "corrected at full size)": estimate_foreground}


def run(count: int, split: str) -> dict:
    root = data_root() / "eg1800"
    photos = [load_image(root / "images" / f"{i}.jpg") for i in read_ids(root / f"{split}.txt")[:count]]
    seg = Segmenter("fast")
    errors: dict[str, list[float]] = {name: [] for name in ESTIMATES}
    times: dict[str, list[float]] = {name: [] for name in ESTIMATES}
    estimate_foreground(photos[0], seg(photos[0]).alpha)   # pymatting's kernels compiled before timing
    for k, person in enumerate(photos):
        alpha = seg(person).alpha
        other = cv2.resize(photos[(k + 7) % len(photos)], (person.shape[1], person.shape[0]))
        a = alpha[..., None]
        image = np.clip(a * person + (1.0 - a) * other + 0.5, 0, 255).astype(np.uint8)
        soft = (alpha > 0.02) & (alpha < 0.98)
        for name, estimate in ESTIMATES.items():
            t = time.perf_counter()
            fg = estimate(image, alpha)
            times[name].append(time.perf_counter() - t)
            errors[name].append(float((alpha[soft, None] * np.abs(fg[soft].astype(np.float64) - person[soft])).mean()))
    return {"split": split, "images": len(photos), "machine": machine(),
            "rows": {name: {"error": round(float(np.mean(errors[name])), 3),
                            "median_ms": round(float(np.median(times[name]) * 1000), 1)} for name in ESTIMATES}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=40)
    args = ap.parse_args()
    results = {split: run(args.images, split) for split in ("train", "test")}
    title = "## Foreground colours for cut-outs, EG1800 composites"
    heading = f"{title}, {machine()}"
    lines = [heading, "", f"Made by `python benchmarks/foreground.py`: {args.images} photos of each split, each "
             "over another photo of its split with its own soft alpha (fast + guided matting); error: mean of "
             "alpha x |estimated - true colour| over the soft pixels, 0..255; time: median per 600x800 photo.", "",
             "| estimate | train: error | test: error | ms a photo |", "|---|---|---|---|"]
    for name in ESTIMATES:
        train, test = results["train"]["rows"][name], results["test"]["rows"][name]
        lines.append(f"| {name} | {train['error']} | {test['error']} | {test['median_ms']} |")
    write_results("foreground", results, title, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
