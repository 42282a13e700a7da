"""onnxruntime sessions for shipped models, with each model's pre- and post-processing."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from .errors import PersonsegError
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
            _SESSIONS[model.name] = ort.InferenceSession(str(model.onnx_path), opts,
                                                         providers=["CPUExecutionProvider"])
        return _SESSIONS[model.name]


def preprocess(rgb: np.ndarray, model: ModelSpec) -> np.ndarray:
    """RGB uint8 HxWx3 -> (1, 3, h, w) float32 normalised at the model's input size."""
    x = cv2.resize(rgb, model.size, interpolation=cv2.INTER_AREA).astype(np.float32)
    x = (x - np.array(model.mean, np.float32)) / np.array(model.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def foreground_probability(rgb: np.ndarray, name: str) -> np.ndarray:
    """float32 HxW person probability from shipped model ``name``, at the image's size."""
    model = spec(name)
    logits = session(model).run(None, {"image": preprocess(rgb, model)})[0][0]
    prob = 1.0 / (1.0 + np.exp(np.clip(logits[0] - logits[1], -50, 50)))
    return cv2.resize(prob.astype(np.float32), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
