"""`personseg train`: train a network on folders of image/mask pairs (needs torch)."""

from __future__ import annotations

import argparse
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

from ..batch import cannot_write, sole_writer
from ..errors import PersonsegError, interrupted
from ..methods import DEFAULT_COARSE_METHOD, METHODS
from ..models.registry import SPECS
from ..runtime import MODEL_KEY
from ..train.augment import AUGMENT_PRESETS, MAX_PYRAMID
from ..train.sets import training_sets
from .common import say

#: The networks that draw masks, trained here on pairs (the region check has its own script:
#: scripts/train_region_check.py).
SEGMENTERS = tuple(name for name, model in SPECS.items() if model.output == "logits2")


def add_parser(sub) -> None:
    t = sub.add_parser("train",
                       help="train a network (needs torch: pip install torch==2.13.0, then 'personseg[train]')",
                       description="Train a network on folders of image/mask pairs; checkpoints every epoch, "
                                   "resumable.")
    t.add_argument("--model", default="sinet", choices=SEGMENTERS,
                   help="sinet (the default; fast), lwpsn (seed 000, RGB + Spatial Saliency Map), lwpsn-rgb (LWPSN "
                        "on RGB only: a model for comparisons, which no method runs), pose-unet (seed 002, RGB + "
                        "pose map + limb prior), refine (seed 003, RGB + boundary and leftover masks of a coarse "
                        "matte), lwpsn-person (one person's SSM in, their mask out; trained on overlapping people "
                        "synthesised from the pairs)")
    t.add_argument("--data", type=Path, nargs="+", metavar="DIR",
                   help="folders with images/ and masks/ (same stems), e.g. ../shared/data/eg1800 ../shared/data/ccp "
                        "(with --resume: the run's own, unless given)")
    t.add_argument("--split", help="id list in each DIR to train on, e.g. 'train' for DIR/train.txt; 'fit': the train "
                                   "split less the photos this project makes its choices on (its data sets only) "
                                   "(default: all pairs)")
    t.add_argument("--init", type=Path,
                   help="weights that start the run (fine-tuning): a checkpoint (.pt), an exported ONNX file of "
                        "the same model, or a shipped model by name, e.g. sinet (from ONNX, batch norm statistics "
                        "are kept fixed)")
    t.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of the training ids held out for validation, above 0 and below 1 (default 0.1)")
    t.add_argument("-o", "--out", required=True, type=Path,
                   help="run folder: checkpoints (last.pt, best.pt), log.csv, curves.png, validation.txt (the "
                        "held-out pairs)")
    t.add_argument("--epochs", type=int, default=100, help="passes over the training pairs (default 100)")
    t.add_argument("--batch", type=int, default=16, help="pairs a step (default 16)")
    t.add_argument("--lr", type=float, default=5e-3,
                   help="the learning rate at its peak (default 0.005; warm-up, then cosine decay)")
    t.add_argument("--seed", type=int, default=0,
                   help="seed of the validation split, the augmentation and the initial weights (default 0)")
    t.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint, with the options it was started with "
                        "(those given again must be the same)")
    t.add_argument("--until", type=int, help="stop after this epoch (resume later with --resume)")
    t.add_argument("--average-from", type=int, metavar="EPOCH",
                   help="from this epoch on, keep the mean of the weights at each epoch's end (stochastic weight "
                        "averaging): it is what is validated, and best.pt is the best of these means (a single "
                        "epoch before EPOCH only until the averaging starts)")
    t.add_argument("--workers", type=int, help="processes that augment the next batches while the network trains "
                   "(results do not depend on it; default: none on CPU, up to 8 beside a GPU)")
    t.add_argument("--augment", default="full", choices=tuple(AUGMENT_PRESETS),
                   help="augmentation: full (the default) or light, to finish a trained network on views framed as "
                        "the pipeline frames them (train/augment.py AUGMENT_PRESETS)")
    t.add_argument("--ipr", type=int, default=0, metavar="LEVELS",
                   help="image pyramid resizing (seed 000): show images at up to LEVELS halvings of resolution "
                        f"(0 to {MAX_PYRAMID}; default 0: none)")
    t.add_argument("--coarse", default=DEFAULT_COARSE_METHOD, choices=tuple(METHODS),
                   help=f"method whose mattes of the training images the refine model learns to correct, taken before "
                        f"the method's own refinement network (default {DEFAULT_COARSE_METHOD})")
    t.add_argument("--cache", type=Path,
                   help="folder for what is computed once per training image: keypoints (models fed prior maps) and "
                        "coarse mattes (refine) (default: ~/.cache/personseg)")
    t.set_defaults(run=run)


