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
from personseg.evaluate import find_pairs, instance_sets
from personseg.framing import binary_mask
from personseg.image import load_image, load_mask
from personseg.metrics import InstanceMatch, Scores
from personseg.methods import DEFAULT_METHOD
from personseg.pipeline import Segmenter
from report import machine, write_results

SETS = ("pennfudan", "coco_single")
SIDE_BY_SIDE = (2, 3, 5)
HEIGHT = 400
PEER = "MediaPipe selfie segmentation (peer)"
#: The set whose people are matched one by one, and the methods asked for them.
PEOPLE_SET, PEOPLE_METHODS = "pennfudan", (DEFAULT_METHOD, "fast")


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


def people_photos(count: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """The first ``count`` test photos of PEOPLE_SET with each person's mask, scaled to HEIGHT px high."""
    root = data_root() / PEOPLE_SET
    test = read_ids(root / "test.txt")
    by_id = {s[0]: s for s in instance_sets(root / "annotations.json")}
    out = []
    for _, image, masks, _ in [by_id[i] for i in test if i in by_id][:count]:
        rgb = load_image(image)
        size = (round(rgb.shape[1] * HEIGHT / rgb.shape[0]), HEIGHT)
        out.append((cv2.resize(rgb, size, interpolation=cv2.INTER_AREA),
                    [cv2.resize(load_mask(m), size, interpolation=cv2.INTER_NEAREST) for m in masks]))
    return out


def people(count: int, sides: tuple[int, ...]) -> dict:
    """Found / missed / spurious people on PEOPLE_SET's panoramas of each K in ``sides`` and on the same photos
    alone, by method."""
    pool = people_photos(count * max(sides))
    rows: dict = {}
    for method in PEOPLE_METHODS:
        seg = Segmenter(method, matting=None, instances=True)
        alone = [[i.mask for i in seg(rgb).instances] for rgb, _ in pool]   # each photo's people on its own
        for side in sides:
            starts = range(0, min(side * count, len(pool) - side + 1), side)
            match, apart = InstanceMatch(), InstanceMatch()
            for i in starts:
                group = pool[i:i + side]
                widths = np.cumsum([0] + [rgb.shape[1] for rgb, _ in group])
                truth = [np.pad(m, ((0, 0), (widths[k], widths[-1] - widths[k + 1])))
                         for k, (_, masks) in enumerate(group) for m in masks]
                match.add([inst.mask for inst in seg(np.hstack([rgb for rgb, _ in group])).instances], truth)
                for k in range(i, i + side):
                    apart.add(alone[k], pool[k][1])
            rows.setdefault(f"{PEOPLE_SET} x{side}", {"panoramas": len(starts), "rows": {}})["rows"][method] = {
                "panorama": _counts(match), "alone": _counts(apart)}
            print(PEOPLE_SET, side, method, rows[f"{PEOPLE_SET} x{side}"]["rows"][method], flush=True)
    return rows


def _counts(match: InstanceMatch) -> dict:
    s = match.summary()
    return {k: s[k] for k in ("people", "found", "missed", "spurious", "matched_iou")}


def run(count: int, sides: tuple[int, ...] = SIDE_BY_SIDE) -> dict:
    """Each way's scores on the first ``count`` panoramas of each set and K in ``sides``, and ``people``."""
    ways = calls()
    results: dict = {"machine": machine(), "count": count, "height": HEIGHT, "sets": {}}
    for name in SETS:
        pool = photos(name, count * max(sides))
        alone = {way: [Scores() for _ in pool] for way in ways}
        for k, (rgb, truth) in enumerate(pool):
            for way, call in ways.items():
                alone[way][k].add(call(rgb), truth)
        for side in sides:
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
    results["people"] = people(count, sides)
    return results


def write(results: dict) -> None:
    ways = list(next(iter(results["sets"].values()))["rows"])
    title = "## Panoramas: test photos side by side"
    heading = f"{title}, {results['machine']}"
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
    lines += ["", f"People one by one (`--instances`, no matting) on the {PEOPLE_SET} panoramas above: found of "
              "the people, spurious (matched one to one at IoU 0.5, as `benchmarks/people.py`); in brackets the same "
              "photos each segmented alone.", "", "| set | panoramas | " + " | ".join(PEOPLE_METHODS) + " |",
              "|---|---|" + "---|" * len(PEOPLE_METHODS)]
    for key, entry in results["people"].items():
        cells = [f"{r['panorama']['found']}/{r['panorama']['people']}, {r['panorama']['spurious']} "
                 f"({r['alone']['found']}/{r['alone']['people']}, {r['alone']['spurious']})"
                 for r in entry["rows"].values()]
        lines.append(f"| {key} | {entry['panoramas']} | " + " | ".join(cells) + " |")
    write_results("panoramas", results, title, "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20, help="panoramas per set and K (default 20)")
    args = ap.parse_args()
    write(run(args.count))
