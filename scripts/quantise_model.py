"""Write a shipped model's int8 copy (src/personseg/weights/NAME.int8.onnx) and record in its card what it costs:
IoU of the method that runs the model, float32 vs int8, on the held-out groups (where the choice is made: at
most 0.002 IoU lost on each) and on the test sets (reported), and the time a photo.

    python scripts/quantise_model.py pose-unet [--calibration 30]

The model then runs its int8 copy when its registry entry says ``int8=True``; the float32 file stays, for
training from it and for `personseg export`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import numpy as np

from personseg.data import data_root, read_ids
from personseg.evaluate import find_pairs
from personseg.image import load_image, load_mask
from personseg.methods import METHODS
from personseg.metrics import foreground_iou
from personseg.models.quantise import quantise
from personseg.models.registry import WEIGHTS, spec
from personseg.pipeline import Segmenter
from personseg.train.data import heldout_groups

#: Most IoU the int8 copy may lose on a held-out group.
TOLERANCE = 0.002


def scored(method: str, models: dict, pairs) -> tuple[float, float]:
    """(mean IoU, median seconds a photo) of ``method`` run with ``models`` on (image, mask) ``pairs``."""
    seg = Segmenter(method, models=models)
    ious, times = [], []
    for image, mask in pairs:
        rgb = load_image(image)
        t = time.perf_counter()
        ious.append(foreground_iou(seg(rgb).mask, load_mask(mask)))
        times.append(time.perf_counter() - t)
    return round(float(np.mean(ious)), 4), round(float(np.median(times)), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--calibration", type=int, default=30, help="EG1800 train photos to calibrate on")
    args = ap.parse_args()
    model = spec(args.model)
    method = next(m.name for m in METHODS.values() if model.name in m.models)
    root = data_root()
    photos = [load_image(root / "eg1800/images" / f"{i}.jpg")
              for i in read_ids(root / "eg1800/train.txt")[:args.calibration]]
    out = quantise(model, model.onnx_path, photos, WEIGHTS / f"{model.name}.int8.onnx")
    groups = {f"held-out: {name}": pairs for name, pairs in heldout_groups().items()}
    for name in ("eg1800", "ccp"):
        groups[f"test: {name}"] = [(ip, mp) for _, ip, mp in find_pairs(root / name / "images", root / name / "masks",
                                                                        read_ids(root / name / "test.txt"))]
    rows = {}
    for group, pairs in groups.items():
        (f_iou, f_s), (q_iou, q_s) = (scored(method, {model.name: path}, pairs) for path in (model.onnx_path, out))
        rows[group] = {"images": len(pairs), "float32_iou": f_iou, "int8_iou": q_iou, "float32_s": f_s, "int8_s": q_s}
        print(group, rows[group], flush=True)
    worst = min(r["int8_iou"] - r["float32_iou"] for g, r in rows.items() if g.startswith("held-out"))
    card = model.card()
    card["int8"] = {
        "file": out.name, "sha256": hashlib.sha256(out.read_bytes()).hexdigest(), "bytes": out.stat().st_size,
        "made_by": f"python scripts/quantise_model.py {model.name} --calibration {args.calibration}",
        "quantisation": "onnxruntime static, QOperator, per-channel int8 weights, uint8 activations, calibrated on "
                        f"the first {len(photos)} EG1800 train photos (prior maps: a centred person-shaped blob)",
        "scored_as": f"method {method!r} end to end (BlazePose keypoints, default matting), IoU; s: median a photo",
        "scores": rows,
        "chosen": bool(worst >= -TOLERANCE),
        "rule": f"runs int8 where it loses at most {TOLERANCE} IoU on every held-out group (worst here: {worst:+.4f})",
    }
    model.card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(f"worst held-out change {worst:+.4f}: int8 {'chosen' if card['int8']['chosen'] else 'NOT chosen'}; "
          f"set int8={card['int8']['chosen']} in models/registry.py")


if __name__ == "__main__":
    main()
