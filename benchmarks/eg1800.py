"""Score and time every method on the EG1800 test split, next to MediaPipe selfie segmentation.

    python benchmarks/eg1800.py [--limit N]

Writes benchmarks/results/eg1800.json and the EG1800 table of benchmarks/RESULTS.md. Data is read from
PERSONSEG_DATA (default ../shared/data). Times are wall-clock seconds per 600x800 image on this machine,
single process, pose included.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image, load_mask
from personseg.metrics import Scores
from personseg.models.registry import SPECS
from personseg.pipeline import NETWORK_MODELS, classical_probability, network_probability
from personseg.pose import empty_keypoints, get_backend
from personseg.refine.matting import estimate_alpha, trimap
from report import machine, write_results


def _binary(prob: np.ndarray) -> np.ndarray:
    return np.where(prob >= 0.5, 255, 0).astype(np.uint8)


def run(limit: int | None) -> dict:
    root = data_root() / "eg1800"
    ids = read_ids(root / "test.txt")[:limit]
    pose = get_backend("blazepose")
    from mediapipe.python.solutions import selfie_segmentation

    selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)
    networks = {m: n for m, n in NETWORK_MODELS.items() if SPECS[n].onnx_path.is_file()}
    names = ["classical (graph cut)", "classical (graph cut + CRF)", "classical + matting (graph cut + CRF + matting)"]
    for method, model in networks.items():
        names += [f"{method} ({model})", f"{method} + matting ({model} + matting)"]
    rows = {name: (Scores(), []) for name in names + ["MediaPipe selfie segmentation (peer)"]}
    for n, ident in enumerate(ids):
        rgb, gt = load_image(root / "images" / f"{ident}.jpg"), load_mask(root / "masks" / f"{ident}.png")
        t0 = time.perf_counter()
        people = pose.detect(rgb)
        kp = people[0] if people else empty_keypoints()
        t_pose = time.perf_counter() - t0
        t = time.perf_counter()
        gc = classical_probability(rgb, kp, crf=False)
        t_gc = time.perf_counter() - t
        t = time.perf_counter()
        crf = classical_probability(rgb, kp, crf=True)
        t_crf = time.perf_counter() - t
        t = time.perf_counter()
        alpha = estimate_alpha(rgb, trimap(_binary(crf)))
        t_mat = time.perf_counter() - t
        preds = [gc, crf, alpha]
        times = [t_pose + t_gc, t_pose + t_crf, t_pose + t_crf + t_mat]
        for model in networks.values():
            t = time.perf_counter()
            prob = network_probability(rgb, model)
            t_net = time.perf_counter() - t
            t = time.perf_counter()
            net_alpha = estimate_alpha(rgb, trimap(_binary(prob)))
            preds += [prob, net_alpha]
            times += [t_net, t_net + time.perf_counter() - t]
        t = time.perf_counter()
        peer = selfie.process(rgb).segmentation_mask
        preds.append(peer)
        times.append(time.perf_counter() - t)
        for (name, (scores, secs)), pred, sec in zip(rows.items(), preds, times):
            scores.add(_binary(pred), gt)
            secs.append(sec)
        if (n + 1) % 20 == 0:
            print(f"{n + 1}/{len(ids)}", flush=True)
    return {
        "dataset": "eg1800 test",
        "images": len(ids),
        "models": {model: {"parameters": SPECS[model].card().get("parameters"),
                           "onnx_kb": round(SPECS[model].onnx_path.stat().st_size / 1024, 1)}
                   for model in networks.values()},
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
    for model, m in results.get("models", {}).items():
        mine = next(r["median_s"] for name, r in results["rows"].items() if name.endswith(f"({model})"))
        lines.append("")
        lines.append(f"{model}: {m['parameters']} parameters, ONNX {m['onnx_kb']} KB; median latency per image "
                     f"(resize, network, upsampling) {mine * 1000:.1f} ms vs MediaPipe selfie segmentation "
                     f"{peer * 1000:.1f} ms in the same run: ratio {mine / peer:.2f}.")
    write_results("eg1800", results, "## EG1800 test", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="only the first N test images")
    write(run(ap.parse_args().limit))
