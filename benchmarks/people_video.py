"""Several people and video: per-person masks on pose_mini, IoU and flicker on the parkour clip, clips that start
mid-action (the three clips cut into short clips), clips of someone (a pan over portraits and full bodies), clips of
nobody (a pan over each no_people photo), and the speed and memory of `personseg video` end to end.

    python benchmarks/people_video.py [--methods fast,classical,accurate]
                                      [--parts people,clip,starts,pans,nobody,speed]

Writes benchmarks/results/people_video.json and its section of benchmarks/RESULTS.md. Data is read from
PERSONSEG_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from personseg.data import data_root, read_ids
from personseg.evaluate import evaluate, evaluate_people, find_pairs, instance_sets
from personseg.image import load_image, load_mask
from personseg.metrics import foreground_iou
from personseg.methods import get_method
from personseg.pipeline import Segmenter
from personseg.video.io import write_clip
from personseg.video.stream import VideoSegmenter
from report import HERE, machine, write_results

#: Measures one `personseg video` run in a fresh process: its frames/s and its own peak memory.
_SPEED_PROBE = """
import json, resource, sys
from personseg.video.run import run_video
pose_every = int(sys.argv[4]) if sys.argv[4] != "-" else None
r = run_video(sys.argv[1], sys.argv[2], method=sys.argv[3], save="blur", pose_every=pose_every, progress=False)
use = resource.getrusage(resource.RUSAGE_SELF)   # the whole process, imports included
r["cpu_ms_per_frame"] = (use.ru_utime + use.ru_stime) * 1000 / r["frames"]
# VmHWM, not getrusage: a forked child's ru_maxrss starts at its parent's peak
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
r["peak_rss_mb"] = int(peak.split()[1]) / 1024
print(json.dumps(r))
"""


def people(methods: list[str]) -> dict:
    sets = instance_sets(data_root() / "pose_mini" / "annotations.json")
    rows = {}
    for method in methods:
        single = Segmenter(method=method, matting=None)
        t = time.perf_counter()
        rows[f"{method}, one mask (single-person baseline)"] = evaluate_people(
            lambda rgb: [single(rgb).mask], sets).summary() | {"s_per_image": (time.perf_counter() - t) / len(sets)}
        multi = Segmenter(method=method, matting=None, instances=True)
        t = time.perf_counter()
        rows[f"{method}, instances"] = evaluate_people(
            lambda rgb: [i.mask for i in multi(rgb).instances], sets).summary() | {
            "s_per_image": (time.perf_counter() - t) / len(sets)}
    return rows


def clip(methods: list[str]) -> dict:
    root = data_root() / "video" / "parkour"
    pairs = find_pairs(root / "images", root / "masks")
    rows = {}
    for method in methods:
        per_image = Segmenter(method=method, matting=None)
        variants = {
            f"{method}, frame by frame as photos": lambda rgb: per_image(rgb).mask,
            f"{method}, video (box carried, no smoothing)": _video(method, smooth=False),
            f"{method}, video (box carried, smoothing)": _video(method, smooth=True),
            f"{method}, video (box carried, smoothing, guided matting)": _video(method, smooth=True, matting="guided"),
        }
        if method == "fast":   # pose (and BlazePose's outline) on every frame, as `--pose-every 1`
            variants["fast, video, pose on every frame (outline joined), smoothing"] = _video(
                method, smooth=True, pose_every=1)
        for name, predict in variants.items():
            ev = evaluate(predict, pairs, clip=True)
            rows[name] = ev.scores.summary() | {"flicker": round(ev.flicker.value, 5),
                                                "s_per_frame": round(float(np.median(ev.seconds)), 4)}
    for name, predict in _peers().items():
        ev = evaluate(predict, pairs, clip=True)
        rows[name] = ev.scores.summary() | {"flicker": round(ev.flicker.value, 5),
                                            "s_per_frame": round(float(np.median(ev.seconds)), 4)}
    return rows


#: Clips that start mid-action: each clip cut into clips of this many frames, one starting every this many frames.
CUT_FRAMES = 10


def starts(methods: list[str], frames: int = CUT_FRAMES, limit: int | None = None) -> dict:
    """Each method (video defaults) on the parkour, tennis and hike clips cut into clips of ``frames`` frames (the
    first ``limit`` of each), each segmented afresh: the frames left empty where the truth holds the subject, and
    the mean IoU over all frames."""
    rows = {}
    for method in methods:
        for name in ("parkour", "tennis", "hike"):
            root = data_root() / "video" / name
            pairs = find_pairs(root / "images", root / "masks")
            clips = [((load_image(image), load_mask(mask) > 0) for _, image, mask in pairs[first:first + frames])
                     for first in range(0, len(pairs) - frames + 1, frames)[:limit]]
            rows[f"{method}, {name}"] = _short_clips(method, clips)
    return rows


def _short_clips(method: str, clips: list[Iterable[tuple[np.ndarray, np.ndarray]]]) -> dict:
    """``method`` (video defaults) on each clip of (frame, bool truth) afresh: the frames left empty where the
    truth holds someone, and the mean IoU over all frames."""
    empty, ious = 0, []
    for clip in clips:
        seg = VideoSegmenter(method)
        for rgb, truth in clip:
            predicted = seg(rgb).mask > 0
            empty += bool(truth.any() and not predicted.any())
            ious.append(foreground_iou(predicted, truth))
    return {"clips": len(clips), "frames": len(ious), "empty_frames": empty, "mean_iou": round(float(np.mean(ious)), 4)}


#: Clips of nobody: this many frames of a pan over each no_people photo, shown 480 pixels high.
PAN_FRAMES = 10


def pan(rgb: np.ndarray, frames: int = PAN_FRAMES) -> list[np.ndarray]:
    """A slow diagonal pan over ``rgb``: the photo scaled to 1.1 x 480 pixels high, a window of 480 high moving
    from its top left to its bottom right."""
    h, w = rgb.shape[:2]
    cw = round(w * 480 / h)
    big = cv2.resize(rgb, (round(cw * 1.1), 528), interpolation=cv2.INTER_AREA)
    xs = np.linspace(0, big.shape[1] - cw, frames).round().astype(int)
    ys = np.linspace(0, big.shape[0] - 480, frames).round().astype(int)
    return [np.ascontiguousarray(big[y:y + 480, x:x + cw]) for x, y in zip(xs, ys)]


#: Clips of someone: pans over this many test photos of EG1800 (portraits) and of CCP (full bodies) each.
PAN_PHOTOS = 30


def pans(methods: list[str], limit: int = PAN_PHOTOS, frames: int = PAN_FRAMES) -> dict:
    """Each method (video defaults) on a pan over each of the first ``limit`` EG1800 and CCP test photos (a
    webcam's or a phone's clip of one person): the frames left empty and the mean IoU."""
    rows = {}
    for name in ("eg1800", "ccp"):
        root = data_root() / name
        pairs = find_pairs(root / "images", root / "masks", read_ids(root / "test.txt"))[:limit]
        clips = [list(zip(pan(load_image(image), frames),
                          (t[..., 0] > 127 for t in pan(np.dstack([load_mask(mask)] * 3), frames))))
                 for _, image, mask in pairs]
        for method in methods:
            rows[f"{method}, {name}"] = _short_clips(method, clips)
    return rows


def nobody(methods: list[str], limit: int | None = None, frames: int = PAN_FRAMES) -> dict:
    """Each method on clips of nobody (the first ``limit`` no_people photos, ``frames`` each), with and without
    the person check: frames and clips with any person pixel, the mean share of pixels marked, frames listing
    anyone."""
    photos = [load_image(p) for _, p, _ in find_pairs(data_root() / "no_people" / "images",
                                                       data_root() / "no_people" / "masks")[:limit]]
    rows = {}
    for method in methods:   # a method whose regions the check cannot judge runs without it (one row)
        for check in (True, False) if get_method(method).regions_checked else (False,):
            shares, listed, clips = [], 0, 0
            for rgb in photos:
                seg = VideoSegmenter(method, person_check=check)
                results = [seg(frame) for frame in pan(rgb, frames)]
                mine = [float((r.mask > 0).mean()) for r in results]
                shares += mine
                clips += max(mine) > 0
                listed += sum(bool(r.people) for r in results)
            rows[method + ("" if check or not get_method(method).regions_checked else ", --no-person-check")] = {
                "clips": len(photos), "clips_marked": clips, "frames": len(shares),
                "frames_marked": sum(s > 0 for s in shares), "mean_share": round(float(np.mean(shares)), 4),
                "frames_listing_people": listed}
    return rows


def _video(method: str, smooth: bool, matting: str | None = None, pose_every: int | None = None):
    seg = VideoSegmenter(method, smooth=smooth, matting=matting, pose_every=pose_every)
    return lambda rgb: seg(rgb).mask


def _peers() -> dict:
    from mediapipe.python.solutions import pose, selfie_segmentation

    selfie = selfie_segmentation.SelfieSegmentation(model_selection=0)
    blaze = pose.Pose(static_image_mode=False, model_complexity=1, enable_segmentation=True)

    def blaze_mask(rgb: np.ndarray) -> np.ndarray:
        m = blaze.process(rgb).segmentation_mask
        return np.zeros(rgb.shape[:2], np.uint8) if m is None else np.where(m >= 0.5, 255, 0).astype(np.uint8)

    return {
        "MediaPipe selfie segmentation (peer)": lambda rgb: np.where(
            selfie.process(rgb).segmentation_mask >= 0.5, 255, 0).astype(np.uint8),
        "MediaPipe BlazePose mask, video mode (peer)": blaze_mask,
    }


def speed(methods: list[str], rounds: int = 3) -> dict:
    """Each run ``rounds`` times, the runs taking turns (this machine's speed drifts over minutes); the median
    frames/s with the range, the median CPU time per frame, and the highest peak memory."""
    frames = [load_image(p) for _, p, _ in find_pairs(data_root() / "video" / "parkour" / "images",
                                                        data_root() / "video" / "parkour" / "masks")]
    rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        short = write_clip(Path(tmp) / "clip100.mp4", frames, tone_hz=440)
        long = write_clip(Path(tmp) / "clip1000.mp4", (f for _ in range(10) for f in frames), tone_hz=440)
        runs = [(m, short, None) for m in methods]
        if "fast" in methods:
            runs += [("fast", short, 1), ("fast", long, None)]
        if "accurate" in methods:   # the default method's memory on a long clip too
            runs += [("accurate", long, None)]
        for _ in range(rounds):
            for method, src, pose_every in runs:
                out = Path(tmp) / f"out-{method}-{src.stem}.mp4"
                done = subprocess.run([sys.executable, "-c", _SPEED_PROBE, str(src), str(out), method,
                                       str(pose_every or "-")], capture_output=True, text=True, check=True)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                out.unlink()
                flag = f" --pose-every {pose_every}" if pose_every else ""
                rows.setdefault(f"{method}{flag}, {r['frames']} frames", []).append(r)
    return {name: {"fps": round(float(np.median([r["fps"] for r in rs])), 2),
                   "fps_range": [round(min(r["fps"] for r in rs), 2), round(max(r["fps"] for r in rs), 2)],
                   "seconds": round(float(np.median([r["seconds"] for r in rs])), 2),
                   "cpu_ms_per_frame": round(float(np.median([r["cpu_ms_per_frame"] for r in rs])), 1),
                   "peak_rss_mb": round(max(r["peak_rss_mb"] for r in rs), 1), "rounds": len(rs)}
            for name, rs in rows.items()}


def write(results: dict) -> None:
    machines = results.get("machines", {})
    lines = ["## Several people and video", "",
             "Made by `python benchmarks/people_video.py`; each part's times on the machine its heading names "
             "(parts can be rerun alone: `--parts`).", "",
             "### pose_mini (7 photos, 19 labelled people; some visible bystanders are not labelled, so they count "
             f"as spurious), {machines.get('people', results['machine'])}", "",
             "A true person is found when a predicted mask overlaps it with IoU >= 0.5 (one-to-one matching). "
             "'mean IoU, all' averages over every true person, a missed one counting 0.", "",
             "| method | found | missed | spurious | matched IoU | mean IoU, all | s/image |", "|---|---|---|---|---|---|---|"]
    for name, r in results["people"].items():
        lines.append(f"| {name} | {r['found']}/{r['people']} | {r['missed']} | {r['spurious']} | "
                     f"{r['matched_iou']:.4f} | {r['mean_iou_all']:.4f} | {r['s_per_image']:.2f} |")
    lines += ["", "### video/parkour (100 frames, 854x480, one person), "
              f"{machines.get('clip', results['machine'])}", "",
              "Flicker: share of pixels whose predicted label changes between frames while the truth's does not.", "",
              "| method | mean IoU | 2-class mIoU | boundary F | flicker | s/frame (median) |", "|---|---|---|---|---|---|"]
    for name, r in results["clip"].items():
        lines.append(f"| {name} | {r['mean_iou']:.4f} | {r['miou_2class']:.4f} | {r['boundary_f']:.4f} | "
                     f"{r['flicker']:.5f} | {r['s_per_frame']:.4f} |")
    if results.get("starts"):
        lines += ["", "### Clips that start mid-action: parkour, tennis and hike cut into clips of "
                  f"{CUT_FRAMES} frames, each segmented afresh (video defaults), "
                  f"{machines.get('starts', results['machine'])}", "",
                  "| method, clip | clips | frames left empty (the subject in them) | mean IoU |", "|---|---|---|---|"]
        for name, r in results["starts"].items():
            lines.append(f"| {name} | {r['clips']} | {r['empty_frames']} of {r['frames']} | {r['mean_iou']:.4f} |")
    if results.get("pans"):
        lines += ["", f"### Clips of someone: a pan of {PAN_FRAMES} frames (480 pixels high) over each of the "
                  f"first {PAN_PHOTOS} EG1800 and CCP test photos, video defaults, "
                  f"{machines.get('pans', results['machine'])}",
                  "", "| method, photos | clips | frames left empty | mean IoU |", "|---|---|---|---|"]
        for name, r in results["pans"].items():
            lines.append(f"| {name} | {r['clips']} | {r['empty_frames']} of {r['frames']} | {r['mean_iou']:.4f} |")
    if results.get("nobody"):
        lines += ["", f"### Clips of nobody: a pan of {PAN_FRAMES} frames over each no_people photo (480 pixels "
                  f"high), {machines.get('nobody', results['machine'])}", "",
                  "| method | clips with any person pixel | frames with any | mean share marked | "
                  "frames listing people |", "|---|---|---|---|---|"]
        for name, r in results["nobody"].items():
            lines.append(f"| {name} | {r['clips_marked']} of {r['clips']} | {r['frames_marked']} of {r['frames']} | "
                         f"{r['mean_share']:.4f} | {r['frames_listing_people']} |")
    if results.get("speed"):
        lines += ["", "### `personseg video` end to end (decode, segment, blur the background, encode H.264, copy "
                  "the sound), the parkour clip as an mp4 (1000 frames: the clip looped 10 times). Each run "
                  "in a fresh process, timed from the first frame read (the network loads on the first frame); "
                  "the median of the rounds, which took turns. CPU: the process's CPU time (all threads, start-up "
                  "included) per frame, steadier than frames/s on this shared machine. "
                  f"{machines.get('speed', results['machine'])}", "",
                  "| run | frames/s (median) | range | seconds | CPU ms/frame | peak RSS (MB) |",
                  "|---|---|---|---|---|---|"]
        for name, r in results["speed"].items():
            lo, hi = r["fps_range"]
            lines.append(f"| {name} | {r['fps']:.1f} | {lo:.1f}-{hi:.1f} | {r['seconds']:.1f} | "
                         f"{r.get('cpu_ms_per_frame', float('nan')):.0f} | {r['peak_rss_mb']:.0f} |")
    write_results("people_video", results, "## Several people and video", "\n".join(lines) + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="fast,classical,accurate",
                    help="the methods of every part run (the part's rows of other methods are dropped)")
    ap.add_argument("--parts", default="people,clip,starts,pans,nobody,speed",
                    help="which parts to run; the others keep their last results (results/people_video.json)")
    ap.add_argument("--rounds", type=int, default=3, help="times each speed run is repeated")
    args = ap.parse_args()
    methods = args.methods.split(",")
    saved = HERE / "results" / "people_video.json"
    res = json.loads(saved.read_text()) if saved.exists() else {}
    parts = {"people": people, "clip": clip, "starts": starts, "pans": pans, "nobody": nobody,
             "speed": lambda m: speed(m, args.rounds)}
    # each part's machine (its timings hold on it only): parts kept from an earlier run keep that run's
    res["machines"] = {part: res.get("machines", {}).get(part, res.get("machine")) for part in parts if part in res}
    res["machine"] = machine()
    for part, fn in parts.items():
        if part in args.parts.split(","):   # the rows of methods not run stay (each row's name starts with its method)
            kept = {name: row for name, row in res.get(part, {}).items()
                    if name.split(",")[0].split()[0] not in methods}
            res[part] = kept | fn(methods)
            res["machines"][part] = res["machine"]
    write(res)