#: The options a run keeps in its checkpoints (``train(command=)``): ``--resume`` takes those not given again.
RECORDED = ("model", "data", "split", "val_fraction", "epochs", "batch", "lr", "seed", "init", "average_from",
            "augment", "ipr", "coarse", "cache")
#: Of those, the ones that are paths (kept as text).
RECORDED_PATHS = ("init", "cache")
#: Of those, the ones neither the run's settings nor its data's fingerprint hold: given again, compared here.
COMPARED_HERE = ("coarse", "cache")


def run(args: argparse.Namespace) -> int:
    # torch is an extra: loaded only when training
    from ..train.loop import TrainConfig, check_run_folder, check_until, training_device

    if args.resume and args.out.is_dir():   # a run still in its first epoch has no last.pt yet: said as such
        with sole_writer(args.out):
            pass
    if args.resume and (args.out / "last.pt").is_file():
        _take_recorded(args)
    check_until(args.until)   # before the training pairs are read
    if args.workers is not None and args.workers < 0:
        raise PersonsegError(f"--workers {args.workers}: expected 0 or more")
    if not 0 <= args.ipr <= MAX_PYRAMID:
        raise PersonsegError(f"--ipr {args.ipr}: expected 0 (none) to {MAX_PYRAMID} halvings (four show a 256-px "
                             f"input as 16 px)")
    shipped = [name for name in SEGMENTERS if SPECS[name].onnx_path.is_file()]   # lwpsn-rgb is not
    if args.init and not args.init.is_file() and str(args.init) in shipped:   # a shipped model's weights, by name
        if str(args.init) != args.model:
            raise PersonsegError(f"--init {args.init}: the shipped weights by name start only the same model "
                                 f"(--model {args.init}); a run of another model starts from its checkpoint (.pt)")
        args.init = SPECS[args.model].onnx_path
    if args.init and not args.init.is_file():
        raise PersonsegError(f"--init {args.init}: no such checkpoint, ONNX file or shipped model "
                             f"({', '.join(shipped)})")
    if args.init:
        args.init = args.init.resolve()   # the run's settings name it so: resumed from another folder, the same
        _check_init(args.init, args.model)
    # what can be refused is refused before the training pairs' keypoints or mattes are computed
    cfg = TrainConfig(model=args.model, epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed,
                      init=str(args.init) if args.init else None, average_from=args.average_from,
                      augment=replace(AUGMENT_PRESETS[args.augment], pyramid=args.ipr))
    training_device(args.device)
    check_run_folder(args.out, args.resume)
    if not args.data:
        raise PersonsegError("--data: give the folders to train on (a run continued with --resume takes its own)")
    out = args.out.resolve()
    among = next((d for d in args.data if out == d.resolve() or any(out.is_relative_to(d.resolve() / sub)
                                                                     for sub in ("images", "masks"))), None)
    if among is not None:
        raise PersonsegError(f"--out {args.out} is the training data {among} or among its images or masks; give the "
                             "run a folder of its own")
    made = [f for f in (out, *out.parents) if not f.exists()]   # the folders this run makes, innermost first
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(args.out, args.out, e) from None
    try:
        with sole_writer(args.out):   # two runs into one folder would mix their checkpoints
            best = _trained(args, cfg)
    except BaseException:
        for folder in made:   # refused or stopped before anything was written: the folders made go too
            with suppress(OSError):
                folder.rmdir()   # only where empty
        raise
    print(f"best checkpoint: {best}")
    return 0


