"""Export a trained checkpoint to ONNX and check onnxruntime agrees with torch; the exported model's card."""

from __future__ import annotations

import hashlib
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



def model_card(checkpoint: str | Path, onnx_file: str | Path, info: dict) -> dict:
    """The card of ``onnx_file``, exported from ``checkpoint`` (``info``: what ``export_onnx`` answered): what goes
    in and out, and how its run trained it, from the checkpoint and the run's last.pt beside it where there is one
    (the options given, the settings, fingerprints of the training and validation data, each epoch's loss and
    validation IoU). The epoch kept counts from 1, as the run's log does; 0 is the network a run started from."""
    kept = read_checkpoint(checkpoint)
    beside = Path(checkpoint).with_name("last.pt")
    run = read_checkpoint(beside) if beside.is_file() else kept
    model = spec(kept["config"]["model"])
    history = run.get("history") or []
    val_iou = kept.get("val_iou", next((h["val_iou"] for h in history if h["epoch"] == kept["epoch"] + 1), None))
    training = {"options": run.get("command"), "config": kept["config"], "data_fingerprint": run.get("data"),
                "epochs_run": len(history), "epoch_kept": kept["epoch"] + 1,
                "val_iou": None if val_iou is None else round(float(val_iou), 4),
                "train_seconds": round(sum(h["seconds"] for h in history), 1), "log": history}
    return {"name": model.name, "file": Path(onnx_file).name, "sha256": info["sha256"], "bytes": info["bytes"],
            "parameters": info["params"],
            "input": {"size_wh": list(model.size), "mean": model.mean, "std": model.std, "layout": "NCHW RGB float32"},
            "output": "logits (N, 2, {}, {}): background, person".format(*info["output_size"]),
            "training": training, "onnx_vs_torch_max_abs_diff": info["max_abs_diff"]}
