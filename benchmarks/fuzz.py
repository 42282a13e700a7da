"""Fuzz the inputs: mutated real images through `load_image` and mutated video files through the video source,
for a fixed time; every input must load or be refused with personseg's own error, never crash the process.

    python benchmarks/fuzz.py [--seconds 600]

Seeds: EG1800 test portraits saved as JPEG, PNG, WebP, TIFF, BMP, and a short H.264 clip with AAC sound made from
the parkour frames. Each case mutates one seed (byte flips, truncation, inserted or repeated blocks, a header
spliced from another seed) from a seeded generator, so a failing case can be replayed by its number. Cases run in
a worker process; a worker that dies (a crash in native code) is counted, and a new one carries on after it.
Writes benchmarks/results/fuzz.json and a section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from personseg.data import data_root
from personseg.errors import PersonsegError
from personseg.image import load_image
from report import machine, write_results

#: Every this many cases, one is a video file.
VIDEO_EVERY = 10
#: Frames read from each mutated video.
VIDEO_FRAMES = 5


def seeds(folder: Path) -> list[Path]:
    """The seed files, made once in ``folder``."""
    from personseg.video.io import write_clip

    root = data_root()
    made = []
    for k, ident in enumerate(("00002", "00013")):
        rgb = np.asarray(Image.fromarray(load_image(root / f"eg1800/images/{ident}.jpg")).resize((120, 160)))
        for fmt in ("JPEG", "PNG", "WEBP", "TIFF", "BMP"):
            path = folder / f"{k}.{fmt.lower()}"
            Image.fromarray(rgb).save(path, format=fmt)
            made.append(path)
    frames = [np.asarray(Image.fromarray(load_image(p)).resize((160, 96)))
              for p in sorted((root / "video/parkour/images").iterdir())[:8]]
    made.append(write_clip(folder / "clip.mp4", frames, tone_hz=440))
    return made


def mutate(data: bytes, other: bytes, rng: np.random.Generator) -> bytes:
    """One to four random mutations of ``data`` (``other``: another seed, for spliced headers)."""
    buf = bytearray(data)
    for _ in range(rng.integers(1, 5)):
        if not buf:   # truncated to nothing: nothing more to change
            break
        kind = rng.integers(0, 5)
        at = int(rng.integers(0, max(1, len(buf))))
        if kind == 0:     # flip bytes
            for i in rng.integers(0, len(buf), size=rng.integers(1, 16)):
                buf[i] = int(rng.integers(0, 256))
        elif kind == 1:   # truncate
            del buf[at:]
        elif kind == 2:   # insert random bytes
            buf[at:at] = rng.integers(0, 256, size=rng.integers(1, 64), dtype=np.uint8).tobytes()
        elif kind == 3:   # repeat a block
            block = buf[at:at + int(rng.integers(1, 512))]
            buf[at:at] = block * int(rng.integers(1, 8))
        else:             # another seed's header
            n = int(rng.integers(1, 64))
            buf[:n] = other[:n]
    return bytes(buf)


def run_case(n: int, files: list[Path], work: Path) -> str:
    """'ok', 'refused' (personseg's own error) or 'error: ...' (anything else) for case ``n``."""
    rng = np.random.default_rng(n)
    video = n % VIDEO_EVERY == 0
    pictures = [f for f in files if f.suffix != ".mp4"]
    seed = files[-1] if video else pictures[int(rng.integers(0, len(pictures)))]
    data = mutate(seed.read_bytes(), pictures[int(rng.integers(0, len(pictures)))].read_bytes(), rng)
    try:
        if video:
            from personseg.video.io import Frame, Source

            path = work / "case.mp4"
            path.write_bytes(data)
            source = Source(path)
            try:
                got = 0
                for item in source:
                    got += isinstance(item, Frame)
                    if got >= VIDEO_FRAMES:
                        break
            finally:
                source.close()
        else:
            rgb = load_image(data)
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
            load_image(io.BytesIO(data))
        return "ok"
    except PersonsegError:
        return "refused"
    except Exception as e:   # noqa: BLE001 - what the fuzzing is looking for
        where = traceback.extract_tb(e.__traceback__)[-1]
        return f"error: {type(e).__name__}: {str(e)[:160]} (at {Path(where.filename).name}:{where.lineno})"


def worker(start: int, folder: Path) -> None:
    """Run cases from ``start`` on, one line each on stdout, until killed (decoders' warnings about the
    broken files they are given are silenced)."""
    warnings.simplefilter("ignore")
    files = sorted(folder.glob("[0-9].*")) + [folder / "clip.mp4"]
    n = start
    while True:
        print(n, run_case(n, files, folder), flush=True)
        n += 1


def run(seconds: float) -> dict:
    counts = {"ok": 0, "refused": 0, "errors": 0, "crashes": 0}
    found: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seeds(folder)
        end, start = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            proc = subprocess.Popen([sys.executable, __file__, "--worker", str(start), "--folder", tmp],
                                    stdout=subprocess.PIPE, text=True)
            last = start - 1
            for line in proc.stdout:
                number, _, outcome = line.strip().partition(" ")
                last = int(number)
                if outcome.startswith("error"):
                    counts["errors"] += 1
                    found.append(f"case {last}: {outcome}")
                else:
                    counts[outcome] += 1
                if time.monotonic() >= end:
                    proc.kill()
                    break
            if proc.wait() not in (0, -9) and time.monotonic() < end:   # died by itself: a crash in case last + 1
                counts["crashes"] += 1
                found.append(f"case {last + 1}: the process died (exit {proc.returncode})")
            start = last + 2
    return {"seconds": seconds, "machine": machine(), "cases": sum(counts.values()), **counts, "found": found[:50]}


def write(results: dict) -> None:
    lines = [f"## Fuzzing the inputs ({results['seconds']:.0f} s), {results['machine']}", "",
             "Made by `python benchmarks/fuzz.py`: mutated JPEG, PNG, WebP, TIFF and BMP portraits through "
             f"`load_image` (bytes and file objects) and, every {VIDEO_EVERY}th case, a mutated H.264 + AAC clip "
             f"through the video source ({VIDEO_FRAMES} frames).", "",
             "| cases | loaded | refused with personseg's error | other exceptions | process crashes |",
             "|---|---|---|---|---|",
             f"| {results['cases']} | {results['ok']} | {results['refused']} | {results['errors']} | "
             f"{results['crashes']} |"]
    lines += [""] + [f"- {line}" for line in results["found"]] if results["found"] else []
    write_results("fuzz", results, "## Fuzzing the inputs", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        worker(args.worker, args.folder)
    else:
        results = run(args.seconds)
        print(json.dumps({k: v for k, v in results.items() if k != "found"}))
        write(results)
