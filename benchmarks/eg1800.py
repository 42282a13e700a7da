"""Score and time every method on the EG1800 test split, next to MediaPipe selfie segmentation.

    python benchmarks/eg1800.py [--limit N]

Writes benchmarks/results/eg1800.json and the EG1800 table of benchmarks/RESULTS.md. Data is read from
PERSONSEG_DATA (default ../shared/data). Times are wall-clock seconds per 600x800 image on this machine,
single process, pose included.
"""

from __future__ import annotations

import argparse
import time
from unittest.mock import patch

import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image, load_mask
from personseg.metrics import Scores
from personseg.models.registry import SPECS
from personseg.methods import METHODS
from personseg import pipeline
from personseg.pipeline import Segmenter
from personseg.refine.matting import DEFAULT_MATTING, MATTING
from report import machine, write_results


def _binary(prob: np.ndarray) -> np.ndarray:
    return np.where(prob >= 0.5, 255, 0).astype(np.uint8)


def _probability(prob: np.ndarray) -> np.ndarray:
    """In place of refine.matting.opaque, which makes matting=None's alpha opaque inside: the probability as it is."""
    return prob.astype(np.float32, copy=False)


def _shipped(method: str) -> bool:
    return all(SPECS[m].onnx_path.is_file() for m in METHODS[method].models)


def run(limit: int | None) -> dict:
    """Each method without matting, then with each matting (refine/matting.py MATTING) on its output, as users run it."""
    root = data_root() / "eg1800"
    ids = read_ids(root / "test.txt")[:limit]
    from mediapipe.python.solutions import selfie_segmentation

    selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)
    # the network-free method without its optional CRF too, then every method as shipped (registry order)
    segmenters = {f"{name} (graph cut)": Segmenter(name, matting=None, crf=False)
                  for name, method in METHODS.items() if not method.models}
    for method in filter(_shipped, METHODS):
        segmenters[method] = Segmenter(method, matting=None)
    mattings = [f"{name} matting" + " (default)" * (name == DEFAULT_MATTING) for name in MATTING]
    names = [n for label in segmenters for n in [label] + [f"{label} + {m}" for m in mattings]]
    rows = {name: (Scores(), []) for name in names + ["MediaPipe selfie segmentation (peer)"]}
    for n, ident in enumerate(ids):
        rgb, gt = load_image(root / "images" / f"{ident}.jpg"), load_mask(root / "masks" / f"{ident}.png")
        preds, times = [], []
        for seg in segmenters.values():
            t = time.perf_counter()
            with patch.object(pipeline, "opaque", _probability):   # the method's own probability, which the
                prob = seg(rgb).alpha                               # mattings below take (as the pipeline does)
            t_seg = time.perf_counter() - t
            preds.append(prob)
            times.append(t_seg)
            for make in MATTING.values():
                t = time.perf_counter()
                preds.append(make(rgb, prob))
                times.append(t_seg + time.perf_counter() - t)
        t = time.perf_counter()
        peer = selfie.process(rgb).segmentation_mask
        preds.append(peer)
        times.append(time.perf_counter() - t)
        for (name, (scores, secs)), pred, sec in zip(rows.items(), preds, times):
            scores.add(_binary(pred), gt)
            secs.append(sec)
        if (n + 1) % 20 == 0:
            print(f"{n + 1}/{len(ids)}", flush=True)
    networks = sorted({m for method in filter(_shipped, METHODS) for m in METHODS[method].models})
    return {
        "dataset": "eg1800 test",
        "images": len(ids),
        "models": {model: {"parameters": SPECS[model].card().get("parameters"),
                           "onnx_kb": round(SPECS[model].onnx_path.stat().st_size / 1024, 1)}
                   for model in networks},
        "machine": machine(),
        "rows": {
            name: scores.summary() | {
                "median_s": round(float(np.median(secs[1:] or secs)), 3),
                "mean_s": round(float(np.mean(secs[1:] or secs)), 3),
            }
            for name, (scores, secs) in rows.items()
        },
    }


def write(results: dict) -> None:
    lines = [
        f"## EG1800 test ({results['images']} images, 600x800), {results['machine']}",
        "",
        "Made by `python benchmarks/eg1800.py`. Mean per-image foreground IoU, 2-class mIoU over all pixels,",
        "boundary F (tolerance 1% of the diagonal); seconds per image (median, first image left out), pose included.",
        "",
        "| method | mean IoU | 2-class mIoU | boundary F | s/image (median) |",
        "|---|---|---|---|---|",
    ]
    for name, r in results["rows"].items():
        lines.append(f"| {name} | {r['mean_iou']:.4f} | {r['miou_2class']:.4f} | {r['boundary_f']:.4f} | "
                     f"{r['median_s']:.4f} |")
    peer = results["rows"]["MediaPipe selfie segmentation (peer)"]["median_s"]
    lines.append("")
    lines.append("Shipped networks: " + "; ".join(f"{model} {m['parameters']:,} parameters, ONNX {m['onnx_kb']} KB"
                                                  for model, m in results["models"].items()) + ".")
    if "fast" in results["rows"]:
        mine = results["rows"]["fast"]["median_s"]
        lines.append(f"fast (no pose): {mine * 1000:.1f} ms per image vs MediaPipe selfie segmentation "
                     f"{peer * 1000:.1f} ms in the same run, ratio {mine / peer:.2f} (benchmarks/latency.py times "
                     "each alone, the fairer comparison).")
    write_results("eg1800", results, "## EG1800 test", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="only the first N test images")
    write(run(ap.parse_args().limit))
