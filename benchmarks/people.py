"""Everyone in the picture, one mask each: people found / missed / spurious on pennfudan test, coco_people test
and pose_mini, for the default method and `fast` with instances (`Segmenter(instances=True)`, `--instances`).

    python benchmarks/people.py [--methods accurate,fast] [--limit N]

A true person is found when a predicted mask matches them one to one at IoU 0.5 or more; recall is given by the
person's share of the image (under 1%, 1-5%, 5% or more); coco_people's crowd regions are ignored (a prediction
mostly inside one is not spurious). Also the median seconds a photo by its number of true people. Writes
benchmarks/results/people.json and a section of benchmarks/RESULTS.md. Data is read from PERSONSEG_DATA.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from personseg.data import data_root, read_ids
from personseg.evaluate import evaluate_people, instance_sets
from personseg.pipeline import Segmenter
from report import machine, write_results

#: Photos are grouped by their number of true people for the timing.
CROWD_SIZES = {"1": (1, 1), "2-4": (2, 4), "5+": (5, 10**6)}


def people_sets() -> dict[str, list[tuple[str, Path, list[Path], list[Path]]]]:
    """pennfudan and coco_people test splits and pose_mini, as (id, image, one mask per person, crowd masks)."""
    root = data_root()
    out = {}
    for name in ("pennfudan", "coco_people"):
        test = set(read_ids(root / name / "test.txt"))
        out[f"{name} test"] = [s for s in instance_sets(root / name / "annotations.json") if s[0] in test]
    out["pose_mini"] = instance_sets(root / "pose_mini" / "annotations.json")
    return out


def _timed(seg: Segmenter, took: list[float]) -> Callable[[np.ndarray], list[np.ndarray]]:
    """``seg``'s per-person masks of an image, the seconds it took appended to ``took``."""
    def instances(rgb: np.ndarray) -> list[np.ndarray]:
        t = time.perf_counter()
        found = [i.mask for i in seg(rgb).instances]
        took.append(time.perf_counter() - t)
        return found
    return instances


def run(methods: list[str], limit: int | None = None) -> dict:
    sets = {name: items[:limit] for name, items in people_sets().items()}
    results: dict = {"machine": machine(), "sets": {}, "seconds_by_people": {}}
    for method in methods:
        seg = Segmenter(method, matting=None, instances=True)
        seconds: dict[str, list[float]] = {size: [] for size in CROWD_SIZES}
        for name, items in sets.items():
            took: list[float] = []
            match = evaluate_people(_timed(seg, took), items)
            for (_, _, masks, _), s in zip(items, took):
                for size, (lo, hi) in CROWD_SIZES.items():
                    if lo <= len(masks) <= hi:
                        seconds[size].append(s)
            results["sets"].setdefault(name, {})[method] = match.summary() | {
                "images": len(items), "spurious_per_image": round(match.spurious / max(len(items), 1), 3)}
            print(method, name, results["sets"][name][method], flush=True)
        results["seconds_by_people"][method] = {size: {"photos": len(v), "seconds": round(float(np.median(v)), 3)}
                                                for size, v in seconds.items() if v}
    return results


def write(results: dict) -> None:
    lines = [f"## Everyone in the picture: people found, {results['machine']}", "",
             "Made by `python benchmarks/people.py`: `Segmenter(method, instances=True)` (`--instances`), no "
             "matting. A true person is found when a mask matches them one to one at IoU >= 0.5; recall by their "
             "share of the image; coco_people's crowd regions are ignored.", "",
             "| set | method | people | found | missed | spurious (per image) | recall <1% | 1-5% | >=5% | matched IoU |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in results["sets"].items():
        for method, r in row.items():
            size = r["recall_by_size"]
            lines.append(f"| {name} ({r['images']}) | {method} | {r['people']} | {r['found']} | {r['missed']} | "
                         f"{r['spurious']} ({r['spurious_per_image']}) | {size['<1%']} | {size['1-5%']} | "
                         f"{size['>=5%']} | {r['matched_iou']:.3f} |")
    lines += ["", "Median seconds a photo (all three sets, photos of any size) by its number of true people:", "",
              "| method | " + " | ".join(f"{k} {'person' if k == '1' else 'people'}" for k in CROWD_SIZES) + " |",
              "|---" * (len(CROWD_SIZES) + 1) + "|"]
    for method, row in results["seconds_by_people"].items():
        lines.append(f"| {method} | " + " | ".join(
            f"{row[k]['seconds']:.3f} s ({row[k]['photos']})" if k in row else "-" for k in CROWD_SIZES) + " |")
    write_results("people", results, "## Everyone in the picture: people found", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="accurate,fast")
    ap.add_argument("--limit", type=int, help="at most this many photos of each set (default: all)")
    args = ap.parse_args()
    write(run(args.methods.split(","), args.limit))
