"""One training loop for CPU and GPU: fixed seeds, a checkpoint every epoch, resume, mixed precision on GPU,
a per-epoch log of loss and validation IoU, and a plot of both curves."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel

from ..errors import PersonsegError
from ..image import write_bytes
from ..models.registry import ModelSpec, spec
from ..runsettings import changes
from .augment import AugmentConfig, augment
from .checkpoint import read_checkpoint
from .data import PairSet, backgrounds
from .losses import segmentation_loss


#: Within an epoch, a line of progress at most this often.
PROGRESS_SECONDS = 30.0


@dataclass
class TrainConfig:
    model: str = "sinet"
    size: tuple[int, int] = (192, 256)   # network input (w, h)
    epochs: int = 100
    batch: int = 16
    lr: float = 5e-3
    weight_decay: float = 2e-4
    aux_weight: float = 0.4               # weight of the coarse (1/8 scale) output's loss
    seed: int = 0
    init: str | None = None               # checkpoint (.pt) or exported ONNX file whose weights start the run
    freeze_bn: bool = False               # batch norm statistics kept fixed (always when starting from ONNX)
    average_from: int | None = None       # from this epoch on, validate and keep the mean of the epochs' weights
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch"):
            if getattr(self, name) < 1:
                raise PersonsegError(f"--{name} {getattr(self, name)}: expected 1 or more")
        if not self.lr > 0:
            raise PersonsegError(f"--lr {self.lr}: expected more than 0")
        if not 0 <= self.seed < 2 ** 32:
            raise PersonsegError(f"--seed {self.seed}: expected 0 to {2 ** 32 - 1}")
        if self.average_from is not None and not 1 <= self.average_from <= self.epochs:
            raise PersonsegError(f"--average-from {self.average_from}: expected an epoch from 1 to {self.epochs}")
        # the exporter folded some batch norms away: their statistics cannot be learnt, neither in a run started
        # from the ONNX file nor in one started from a checkpoint of such a run
        if self.init_from_onnx or (self.init is not None and _froze_batch_norms(self.init)):
            self.freeze_bn = True

    @property
    def init_from_onnx(self) -> bool:
        return self.init is not None and Path(self.init).suffix == ".onnx"


def _froze_batch_norms(checkpoint: str) -> bool:
    """Whether the run that wrote ``checkpoint`` (.pt) kept its batch norm statistics fixed."""
    return bool(read_checkpoint(checkpoint)["config"].get("freeze_bn"))


def to_tensor(images: np.ndarray, model: ModelSpec) -> torch.Tensor:
    """(N, H, W, C) uint8 RGB (+ prior maps) -> (N, C, H, W) float32 normalised as ``model`` is fed."""
    mean, std = np.array(model.mean, np.float32), np.array(model.std, np.float32)
    return torch.from_numpy(((images.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2).copy())


def build_model(name: str) -> torch.nn.Module:
    from ..models.registry import torch_model

    return torch_model(name)


def load_init(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str = "--init") -> None:
    """Start ``model`` from a checkpoint's ``weights`` (read from ``source``, for the error). A model fed other maps
    after RGB than the checkpoint's (e.g. the refine model started from LWPSN) keeps the first convolution's RGB
    weights and starts the weights of its other input channels at zero, so it begins as the checkpoint's model
    shown no maps. PersonsegError where the weights are another architecture's."""
    own = model.state_dict()
    for key, w in weights.items():
        if key in own and own[key].ndim == 4 and w.shape != own[key].shape and w.shape[0] == own[key].shape[0] \
                and w.shape[2:] == own[key].shape[2:]:
            grown = torch.zeros_like(own[key])
            grown[:, :3] = w[:, :3]
            weights = weights | {key: grown}
    try:
        model.load_state_dict(weights)
    except RuntimeError:   # torch lists every key: several kB
        missing, extra = len(own.keys() - weights.keys()), len(weights.keys() - own.keys())
        raise PersonsegError(f"{source}: the weights of another architecture ({missing} of the model's missing, "
                             f"{extra} not the model's, or other shapes)") from None


