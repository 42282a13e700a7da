"""`personseg annotate` killed with SIGKILL at random moments, then run again: the file must be the same bytes
as an uninterrupted run's.

    python benchmarks/annotate_resume.py [--images 100] [--kills 5]

The first N coco_single + coco_people + pennfudan photos, method fast. One uninterrupted run; then, for each
round, a fresh output killed at a random moment (kill -9) and the same command run again until it finishes.
Writes benchmarks/results/annotate_resume.json and a section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from annotate import photos
from report import machine, write_results


def _command(folder: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "personseg", "annotate", str(folder), "--out", str(out), "--method", "fast",
            "--quiet"]


def run(count: int, kills: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        photos(count, folder)
        whole = Path(tmp) / "whole.json"
        t = time.perf_counter()
        subprocess.run(_command(folder, whole), check=True, capture_output=True)
        seconds = time.perf_counter() - t
        expected = hashlib.sha256(whole.read_bytes()).hexdigest()
        rounds = []
        for k in range(kills):
            out = Path(tmp) / f"killed{k}.json"
            p = subprocess.Popen(_command(folder, out), stderr=subprocess.DEVNULL)
            delay = rng.uniform(0.1, 0.9) * seconds
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
            kept = len(list(out.parent.glob(f".{out.name}.parts/*.json"))) - 1   # less the settings file
            done = subprocess.run(_command(folder, out), capture_output=True, text=True)
            got = hashlib.sha256(out.read_bytes()).hexdigest()
            rounds.append({"killed_after_s": round(delay, 1), "images_kept": kept, "rerun_exit": done.returncode,
                           "sha256": got, "same": got == expected})
            print(rounds[-1], flush=True)
    return {"machine": machine(), "images": count, "uninterrupted_s": round(seconds, 1), "sha256": expected,
            "rounds": rounds}


def write(results: dict) -> None:
    lines = [f"## Annotating after kill -9 ({results['images']} photos, {len(results['rounds'])} kills), "
             f"{results['machine']}", "",
             "Made by `python benchmarks/annotate_resume.py`. Uninterrupted run: "
             f"{results['uninterrupted_s']} s, sha256 `{results['sha256'][:16]}...`.", "",
             "| killed after s | images kept by then | rerun exit | same file |", "|---|---|---|---|"]
    lines += [f"| {r['killed_after_s']} | {r['images_kept']} | {r['rerun_exit']} | {'yes' if r['same'] else 'NO'} |"
              for r in results["rounds"]]
    write_results("annotate_resume", results, "## Annotating after kill -9", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--kills", type=int, default=5)
    args = ap.parse_args()
    write(run(args.images, args.kills))
