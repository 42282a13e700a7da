"""Ctrl-C at a random moment, ten times, in a 40-image batch and in a video; then a rerun.

    python benchmarks/interrupt.py [--rounds 10]

Batch: `personseg segment` of 40 EG1800 test photos (fast, mask + alpha + cut-out) into a fresh folder, SIGINT
at a random time while it runs; checks exit 130 (or 0 when it finished first), no temporary files, then a rerun
that must segment exactly the images without all three outputs and leave 120 files. Video: `personseg video` (fast) of
a 200-frame clip made from the parkour frames, SIGINT at a random time; checks exit 130 and that nothing is left
(no partial file, no output). Writes benchmarks/results/interrupt.json and a section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from personseg.data import data_root, read_ids
from personseg.image import load_image
from report import machine, write_results

BATCH = ["segment", "photos", "--out", "out", "--method", "fast"]


def _interrupted(args: list[str], cwd: Path, delay: float) -> tuple[int, str]:
    p = subprocess.Popen([sys.executable, "-m", "personseg", *args], cwd=cwd, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    return p.wait(timeout=120), p.stderr.read()


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*") if ".tmp" in p.name or ".partial" in p.name]


def batch_round(work: Path, photos: Path, rng: random.Random) -> dict:
    shutil.rmtree(work / "out", ignore_errors=True)
    code, err = _interrupted(BATCH, work, rng.uniform(2.0, 14.0))
    out = work / "out"
    complete = {p.name.split(".")[0] for p in out.glob("*.cutout.png")} if out.is_dir() else set()
    left = _leftovers(out) if out.is_dir() else []
    rerun = subprocess.run([sys.executable, "-m", "personseg", *BATCH], cwd=work, capture_output=True, text=True)
    done = re.search(r"(\d+) of 40 images segmented", rerun.stderr)
    files = len(list(out.iterdir()))
    return {"exit": code, "complete_before": len(complete), "temporary_files": len(left),
            "rerun_segmented": int(done.group(1)) if done else None, "files_after": files,
            "ok": code in (0, 130) and not left and rerun.returncode == 0 and files == 120
            and done is not None and int(done.group(1)) <= 40 - len(complete)}


def video_round(work: Path, clip: Path, rng: random.Random) -> dict:
    for p in work.glob("*out*"):
        p.unlink()
    code, err = _interrupted(["video", str(clip), "--out", "out.mp4", "--method", "fast", "--quiet"], work,
                             rng.uniform(1.5, 6.0))
    left = [p.name for p in work.iterdir() if p.name != clip.name]
    return {"exit": code, "left": left, "ok": code == 130 and not left and "Fatal" not in err}


def run(rounds: int, seed: int = 0) -> dict:
    from personseg.video.io import write_clip

    rng = random.Random(seed)
    root = data_root()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        photos = work / "photos"
        photos.mkdir()
        for ident in read_ids(root / "eg1800/test.txt")[:40]:
            shutil.copy(root / f"eg1800/images/{ident}.jpg", photos)
        frames = [np.asarray(Image.fromarray(load_image(p)).resize((428, 240)))
                  for p in sorted((root / "video/parkour/images").iterdir())[:50]]
        clip = write_clip(work / "clip.mp4", frames * 4, tone_hz=440)
        batch = [batch_round(work, photos, rng) for _ in range(rounds)]
        video_work = work / "video"
        video_work.mkdir()
        video = [video_round(video_work, clip, rng) for _ in range(rounds)]
    return {"machine": machine(), "rounds": rounds, "batch": batch, "video": video}


def write(results: dict) -> None:
    b, v = results["batch"], results["video"]
    lines = [f"## Ctrl-C at random moments ({results['rounds']} rounds each), {results['machine']}", "",
             "Made by `python benchmarks/interrupt.py`. Batch: 40 EG1800 test photos, `--method fast`, mask + alpha "
             "+ cut-out; video: a 200-frame 428x240 clip with sound, `--method fast`.", "",
             "| run | exit statuses | rounds passed | notes |", "|---|---|---|---|",
             f"| batch, then a rerun | {', '.join(str(r['exit']) for r in b)} | {sum(r['ok'] for r in b)} / {len(b)} | "
             f"images complete before the rerun: {', '.join(str(r['complete_before']) for r in b)}; the reruns "
             f"segmented {', '.join(str(r['rerun_segmented']) for r in b)}; temporary files left: "
             f"{sum(r['temporary_files'] for r in b)}; files after each rerun: "
             f"{', '.join(sorted({str(r['files_after']) for r in b}))} |",
             f"| video | {', '.join(str(r['exit']) for r in v)} | {sum(r['ok'] for r in v)} / {len(v)} | files left: "
             f"{sum(len(r['left']) for r in v)} |"]
    write_results("interrupt", results, "## Ctrl-C at random moments", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    results = run(args.rounds)
    print({part: sum(r["ok"] for r in results[part]) for part in ("batch", "video")})
    write(results)