class _Augmented(torch.utils.data.Dataset):
    """One epoch's augmented pairs: item ``i``'s draws depend only on (seed, epoch, i), not on which worker or
    in which order it is made."""

    def __init__(self, pairs: PairSet, bgs: list[np.ndarray] | None, cfg: TrainConfig, epoch: int) -> None:
        self.pairs, self.bgs, self.cfg, self.epoch = pairs, bgs, cfg, epoch

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.cfg.seed, self.epoch, int(i)])
        bg = self.bgs[int(rng.integers(len(self.bgs)))] if self.bgs else None
        return augment(rng, self.pairs.images[i], self.pairs.masks[i], self.cfg.size, self.cfg.augment, bg)


def make_batches(pairs: PairSet, bgs: list[np.ndarray] | None, cfg: TrainConfig, epoch: int, workers: int = 0):
    """Yield (images, masks) tensors for one epoch; the order and every augmentation draw depend only on
    (seed, epoch, index), so an epoch is the same whether or not training was resumed before it, and whatever
    the number of ``workers`` (processes augmenting ahead of the training step; 0: in this process)."""
    order = np.random.default_rng([cfg.seed, epoch]).permutation(len(pairs)).tolist()
    batches = [order[start:start + cfg.batch] for start in range(0, len(order) - cfg.batch + 1, cfg.batch)]
    yield from torch.utils.data.DataLoader(_Augmented(pairs, bgs, cfg, epoch), batch_sampler=batches,
                                           num_workers=workers, collate_fn=partial(_collate, spec(cfg.model)))


