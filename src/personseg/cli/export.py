"""`personseg export`: a training checkpoint to ONNX, checked against torch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import PersonsegError
from ..outputs import refuse_existing


def add_parser(sub) -> None:
    x = sub.add_parser("export", help="export a checkpoint to ONNX, checked against torch",
                       description="Export a checkpoint of `personseg train` to ONNX (needs torch), checked "
                                   "against torch with onnxruntime.")
    x.add_argument("--checkpoint", required=True, type=Path,
                   help="a checkpoint `personseg train` wrote: RUN/best.pt (the best validation IoU; with "
                        "--average-from the best of the means) or RUN/last.pt (the last epoch)")
    x.add_argument("-o", "--out", required=True, type=Path,
                   help="the .onnx file to write, for --model (segment, video, eval, annotate) or "
                        "Segmenter(models=...)")
    x.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    x.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..train.export import export_onnx   # torch is an extra: loaded only when exporting

    if args.out.suffix.lower() != ".onnx":
        raise PersonsegError(f"--out {args.out}: name the file .onnx (what --model and onnxruntime take)")
    refuse_existing([args.out], args.overwrite)
    info = export_onnx(args.checkpoint, args.out)
    print(json.dumps({"onnx": str(args.out)} | info))
    return 0
