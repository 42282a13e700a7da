"""A 24-megapixel photo through `personseg segment` with every output: time and peak memory, each run in a fresh
process. The photo is a coco_people test photo (640x480) scaled up to 6000x4000 with bicubic interpolation and
saved as JPEG (quality 95): the pixel count of a 24 MP camera, the content of a real scene.

    python benchmarks/large_photo.py [--rounds 3] [--methods fast,accurate]

Seconds: `personseg segment`'s own run in the child (imports excluded; models loaded and run once on the photo;
decoding, segmenting, writing every output). Peak RSS: the child's VmHWM, imports included.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image
from personseg.methods import DEFAULT_METHOD
from personseg.outputs import OUTPUTS
from report import machine, write_results

SIZE = (6000, 4000)
#: Runs `personseg segment` on argv[1] into argv[2] with method argv[3]; prints seconds and peak RSS as JSON.
_PROBE = """
import json, sys, time
from personseg.cli import main
t = time.perf_counter()
code = main(["segment", sys.argv[1], "--out", sys.argv[2], "--method", sys.argv[3], "--save", sys.argv[4],
             "--background", "#3080ff", "--quiet", "--overwrite"])
seconds = time.perf_counter() - t
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "seconds": seconds, "peak_rss_mb": int(peak.split()[1]) / 1024}))
"""


def make_photo(folder: Path) -> Path:
    root = data_root() / "coco_people"
    ident = read_ids(root / "test.txt")[0]
    rgb = load_image(next((root / "images").glob(f"{ident}.*")))
    big = cv2.resize(rgb, SIZE, interpolation=cv2.INTER_CUBIC)
    path = folder / "big.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(big, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def run(rounds: int, methods: list[str]) -> dict:
    save = ",".join(OUTPUTS)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_photo(Path(tmp))
        for method in methods:
            runs = []
            for _ in range(rounds):
                done = subprocess.run([sys.executable, "-c", _PROBE, str(photo), str(Path(tmp) / "out"), method, save],
                                      capture_output=True, text=True, check=True)
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                if runs[-1]["code"] != 0:
                    raise RuntimeError(done.stderr[-2000:])
            rows[method] = {"seconds": round(float(np.median([r["seconds"] for r in runs])), 2),
                            "peak_rss_mb": round(float(max(r["peak_rss_mb"] for r in runs)), 1)}
            print(method, rows[method], flush=True)
    return {"machine": machine(), "size": list(SIZE), "outputs": list(OUTPUTS), "rounds": rounds, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--methods", default=f"fast,{DEFAULT_METHOD}")
    args = ap.parse_args()
    results = run(args.rounds, args.methods.split(","))
    title = "## A 24-megapixel photo, every output"
    heading = f"{title}, {machine()}"
    lines = [heading, "", f"Made by `python benchmarks/large_photo.py`: a coco_people test photo scaled to "
             f"{SIZE[0]}x{SIZE[1]}, `personseg segment --save {','.join(OUTPUTS)}` in a fresh process, median of "
             f"{args.rounds} runs (seconds: the command's own run, imports excluded; peak RSS: the largest).", "",
             "| method | seconds | peak RSS MB |", "|---|---|---|"]
    lines += [f"| {m} | {r['seconds']} | {r['peak_rss_mb']} |" for m, r in results["rows"].items()]
    write_results("large_photo", results, title, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
