"""Parts made for speed give what the slower ways gave (synthetic arrays; no network runs)."""

from __future__ import annotations

import cv2
import numpy as np

from personseg.allocator import tune_allocator
from personseg.outputs import COMPOSITE_ROWS, composite, render
from personseg.refine.matting import GUIDED_CONTRAST, GUIDED_EPS, guided_filter, guided_matte
from personseg.result import Result


def _scene(h: int = 120, w: int = 90) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (7, 7), 0)
    prob = np.zeros((h, w), np.float32)
    cv2.ellipse(prob, (w // 2, h // 2), (w // 4, h // 3), 0, 0, 360, 1.0, -1)
    return rgb, cv2.GaussianBlur(prob, (9, 9), 0)


def test_small_windows_get_the_exact_filter():
    rgb, prob = _scene(h=400, w=300)
    small = np.zeros_like(prob)
    small[100:160, 100:130] = prob[100:160, 100:130] > 0   # a person some 40 px tall: a window of 2 px
    alpha = guided_matte(rgb, small)
    exact = cv2.ximgproc.guidedFilter(rgb, small, 2, GUIDED_EPS * 255.0**2)
    assert np.allclose(alpha, np.clip((exact - 0.5) * GUIDED_CONTRAST + 0.5, 0, 1), atol=1e-5)


def test_subsampled_guided_filter_stays_close_and_keeps_the_edge():
    rgb, prob = _scene()
    exact = cv2.ximgproc.guidedFilter(rgb, prob, 6, 0.005 * 255.0**2)
    fast = guided_filter(rgb, prob, 6, 0.005, subsample=2)
    assert fast.shape == prob.shape and fast.dtype == np.float32
    assert np.abs(fast - exact).mean() < 0.01
    assert np.mean((fast >= 0.5) == (exact >= 0.5)) > 0.99


def test_composite_in_strips_is_one_blend():
    rgb, prob = _scene(h=2 * COMPOSITE_ROWS + 37)
    result = Result(mask=(prob >= 0.5).astype(np.uint8) * 255, alpha=prob, keypoints=np.zeros((17, 3), np.float32),
                    people=[], rgb=rgb, estimate_foreground=False)
    bg = np.full_like(rgb, 90)
    assert np.array_equal(composite(result, bg), cv2.blendLinear(rgb, bg, prob, 1.0 - prob))


def test_alpha_output_is_rounded_and_saturated():
    alpha = np.array([[0.0, 0.2, 0.5, 0.999, 1.0, 1.2]], np.float32)
    result = Result(mask=np.zeros(alpha.shape, np.uint8), alpha=alpha, keypoints=np.zeros((17, 3), np.float32),
                    people=[], rgb=np.zeros(alpha.shape + (3,), np.uint8), estimate_foreground=False)
    assert render(result, "alpha").tolist() == [[0, 51, 128, 255, 255, 255]]


def test_tuning_the_allocator_twice_is_harmless():
    tune_allocator()
    tune_allocator()
    assert np.ones((2000, 2000), np.float32).sum() == 4e6
