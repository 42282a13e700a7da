"""`personseg export`: a training checkpoint to ONNX, checked against torch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import PersonsegError
from ..image import write_bytes
from ..instances import PERSON_MODEL
from ..methods import METHODS
from ..outputs import refuse_existing
from .common import say


def add_parser(sub) -> None:
    x = sub.add_parser("export", help="export a checkpoint to ONNX, checked against torch",
                       description="Export a checkpoint of `personseg train` to ONNX (needs torch), checked "
                                   "against torch with onnxruntime, with its model card beside it (NAME.card.json "
                                   "for NAME.onnx: input and output, the run's options and settings, fingerprints "
                                   "of its training and validation data, the epoch kept and its validation IoU, "
                                   "each epoch's loss and validation IoU; the run's part read from its last.pt "
                                   "beside the checkpoint).")
    x.add_argument("--checkpoint", required=True, type=Path,
                   help="a checkpoint `personseg train` wrote: RUN/best.pt (the best validation IoU; with "
                        "--average-from the best of the means) or RUN/last.pt (the last epoch)")
    x.add_argument("-o", "--out", required=True, type=Path,
                   help="the .onnx file to write, for --model (segment, video, eval, annotate) or "
                        "Segmenter(models=...)")
    x.add_argument("--overwrite", action="store_true", help="replace --out and its card if they exist")
    x.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # torch is an extra: loaded only when exporting
    from ..train.export import export_onnx, model_card, run_record

    if args.out.suffix.lower() != ".onnx":
        raise PersonsegError(f"--out {args.out}: name the file .onnx (what --model and onnxruntime take)")
    if args.out.is_dir():
        raise PersonsegError(f"--out {args.out}: is a folder; name a .onnx file")
    if args.checkpoint.is_dir():
        raise PersonsegError(f"--checkpoint {args.checkpoint}: is a folder; a run's checkpoints are "
                             f"{args.checkpoint / 'best.pt'} and {args.checkpoint / 'last.pt'}")
    card_path = args.out.with_suffix(".card.json")
    refuse_existing([args.out, card_path], args.overwrite)
    record = run_record(args.checkpoint)   # read before anything is written
    info = export_onnx(args.checkpoint, args.out)
    write_bytes(card_path, (json.dumps(model_card(record, args.out, info), indent=1) + "\n").encode(),
                overwrite=True)
    print(json.dumps({"onnx": str(args.out), "card": str(card_path)} | info))
    say(_how_to_use(record["config"]["model"], args.out))
    return 0


def _how_to_use(model: str, onnx: Path) -> str:
    """One line naming a command that runs the exported ``model`` at ``onnx``: a method running it alone where
    there is one (``--model FILE`` is enough there), else one running it among others (``--model NAME=FILE``), the
    person model with ``--instances``."""
    using = [name for name, method in METHODS.items() if model in method.models]
    alone = [name for name in using if METHODS[name].models == (model,)]
    if alone:
        return f"to use it: personseg segment PHOTO --out OUT --method {alone[0]} --model {onnx}"
    if using:
        return f"to use it: personseg segment PHOTO --out OUT --method {using[0]} --model {model}={onnx}"
    if model == PERSON_MODEL:
        return f"to use it: personseg segment PHOTO --out OUT --instances --model {model}={onnx}"
    return f"no method runs {model} (a model for comparisons); the file is written and checked"
