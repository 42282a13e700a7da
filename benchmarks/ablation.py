"""Seed 000's ablation on the EG1800 test split: trained runs of LWPSN (RGB only, + SSM, + SSM + IPR) and of
seed 002's pose-guided U-Net, each with and without matting refinement and, given a trained refine model,
with seed 003's refinement network (without and with matting after it); then, without matting, the same
models on full-body photos (CCP test, pose_mini) and the parkour frames.

    python benchmarks/ablation.py --run "LWPSN RGB=lwpsn-rgb:RUN_DIR" --run "LWPSN + SSM=lwpsn:RUN_DIR" ... \
        [--mean "LABEL=RUN LABEL & RUN LABEL"] [--refine RUN_DIR]

Each RUN_DIR is a `personseg train --out` folder; its best.pt is exported to RUN_DIR/best.onnx (checked against
torch) and served from there. Writes benchmarks/results/ablation.json and the ablation section of
benchmarks/RESULTS.md. Keypoints come from the BlazePose backend, once per image, shared by every model.
A --mean row averages the probabilities of two --run rows of different models (as method `accurate` does).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from personseg.data import data_root, read_ids
from personseg.evaluate import find_pairs
from personseg.image import load_image, load_mask
from personseg.metrics import Scores
from personseg.models.registry import spec
from personseg.train.checkpoint import read_checkpoint
from personseg.framing import people_box
from personseg.refine.network import refined_probability
from personseg.runtime import coarse_probability
from personseg.pose import get_backend
from personseg.refine.components import keep_people
from personseg.refine.matting import matte
from personseg.runtime import model_files
from report import machine, write_results


def _binary(prob: np.ndarray) -> np.ndarray:
    return np.where(prob >= 0.5, 255, 0).astype(np.uint8)


def prepare(label: str, model: str, run: Path) -> dict:
    """Export the run's best checkpoint (once); the run's training facts."""
    from personseg.train.export import export_onnx

    from personseg.models.registry import torch_model

    onnx, best = run / "best.onnx", run / "best.pt"
    if not onnx.is_file() or onnx.stat().st_mtime < best.stat().st_mtime:
        export_onnx(best, onnx)
    with open(run / "log.csv") as f:
        log = list(csv.DictReader(f))
    state = read_checkpoint(best)
    return {"label": label, "model": model, "run": str(run), "onnx_kb": round(onnx.stat().st_size / 1024, 1),
            "parameters": sum(p.numel() for p in torch_model(model).parameters()),
            "epochs": len(log), "best_epoch": state["epoch"] + 1, "val_iou": round(state["val_iou"], 4),
            "train_s": round(sum(float(r["seconds"]) for r in log)), "ipr": state["config"]["augment"].get("pyramid", 0),
            "parts": [{"model": model, "run": str(run)}]}


def _predict(f: dict, rgb: np.ndarray, people: list[np.ndarray]) -> np.ndarray:
    """Every model framed the same way, on everyone's keypoints, as the pose methods run (so the rows differ
    only in what the network is fed and how it was trained); a mean row averages its runs' probabilities.
    Stray regions are dropped as the pipeline does (refine/components.py)."""
    models = tuple(p["model"] for p in f["parts"])
    return keep_people(coarse_probability(rgb, models, people_box(people, rgb.shape[0]), people), people)


def _timed(step, before: float = 0.0) -> tuple[np.ndarray, float]:
    """``step()``'s result and the seconds it took plus ``before`` (the steps it builds on)."""
    t = time.perf_counter()
    out = step()
    return out, before + time.perf_counter() - t


def _files(f: dict | None) -> dict[str, Path]:
    """The row's exported files by model name, to serve them (runs of the same model take turns)."""
    return {part["model"]: Path(part["run"]) / "best.onnx" for part in f["parts"]} if f else {}


def _mean_row(text: str, facts: list[dict]) -> dict:
    """The row LABEL=A & B: the mean of the --run rows labelled A and B, which must be of different models."""
    label, _, pair = text.partition("=")
    by_label = {f["label"]: f for f in facts}
    parts = [by_label.get(name.strip()) for name in pair.split("&")]
    if not label or len(parts) != 2 or None in parts or parts[0]["model"] == parts[1]["model"]:
        raise SystemExit(f"--mean {text!r}: expected LABEL=A & B, two --run labels of different models")
    return {"label": label, "parts": parts}


def run(runs: list[tuple[str, str, Path]], means: list[str], refine: Path | None, limit: int | None) -> dict:
    root = data_root() / "eg1800"
    ids = read_ids(root / "test.txt")[:limit]
    facts = [prepare(*r) for r in runs]
    rows_of = facts + [_mean_row(m, facts) for m in means]
    refiner = prepare("refinement network", "refine", refine) if refine else None
    with model_files(_files(refiner)):
        return _rows(ids, root, facts, rows_of, refiner, limit)


