"""onnxruntime sessions for shipped models, with each model's pre- and post-processing."""

from __future__ import annotations

import threading

import numpy as np

from .errors import PersonsegError
from .framing import Box, crop, paste, whole_frame
from .models.registry import ModelSpec, spec

_SESSIONS: dict[str, object] = {}
_LOCK = threading.Lock()


def session(model: ModelSpec):
    """A cached onnxruntime session for ``model``'s shipped file."""
    with _LOCK:
        if model.name not in _SESSIONS:
            if not model.onnx_path.is_file():
                raise PersonsegError(f"model file {model.onnx_path} is missing; reinstall personseg")
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # idle worker threads sleep instead of spinning: with decoding, pose and encoding threads beside
            # the network (video), spinning took their CPU (measured: 15.5 -> 19.2 frames/s end to end)
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            _SESSIONS[model.name] = ort.InferenceSession(str(model.onnx_path), opts,
                                                         providers=["CPUExecutionProvider"])
        return _SESSIONS[model.name]


def preprocess(rgb: np.ndarray, model: ModelSpec, box: Box) -> np.ndarray:
    """The ``box`` region of an RGB uint8 HxWx3 image -> (1, 3, h, w) float32 normalised at the model's input size."""
    planes = np.ascontiguousarray(crop(rgb, box, model.size).transpose(2, 0, 1)).astype(np.float32)
    planes -= np.array(model.mean, np.float32)[:, None, None]
    planes *= (1.0 / np.array(model.std, np.float32))[:, None, None]
    return planes[None]


def network_map(rgb: np.ndarray, name: str, box: Box) -> np.ndarray:
    """float32 person probability of the ``box`` region, at model ``name``'s input size."""
    model = spec(name)
    logits = session(model).run(None, {"image": preprocess(rgb, model, box)})[0][0]
    return (1.0 / (1.0 + np.exp(np.clip(logits[0] - logits[1], -50, 50)))).astype(np.float32)


def foreground_probability(rgb: np.ndarray, name: str, box: Box | None = None) -> np.ndarray:
    """float32 HxW person probability from shipped model ``name``, run on ``box`` (default: the whole image,
    letterboxed to the model's aspect ratio); 0 outside the box."""
    box = box or whole_frame(rgb.shape, spec(name).aspect)
    return paste(network_map(rgb, name, box), box, rgb.shape)
