"""Made-up bystanders in the video clips: a pedestrian from Penn-Fudan's train split pasted into every frame of
parkour, tennis and hike, either standing to one side of the subject or walking across the whole frame in front
of them. The subject's true mask loses what the bystander hides; the bystander's own mask is kept to tell
frames where the output jumped to them.

    python benchmarks/bystanders.py [--clips parkour,tennis,hike] [--methods accurate,fast] [--limit N]
    python benchmarks/bystanders.py --looks   # what the subject's look threshold was chosen from

Writes benchmarks/results/bystanders.json and its section of benchmarks/RESULTS.md. Data is read from
PERSONSEG_DATA (default ../shared/data).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import cv2
import numpy as np

from personseg.data import data_root
from personseg.image import load_image, load_mask
from personseg.metrics import Flicker, Scores
from personseg.pose import get_backend
from personseg.video import subject
from personseg.video.stream import VideoSegmenter
from personseg.video.subject import looks, unlike
from report import machine, write_results

CLIPS = ("parkour", "tennis", "hike")
#: How each made-up bystander stands: height as a share of the subject's (their median box height over the clip:
#: a bystander, not a new star), and whether they cross the frame.
VARIANTS = {"side": (0.9, False), "crossing": (1.0, True)}
#: Pedestrians this tall or taller (pixels in their photo), not cut by its edge, are pasted.
SOURCE_HEIGHT = 250
#: A frame jumped to the bystander when more than this share of them is marked and less of the subject.
JUMPED = 0.5


@dataclass
class Frame:
    rgb: np.ndarray        # uint8 HxWx3 with the bystander pasted in
    subject: np.ndarray    # bool HxW: the subject's visible pixels (the truth)
    bystander: np.ndarray  # bool HxW: the bystander's pixels


def pedestrians() -> list[tuple[np.ndarray, np.ndarray]]:
    """(rgb crop, float alpha crop) of every whole, tall pedestrian of Penn-Fudan's train split, tallest first."""
    root = data_root() / "pennfudan"
    train = set(root.joinpath("train.txt").read_text().split())
    found = []
    for image in json.loads((root / "annotations.json").read_text())["images"]:
        if Path(image["image"]).stem not in train:
            continue
        for person in image["instances"]:
            x, y, w, h = person["bbox"]
            inside = x > 2 and y > 2 and x + w < image["width"] - 3 and y + h < image["height"] - 3
            if h >= SOURCE_HEIGHT and inside:
                found.append((h, image["image"], person["instance_mask"], (x, y, w, h)))
    people = []
    for _, image, mask, (x, y, w, h) in sorted(found, key=lambda f: (-f[0], f[1])):
        rgb = load_image(root / image)[y:y + h + 1, x:x + w + 1]
        alpha = (load_mask(root / mask)[y:y + h + 1, x:x + w + 1] > 0).astype(np.float32)
        people.append((rgb, alpha))
    return people


