"""Export a trained checkpoint into src/personseg/weights/ with its model card, scored on EG1800 test.

    python scripts/ship_model.py --checkpoint runs/sinet/best.pt --run-command "personseg train ..."

The card records the data, schedule, epochs, hardware, time, validation and test scores, size and sha256.
Test images are only scored here, after training; nothing is chosen on them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np
import torch

from personseg.data import data_root, read_ids
from personseg.image import load_image, load_mask
from personseg.metrics import Scores
from personseg.models.registry import spec
from personseg.train.export import export_onnx


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, type=Path)
    ap.add_argument("--run-command", required=True, help="the command that trained the checkpoint")
    ap.add_argument("--hardware", default=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores")
    args = ap.parse_args()

    best = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    last = torch.load(args.checkpoint.with_name("last.pt"), map_location="cpu", weights_only=False)
    model = spec(best["config"]["model"])
    info = export_onnx(args.checkpoint, model.onnx_path)

    from personseg.runtime import foreground_probability

    root = data_root() / "eg1800"
    scores = Scores()
    for ident in read_ids(root / "test.txt"):
        prob = foreground_probability(load_image(root / "images" / f"{ident}.jpg"), model.name)
        scores.add((prob >= 0.5).astype(np.uint8) * 255, load_mask(root / "masks" / f"{ident}.png"))
    history = last["history"]
    card = {
        "name": model.name,
        "file": model.onnx_path.name,
        "sha256": info["sha256"],
        "bytes": info["bytes"],
        "parameters": info["params"],
        "input": {"size_wh": list(model.size), "mean": model.mean, "std": model.std, "layout": "NCHW RGB float32"},
        "output": "logits (N, 2, H, W): background, person",
        "training": {
            "command": args.run_command,
            "data": "EG1800 train ids (../shared/data/eg1800/train.txt, 1290), 10% held out for validation "
                    "(seed 0): 1161 train / 129 validation; test ids never used for training or selection",
            "config": best["config"],
            "optimizer": "AdamW, one-cycle learning rate (5% warm-up), loss: cross-entropy + 2x boundary-band "
                         "cross-entropy + 0.5 soft IoU, aux loss on the 1/8-scale output",
            "epochs_run": len(history),
            "best_epoch": best["epoch"] + 1,
            "hardware": args.hardware,
            "train_seconds": round(sum(h["seconds"] for h in history), 1),
            "val_iou_best": round(best["val_iou"], 4),
        },
        "onnx_vs_torch_max_abs_diff": info["max_abs_diff"],
        "scores": {"eg1800_test": scores.summary()},
    }
    model.card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps(card["scores"]))


if __name__ == "__main__":
    main()
