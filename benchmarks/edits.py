"""An edit on the web page, timed on photos of growing size: one keypoint of the first person found moved, the
service's `edit=true` request in Python (`edits.edited`: the search again, then the person moved segmented from
their keypoints), against the search alone (`Segmenter(instances=True)`, what opening the photo costs).

The photo is the first Penn-Fudan test photo scaled to each long side with bicubic interpolation; the keypoint
moved is the person's first sure one, by 3% of the photo's width. The models are loaded and run once first.

    python benchmarks/edits.py [--sides 640,2000,4032,6000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from personseg.data import data_root, read_ids
from personseg.edits import edited
from personseg.image import load_image
from personseg.pipeline import Segmenter
from report import machine, write_results

#: The share of the photo's width the keypoint moves by.
MOVE = 0.03


def photo(side: int) -> np.ndarray:
    root = data_root() / "pennfudan"
    rgb = load_image(next((root / "images").glob(f"{read_ids(root / 'test.txt')[0]}.*")))
    scale = side / max(rgb.shape[:2])
    return cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def run(sides: list[int], rounds: int) -> dict:
    seg = Segmenter(instances=True)
    seg(photo(640))   # models loaded and run once
    rows = []
    for side in sides:
        rgb = photo(side)
        search, edit = [], []
        for _ in range(rounds):
            t = time.perf_counter()
            found = seg(rgb)
            search.append(time.perf_counter() - t)
            people = [i.keypoints.copy() for i in found.instances]
            first = int(np.argmax(people[0][:, 2] > 0.5))
            people[0][first, 0] += MOVE * rgb.shape[1]
            t = time.perf_counter()
            edited(seg, rgb, people)
            edit.append(time.perf_counter() - t)
        rows.append({"size": f"{rgb.shape[1]}x{rgb.shape[0]}", "people": len(found.instances),
                     "search_s": round(float(np.median(search)), 2), "edit_s": round(float(np.median(edit)), 2)})
        print(rows[-1], flush=True)
    return {"machine": machine(), "rounds": rounds, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sides", default="640,2000,4032,6000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    results = run([int(s) for s in args.sides.split(",")], args.rounds)
    title = "## An edit on the page (one keypoint moved) by photo size"
    lines = [f"{title}, {machine()}", "",
             "Made by `python benchmarks/edits.py`: the first Penn-Fudan test photo scaled up, the first person's "
             f"first sure keypoint moved by {MOVE:.0%} of the width; seconds, median of {args.rounds} runs: the "
             "search (`Segmenter(instances=True)`, opening the photo) and the service's edit (`edits.edited`: the "
             "search again, then the person moved segmented from their keypoints).", "",
             "| photo | people found | search s | edit s |", "|---|---|---|---|"]
    lines += [f"| {r['size']} | {r['people']} | {r['search_s']} | {r['edit_s']} |" for r in results["rows"]]
    write_results("edits", results, title, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
