"""Training the region check (presence.py): the regions the shipped methods mark on photos with people and on
person-free crops of them, each labelled by how much of it lies on a labelled person; a small classifier
trained on them with a checkpoint every epoch, resumable."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import PersonsegError
from ..image import load_pair
from ..models.registry import torch_model
from ..pipeline import Segmenter
from ..presence import MODEL, region_box, region_input, regions
from ..runtime import threads
from .checkpoint import read_checkpoint

#: The methods whose marked regions are gathered (the ones the check judges).
SOURCES = ("accurate", "fast")
#: A region with at least this share of its pixels on labelled people is a person; at most NEGATIVE, not one;
#: in between it is left out.
POSITIVE, NEGATIVE = 0.5, 0.1
#: Person-free crops: the strips beside everyone labelled (their box grown by this share of the image's size)
#: whose shorter side is at least CROP_SIDE of the image's shorter side.
CROP_MARGIN, CROP_SIDE = 0.03, 0.35
#: Training: the largest shift of the augmentation (pixels of the 64x64 input) and the weight decay.
SHIFT, WEIGHT_DECAY = 6, 1e-2
#: Share of photos (by a hash of their name) whose regions validate the run.
VAL_SHARE = 0.2


def person_free_crops(truth: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(x0, y0, x1, y1) of each strip of the image left, right, above and below everyone in ``truth`` (uint8
    HxW) that is large enough (CROP_SIDE)."""
    ys, xs = np.nonzero(truth)
    h, w = truth.shape
    if xs.size == 0:
        return []
    mx, my = CROP_MARGIN * w, CROP_MARGIN * h
    x0, x1 = max(0, int(xs.min() - mx)), min(w, int(xs.max() + 1 + mx))
    y0, y1 = max(0, int(ys.min() - my)), min(h, int(ys.max() + 1 + my))
    strips = [(0, 0, x0, h), (x1, 0, w, h), (0, 0, w, y0), (0, y1, w, h)]
    return [s for s in strips if min(s[2] - s[0], s[3] - s[1]) >= CROP_SIDE * min(h, w)]


def is_validation(name: str) -> bool:
    """Whether photo ``name`` belongs to the validation share (a stable hash of the name)."""
    return zlib.crc32(name.encode()) % 1000 < VAL_SHARE * 1000


def gather(pairs: Iterable[tuple[str, Path, Path]], log: Callable[[str], None] = print) -> dict[str, np.ndarray]:
    """Every region of at least presence.MIN_REGION that each of SOURCES marks, unchecked, on each photo of
    ``pairs`` ((name, image, mask of everyone)) and on its person-free crops: inputs (N, 4, 64, 64 float16),
    labels (N), validation flags (N), the share on people (N), the photo's name (N) and the view (N: 0 the
    photo, 1 a person-free crop)."""
    # the regions each method marks before any check of them (the check being trained)
    methods = {m: Segmenter(m, matting=None, person_check=False) for m in SOURCES}
    xs, ys, val, share, names, kinds = [], [], [], [], [], []
    start = time.perf_counter()
    pairs = list(pairs)
    for i, (name, image, mask) in enumerate(pairs):
        rgb, truth = load_pair(image, mask)
        truth = truth > 0
        views = [(0, rgb, truth)] + [(1, np.ascontiguousarray(rgb[y0:y1, x0:x1]), truth[y0:y1, x0:x1])
                                     for x0, y0, x1, y1 in person_free_crops(truth)]
        for kind, view, on_people in views:
            for seg in methods.values():
                with threads(1):
                    marked = seg(view).mask > 0
                labels, big, stats = regions(marked)
                for k in big:
                    s = float(on_people[labels == k].mean())
                    if NEGATIVE < s < POSITIVE:
                        continue
                    xs.append(region_input(view, labels, k, region_box(*stats[k, :4]))[0].astype(np.float16))
                    ys.append(s >= POSITIVE)
                    val.append(is_validation(name))
                    share.append(s)
                    names.append(name)
                    kinds.append(kind)
        if (i + 1) % 50 == 0:
            log(f"{i + 1}/{len(pairs)} photos, {len(ys)} regions ({sum(ys)} people), "
                f"{time.perf_counter() - start:.0f} s")
    return {"x": np.stack(xs), "y": np.array(ys, np.float32), "val": np.array(val), "share": np.array(share),
            "name": np.array(names), "view": np.array(kinds, np.uint8)}


def _augmented(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """A batch of inputs (N, 4, h, w, normalised) mirrored at random, shifted by up to SHIFT pixels and its
    photo's brightness and contrast changed by up to a fifth (a copy)."""
    x = x.clone()
    flip = torch.from_numpy(rng.random(len(x)) < 0.5)
    x[flip] = x[flip].flip(-1)
    dy, dx = (int(v) for v in rng.integers(-SHIFT, SHIFT + 1, 2))
    x = torch.roll(x, (dy, dx), (2, 3))
    x[:, :3] = x[:, :3] * float(rng.uniform(0.8, 1.2)) + float(rng.uniform(-0.2, 0.2))
    return x


def train_check(data: dict[str, np.ndarray], out: Path, epochs: int = 15, batch: int = 64, lr: float = 2e-3,
                seed: int = 0, log: Callable[[str], None] = print) -> Path:
    """Train the region check on ``data`` (``gather``'s) with a checkpoint in ``out`` every epoch (a run there
    continues from its last one); best.pt keeps the epoch of least validation loss. Returns best.pt."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = torch_model(MODEL)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    history: list[dict] = []
    last = out / "last.pt"
    if last.is_file():
        state = read_checkpoint(last)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        history = state["history"]
    trn, val = ~data["val"], data["val"]
    for part, name in ((trn, "training"), (val, "validation")):
        if not part.any() or data["y"][part].min() == data["y"][part].max():
            raise PersonsegError(f"the {name} regions need both people and others; gather more photos")
    x_trn, y_trn = torch.from_numpy(data["x"][trn].astype(np.float32)), torch.from_numpy(data["y"][trn])
    x_val, y_val = torch.from_numpy(data["x"][val].astype(np.float32)), torch.from_numpy(data["y"][val])
    # people outnumber the rest: each class weighs half of the loss
    weight = (1.0 - y_trn.mean()) / y_trn.mean().clamp(min=1e-6)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=weight)
    rng = np.random.default_rng(seed + len(history))
    for epoch in range(len(history) + 1, epochs + 1):
        began = time.perf_counter()
        model.train()
        order = torch.from_numpy(rng.permutation(len(y_trn)))
        total = 0.0
        for b in range(0, len(order), batch):
            idx = order[b:b + batch]
            loss = loss_fn(model(_augmented(x_trn[idx], rng)).squeeze(1), y_trn[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val).squeeze(1)
        row = {"epoch": epoch, "train_loss": total / len(y_trn), "val_loss": float(loss_fn(logits, y_val)),
               "val_accuracy": float(((logits > 0) == (y_val > 0.5)).float().mean()),
               "seconds": round(time.perf_counter() - began, 1)}
        history.append(row)
        log(json.dumps(row))
        state = {"config": {"model": MODEL, "epochs": epochs, "batch": batch, "lr": lr, "seed": seed},
                 "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "history": history, "epoch": epoch}
        torch.save(state, out / "last.tmp")
        (out / "last.tmp").replace(last)
        if row["val_loss"] <= min(h["val_loss"] for h in history):
            torch.save(state, out / "best.pt")
    if not (out / "best.pt").is_file():
        raise PersonsegError(f"{out}: no epoch was trained")
    return out / "best.pt"
