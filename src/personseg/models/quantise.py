"""int8 copies of the shipped networks (onnxruntime static quantisation), for the models whose card says int8
runs faster and costs at most 0.002 IoU on held-out images (benchmarks/quantise.py times them all)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..framing import whole_frame
from ..runtime import preprocess
from .registry import ModelSpec


def calibration_input(rgb: np.ndarray, model: ModelSpec) -> np.ndarray:
    """The model's input for ``rgb``, framed whole; each prior or guide map a centred person-shaped blob (the
    range such maps take; the network's own inputs need keypoints or a coarse matte)."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-(((xx - w / 2) / (w / 4)) ** 2 + ((yy - h / 2) / (h / 3)) ** 2)).astype(np.float32)
    guides = np.dstack([blob] * len(model.guides)) if model.guides else None
    x = preprocess(rgb, model, whole_frame(rgb.shape, model.aspect), guides=guides)
    for c in range(3, 3 + len(model.priors)):   # no people given: the priors would be empty
        x[0, c] = (cv2.resize(blob, (x.shape[3], x.shape[2])) * 255.0 - model.mean[c]) / model.std[c]
    return x


def quantise(model: ModelSpec, source: Path, photos: list[np.ndarray], out: Path, layout: str = "QOperator") -> Path:
    """Write ``out``, an int8 copy of ``source`` (per-channel int8 weights, uint8 activations) calibrated on
    ``photos`` (RGB uint8), in onnxruntime's ``layout`` (QOperator or QDQ)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._inputs = (calibration_input(rgb, model) for rgb in photos)

        def get_next(self) -> dict | None:
            x = next(self._inputs, None)
            return None if x is None else {"image": x}

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(source), str(pre))
        quantize_static(str(pre), str(out), Reader(), quant_format=getattr(QuantFormat, layout), per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out