def _rows(ids: list[str], root: Path, facts: list[dict], rows_of: list[dict], refiner: dict | None,
          limit: int | None) -> dict:
    pose = get_backend("blazepose")
    images = [(load_image(root / "images" / f"{i}.jpg"), load_mask(root / "masks" / f"{i}.png")) for i in ids]
    people, pose_s = [], []
    for rgb, _ in images:
        t = time.perf_counter()
        people.append(pose.detect(rgb))
        pose_s.append(time.perf_counter() - t)
    rows = {}
    for f in rows_of:
        names = [f["label"], f["label"] + " + matting"]
        names += [f["label"] + " + refinement network", f["label"] + " + refinement network + matting"] if refiner else []
        got = {name: (Scores(), []) for name in names}
        with model_files(_files(f)):
            for (rgb, gt), kps in zip(images, people):
                preds = [_timed(lambda: _predict(f, rgb, kps))]
                preds.append(_timed(lambda: matte(rgb, preds[0][0]), preds[0][1]))
                if refiner:
                    preds.append(_timed(lambda: keep_people(refined_probability(rgb, preds[0][0]), kps), preds[0][1]))
                    preds.append(_timed(lambda: matte(rgb, preds[2][0]), preds[2][1]))
                for name, (pred, sec) in zip(names, preds):
                    got[name][0].add(_binary(pred), gt)
                    got[name][1].append(sec)
        rows |= got
        print({name: scores.summary()["mean_iou"] for name, (scores, _) in got.items()}, flush=True)
    return {
        "dataset": "eg1800 test", "images": len(ids), "machine": machine(), "runs": facts + [refiner] * bool(refiner),
        "pose_median_s": round(float(np.median(pose_s[1:] or pose_s)), 4),
        "rows": {name: scores.summary() | {"median_s": round(float(np.median(secs[1:] or secs)), 4)}
                 for name, (scores, secs) in rows.items()},
        "full_body": full_body(rows_of, refiner, pose, limit),
    }


def full_body(facts: list[dict], refiner: dict | None, pose, limit: int | None) -> dict:
    """Mean foreground IoU (no matting) of every model, and of each followed by the refinement network, on
    the full-body sets: {set: {label: IoU}}."""
    root = data_root()
    sets = {"ccp test": find_pairs(root / "ccp/images", root / "ccp/masks", read_ids(root / "ccp/test.txt")),
            "pose_mini": find_pairs(root / "pose_mini/images", root / "pose_mini/masks"),
            "parkour": find_pairs(root / "video/parkour/images", root / "video/parkour/masks")}
    loaded = {name: [(load_image(i), load_mask(m)) for _, i, m in pairs[:limit]] for name, pairs in sets.items()}
    people = {name: [pose.detect(rgb) for rgb, _ in pairs] for name, pairs in loaded.items()}
    out = {name: {"images": len(pairs)} for name, pairs in loaded.items()}
    for f in facts:
        for name, pairs in loaded.items():
            scores, refined = Scores(), Scores()
            with model_files(_files(f)):
                for (rgb, gt), kps in zip(pairs, people[name]):
                    prob = _predict(f, rgb, kps)
                    scores.add(_binary(prob), gt)
                    if refiner:
                        refined.add(_binary(keep_people(refined_probability(rgb, prob), kps)), gt)
            out[name][f["label"]] = scores.summary()["mean_iou"]
            if refiner:
                out[name][f["label"] + " + refinement network"] = refined.summary()["mean_iou"]
    print(out, flush=True)
    return out


def write(results: dict) -> None:
    lines = [
        f"## Ablation: LWPSN and the Spatial Saliency Map (EG1800 test, {results['images']} images), "
        f"{results['machine']}",
        "",
        "Made by `python benchmarks/ablation.py` (the command line is in docs/ablation.md). Same scores as the",
        "EG1800 table; every model framed on BlazePose's keypoints (as the pose methods run); matting is seed 003's",
        "closed-form matting at the pipeline's default working size; seconds per image exclude pose (BlazePose, median "
        f"{results['pose_median_s'] * 1000:.0f} ms).",
        "",
        "| model | params | ONNX KB | IPR levels | epochs | best val IoU | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in results["runs"]:
        lines.append(f"| {f['label']} ({f['model']}) | {f['parameters']:,} | {f['onnx_kb']} | {f['ipr']} | "
                     f"{f['epochs']} (best {f['best_epoch']}) | {f['val_iou']:.4f} | {f['train_s']} |")
    lines += ["", "| model | mean IoU | 2-class mIoU | boundary F | s/image (median) |", "|---|---|---|---|---|"]
    for name, r in results["rows"].items():
        lines.append(f"| {name} | {r['mean_iou']:.4f} | {r['miou_2class']:.4f} | {r['boundary_f']:.4f} | "
                     f"{r['median_s']:.4f} |")
    body = results["full_body"]
    labels = list(next(iter(body.values())))[1:]
    lines += ["", "Full bodies, mean foreground IoU without matting (what each run trained on: docs/ablation.md):", "",
              "| model | " + " | ".join(f"{name} ({v['images']})" for name, v in body.items()) + " |",
              "|---|" + "---|" * len(body)]
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(f"{v[label]:.4f}" for v in body.values()) + " |")
    write_results("ablation", results, "## Ablation: LWPSN", "\n".join(lines) + "\n")


def _run_arg(text: str) -> tuple[str, str, Path]:
    label, _, rest = text.partition("=")
    model, _, folder = rest.partition(":")
    if not label or not model or not folder:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=MODEL:RUN_DIR")
    spec(model)
    return label, model, Path(folder)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", type=_run_arg, required=True, metavar="LABEL=MODEL:RUN_DIR")
    ap.add_argument("--mean", action="append", default=[], metavar="LABEL=A & B",
                    help="a row averaging the probabilities of the --run rows labelled A and B (different models)")
    ap.add_argument("--refine", type=Path, metavar="RUN_DIR", help="a trained refine model (seed 003) to add rows for")
    ap.add_argument("--limit", type=int, help="only the first N test images")
    args = ap.parse_args()
    write(run(args.run, args.mean, args.refine, args.limit))