def paste(rgb: np.ndarray, person: tuple[np.ndarray, np.ndarray], height: int, cx: float, feet: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` with ``person`` scaled to ``height`` pixels, centred on column ``cx`` with feet on row ``feet``
    (edges softened by a pixel); returns the picture and the bystander's bool mask."""
    crop, alpha = person
    scale = height / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), height)
    crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.GaussianBlur(cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR), (3, 3), 0)
    h, w = rgb.shape[:2]
    x0, y0 = round(cx - size[0] / 2), round(feet - height)
    ox0, oy0, ox1, oy1 = max(0, x0), max(0, y0), min(w, x0 + size[0]), min(h, y0 + height)
    out = rgb.astype(np.float32)
    mask = np.zeros((h, w), bool)
    if ox1 <= ox0 or oy1 <= oy0:
        return rgb, mask
    a = alpha[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0, None]
    region = out[oy0:oy1, ox0:ox1]
    out[oy0:oy1, ox0:ox1] = a * crop[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0] + (1 - a) * region
    mask[oy0:oy1, ox0:ox1] = a[..., 0] > 0.5
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), mask


def clip_frames(clip: str, variant: str | None, person: tuple[np.ndarray, np.ndarray] | None,
                limit: int | None = None) -> list[Frame]:
    """The frames of ``clip`` with a bystander standing as ``variant`` says (None: the clip as it is)."""
    root = data_root() / "video" / clip
    paths = sorted((root / "images").glob("*.jpg"))[:limit]
    masks = [load_mask(root / "masks" / f"{p.stem}.png") > 0 for p in paths]
    frames = []
    h, w = masks[0].shape
    centre = np.mean([np.nonzero(m)[1].mean() for m in masks if m.any()])
    tall = np.median([np.ptp(np.nonzero(m)[0]) for m in masks if m.any()])
    for i, (path, truth) in enumerate(zip(paths, masks)):
        rgb = load_image(path)
        if variant is None:
            frames.append(Frame(rgb, truth, np.zeros_like(truth)))
            continue
        share, crossing = VARIANTS[variant]
        height = round(share * tall)
        if crossing:   # across the frame against the subject's side: from the far edge to the near one
            t = i / max(1, len(paths) - 1)
            start, end = (w * 1.05, -w * 0.05) if centre < w / 2 else (-w * 0.05, w * 1.05)
            cx = start + (end - start) * t
        else:          # on the side away from the subject, drifting slowly
            cx = (0.85 if centre < w / 2 else 0.15) * w + 0.5 * i
        rgb, bystander = paste(rgb, person, height, cx, 0.98 * h)
        frames.append(Frame(rgb, truth & ~bystander, bystander))
    return frames


def score(seg: VideoSegmenter, frames: list[Frame], everyone: bool = False) -> dict:
    """Clip IoU / flicker of the subject; with a bystander, the frames where the output lost the subject (less
    than JUMPED of them marked) and those where it jumped to the bystander (lost, and more than JUMPED of the
    bystander marked), and the mean share of the bystander's pixels marked. ``everyone``: IoU and flicker
    against everyone's pixels (the subject's and the bystander's), what subject "all" is to mark."""
    scores, flicker, jumped, lost, on_bystander = Scores(), Flicker(), 0, 0, []
    for frame in frames:
        pred = seg(frame.rgb).mask > 0
        truth = frame.subject | frame.bystander if everyone else frame.subject
        scores.add(pred, truth)
        flicker.add(pred, truth)
        if frame.bystander.any():
            marked = (pred & frame.bystander).sum() / frame.bystander.sum()
            kept = (pred & frame.subject).sum() / max(1, frame.subject.sum())
            jumped += int(marked > JUMPED and kept < JUMPED)
            lost += int(kept < JUMPED)
            on_bystander.append(marked)
    summary = scores.summary()
    marked = round(float(np.mean(on_bystander)), 4) if on_bystander else None
    return {"iou": summary["mean_iou"], "flicker": round(flicker.value, 5), "jumped_frames": jumped,
            "lost_frames": lost, "frames": len(frames), "bystander_marked": marked}


def run(clips: list[str], methods: list[str], subjects: list[str], limit: int | None = None) -> dict:
    """Every clip as it is and with each bystander, by every method and subject: {row name: ``score``}."""
    people = pedestrians()
    rows = {}
    for c, clip in enumerate(clips):
        for v, variant in enumerate([None, *VARIANTS]):
            person = people[(2 * c + v) % len(people)] if variant else None
            frames = clip_frames(clip, variant, person, limit)
            for method in methods:
                for subject in subjects:
                    seg = VideoSegmenter(method, matting="guided", subject=subject)
                    name = f"{clip}, {variant or 'as it is'}, {method}, subject {subject}"
                    rows[name] = score(seg, frames, everyone=subject == "all")
                    print(name, rows[name], flush=True)
    return rows


def look_distances(clips: list[str], pedestrians_used: int = 80) -> dict:
    """What subject.UNLIKE was chosen from: the ``unlike`` of the same person to their look on the clips as they
    are (subject "main", the look check off, the pose backend on every frame and on every 5th), and of pairs of
    different Penn-Fudan train pedestrians (the first ``pedestrians_used``, BlazePose on each padded crop)."""
    out: dict = {"same person": {}}
    for pose_every in (1, 5):
        for clip in clips:
            seen: list[float] = []

            def recorded(a: np.ndarray, b: np.ndarray) -> float:
                seen.append(unlike(a, b))
                return seen[-1]

            with (patch.object(subject, "UNLIKE", np.inf), patch.object(subject, "UNLIKE_SPARSE", np.inf),
                  patch.object(subject, "unlike", recorded)):
                seg = VideoSegmenter("fast", subject="main", pose_every=pose_every)
                for frame in clip_frames(clip, None, None):
                    seg(frame.rgb)
            out["same person"][f"{clip}, pose every {pose_every}"] = _percentiles(seen)
    pose = get_backend("blazepose")
    looked = []
    for rgb, _ in pedestrians()[:pedestrians_used]:
        padded = cv2.copyMakeBorder(rgb, 40, 40, 60, 60, cv2.BORDER_REPLICATE)
        found = pose.detect(padded)
        if found:
            looked.append(looks(padded, found[0]))
    pairs = [unlike(a, b) for i, a in enumerate(looked) for b in looked[i + 1:]]
    out["different people"] = _percentiles(pairs, (1, 5, 50)) | {"pairs": len(pairs)}
    return out


def _percentiles(values: list[float], at: tuple[int, ...] = (50, 99, 100)) -> dict:
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in at}


def write(rows: dict) -> None:
    """Save ``rows`` as results/bystanders.json and their section of RESULTS.md."""
    heading = "## Video with made-up bystanders"
    lines = [heading, "", f"`python benchmarks/bystanders.py` on {machine()}. A Penn-Fudan train pedestrian pasted "
             "into every frame: `side` is 0.9 as tall as the subject (their median height over the clip) and stands "
             "away from them; `crossing` is as tall as the subject and walks across the whole frame in front of "
             "them. Guided "
             f"matting. Lost: frames marking less than {JUMPED:g} of the subject; jumped: lost, and more than "
             f"{JUMPED:g} of the bystander marked; bystander marked: the mean share of their pixels in the mask "
             "(where they overlap the subject, the two are often one region). With subject `all` the IoU and "
             "flicker are against everyone's pixels (subject and bystander), with `main` against the subject's.", "",
             "| clip, bystander, method, subject | clip IoU | flicker | lost frames | jumped frames "
             "| bystander marked |",
             "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        marked = "-" if r["bystander_marked"] is None else f"{r['bystander_marked']:.3f}"
        lines.append(f"| {name} | {r['iou']:.4f} | {r['flicker']:.5f} | {r['lost_frames']} | {r['jumped_frames']} | "
                     f"{marked} |")
    write_results("bystanders", {"machine": machine(), "rows": rows}, heading, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--methods", default="accurate,fast")
    parser.add_argument("--subjects", default="all,main")
    parser.add_argument("--limit", type=int, default=None,
                        help="first N frames of each clip: a quick look, printed and not written")
    parser.add_argument("--looks", action="store_true",
                        help="only print the look distances subject.UNLIKE was chosen from")
    args = parser.parse_args()
    if args.looks:
        print(json.dumps(look_distances(args.clips.split(",")), indent=1))
        return
    rows = run(args.clips.split(","), args.methods.split(","), args.subjects.split(","), args.limit)
    if args.limit is None:
        write(rows)


if __name__ == "__main__":
    main()
