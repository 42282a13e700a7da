"""MediaPipe's selfie segmentation model (the general 256x256 one bundled with mediapipe 0.10.14; offline).

Not trained here: `accurate` joins its person probability with that of our own networks (refine/fusion.py).
"""

from __future__ import annotations

import threading

import numpy as np

from ._mediapipe import solution, started
from .framing import blended, tiles

_MODEL = None
_LOCK = threading.Lock()


#: An image wider (or taller) than this is seen through square tiles (``framing.tiles``) rather than squashed
#: whole into the model's square input, which squeezes its people out of shape.
TILE_ABOVE = 2.0


def selfie_probability(rgb: np.ndarray) -> np.ndarray:
    """float32 HxW person probability of an RGB uint8 image, from the whole image (the model squashes it to
    256x256 and scales its output back), or from square tiles of a panorama (TILE_ABOVE)."""
    frames = tiles(rgb.shape, 1.0, TILE_ABOVE)
    if len(frames) == 1:
        return _seen(rgb)
    maps = [_seen(rgb[int(y0):int(y1), int(x0):int(x1)]) for x0, y0, x1, y1 in frames]
    return blended(frames, maps, rgb.shape)


def _seen(rgb: np.ndarray) -> np.ndarray:
    global _MODEL
    if _MODEL is None:   # made once (one call at a time runs it: Started)
        with _LOCK:
            if _MODEL is None:
                _MODEL = started(lambda: solution("selfie_segmentation").SelfieSegmentation(model_selection=0))
    mask = _MODEL.process(np.ascontiguousarray(rgb)).segmentation_mask
    return np.clip(mask, 0.0, 1.0).astype(np.float32, copy=False)
