"""Every kind of scene: the default method, the same without the person check (`--no-person-check`) and without
MediaPipe's masks (`--no-mediapipe-masks`: only the networks trained here make the mask), `fast`, and MediaPipe's
selfie segmentation model, on the test split of every set with masks, and on no_people.

    python benchmarks/scenes.py [--limit N] [--grey]

Per set: the union of everyone (mean per-image foreground IoU, 2-class mIoU, boundary F; coco_people's masks
include COCO's crowd regions) and the median seconds a photo. no_people (60 photos with nobody): the share of
photos with any person pixel and the mean share of pixels marked. Writes benchmarks/results/scenes.json and a
section of benchmarks/RESULTS.md. With --grey every photo is turned black and white first (luminance in all three
channels; results/scenes-grey.json and a section of its own).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from personseg.data import data_root, read_ids
from personseg.evaluate import find_pairs
from personseg.framing import binary_mask
from personseg.image import black_and_white, load_image, load_mask
from personseg.metrics import Scores
from personseg.methods import DEFAULT_METHOD
from personseg.pipeline import Segmenter
from report import machine, write_results

SETS = ("eg1800", "ccp", "pennfudan", "coco_people", "coco_single")


def calls() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each way compared, by name: RGB in, uint8 mask out."""
    default, ours, fast = Segmenter(), Segmenter(mediapipe_masks=False), Segmenter("fast")
    unchecked = Segmenter(person_check=False)
    from mediapipe.python.solutions import selfie_segmentation

    selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)   # as users get it (no tiles)
    return {f"{DEFAULT_METHOD} (default)": lambda rgb: default(rgb).mask,
            f"{DEFAULT_METHOD}, no person check": lambda rgb: unchecked(rgb).mask,
            f"{DEFAULT_METHOD}, no MediaPipe masks": lambda rgb: ours(rgb).mask,
            "fast": lambda rgb: fast(rgb).mask,
            "MediaPipe selfie segmentation (peer)": lambda rgb: binary_mask(selfie.process(rgb).segmentation_mask)}


def run(limit: int | None, grey: bool = False) -> dict:
    ways = calls()
    root = data_root()
    look = black_and_white if grey else lambda rgb: rgb
    results: dict = {"machine": machine(), "limit": limit, "grey": grey, "sets": {}, "no_people": {}}
    for name in SETS:
        pairs = find_pairs(root / name / "images", root / name / "masks", read_ids(root / name / "test.txt"))[:limit]
        scores = {way: (Scores(), []) for way in ways}
        for _, image, mask in pairs:
            rgb, truth = look(load_image(image)), load_mask(mask)
            for way, fn in ways.items():
                t = time.perf_counter()
                pred = fn(rgb)
                scores[way][1].append(time.perf_counter() - t)
                scores[way][0].add(pred, truth)
        results["sets"][name] = {way: s.summary() | {"images": len(pairs), "seconds": round(float(np.median(ts)), 4)}
                                 for way, (s, ts) in scores.items()}
        print(name, {way: r["mean_iou"] for way, r in results["sets"][name].items()}, flush=True)
    nobody = find_pairs(root / "no_people" / "images", root / "no_people" / "masks")[:limit]
    for way, fn in ways.items():
        marked = Scores()   # counts the photos marked and the share marked where the truth holds nobody
        for _, image, mask in nobody:
            marked.add(fn(look(load_image(image))), load_mask(mask))
        summary = marked.summary()
        results["no_people"][way] = {"photos": summary["images_of_nobody"],
                                     "with_person_pixels": summary["of_nobody_marked"],
                                     "mean_share": summary["of_nobody_share_marked"]}
    print("no_people", results["no_people"], flush=True)
    return results


def write(results: dict) -> None:
    ways = list(next(iter(results["sets"].values())))
    heading = "## Every kind of scene: test splits, the default with and without the person check and MediaPipe's masks"
    command, results_name = "python benchmarks/scenes.py", "scenes"
    if results.get("grey"):
        heading = "## Black-and-white photos: the same test splits and no_people turned grey"
        command, results_name = command + " --grey", "scenes-grey"
    lines = [f"{heading}, {results['machine']}",
             "", f"Made by `{command}`: each set's test split (the union of everyone); "
             "cells: mean foreground IoU / 2-class mIoU / boundary F, median seconds a photo. `no person check` is "
             "`--no-person-check` (`Segmenter(person_check=False)`): regions kept where BlazePose places nobody "
             "whatever they are. `no MediaPipe masks` "
             "is `--no-mediapipe-masks` (`Segmenter(mediapipe_masks=False)`): BlazePose's keypoints, no selfie "
             "model, no BlazePose outline: what the networks trained here do, MediaPipe's detectors (BlazePose on "
             "a crop, the hand detector) still judging regions where nobody is placed.", "",
             "| set | " + " | ".join(ways) + " |", "|---" * (len(ways) + 1) + "|"]
    for name, row in results["sets"].items():
        images = next(iter(row.values()))["images"]
        lines.append(f"| {name} ({images}) | " + " | ".join(
            f"{r['mean_iou']:.4f} / {r['miou_2class']:.4f} / {r['boundary_f']:.4f}, {r['seconds']:.3f} s"
            for r in row.values()) + " |")
    lines += ["", "no_people (photos with nobody): photos with any person pixel, mean share of pixels marked.", "",
              "| | " + " | ".join(ways) + " |", "|---" * (len(ways) + 1) + "|",
              "| no_people | " + " | ".join(f"{r['with_person_pixels']} of {r['photos']}, {r['mean_share']:.4f}"
                                          for r in results["no_people"].values()) + " |"]
    write_results(results_name, results, heading.split(":")[0], "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="at most this many photos of each set (default: all)")
    ap.add_argument("--grey", action="store_true", help="every photo turned black and white first")
    args = ap.parse_args()
    write(run(args.limit, args.grey))
