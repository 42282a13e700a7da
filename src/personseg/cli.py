"""The `personseg` command: segment, eval, demo."""

from __future__ import annotations

import argparse
import heapq
import json
import sys
from dataclasses import replace
from pathlib import Path

from . import __version__
from .errors import PersonsegError
from .models.registry import SPECS, spec

# Kept in step with pipeline.METHODS, DEFAULT_METHOD, MATTING_SIDE, outputs.OUTPUTS and
# train.augment.AUGMENT_PRESETS (tests check), so `--help` needs no heavy import.
METHOD_NAMES = ("classical", "fast", "pose-unet", "accurate")
AUGMENT_NAMES = ("full", "light")
OUTPUT_NAMES = ("mask", "alpha", "cutout", "replace", "blur", "overlay", "json")
#: --matting choices: pipeline.MATTING's names, and "none".
MATTING_CHOICES = ("guided", "closed-form", "none")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except PersonsegError as e:
        print(f"personseg: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("personseg: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="personseg", description="Find people in photos and cut them out.")
    p.add_argument("--version", action="version", version=f"personseg {__version__}")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    s = sub.add_parser("segment", help="segment image files and folders (recursive)")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--out", required=True, type=Path, help="output folder")
    _method_options(s)
    s.add_argument("--save", default="mask,alpha,cutout",
                   help=f"comma-separated outputs: {', '.join(OUTPUT_NAMES)} (default: mask,alpha,cutout)")
    s.add_argument("--background", help="colour (name or #rrggbb) or image for the 'replace' output")
    s.add_argument("--blur", type=float, default=0.02, help="background blur, share of the diagonal (default 0.02)")
    s.add_argument("--instances", action="store_true",
                   help="one mask per person too: NAME.person-1.mask.png ... (largest first) and NAME.instances.json")
    s.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=_segment)

    e = sub.add_parser("eval", help="score a method against ground-truth masks")
    e.add_argument("--images", type=Path, help="folder of images")
    e.add_argument("--masks", type=Path, help="folder of true masks (same stems)")
    e.add_argument("--people", type=Path, metavar="ANNOTATIONS",
                   help="instead: score one mask per person against an annotations.json laid out like pose_mini's")
    e.add_argument("--ids", type=Path, help="file of image ids (stems), one per line")
    _method_options(e)
    e.add_argument("--limit", type=int, help="score only the first N images")
    e.add_argument("--video", action="store_true",
                   help="the images are a clip's frames (in name order): segment them as video, report flicker")
    e.add_argument("--worst", type=Path, help="save a picture of the worst cases here (PNG)")
    e.add_argument("--worst-count", type=int, default=12)
    e.add_argument("--json", type=Path, help="write the scores as JSON here")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(run=_eval)

    v = sub.add_parser("video", help="segment a video file (mp4, mov, webm, ... anything PyAV reads) or a folder of frames")
    v.add_argument("input", type=Path, metavar="IN")
    v.add_argument("--out", required=True, type=Path,
                   help="a video file (.mp4 .mov .mkv .webm; audio is copied) or a folder for per-frame PNGs")
    v.add_argument("--method", default="fast", choices=METHOD_NAMES, help="segmentation method (default: fast)")
    v.add_argument("--save", help="into a video file one of replace, blur, alpha, mask, overlay (default: blur); "
                                  "into a folder, comma-separated per-frame outputs (default: mask)")
    v.add_argument("--background", help="colour (name or #rrggbb) or image for 'replace'")
    v.add_argument("--blur", type=float, default=0.02, help="background blur, share of the diagonal (default 0.02)")
    v.add_argument("--fps", type=float, default=25.0, help="frame rate of a folder of frames (default 25)")
    v.add_argument("--pose-every", type=int, metavar="N",
                   help="detect keypoints every N frames and track them in between (default: every frame for "
                        "'classical' and 'accurate', every 5 for 'fast', which uses them to frame the people; "
                        "0: never). 1 with 'fast': BlazePose's outline is joined too (far better on whole bodies, "
                        "slower)")
    v.add_argument("--keypoints", type=Path, metavar="FILE", help="write tracked keypoints here (JSON lines, one per frame)")
    v.add_argument("--no-smooth", action="store_true", help="no temporal smoothing")
    v.add_argument("--matting", default="none", choices=MATTING_CHOICES,
                   help="make each frame's alpha by this matting (default none, for speed; guided: finer edges and "
                        "less flicker for about 8 ms a 854x480 frame)")
    v.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.set_defaults(run=_video)

    t = sub.add_parser("train", help="train a network (needs torch: pip install 'personseg[train]')")
    t.add_argument("--model", default="sinet", choices=tuple(SPECS),
                   help="sinet (fast), lwpsn (seed 000, RGB + Spatial Saliency Map), lwpsn-rgb (LWPSN on RGB "
                        "only), pose-unet (seed 002, RGB + pose map + limb prior), refine (seed 003, RGB + boundary "
                        "and leftover masks of a coarse matte), lwpsn-person (one person's SSM in, their mask out; "
                        "trained on overlapping people synthesised from the pairs)")
    t.add_argument("--data", required=True, type=Path, nargs="+", metavar="DIR",
                   help="folders with images/ and masks/ (same stems), e.g. ../shared/data/eg1800 ../shared/data/ccp")
    t.add_argument("--split", help="id list in each DIR to train on, e.g. 'train' for DIR/train.txt (default: all pairs)")
    t.add_argument("--init", type=Path,
                   help="weights that start the run (fine-tuning): a checkpoint (.pt) or an exported ONNX file of "
                        "the same model, e.g. the shipped src/personseg/weights/sinet.onnx (batch norm statistics "
                        "are then kept fixed)")
    t.add_argument("--val-fraction", type=float, default=0.1, help="share of the training ids held out for validation")
    t.add_argument("--out", required=True, type=Path, help="run folder: checkpoints, log.csv, curves.png")
    t.add_argument("--epochs", type=int, default=100)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=5e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--until", type=int, help="stop after this epoch (resume later with --resume)")
    t.add_argument("--average-from", type=int, metavar="EPOCH",
                   help="from this epoch on, keep the mean of the weights at each epoch's end (stochastic weight "
                        "averaging): it is what is validated and saved as best.pt")
    t.add_argument("--workers", type=int, help="processes that augment the next batches while the network trains "
                   "(results do not depend on it; default: none on CPU, up to 8 beside a GPU)")
    t.add_argument("--augment", default="full", choices=AUGMENT_NAMES,
                   help="augmentation: full (default) or light, to finish a trained network on views framed as the "
                        "pipeline frames them (train/augment.py AUGMENT_PRESETS)")
    t.add_argument("--ipr", type=int, default=0, metavar="LEVELS",
                   help="image pyramid resizing (seed 000): show images at up to LEVELS halvings of resolution")
    t.add_argument("--coarse", default="fast", choices=METHOD_NAMES,
                   help="method whose mattes of the training images the refine model learns to correct (default: fast)")
    t.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "personseg",
                   help="folder for what is computed once per training image: keypoints (models fed prior maps) and "
                        "coarse mattes (refine)")
    t.set_defaults(run=_train)

    x = sub.add_parser("export", help="export a checkpoint to ONNX, checked against torch")
    x.add_argument("--checkpoint", required=True, type=Path)
    x.add_argument("--out", required=True, type=Path, help="the .onnx file to write")
    x.set_defaults(run=_export)

    d = sub.add_parser("demo", help="segment a bundled photo (scikit-image's astronaut) with the defaults")
    d.add_argument("--out", type=Path, default=Path("demo-out"))
    _method_options(d)
    d.set_defaults(run=_demo)
    return p


