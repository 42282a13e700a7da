"""Export a trained checkpoint to ONNX and check onnxruntime agrees with torch; the exported model's card."""

from __future__ import annotations

import hashlib
import math
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from ..errors import PersonsegError
from ..image import write_bytes
from ..models.registry import spec, torch_model
from ..runtime import MODEL_KEY
from .checkpoint import read_checkpoint


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """The model of checkpoint ``path`` in eval mode, and the checkpoint itself."""
    state = read_checkpoint(path)
    try:
        model = torch_model(state["config"]["model"])
        model.load_state_dict(state["model"])
    except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise PersonsegError(f"{path}: not a checkpoint written by `personseg train` ({type(e).__name__})") from None
    return model.eval(), state


def export_onnx(checkpoint: str | Path, out: str | Path, check_images: np.ndarray | None = None) -> dict:
    """Write the checkpoint's model as ONNX (dynamic batch, fixed input size) to ``out`` and compare
    onnxruntime with torch on ``check_images`` (N, C, H, W float32; random when None).
    Returns {max_abs_diff, params, bytes, sha256, output_size (h, w of the logits)}."""
    import onnxruntime as ort

    model, state = load_checkpoint(checkpoint)
    params = sum(p.numel() for p in model.parameters())
    feed = spec(state["config"]["model"])
    w, h = feed.size
    out = Path(out)
    dummy = torch.zeros(1, feed.channels, h, w)
    with tempfile.TemporaryDirectory() as work:   # not beside the output: NAME.tmp.onnx there was overwritten
        tmp = Path(work) / "model.onnx"
        torch.onnx.export(model, (dummy,), str(tmp), input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                          dynamo=False)
        proto = onnx.load(str(tmp))   # which model it is, so that no other model's place takes it
        onnx.helper.set_model_props(proto, {MODEL_KEY: feed.name})
        onnx.save(proto, str(tmp))
        x = check_images if check_images is not None else np.random.default_rng(0).normal(size=(2, feed.channels, h, w))
        x = x.astype(np.float32)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
        diff = float(np.abs(expected - got).max())
        if diff > 1e-3:
            raise PersonsegError(f"ONNX output differs from torch by {diff:.2e}; not exported")
        data = tmp.read_bytes()
    write_bytes(out, data, overwrite=True)   # the caller refused an existing file unless asked
    return {"max_abs_diff": diff, "params": params, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "output_size": tuple(got.shape[2:])}


def run_record(checkpoint: str | Path) -> dict:
    """How the network of ``checkpoint`` was trained, for its card: its settings, the epoch kept (counted from 1,
    as the run's log counts; 0 is the network a run started from) and its validation IoU, and from the run's last.pt
    beside it, where that is of the same run, the options given, fingerprints of the training and validation data,
    the epochs run, their seconds and each epoch's log line. Read before anything is written."""
    kept = read_checkpoint(checkpoint)
    beside = Path(checkpoint).with_name("last.pt")
    run = kept if beside.resolve() == Path(checkpoint).resolve() else None
    if run is None and beside.is_file():
        try:
            run = read_checkpoint(beside)
        except PersonsegError:
            pass
    history = (run.get("history") or []) if run is not None else []
    line = next((h for h in history if h["epoch"] == kept["epoch"] + 1), None)   # the kept epoch's
    if run is not None and run is not kept and not _same_run(kept, run, line):
        run, history, line = None, [], None
    record: dict = {"config": kept["config"], "epoch_kept": kept["epoch"] + 1}
    if "val_iou" in kept:
        record["val_iou"] = _number(kept["val_iou"])
    elif line is not None and line.get("averaged"):
        record |= {"val_iou": None, "val_iou_note": f"last.pt holds epoch {line['epoch']}'s own weights; the "
                   f"validation IoU it logged, {_number(line['val_iou'])}, is of the mean of the last "
                   f"{line['averaged']} epochs' weights"}
    else:
        record["val_iou"] = None if line is None else _number(line["val_iou"])
    if run is None:
        return record | {"run": f"no last.pt of this run beside {Path(checkpoint).name}: the options, data and log "
                                "of the run are not known"}
    return record | {"options": run.get("command"), "data_fingerprint": run.get("data"), "epochs_run": len(history),
                     "train_seconds": round(sum(h["seconds"] for h in history), 1),
                     "log": [{k: _number(v) for k, v in h.items()} for h in history]}


def _same_run(kept: dict, run: dict, line: dict | None) -> bool:
    """Whether last.pt ``run`` is of the run that wrote checkpoint ``kept``: the same settings, at or past its
    epoch, logging (``line``: its log's line of that epoch) its validation IoU there (a copied best.pt beside
    another run's last.pt is not)."""
    if kept["epoch"] < 0:   # the starting network, kept: the best the run ever scored
        return kept["config"] == run["config"] and run.get("best") == kept.get("val_iou")
    return (kept["config"] == run["config"] and kept["epoch"] <= run["epoch"] and line is not None
            and ("val_iou" not in kept or line["val_iou"] == kept["val_iou"]))


def _number(value):
    """``value`` as JSON can hold it: a float not finite (a diverged run's loss) as None, others to 6 significant
    digits (a learning rate of 4e-10 stays one)."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    return value


def model_card(record: dict, onnx_file: str | Path, info: dict) -> dict:
    """The card of ``onnx_file``: what goes in and out (``info``: what ``export_onnx`` answered) and how it was
    trained (``record``: ``run_record`` of its checkpoint)."""
    model = spec(record["config"]["model"])
    return {"name": model.name, "file": Path(onnx_file).name, "sha256": info["sha256"], "bytes": info["bytes"],
            "parameters": info["params"],
            "input": {"size_wh": list(model.size), "mean": model.mean, "std": model.std, "layout": "NCHW RGB float32"},
            "output": "logits (N, 2, {}, {}): background, person".format(*info["output_size"]),
            "training": record, "onnx_vs_torch_max_abs_diff": info["max_abs_diff"]}