def _collate(model: ModelSpec, items: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of augmented pairs as tensors: images fed as ``model`` is, masks as class indices."""
    images, masks = zip(*items)
    return to_tensor(np.stack(images), model), torch.from_numpy(np.stack(masks)).long()


@torch.no_grad()
def validate(model: torch.nn.Module, pairs: PairSet, cfg: TrainConfig, device: torch.device) -> float:
    """Mean per-image foreground IoU at the pairs' stored size (network run at the training input size)."""
    import cv2

    from ..metrics import foreground_iou

    model.eval()
    ious = []
    for rgb, gt in zip(pairs.images, pairs.masks):
        # OpenCV resizes at most 4 channels at once: RGB and the prior maps go separately
        small = np.dstack([cv2.resize(rgb[..., c:c + 3], cfg.size, interpolation=cv2.INTER_AREA).reshape(
            cfg.size[1], cfg.size[0], -1) for c in range(0, rgb.shape[2], 3)])
        x = to_tensor(small[None], spec(cfg.model)).to(device)
        prob = torch.softmax(model(x).float(), dim=1)[0, 1].cpu().numpy()
        prob = cv2.resize(prob, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        ious.append(foreground_iou(prob >= 0.5, gt > 0))
    return float(np.mean(ious))


#: The learning rate warms up over this share of the steps (one-cycle schedule), and over two steps at least.
WARM_UP = 0.05


def one_cycle(opt: torch.optim.Optimizer, lr: float, steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
    """The one-cycle learning-rate schedule of a run of ``steps`` optimiser steps (torch's own divided by zero
    where the warm-up came to one step, a run of 20 steps, or a phase to none, a run of 1 or 2)."""
    total = max(3, steps)
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=max(WARM_UP, 2 / total))


def check_until(until: int | None) -> None:
    """PersonsegError unless ``until`` (the epoch a run stops after) is None or an epoch."""
    if until is not None and until < 1:
        raise PersonsegError(f"--until {until}: expected an epoch, 1 or more")


def train(cfg: TrainConfig, train_pairs: PairSet, val_pairs: PairSet, out: str | Path, resume: bool = False,
          device: str | None = None, log: Callable[[str], None] = print, until: int | None = None,
          workers: int | None = None, command: dict | None = None) -> Path:
    """Train (stopping early after epoch ``until`` when given, to be resumed later), writing ``out/last.pt``
    every epoch, ``out/best.pt`` at the best validation IoU, ``out/log.csv`` and ``out/curves.png``. Returns the
    best checkpoint's path. ``workers``: processes that augment the next batches meanwhile (``make_batches``;
    None: up to 8 beside a GPU, none on CPU, where the network's arithmetic takes every core). ``command``: the
    options that made the run, kept in last.pt (``personseg train --resume`` takes them from there)."""
    if len(train_pairs) < cfg.batch:
        raise PersonsegError(f"{len(train_pairs)} training pair{'s' * (len(train_pairs) != 1)}, fewer than a batch "
                             f"of {cfg.batch}: add pairs or lower --batch")
    if not len(val_pairs):
        raise PersonsegError("no validation pairs: add pairs or raise --val-fraction")
    check_until(until)
    out, dev = Path(out), training_device(device)
    check_run_folder(out, resume)
    log(f"training {cfg.model} on {len(train_pairs)} pairs, validating on {len(val_pairs)}")
    out.mkdir(parents=True, exist_ok=True)
    if workers is None:
        workers = min(8, (os.cpu_count() or 1) - 1) if dev.type == "cuda" else 0
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = one_cycle(opt, cfg.lr, cfg.epochs * max(1, len(train_pairs) // cfg.batch))
    scaler = torch.amp.GradScaler("cuda", enabled=dev.type == "cuda")
    start, best, history = 0, -1.0, []
    data = {"training": _fingerprint(train_pairs), "validation": _fingerprint(val_pairs)}
    last = out / "last.pt"
    if resume:
        state = read_checkpoint(last, dev)
        saved, asked = _with_defaults(state["config"]), _config_dict(cfg)
        if saved != asked:
            named = changes(_one_by_one(asked), _one_by_one(saved))
            longer = (" (the learning rate's schedule spans the epochs: to train on, start a new run with --init "
                      f"{out / 'best.pt'})") if saved["epochs"] != asked["epochs"] else ""
            raise PersonsegError(f"{last} was made with other settings ({'; '.join(named)}); "
                                 f"resume with the same ones{longer}")
        if state.get("data", data) != data:   # (checkpoints from before it was recorded: not known)
            raise PersonsegError(f"{last} was made on other data ({_data_changes(data, state['data'])}); resume "
                                 "with the same --data and --split, or start a new run in another --out")
        if state["epoch"] + 1 >= cfg.epochs:
            log(f"{last}: the run has finished its {cfg.epochs} epoch{'s' * (cfg.epochs > 1)}; nothing to do")
        else:
            log(f"resuming {last} after epoch {state['epoch'] + 1}")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        start, best, history = state["epoch"] + 1, state["best"], state["history"]
    elif cfg.init_from_onnx:
        from .onnx_weights import weights_from_onnx

        model.load_state_dict(weights_from_onnx(build_model(cfg.model), cfg.init, spec(cfg.model).channels))
    elif cfg.init:
        load_init(model, read_checkpoint(cfg.init, dev)["model"], str(cfg.init))
    starting = None   # the starting network, kept as best.pt where the first epoch scores no more than it
    if cfg.init and not resume:   # where the run starts, to see whether it helped
        best = validate(model, val_pairs, cfg, dev)
        log(f"epoch 0/{cfg.epochs} (the starting network, {cfg.init}) val IoU {best:.4f}")
        starting = {"config": _config_dict(cfg), "model": {k: v.clone() for k, v in model.state_dict().items()},
                    "epoch": -1, "val_iou": best}
    average = AveragedModel(model) if cfg.average_from else None
    if average is not None and resume:
        average.load_state_dict(state["average"])
    bgs = backgrounds(train_pairs, cfg.size) if cfg.augment.composite > 0 else None
    for epoch in range(start, min(cfg.epochs, until or cfg.epochs)):
        model.train()
        if cfg.freeze_bn:
            from .onnx_weights import freeze_batch_norms

            freeze_batch_norms(model)
        t0, losses = time.time(), []
        said = t0
        for x, y in make_batches(train_pairs, bgs, cfg, epoch, workers):
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                logits, coarse = model(x)
                loss = segmentation_loss(logits.float(), y) + cfg.aux_weight * segmentation_loss(coarse.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            lr = opt.param_groups[0]["lr"]   # the rate this step used (the scheduler's next one follows)
            sched.step()
            losses.append(loss.item())
            if not np.isfinite(losses[-1]):   # nothing of this epoch is kept: its weights are lost already
                raise PersonsegError(_diverged(losses[-1], epoch, len(losses) - 1, lr, cfg, out,
                                               start > 0 or epoch > start))
            if time.time() - said >= PROGRESS_SECONDS:
                said, done = time.time(), len(losses) * cfg.batch
                left = (said - t0) * (len(train_pairs) - done) / done
                log(f"epoch {epoch + 1}/{cfg.epochs}: {done} of {len(train_pairs)} pairs, "
                    f"loss {np.mean(losses):.4f} ({said - t0:.0f} s, about {left:.0f} s of training left in it)")
        kept, dropped = model, None
        if average is not None and epoch + 1 >= cfg.average_from:
            kept = _averaged(average, model)
            if epoch + 1 == cfg.average_from:
                # best.pt holds the mean from here on, as asked, whatever the single epochs scored
                dropped, best = best, -1.0
        val = validate(kept, val_pairs, cfg, dev)
        if dropped is not None and dropped > val:
            log(f"epoch {epoch + 1}: best.pt holds the mean of the epochs from here on, as --average-from asks, "
                f"though what it held scored more (val IoU {dropped:.4f})")
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_iou": val,
                        "seconds": round(time.time() - t0, 1), "lr": lr,
                        "averaged": int(average.n_averaged) if average is not None else 0})
        state = {"config": _config_dict(cfg), "model": model.state_dict(), "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "scaler": scaler.state_dict(), "torch_rng": torch.get_rng_state(),
                 "epoch": epoch, "best": max(best, val), "history": history, "data": data, "command": command}
        if average is not None:
            state["average"] = average.state_dict()
        # best.pt before last.pt: stopped between the two, the epoch is trained again on resuming and kept then
        # (last.pt first recorded it as the best while best.pt held an older one, for good)
        behind = starting is not None and not val > best   # said after the epoch's line
        if val > best:
            best = val
            _atomic_save({"config": state["config"], "model": kept.state_dict(), "epoch": epoch, "val_iou": val},
                         out / "best.pt")
        elif starting is not None:   # (epoch -1 in best.pt: the log's epoch 0)
            _atomic_save(starting, out / "best.pt")
        _atomic_save(state, last)
        starting = None
        _write_log(history, out)
        if epoch == start:   # which pairs were held out, for `personseg eval --ids` ("folder/stem" a line)
            write_bytes(out / VALIDATION_IDS, "".join(f"{i}\n" for i in val_pairs.ids).encode(), overwrite=True)
            log(f"the validation pair{'s are' if len(val_pairs) > 1 else ' is'} listed in {out / VALIDATION_IDS}")
        mean = f" (mean of epochs {epoch + 2 - history[-1]['averaged']}-{epoch + 1})" if kept is not model else ""
        runs = min(cfg.epochs, until or cfg.epochs) - epoch - 1   # epochs this command has still to run
        took = np.mean([h["seconds"] for h in history[start:]])
        left = f"; about {_duration(runs * took)} to go" if runs else ""
        log(f"epoch {epoch + 1}/{cfg.epochs} loss {history[-1]['loss']:.4f} val IoU {val:.4f}{mean} "
            f"({history[-1]['seconds']} s{left})")
        if behind:
            log(f"epoch {epoch + 1} scored no more than the starting network: best.pt holds the starting network "
                "until an epoch scores more")
    if (out / "best.pt").is_file():
        kept = read_checkpoint(out / "best.pt")
        which = "the starting network" if kept["epoch"] < 0 else f"epoch {kept['epoch'] + 1}"
        log(f"best.pt: {which}, val IoU {kept['val_iou']:.4f}")
    return out / "best.pt"


def _diverged(loss: float, epoch: int, step: int, lr: float, cfg: TrainConfig, out: Path, saved: bool) -> str:
    """What to say when the loss of step ``step`` (from 0) of epoch ``epoch`` (from 0) is not a number: the run
    stops there (its weights are no longer numbers either)."""
    kept = (f"{out / 'last.pt'} holds epoch {epoch}, best.pt the best network up to it" if saved else
            "nothing of this run was saved")
    return (f"training diverged: the loss became {loss} at step {step + 1} of epoch {epoch + 1} (learning rate "
            f"{lr:g}); start a new run with a smaller --lr than {cfg.lr:g} (the default is "
            f"{TrainConfig.lr:g}), or from a checkpoint with --init; {kept}")


def _duration(seconds: float) -> str:
    """``seconds`` in words: "40 s", "12 min", "3.5 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def training_device(device: str | None) -> torch.device:
    """The torch device named ``device`` (None: cuda when available, else cpu); PersonsegError where it is not
    one or is not there."""
    try:
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError:
        raise PersonsegError(f"device {device!r}: expected cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PersonsegError(f"device {device!r}: no GPU that this torch can use (torch {torch.__version__}, "
                             f"CUDA {torch.version.cuda or 'not built in'}); train on cpu")
    return dev


#: The held-out pairs of a run, one "folder/stem" a line.
VALIDATION_IDS = "validation.txt"
#: The files a run writes in its folder: a new run refuses a folder holding any of them.
RUN_FILES = ("last.pt", "best.pt", "log.csv", "curves.png", VALIDATION_IDS)


def check_run_folder(out: Path, resume: bool) -> None:
    """PersonsegError where ``out`` has no run to resume (``resume``) or already holds one (a new run: any of
    RUN_FILES, which it would replace)."""
    last = out / "last.pt"
    if resume and not last.is_file():
        raise PersonsegError(f"nothing to resume: {last} does not exist")
    held = [name for name in RUN_FILES if (out / name).exists()] if not resume else []
    if held:
        again = "pass --resume to continue it or " if "last.pt" in held else ""
        raise PersonsegError(f"{out} already holds a run ({', '.join(held)}), which a new run would replace; "
                             f"{again}choose another --out")
    if out.exists() and not out.is_dir():
        raise PersonsegError(f"--out {out} is a file; the run needs a folder")


def _averaged(average: AveragedModel, model: torch.nn.Module) -> torch.nn.Module:
    """Add ``model``'s weights to the running mean ``average`` (stochastic weight averaging); returns the
    averaged network, its batch norm statistics the latest epoch's (fixed ones when fine-tuning from ONNX)."""
    average.update_parameters(model)
    for mine, theirs in zip(average.module.buffers(), model.buffers()):
        mine.copy_(theirs)
    return average.module


def _config_dict(cfg: TrainConfig) -> dict:
    return json.loads(json.dumps(asdict(cfg)))


def _with_defaults(saved: dict) -> dict:
    """A checkpoint's settings, those added to TrainConfig or AugmentConfig since it was written at their
    defaults (which is what the run had)."""
    defaults = _config_dict(TrainConfig())
    return defaults | saved | {"augment": defaults["augment"] | saved.get("augment", {})}


def _one_by_one(config: dict) -> dict:
    """Settings with the augmentation's spelled out (augment.grey ...), so that a difference names the one."""
    spelled = {f"augment.{k}": v for k, v in config["augment"].items()}
    return {k: v for k, v in config.items() if k != "augment"} | spelled


def _fingerprint(pairs: PairSet) -> dict:
    """How many pairs and a digest of their masks (shapes and pixels, in any order: a data folder moved or
    renamed is the same data): what a resumed run must train (or validate) on again."""
    each = sorted(hashlib.sha256(str(m.shape).encode() + np.ascontiguousarray(m).tobytes()).digest()
                  for m in pairs.masks)
    return {"pairs": len(pairs), "sha256": hashlib.sha256(b"".join(each)).hexdigest()}


def _data_changes(now: dict, then: dict) -> str:
    """What differs between two runs' data (``_fingerprint`` of each part), in words."""
    return "; ".join(f"{part} pairs {now[part]['pairs']}, was {then[part]['pairs']}"
                     if now[part]["pairs"] != then[part]["pairs"] else f"other {part} pairs, as many"
                     for part in now if now[part] != then.get(part))


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def _write_log(history: list[dict], out: Path) -> None:
    with open(out / "log.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ep = [h["epoch"] for h in history]
    ax.plot(ep, [h["loss"] for h in history], label="train loss", color="tab:blue")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax2 = ax.twinx()
    ax2.plot(ep, [h["val_iou"] for h in history], label="val IoU", color="tab:orange")
    ax2.set_ylabel("validation IoU")
    fig.legend(loc="upper center", ncol=2)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=90)
    plt.close(fig)
