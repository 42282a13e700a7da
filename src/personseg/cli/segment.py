"""`personseg segment`: image files and folders in, one set of output files per image out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..errors import PersonsegError
from ..image import IMAGE_SUFFIXES, ImageError
from ..outputs import DEFAULT_OUTPUTS, OUTPUTS, check_outputs, save_outputs
from .common import add_method_options, segmenter


def add_parser(sub) -> None:
    s = sub.add_parser("segment", help="segment image files and folders (recursive)",
                       description="Segment image files and folders (searched recursively; their layout is kept).")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--out", required=True, type=Path, help="output folder")
    add_method_options(s)
    s.add_argument("--save", default=",".join(DEFAULT_OUTPUTS),
                   help="comma-separated outputs: " + "; ".join(f"{n} ({k.help})" for n, k in OUTPUTS.items())
                   + f" (default: {','.join(DEFAULT_OUTPUTS)})")
    s.add_argument("--background", help="colour (name or #rrggbb) or image for the 'replace' output")
    s.add_argument("--blur", type=float, default=0.02, help="background blur, share of the diagonal (default 0.02)")
    s.add_argument("--instances", action="store_true",
                   help="one mask per person too: NAME.person-1.mask.png ... (largest first) and NAME.instances.json")
    s.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=run)


def collect(paths: list[str]) -> list[tuple[Path, Path]]:
    """(file, folder it was found under or its own parent) for every image named or under a folder named."""
    found = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found += [(f, p) for f in sorted(p.rglob("*")) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
        else:
            found.append((p, p.parent))
    return found


def run(args: argparse.Namespace) -> int:
    outputs = tuple(o.strip() for o in args.save.split(",") if o.strip())
    check_outputs(outputs, args.background)  # once, before the batch
    files = collect(args.paths)
    if not files:
        raise PersonsegError("no image files found in the given paths")
    seg = segmenter(args, keypoints=True if any(OUTPUTS[o].keypoints for o in outputs) else None)
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
