"""Torch weights read back from an ONNX file made by ``export_onnx``, so that a shipped model (only its ONNX
file is shipped) can be fine-tuned.

The exporter folds each batch norm that directly follows a convolution into that convolution. Such a pair
comes back as the folded convolution followed by a batch norm that only adds the folded bias (zero mean,
unit variance): the same function in eval mode. Training must then keep every batch norm's statistics fixed
(``freeze_batch_norms``), since the folded layers' own statistics are gone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import PersonsegError


def weights_from_onnx(model: nn.Module, path: str | Path, channels: int) -> dict[str, torch.Tensor]:
    """A state dict for ``model`` (a fresh module of the architecture ``path`` was exported from, fed
    ``channels`` input planes) that computes what the ONNX file computes; checked on a random input."""
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    try:
        graph = onnx.load(str(path)).graph
    except Exception as e:  # onnx raises several types for unreadable files
        raise PersonsegError(f"{path}: not an ONNX file ({e})") from None
    values = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    convs_onnx = [n for n in graph.node if n.op_type == "Conv"]
    convs, folded_into, used = _conv_order(model, channels)
    if len(convs) != len(convs_onnx):
        raise PersonsegError(f"{path}: {len(convs_onnx)} convolutions, the model has {len(convs)}; another architecture")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    filled: set[str] = set()
    for name, node in zip(convs, convs_onnx):
        weight = values[node.input[1]]
        bias = values[node.input[2]] if len(node.input) > 2 else None
        if weight.shape != state[f"{name}.weight"].shape:
            raise PersonsegError(f"{path}: convolution {name} has shape {tuple(weight.shape)}; another architecture")
        state[f"{name}.weight"] = weight
        filled.add(f"{name}.weight")
        norm = folded_into.get(name)
        if norm is not None and f"{norm}.weight" not in values:   # the exporter folded this batch norm in
            eps = model.get_submodule(norm).eps
            state[f"{norm}.weight"] = torch.ones_like(state[f"{norm}.weight"])
            state[f"{norm}.bias"] = bias if bias is not None else torch.zeros_like(state[f"{norm}.bias"])
            state[f"{norm}.running_mean"] = torch.zeros_like(state[f"{norm}.running_mean"])
            state[f"{norm}.running_var"] = torch.full_like(state[f"{norm}.running_var"], 1.0 - eps)
            filled |= {f"{norm}.{k}" for k in ("weight", "bias", "running_mean", "running_var")}
        elif bias is not None:
            if f"{name}.bias" not in state:
                raise PersonsegError(f"{path}: convolution {name} has a bias the model lacks; another architecture")
            state[f"{name}.bias"] = bias
            filled.add(f"{name}.bias")
    for key in state:
        if key in filled or key.endswith("num_batches_tracked") or key.rsplit(".", 1)[0] not in used:
            continue   # layers the exported (eval) graph does not run, e.g. training's auxiliary heads, keep their start
        if key in values:
            state[key] = values[key]
        else:
            raise PersonsegError(f"{path}: no weights for {key}; another architecture")
    _check(model, state, path, channels)
    return state


def freeze_batch_norms(model: nn.Module) -> None:
    """Put every batch norm of ``model`` in eval mode (running statistics used and kept; scale and shift still
    learnt); call after each ``model.train()``."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def _conv_order(model: nn.Module, channels: int) -> tuple[list[str], dict[str, str], set[str]]:
    """The model's convolutions in the order an eval forward pass runs them (the exported graph's order), for
    each convolution whose output goes straight into a batch norm that batch norm's name, and the names of all
    the modules that pass runs."""
    names = {m: n for n, m in model.named_modules()}
    calls: list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append((names[m], m, i[0] if i else None, o)))
             for m in model.modules()]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, channels, 64, 64))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    convs = [name for name, m, _, _ in calls if isinstance(m, nn.Conv2d)]
    outputs = {id(out): name for name, m, _, out in calls if isinstance(m, nn.Conv2d)}
    folded = {outputs[id(inp)]: name for name, m, inp, _ in calls
              if isinstance(m, nn.modules.batchnorm._BatchNorm) and id(inp) in outputs}
    return convs, folded, {name for name, *_ in calls}


def _check(model: nn.Module, state: dict[str, torch.Tensor], path: Path, channels: int) -> None:
    """Raise unless the model with ``state`` gives the ONNX file's outputs on a random input."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    x = np.random.default_rng(0).normal(size=(1, channels, shape[2], shape[3])).astype(np.float32)
    was_training = model.training
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    model.train(was_training)
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    diff = float(np.abs(got - expected).max())
    if diff > 1e-3:
        raise PersonsegError(f"{path}: weights read back differ from the ONNX model by {diff:.2e}")