def _take_recorded(args: argparse.Namespace) -> None:
    """The options ``args.out``'s run kept in its last.pt (RECORDED), for those not given again; a checkpoint of a
    personseg that kept none leaves every option as given."""
    from ..train.checkpoint import read_checkpoint

    recorded = read_checkpoint(args.out / "last.pt").get("command") or {}
    for name in COMPARED_HERE:
        if name in args.given_options and name in recorded:
            given = getattr(args, name)
            given = str(given.resolve()) if isinstance(given, Path) else given
            if given != recorded[name]:
                raise PersonsegError(f"{args.out / 'last.pt'} was made with --{name} "
                                     f"{recorded[name] or '(the default)'}; resume with the same one, or leave it out")
    taken = []
    for name, value in recorded.items():
        if name in RECORDED and name not in args.given_options:
            if name == "data":
                value = [Path(folder) for folder in value]
            elif name in RECORDED_PATHS and value is not None:
                value = Path(value)
            if value != getattr(args, name):
                taken.append(f"--{name.replace('_', '-')} " + (" ".join(map(str, value)) if name == "data" else
                                                              str(value)))
            setattr(args, name, value)
    if taken:
        say(f"the run's own options: {' '.join(taken)}")


def _recorded(args: argparse.Namespace) -> dict:
    """The options of ``args`` a run keeps (RECORDED), as JSON takes them, paths absolute."""
    out = {name: getattr(args, name) for name in RECORDED}
    out["data"] = [str(folder.resolve()) for folder in args.data]
    out["cache"] = None if args.cache is None else str(args.cache.resolve())
    out["init"] = None if args.init is None else str(args.init)
    return out


#: Fewer validation pairs than this get a note: the best checkpoint is chosen on noise.
FEW_VALIDATION = 10


def _check_init(init: Path, model: str) -> None:
    """PersonsegError where ``init`` (a checkpoint or an exported ONNX file) says it is another model than
    ``model``: before the training pairs' keypoints or mattes are computed, which take minutes."""
    if init.suffix.lower() == ".onnx":
        import onnx

        try:
            made = {p.key: p.value for p in onnx.load(str(init), load_external_data=False).metadata_props}.get(MODEL_KEY)
        except Exception:   # onnx raises several types for unreadable files; the run's own reading names them
            return
    else:
        from ..train.checkpoint import read_checkpoint

        made = read_checkpoint(init).get("config", {}).get("model")
    if made is not None and made != model:
        raise PersonsegError(f"--init {init} is a {made} network; --model {made} trains it (this run: --model {model})")


def _trained(args: argparse.Namespace, cfg) -> Path:
    """The run of ``args`` (its folder locked): the training pairs, the training, its best.pt; what an
    interruption kept said, and a run whose validation IoU never rose above 0 (it learnt nothing) warned of."""
    from ..train.checkpoint import read_checkpoint
    from ..train.loop import train

    cache = args.cache or Path.home() / ".cache" / "personseg"
    trn, val, augment = training_sets(args.model, args.data, args.split, cache, cfg.augment, coarse=args.coarse,
                                      val_fraction=args.val_fraction, seed=args.seed, log=say)
    cfg = replace(cfg, augment=augment)
    if len(val) < FEW_VALIDATION:
        say(f"note: validating on {len(val)} pair{'s' * (len(val) != 1)}: the best checkpoint is chosen on so few "
            "that its IoU is mostly chance; add pairs or raise --val-fraction")
    try:
        best = train(cfg, trn, val, args.out, resume=args.resume, device=args.device, log=say, until=args.until,
                     workers=args.workers, command=_recorded(args))
    except BaseException as e:
        if interrupted(e) and (args.out / "last.pt").is_file():
            say(f"the run in {args.out} is kept: the same command with --resume goes on after its last finished epoch")
        elif interrupted(e):
            say(f"nothing of the run in {args.out} was kept: no epoch had finished")
        raise
    done = read_checkpoint(args.out / "last.pt")["epoch"] + 1 if args.until is not None else cfg.epochs
    if done < cfg.epochs:   # stopped at --until, or past it already when resumed
        say(f"stopped after epoch {done} of {cfg.epochs} as --until asked: the same command with --resume (and a "
            "later --until, or none) goes on" if done == args.until else
            f"the run had finished epoch {done} already, past --until {args.until}: nothing was trained; give a "
            "later --until, or none")
    if best.is_file() and read_checkpoint(best)["val_iou"] <= 0:
        shipped = SPECS[args.model].onnx_path.is_file() and args.init is None
        say(f"note: validation IoU stayed 0 on {len(val)} pair{'s' * (len(val) != 1)}: the network marks nobody "
            f"yet; train longer or on more pairs" + (
                f", or start from the shipped weights (--init {args.model}) with a lower --lr, e.g. 3e-4" if shipped
                else ", or with another --lr"))
    return best