def _method_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="accurate", choices=METHOD_NAMES,
                   help="segmentation method (default: accurate)")
    p.add_argument("--matting", default="guided", choices=MATTING_CHOICES,
                   help="how the alpha matte is made: a guided filter (default, about 10 ms), closed-form matting "
                        "(pymatting, about 10x slower, for the finest hair), or none (the method's own edges)")
    p.add_argument("--matting-side", type=int, default=400, metavar="PX",
                   help="longest side at which the matting runs, its alpha scaled back up (default 400: on "
                        "600x800 portraits as good as full size and 5x faster; 0: full size)")
    p.add_argument("--pose", action="store_true",
                   help="find keypoints even where the method does not need them: 'fast' then frames the people "
                        "it finds and joins BlazePose's outline (far better on full-body and wide shots, about "
                        "50 ms more)")


def _segmenter(args, keypoints: bool | None = None):
    from .pipeline import Segmenter

    if args.matting_side < 0:
        raise PersonsegError("--matting-side must be 0 (full size) or a positive number of pixels")
    return Segmenter(method=args.method, matting=_matting(args), keypoints=True if args.pose else keypoints,
                     instances=getattr(args, "instances", False), matting_side=args.matting_side or None)


def _matting(args) -> str | None:
    return None if args.matting == "none" else args.matting


