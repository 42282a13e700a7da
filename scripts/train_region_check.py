"""Train the region check (presence.py) and ship it into src/personseg/weights/ with its model card.

    python scripts/train_region_check.py --out runs/region-check [--epochs 15] [--no-ship]
    python scripts/train_region_check.py --card-scores   # after benchmarks/scenes.py: its figures into the card

The regions come from the train splits only: coco_single, coco_people and pennfudan train past their first 60
photos (those 60 are where choices are made, benchmarks' choice groups), and 150 EG1800 and 150 CCP training
pairs outside the validation pairs every network run holds out; each photo and its person-free strips
(train/regions.py). Gathered once into OUT/regions.npz; training resumes from OUT/last.pt. no_people and every
test split stay unseen.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from personseg.data import data_root, read_ids
from personseg.evaluate import find_pairs
from personseg.methods import DEFAULT_METHOD
from personseg.models.registry import spec
from personseg.train.checkpoint import read_checkpoint
from personseg.presence import MODEL
from personseg.train.data import CHOICE_PHOTOS, validation_split
from personseg.train.export import export_onnx
from personseg.train.regions import gather, train_check

#: Portraits and full bodies: this many training pairs each of EG1800 and CCP.
PORTRAITS = 150


def training_photos() -> list[tuple[str, Path, Path]]:
    """(set/name, image, mask) of every photo whose regions the check trains or validates on."""
    root = data_root()
    pairs = []
    for name in ("coco_single", "coco_people", "pennfudan"):
        ids = read_ids(root / name / "train.txt")[CHOICE_PHOTOS:]
        pairs += [(f"{name}/{i}", ip, mp) for i, ip, mp in find_pairs(root / name / "images", root / name / "masks", ids)]
    both = [(name, i, ip, mp) for name in ("eg1800", "ccp")
            for i, ip, mp in find_pairs(root / name / "images", root / name / "masks", read_ids(root / name / "train.txt"))]
    _, trained = validation_split(len(both), 0.1, 0)   # the networks' own validation pairs stay out
    for name in ("eg1800", "ccp"):
        pairs += [(f"{name}/{both[k][1]}", both[k][2], both[k][3]) for k in trained if both[k][0] == name][:PORTRAITS]
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="run folder: regions.npz, checkpoints")
    ap.add_argument("--card-scores", action="store_true",
                    help="only copy benchmarks/scenes.py's figures (test splits and no_people, the default with and "
                         "without the check) into the shipped card")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--no-ship", action="store_true", help="train only; do not write the shipped model and card")
    args = ap.parse_args()
    if args.card_scores:
        card_scores()
        return
    if args.out is None:
        ap.error("--out is needed to train")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    cache = args.out / "regions.npz"
    if not cache.is_file():
        start = time.perf_counter()
        gathered = gather(training_photos(), log=lambda s: print(s, flush=True))
        gathered["seconds"] = np.array(time.perf_counter() - start)
        np.savez(args.out / "regions.tmp.npz", **gathered)
        (args.out / "regions.tmp.npz").replace(cache)
    data = dict(np.load(cache))
    best = train_check(data, args.out, epochs=args.epochs, log=lambda s: print(s, flush=True))
    if args.no_ship:
        return
    model = spec(MODEL)
    info = export_onnx(best, model.onnx_path)
    history = read_checkpoint(args.out / "last.pt")["history"]
    chosen = min(history, key=lambda h: h["val_loss"])
    card = {"model": MODEL, "params": info["params"], "onnx_bytes": info["bytes"], "sha256": info["sha256"],
            "data": {"photos": len(set(data["name"])), "regions": len(data["y"]), "people": int(data["y"].sum()),
                     "validation_regions": int(data["val"].sum()),
                     "note": __doc__.split("\n\n")[2].replace("\n", " ").strip()},
            "schedule": {"epochs": args.epochs, "batch": 64, "optimiser": "AdamW, lr 2e-3, cosine",
                         "augment": "mirror, shift, brightness and contrast"},
            "chosen_epoch": chosen, "history": history,
            "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores",
            "gather_seconds": None if "seconds" not in data else round(float(data["seconds"]), 1),
            "train_seconds": round(sum(h["seconds"] for h in history), 1),
            "command": "python scripts/train_region_check.py --out " + str(args.out)}
    model.card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps({k: card[k] for k in ("params", "onnx_bytes", "chosen_epoch")}))


def card_scores() -> None:
    """The shipped card's "scores": benchmarks/results/scenes.json's columns for the default method with and
    without the check (test splits scored once, after training; no_people), and the networks they were made with."""
    results = json.loads((Path(__file__).resolve().parent.parent / "benchmarks/results/scenes.json").read_text())
    ways = [w for w in next(iter(results["sets"].values())) if w.startswith(DEFAULT_METHOD)
            and "MediaPipe" not in w]
    card = json.loads(spec(MODEL).card_path.read_text())
    card["scores"] = {"from": "benchmarks/scenes.py (benchmarks/RESULTS.md, 'Every kind of scene')",
                      "test": {name: {w: row[w] for w in ways} for name, row in results["sets"].items()},
                      "no_people": {w: results["no_people"][w] for w in ways}}
    card["scored_with"] = {m: spec(m).card()["sha256"] for m in ("sinet", "lwpsn", "refine")}
    spec(MODEL).card_path.write_text(json.dumps(card, indent=1) + "\n")


if __name__ == "__main__":
    main()
