"""Time per 600x800 photo with 1, 3 and 10 people: Penn-Fudan train pedestrians pasted onto no_people photos
(made 600x800: scaled to cover, centre cropped), one person large, three side by side, ten in two rows touching
each other. The default method and `fast`, as they are and with `--instances`; how much of everyone the mask
covers (IoU with the union of the people pasted) and, with instances, people found / spurious (a found person
matches one pasted at IoU 0.5 or more, their pixels hidden by someone in front left out).

    python benchmarks/people_time.py [--photos 12] [--methods accurate,fast]

The photos with nobody are only backgrounds here: nothing is scored on them. Writes
benchmarks/results/people_time.json and its section of benchmarks/RESULTS.md. Data is read from PERSONSEG_DATA.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from bystanders import paste, pedestrians
from personseg.data import data_root
from personseg.image import image_files, load_image
from personseg.metrics import InstanceMatch, foreground_iou
from personseg.pipeline import Segmenter
from report import machine, write_results

#: The photo's size (w, h), as the EG1800 portraits the issue's times are per.
SIZE = (600, 800)
#: Where the people stand, by how many: (height in pixels, centre column, feet row) each, back to front.
LAYOUTS = {
    1: [(640, 300, 780)],
    3: [(420, 110, 760), (420, 300, 760), (420, 490, 760)],
    10: [(230, x, 470) for x in (70, 185, 300, 415, 530)] + [(300, x, 780) for x in (60, 180, 300, 420, 540)],
}


def background(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` scaled to cover SIZE and centre cropped to it."""
    scale = max(SIZE[0] / rgb.shape[1], SIZE[1] / rgb.shape[0])
    big = cv2.resize(rgb, (round(rgb.shape[1] * scale + 0.5), round(rgb.shape[0] * scale + 0.5)),
                     interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    y0, x0 = (big.shape[0] - SIZE[1]) // 2, (big.shape[1] - SIZE[0]) // 2
    return np.ascontiguousarray(big[y0:y0 + SIZE[1], x0:x0 + SIZE[0]])


def photos(count: int, people: int) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """``count`` photos of ``people`` pasted pedestrians each, with each one's visible mask (bool HxW)."""
    walkers = pedestrians()
    grounds = image_files(data_root() / "no_people" / "images")
    out = []
    for k in range(count):
        rgb = background(load_image(grounds[k % len(grounds)]))
        masks: list[np.ndarray] = []
        for j, (height, cx, feet) in enumerate(LAYOUTS[people]):
            rgb, mask = paste(rgb, walkers[(k * people + j) % len(walkers)], height, cx, feet)
            masks = [m & ~mask for m in masks] + [mask]   # who stands in front hides who is behind
        out.append((rgb, [m for m in masks if m.any()]))
    return out


def run(count: int, methods: list[str]) -> dict:
    rows = {}
    for people in LAYOUTS:
        made = photos(count, people)
        for method in methods:
            for instances in (False, True):
                seg = Segmenter(method, instances=instances)
                seg(made[0][0])   # models loaded, sessions warm
                took, ious, match = [], [], InstanceMatch()
                for rgb, masks in made:
                    t = time.perf_counter()
                    r = seg(rgb)
                    took.append(time.perf_counter() - t)
                    ious.append(foreground_iou(r.mask, np.logical_or.reduce(masks)))
                    if instances:
                        match.add([i.mask for i in r.instances], masks)
                name = f"{method}{', --instances' if instances else ''}"
                rows[f"{people}|{name}"] = {"people": people, "call": name,
                                            "median_s": round(float(np.median(took)), 3),
                                            "max_s": round(float(max(took)), 3),
                                            "union_iou": round(float(np.mean(ious)), 4)} | (
                    {"found": len(match.ious), "pasted": len(match.ious) + match.missed,
                     "spurious": match.spurious} if instances else {})
                print(rows[f"{people}|{name}"], flush=True)
    return {"machine": machine(), "photos": count, "rows": rows}


def write(results: dict) -> None:
    title = "## Time per 600x800 photo with 1, 3 and 10 people"
    lines = [f"{title}, {results['machine']}", "",
             f"Made by `python benchmarks/people_time.py`: {results['photos']} photos of each count, Penn-Fudan train "
             "pedestrians pasted onto no_people photos made 600x800 (one 640 px tall; three 420 px side by side; ten "
             "in two rows, 230 and 300 px, touching). Seconds: per photo in one process, models loaded (median, "
             "and the slowest); union IoU: the mask against everyone pasted; with `--instances`, people found "
             "(one to one at IoU 0.5 or more) of those pasted, and masks matching nobody.", "",
             "| people | call | median s | slowest s | union IoU | found | spurious |", "|---|---|---|---|---|---|---|"]
    for r in results["rows"].values():
        found = f"{r['found']} of {r['pasted']}" if "found" in r else ""
        lines.append(f"| {r['people']} | {r['call']} | {r['median_s']} | {r['max_s']} | {r['union_iou']} | {found} | "
                     f"{r.get('spurious', '')} |")
    write_results("people_time", results, title, "\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=12, help="photos of each count of people")
    ap.add_argument("--methods", default="accurate,fast")
    args = ap.parse_args()
    write(run(args.photos, args.methods.split(",")))


if __name__ == "__main__":
    main()
