"""Dense CRF refinement (pydensecrf2) of a foreground probability, guided by the image's colours."""

from __future__ import annotations

import numpy as np

from ..errors import DependencyError

#: Pairwise kernel settings (spatial std in pixels at the working size, colour std, weights).
SMOOTH_SXY, SMOOTH_W = 3, 3
BILATERAL_SXY, BILATERAL_SRGB, BILATERAL_W = 40, 20, 3


def crf_available() -> bool:
    """True when pydensecrf2 is installed (the ``crf`` extra)."""
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        return False
    return True


def dense_crf(rgb: np.ndarray, prob: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Refined foreground probability (float32 HxW) from ``prob`` by mean-field inference."""
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError:
        raise DependencyError("dense CRF needs pydensecrf2: pip install 'personseg[crf]'") from None
    h, w = prob.shape
    p = np.clip(prob.astype(np.float32), 1e-4, 1 - 1e-4)
    unary = -np.log(np.stack([1 - p, p]).reshape(2, -1))
    crf = dcrf.DenseCRF2D(w, h, 2)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    crf.addPairwiseGaussian(sxy=SMOOTH_SXY, compat=SMOOTH_W)
    crf.addPairwiseBilateral(
        sxy=BILATERAL_SXY, srgb=BILATERAL_SRGB, rgbim=np.ascontiguousarray(rgb, dtype=np.uint8), compat=BILATERAL_W
    )
    q = np.array(crf.inference(iterations)).reshape(2, h, w)
    return q[1].astype(np.float32)
