"""Wide photos: test photos put side by side as panoramas, next to MediaPipe selfie segmentation.

    python benchmarks/panoramas.py [--count 20]

Each panorama is K consecutive test photos of a set (pennfudan, coco_single), each scaled to 400 px high, side
by side: a wide photo whose people are all labelled. For K = 2, 3 and 5, the first COUNT panoramas of each set;
union IoU / 2-class mIoU / boundary F per panorama (benchmarks' Scores), and, as what the same photos give
alone, the mean IoU of each photo segmented on its own. MediaPipe's model runs as users get it (the whole
image squashed to its square input). Writes benchmarks/results/panoramas.json and its RESULTS.md section.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import cv2
import numpy as np

from personseg.data import data_root, read_ids
from personseg.evaluate import find_pairs
from personseg.framing import binary_mask
from personseg.image import load_image, load_mask
from personseg.metrics import Scores
from personseg.methods import DEFAULT_METHOD
from personseg.pipeline import Segmenter
from report import machine, write_results

SETS = ("pennfudan", "coco_single")
SIDE_BY_SIDE = (2, 3, 5)
HEIGHT = 400
PEER = "MediaPipe selfie segmentation (peer)"


def calls() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each way compared, by name: RGB in, uint8 mask out."""
    default, fast = Segmenter(), Segmenter("fast")
    from mediapipe.python.solutions import selfie_segmentation

    selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)
    return {f"{DEFAULT_METHOD} (default)": lambda rgb: default(rgb).mask, "fast": lambda rgb: fast(rgb).mask,
            PEER: lambda rgb: binary_mask(selfie.process(rgb).segmentation_mask)}


def photos(name: str, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``count`` test photos of set ``name`` with their masks, scaled to HEIGHT px high."""
    root = data_root() / name
    out = []
    for _, image, mask in find_pairs(root / "images", root / "masks", read_ids(root / "test.txt"))[:count]:
        rgb, truth = load_image(image), load_mask(mask)
        size = (round(rgb.shape[1] * HEIGHT / rgb.shape[0]), HEIGHT)
        out.append((cv2.resize(rgb, size, interpolation=cv2.INTER_AREA),
                    cv2.resize(truth, size, interpolation=cv2.INTER_NEAREST)))
    return out


def run(count: int) -> dict:
    ways = calls()
    results: dict = {"machine": machine(), "count": count, "height": HEIGHT, "sets": {}}
    for name in SETS:
        pool = photos(name, count * max(SIDE_BY_SIDE))
        alone = {way: [Scores() for _ in pool] for way in ways}
        for k, (rgb, truth) in enumerate(pool):
            for way, call in ways.items():
                alone[way][k].add(call(rgb), truth)
        for side in SIDE_BY_SIDE:
            groups = [pool[i:i + side] for i in range(0, min(side * count, len(pool) - side + 1), side)]
            row = {}
            for way, call in ways.items():
                scores = Scores()
                for group in groups:
                    scores.add(call(np.hstack([rgb for rgb, _ in group])), np.hstack([t for _, t in group]))
                used = [alone[way][i].mean_iou for i in range(len(groups) * side)]
                row[way] = scores.summary() | {"alone_mean_iou": round(float(np.mean(used)), 4)}
            results["sets"][f"{name} x{side}"] = {"panoramas": len(groups), "rows": row}
            print(name, side, {w: r["mean_iou"] for w, r in row.items()}, flush=True)
    return results


def write(results: dict) -> None:
    ways = list(next(iter(results["sets"].values()))["rows"])
    heading = f"## Panoramas: test photos side by side, {results['machine']}"
    lines = [heading, "", f"Made by `python benchmarks/panoramas.py`: K consecutive test photos of a set, each "
             f"{results['height']} px high, side by side (the first {results['count']} such panoramas for each "
             "K). Cells: union IoU / 2-class mIoU / boundary F over the panoramas; in brackets the mean IoU of the "
             "same photos each segmented alone. MediaPipe's model as users get it (the whole image squashed to "
             "its square input).", "", "| set | panoramas | " + " | ".join(ways) + " |",
             "|---|---|" + "---|" * len(ways)]
    for key, entry in results["sets"].items():
        cells = [f"{r['mean_iou']:.4f} / {r['miou_2class']:.4f} / {r['boundary_f']:.4f} ({r['alone_mean_iou']:.4f})"
                 for r in entry["rows"].values()]
        lines.append(f"| {key} | {entry['panoramas']} | " + " | ".join(cells) + " |")
    write_results("panoramas", results, heading, "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20, help="panoramas per set and K (default 20)")
    args = ap.parse_args()
    write(run(args.count))
