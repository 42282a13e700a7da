"""int8 versions of the shipped networks, timed against the float32 ones with onnxruntime on this CPU.

Each model is quantised statically (onnxruntime.quantization: per-channel int8 weights, uint8 activations,
calibrated on real inputs made from EG1800 train photos: the image at the model's input size, and for models fed
prior or guide maps a centred person-shaped map), in both of onnxruntime's layouts (QDQ and QOperator), then each
file runs the same input on the threads the runtime gives it. An int8 file would only be worth scoring for
accuracy where it is faster: pose-unet (scored on held-out images by scripts/quantise_model.py, which ships it).

    python benchmarks/quantise.py [--calibration 30] [--runs 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from personseg.data import data_root, read_ids
from personseg.image import load_image
from personseg.models.quantise import calibration_input, quantise
from personseg.models.registry import SPECS
from report import machine, write_results


def median_ms(path: Path, x: np.ndarray, threads: int, runs: int) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for _ in range(5):
        session.run(None, {"image": x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, {"image": x})
        times.append(time.perf_counter() - t)
    return round(float(np.median(times) * 1000), 2)


def run(calibration: int, runs: int, models: list[str] | None = None) -> dict:
    root = data_root() / "eg1800"
    photos = [load_image(root / "images" / f"{i}.jpg") for i in read_ids(root / "train.txt")[:calibration]]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in models or [n for n, m in SPECS.items() if m.onnx_path.is_file()]:   # the shipped ones
            model = SPECS[name]
            x = calibration_input(photos[0], model)
            threads = model.threads or 2
            row = {"float32": median_ms(model.onnx_path, x, threads, runs)}
            for layout in ("QDQ", "QOperator"):
                out = quantise(model, model.onnx_path, photos, Path(tmp) / f"{name}.{layout}.onnx", layout)
                row[f"int8 {layout}"] = median_ms(out, x, threads, runs)
            rows[name] = row
            print(name, row, flush=True)
    return {"machine": machine(), "calibration_photos": len(photos), "runs": runs, "median_ms": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibration", type=int, default=30)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    results = run(args.calibration, args.runs)
    title = "## int8 quantisation of the shipped networks"
    heading = f"{title}, {machine()}"
    lines = [heading, "", f"Made by `python benchmarks/quantise.py`: static int8 (per-channel weights, "
             f"calibrated on {results['calibration_photos']} EG1800 train photos), median ms of {args.runs} runs "
             "of one input on the model's own thread count, onnxruntime " + ort.__version__ + ". onnxruntime's CPU "
             "provider has no bfloat16 convolutions, so bf16 is not timed.", "",
             "| model | float32 | int8 QDQ | int8 QOperator |", "|---|---|---|---|"]
    for name, row in results["median_ms"].items():
        lines.append(f"| {name} | {row['float32']} | {row['int8 QDQ']} | {row['int8 QOperator']} |")
    lines += ["", "int8 is slower than float32 for every model but pose-unet on this CPU (around their small "
              "depthwise and grouped convolutions the quantise/dequantise steps cost more than the integer "
              "arithmetic saves); their float32 files ship. pose-unet's plain convolutions gain: its int8 file "
              "(QOperator) ships, its card records the held-out and test scores (`scripts/quantise_model.py`)."]
    write_results("quantise", results, title, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
