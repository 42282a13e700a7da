"""Seed 002's job, measured: masks for the people of a pose dataset (`personseg annotate --people`), against the
same methods finding people on their own.

For every labelled person with at least two keypoints, in pose_mini (7 photos) and coco_people test: their mask
from the file written by `annotate --people` (given keypoints), their mask given their keypoints alone, and their
best one-to-one match among the people the method found itself (`Segmenter(instances=True)`), each scored by IoU
with the true mask (0 when missed).
The written file is read back with pycocotools and every mask decoded.

    python benchmarks/given_people.py [--methods fast,accurate]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from scipy.optimize import linear_sum_assignment

from personseg.annotate import annotate
from personseg.data import data_root
from personseg.image import load_image, load_mask
from personseg.metrics import foreground_iou
from personseg.pipeline import Segmenter
from report import machine, write_results


def labelled(name: str) -> list[tuple[Path, list[list[float]], list[Path]]]:
    """(image, keypoints of each person with two or more labelled joints, their true masks) of a set laid out like
    pose_mini (coco_people: its test split)."""
    root = data_root() / name
    data = json.loads((root / "annotations.json").read_text())
    split = (root / "test.txt").read_text().split() if (root / "test.txt").exists() else None
    out = []
    for entry in data["images"]:
        if split is not None and Path(entry["image"]).stem not in split:
            continue
        people = [(i["keypoints"], root / i["instance_mask"]) for i in entry["instances"]
                  if i.get("keypoints") and sum(1 for v in i["keypoints"][2::3] if v > 0) >= 2]
        if people:
            out.append((root / entry["image"], [kp for kp, _ in people], [m for _, m in people]))
    return out


def given_ious(items, method: str, folder: Path) -> tuple[list[float], float, int]:
    """Each person's IoU from `annotate --people`, the seconds a photo, and how many masks decoded from the file."""
    images = folder / "images"
    images.mkdir()
    coco_images, anns = [], []
    for image, people, _ in items:
        shutil.copy(image, images / image.name)
        coco_images.append({"id": len(coco_images) + 1, "file_name": image.name})
        for kp in people:
            anns.append({"id": len(anns) + 1, "image_id": len(coco_images), "category_id": 1, "keypoints": kp})
    given = folder / "given.json"
    given.write_text(json.dumps({"images": coco_images, "annotations": anns, "categories": [{"id": 1}]}))
    out = folder / "masks.json"
    t = time.perf_counter()
    annotate([images], out, {"method": method}, people=given)
    seconds = (time.perf_counter() - t) / len(items)
    coco = COCO(str(out))
    ious, decoded = [], 0
    truth = [m for _, _, masks in items for m in masks]
    for ann, true in zip(coco.dataset["annotations"], truth):   # the file keeps the given order
        mask = coco.annToMask(ann)
        decoded += 1
        ious.append(foreground_iou(mask * 255, load_mask(true)))
    return ious, seconds, decoded


def found_ious(items, method: str) -> tuple[list[float], float]:
    """Each labelled person's IoU with their one-to-one match among the people the method found (0: missed)."""
    seg = Segmenter(method, instances=True)
    ious = []
    t = time.perf_counter()
    for image, _, masks in items:
        preds = [i.mask for i in seg(load_image(image)).instances]
        gts = [load_mask(m) for m in masks]
        iou = np.array([[foreground_iou(p, g) for p in preds] for g in gts]).reshape(len(gts), len(preds))
        best = np.zeros(len(gts))
        if iou.size:
            rows, cols = linear_sum_assignment(-iou)
            best[rows] = iou[rows, cols]
        ious += best.tolist()
    return ious, (time.perf_counter() - t) / len(items)


def alone_ious(items, method: str) -> list[float]:
    """Each labelled person's IoU when their keypoints alone are given (``Segmenter(people=[kp])``: a person
    tapped on the web page)."""
    seg = Segmenter(method)
    ious = []
    for image, people, masks in items:
        rgb = load_image(image)
        ious += [foreground_iou(seg(rgb, people=[kp]).mask, load_mask(m)) for kp, m in zip(people, masks)]
    return ious


def summary(ious: list[float]) -> dict:
    v = np.array(ious)
    return {"people": len(v), "mean_iou": round(float(v.mean()), 4), "iou_at_least_0.5": int((v >= 0.5).sum()),
            "median_iou": round(float(np.median(v)), 4)}


def run(methods: list[str], limit: int | None = None) -> dict:
    """Rows per set and method; ``limit``: the first photos of each set only."""
    rows = {}
    for name in ("pose_mini", "coco_people"):
        items = labelled(name)[:limit]
        for method in methods:
            with tempfile.TemporaryDirectory() as tmp:
                given, s_given, decoded = given_ious(items, method, Path(tmp))
            found, s_found = found_ious(items, method)
            rows[f"{name}|{method}"] = {"given": summary(given) | {"s_per_image": round(s_given, 2)},
                                        "alone": summary(alone_ious(items, method)),
                                        "found": summary(found) | {"s_per_image": round(s_found, 2)},
                                        "decoded": decoded, "photos": len(items)}
            print(name, method, rows[f"{name}|{method}"], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default="fast,accurate")
    args = ap.parse_args()
    rows = run(args.methods.split(","))
    title = "## Masks from given keypoints (`annotate --people`, seed 002)"
    heading = f"{title}, {machine()}"
    lines = [heading, "",
             "Made by `python benchmarks/given_people.py`. Every labelled person with two or more keypoints: IoU "
             "of their mask with the true one, (a) from the file `annotate --people` wrote given their true "
             "keypoints, (b) the mask of `Segmenter(people=[kp])` given that person's keypoints alone (a person "
             "tapped on the web page), (c) their one-to-one best match among the people the method found by itself "
             "(`--instances`; 0 when missed). 'decoded': masks read back from the written file with pycocotools.",
             "", "| set | method | people | given: mean IoU | given: IoU >= 0.5 | alone: mean IoU | alone: IoU >= 0.5 "
             "| found: mean IoU | found: IoU >= 0.5 | decoded | s/photo given / found |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in rows.items():
        name, method = key.split("|")
        g, a, f = r["given"], r["alone"], r["found"]
        lines.append(f"| {name} ({r['photos']} photos) | {method} | {g['people']} | {g['mean_iou']} | "
                     f"{g['iou_at_least_0.5']} | {a['mean_iou']} | {a['iou_at_least_0.5']} | {f['mean_iou']} | "
                     f"{f['iou_at_least_0.5']} | {r['decoded']} | {g['s_per_image']} / {f['s_per_image']} |")
    write_results("given_people", rows, title, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