def _collect(paths: list[str]) -> list[tuple[Path, Path]]:
    """(file, folder it was found under or its own parent) for every image named or under a folder named."""
    from .image import IMAGE_SUFFIXES

    found = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found += [(f, p) for f in sorted(p.rglob("*")) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
        else:
            found.append((p, p.parent))
    return found


def _segment(args) -> int:
    from tqdm import tqdm

    from .image import ImageError
    from .outputs import check_outputs, save_outputs

    outputs = tuple(o.strip() for o in args.save.split(",") if o.strip())
    check_outputs(outputs, args.background)  # once, before the batch
    files = _collect(args.paths)
    if not files:
        raise PersonsegError("no image files found in the given paths")
    seg = _segmenter(args, keypoints=True if {"json", "overlay"} & set(outputs) else None)
    failed: list[tuple[Path, str]] = []
    written = 0
    for path, root in tqdm(files, unit="img", disable=args.quiet, file=sys.stderr):
        rel = path.relative_to(root).with_suffix("") if path.is_relative_to(root) else Path(path.stem)
        try:
            result = seg(path)
            written += len(save_outputs(result, args.out / rel.parent, rel.name, outputs, args.background,
                                        args.blur, args.overwrite, source=str(path)))
        except (PersonsegError, ImageError) as e:
            failed.append((path, str(e)))
    print(f"{len(files) - len(failed)} of {len(files)} images segmented, {written} files written to {args.out}",
          file=sys.stderr)
    for path, why in failed:
        print(f"  failed: {path}: {why}", file=sys.stderr)
    return 1 if failed else 0


def _eval(args) -> int:
    from tqdm import tqdm

    from .data import read_ids
    from .evaluate import evaluate, find_pairs, worst_grid
    from .image import write_bytes, write_image

    if args.people:
        return _eval_people(args)
    if not args.images or not args.masks:
        raise PersonsegError("give --images and --masks (or --people ANNOTATIONS)")
    ids = read_ids(args.ids) if args.ids else None
    for p in (args.images, args.masks):
        if not p.is_dir():
            raise PersonsegError(f"{p}: not a folder")
    pairs = find_pairs(args.images, args.masks, ids)[: args.limit]
    if args.video:
        from .video.stream import VideoSegmenter

        vseg = VideoSegmenter(args.method)
        seg = lambda rgb: vseg(rgb)  # noqa: E731
    else:
        seg = _segmenter(args)
    worst: list = []

    def keep(ident, rgb, pred, gt):
        from .metrics import foreground_iou

        item = (-foreground_iou(pred, gt), ident, rgb, pred, gt)
        (heapq.heappush if len(worst) < args.worst_count else heapq.heappushpop)(worst, item)

    progress = (lambda it: tqdm(it, unit="img", file=sys.stderr)) if not args.quiet else iter
    ev = evaluate(lambda rgb: seg(rgb).mask, pairs, progress, keep if args.worst else None, clip=args.video)
    summary = ev.scores.summary() | {"method": args.method, "matting": None if args.video else _matting(args),
                                     "seconds_per_image": round(sum(ev.seconds) / max(len(ev.seconds), 1), 3)}
    if ev.flicker is not None:
        summary["flicker"] = round(ev.flicker.value, 5)
    print(json.dumps(summary))
    if args.json:
        write_bytes(args.json, json.dumps(summary | {"per_image": ev.per_image}, indent=1).encode(), overwrite=True)
    if args.worst and worst:
        cases = [(i, -n, rgb, p, g) for n, i, rgb, p, g in sorted(worst, reverse=True)]
        write_image(args.worst, worst_grid(cases), overwrite=True)
    return 0


def _video(args) -> int:
    from .video.run import run_video

    summary = run_video(args.input, args.out, method=args.method, save=args.save, background=args.background,
                        blur=args.blur, fps=args.fps, pose_every=args.pose_every, keypoints=args.keypoints,
                        smooth=not args.no_smooth, matting=_matting(args), overwrite=args.overwrite,
                        progress=not args.quiet)
    print(f"{summary['frames']} frames in {summary['seconds']:.1f} s ({summary['fps']:.1f} frames/s) "
          f"written to {args.out}", file=sys.stderr)
    return 0


def _eval_people(args) -> int:
    from tqdm import tqdm

    from .evaluate import evaluate_people, instance_sets
    from .pipeline import Segmenter

    seg = Segmenter(method=args.method, matting=_matting(args), instances=True)
    sets = instance_sets(args.people)[: args.limit]
    progress = (lambda it: tqdm(it, unit="img", file=sys.stderr)) if not args.quiet else iter
    match = evaluate_people(lambda rgb: [i.mask for i in seg(rgb).instances], sets, progress)
    summary = match.summary() | {"images": len(sets), "method": args.method, "matting": _matting(args)}
    print(json.dumps(summary))
    if args.json:
        from .image import write_bytes

        write_bytes(args.json, json.dumps(summary, indent=1).encode(), overwrite=True)
    return 0


def _train(args) -> int:
    from .train.augment import AUGMENT_PRESETS
    from .train.data import (PairSet, coarse_mattes, load_pairs, pose_keypoints, validation_split, with_guides,
                             with_priors)
    from .train.loop import TrainConfig, train

    if args.workers is not None and args.workers < 0:
        raise PersonsegError(f"--workers {args.workers}: expected 0 or more")
    model = spec(args.model)
    pairs = PairSet([], [], [])
    found: list = []   # everyone's keypoints in each pair, for models trained on overlaps
    for root in args.data:
        part = load_pairs(root, args.split)
        name = f"{root.resolve().name}-{args.split or 'all'}"
        if model.priors:
            people = pose_keypoints(part, args.cache / f"keypoints-{name}.json", log=_say)
            if model.overlaps:
                found += people
            else:
                part = with_priors(part, model.priors, people)
        if model.guides:
            mattes = coarse_mattes(part, args.coarse, args.cache / f"mattes-{args.coarse}-{name}.npz", log=_say)
            part = with_guides(part, model.guides, mattes)
        pairs = PairSet(pairs.ids + [f"{root.name}/{i}" for i in part.ids], pairs.images + part.images,
                        pairs.masks + part.masks)
    if args.init and not args.init.is_file():
        raise PersonsegError(f"--init {args.init}: no such checkpoint")
    val_idx, trn_idx = validation_split(len(pairs), args.val_fraction, args.seed)

    def subset(idx) -> PairSet:
        return PairSet([pairs.ids[i] for i in idx], [pairs.images[i] for i in idx], [pairs.masks[i] for i in idx])

    val, trn = subset(val_idx), subset(trn_idx)
    augment = replace(AUGMENT_PRESETS[args.augment], pyramid=args.ipr)
    if model.overlaps:   # scenes made separately from the training and the validation photos: none shared
        from .train.overlaps import overlap_pairs

        val = overlap_pairs(val, [found[i] for i in val_idx], len(val), model.priors, args.seed)
        trn = overlap_pairs(trn, [found[i] for i in trn_idx], len(trn), model.priors, args.seed)
        augment = replace(augment, composite=0.0, prior_drop=0.0)   # both would change whom to cut
    cfg = TrainConfig(model=args.model, epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed,
                      init=str(args.init) if args.init else None, augment=augment, average_from=args.average_from)
    print(f"training {args.model} on {len(trn)} pairs, validating on {len(val)}", file=sys.stderr)
    best = train(cfg, trn, val, args.out, resume=args.resume, device=args.device, log=_say, until=args.until,
                 workers=args.workers)
    print(f"best checkpoint: {best}")
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _export(args) -> int:
    from .train.export import export_onnx

    info = export_onnx(args.checkpoint, args.out)
    print(json.dumps({"onnx": str(args.out)} | info))
    return 0


def _demo(args) -> int:
    from skimage import data

    from .image import write_image
    from .outputs import save_outputs

    rgb = data.astronaut()
    args.out.mkdir(parents=True, exist_ok=True)
    write_image(args.out / "astronaut.png", rgb, overwrite=True)
    result = _segmenter(args, keypoints=True)(rgb)
    paths = save_outputs(result, args.out, "astronaut", ("mask", "alpha", "cutout", "replace", "blur", "overlay",
                                                         "json"), background="#2e7d32", overwrite=True,
                         source="skimage.data.astronaut")
    found = "a person" if result.people else "nobody"
    print(f"found {found}; {len(paths)} outputs written to {args.out}: " + ", ".join(p.name for p in paths))
    return 0
