"""Seed 000's ablation on the EG1800 test split: trained runs of LWPSN (RGB only, + SSM, + SSM + IPR) side by
side with the shipped SINet, each with and without matting refinement.

    python benchmarks/ablation.py --run "LWPSN RGB=lwpsn-rgb:RUN_DIR" --run "LWPSN + SSM=lwpsn:RUN_DIR" ...

Each RUN_DIR is a `personseg train --out` folder; its best.pt is exported to RUN_DIR/best.onnx (checked against
torch) and served from there. Writes benchmarks/results/ablation.json and the ablation section of
benchmarks/RESULTS.md. Keypoints come from the BlazePose backend, once per image, shared by every model.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image, load_mask
from personseg.metrics import Scores
from personseg.models.registry import spec
from personseg.pipeline import network_probability
from personseg.pose import get_backend
from personseg.refine.matting import estimate_alpha, trimap
from personseg.runtime import use_model_file
from report import machine, write_results


def _binary(prob: np.ndarray) -> np.ndarray:
    return np.where(prob >= 0.5, 255, 0).astype(np.uint8)


def prepare(label: str, model: str, run: Path) -> dict:
    """Export the run's best checkpoint (once) and serve ``model`` from it; its training facts."""
    from personseg.train.export import export_onnx

    import torch

    from personseg.models.registry import torch_model

    onnx, best = run / "best.onnx", run / "best.pt"
    if not onnx.is_file() or onnx.stat().st_mtime < best.stat().st_mtime:
        export_onnx(best, onnx)
    use_model_file(model, onnx)
    with open(run / "log.csv") as f:
        log = list(csv.DictReader(f))
    state = torch.load(best, map_location="cpu", weights_only=False)
    return {"label": label, "model": model, "run": str(run), "onnx_kb": round(onnx.stat().st_size / 1024, 1),
            "parameters": sum(p.numel() for p in torch_model(model).parameters()),
            "epochs": len(log), "best_epoch": state["epoch"] + 1, "val_iou": round(state["val_iou"], 4),
            "train_s": round(sum(float(r["seconds"]) for r in log)), "ipr": state["config"]["augment"]["pyramid"]}


def run(runs: list[tuple[str, str, Path]], limit: int | None) -> dict:
    root = data_root() / "eg1800"
    ids = read_ids(root / "test.txt")[:limit]
    facts = [prepare(*r) for r in runs]
    pose = get_backend("blazepose")
    rows = {}
    for f in facts:
        rows[f["label"]] = (Scores(), [])
        rows[f["label"] + " + matting"] = (Scores(), [])
    pose_s = []
    for n, ident in enumerate(ids):
        rgb, gt = load_image(root / "images" / f"{ident}.jpg"), load_mask(root / "masks" / f"{ident}.png")
        t = time.perf_counter()
        people = pose.detect(rgb)
        pose_s.append(time.perf_counter() - t)
        for f in facts:
            t = time.perf_counter()
            prob = network_probability(rgb, f["model"], people=people if spec(f["model"]).priors else ())
            t_net = time.perf_counter() - t
            alpha = estimate_alpha(rgb, trimap(_binary(prob)))
            t_all = time.perf_counter() - t
            for name, pred, sec in ((f["label"], prob, t_net), (f["label"] + " + matting", alpha, t_all)):
                rows[name][0].add(_binary(pred), gt)
                rows[name][1].append(sec)
        if (n + 1) % 20 == 0:
            print(f"{n + 1}/{len(ids)}", flush=True)
    return {
        "dataset": "eg1800 test", "images": len(ids), "machine": machine(), "runs": facts,
        "pose_median_s": round(float(np.median(pose_s[1:] or pose_s)), 4),
        "rows": {name: scores.summary() | {"median_s": round(float(np.median(secs[1:] or secs)), 4)}
                 for name, (scores, secs) in rows.items()},
    }


def write(results: dict) -> None:
    lines = [
        f"## Ablation: LWPSN and the Spatial Saliency Map (EG1800 test, {results['images']} images), "
        f"{results['machine']}",
        "",
        "Made by `python benchmarks/ablation.py` (the command line is in docs/ablation.md). Same scores as the",
        "EG1800 table; seconds per image exclude pose (BlazePose, median "
        f"{results['pose_median_s'] * 1000:.0f} ms, which the SSM models need and the others do not).",
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
    ap.add_argument("--limit", type=int, help="only the first N test images")
    args = ap.parse_args()
    write(run(args.run, args.limit))
