"""Parts made for speed give what the slower ways gave (synthetic arrays; no network runs)."""

from __future__ import annotations

import cv2
import numpy as np

from personseg.allocator import tune_allocator
from personseg.outputs import COMPOSITE_ROWS, composite, render
from personseg.refine.fusion import OTHER_MIN_SHARE, largest_regions
from personseg.refine.matting import (BOUNDARY_TH, GUIDED_CONTRAST, GUIDED_EPS, boundary_mask, guided_filter,
                                      guided_matte, leftover_mask, opaque)
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


def test_steepening_folded_into_the_coefficients_is_the_steepened_filter():
    rgb, prob = _scene()
    plain = guided_filter(rgb, prob, 6, 0.005, subsample=2)
    steep = guided_filter(rgb, prob, 6, 0.005, subsample=2, contrast=GUIDED_CONTRAST)
    assert np.allclose(steep, (plain - 0.5) * GUIDED_CONTRAST + 0.5, atol=1e-4)


def test_an_unmatted_probability_is_made_opaque_with_the_same_mask():
    prob = np.random.default_rng(3).random((60, 40), dtype=np.float32)
    alpha = opaque(prob)
    assert np.array_equal(alpha >= 0.5, prob >= 0.5) and alpha.min() >= 0.0 and alpha.max() <= 1.0
    sure = 0.5 / GUIDED_CONTRAST
    assert (alpha[prob >= 0.5 + sure] == 1.0).all() and (alpha[prob <= 0.5 - sure] == 0.0).all()


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


def test_wide_guide_maps_are_blurred_on_halves_close_to_the_exact_blur():
    mask = np.zeros((401, 299), np.uint8)
    cv2.ellipse(mask, (150, 220), (80, 150), 0, 0, 360, 255, -1)
    half = int(round(BOUNDARY_TH * np.sqrt(np.count_nonzero(mask))))
    assert half >= 8   # wide enough to be halved
    m = (mask > 127).astype(np.uint8)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    inside = cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    band = ((outside <= half) & (inside <= half)).astype(np.float32)
    exact = cv2.GaussianBlur(band, (2 * half + 1, 2 * half + 1), 0)
    made = boundary_mask(mask)
    assert made.shape == mask.shape and made.dtype == np.float32
    assert np.abs(made - exact).max() < 0.02 and np.abs(made - exact).mean() < 0.002
    assert 0.0 <= leftover_mask(mask).min() and leftover_mask(mask).max() <= 1.0


def test_largest_regions_labelled_in_their_box_as_on_the_whole_mask():
    mask = np.zeros((200, 160), np.uint8)
    mask[150:190, 100:150] = 1
    mask[160:170, 10:20] = 1
    mask[120:125, 60:64] = 1
    labels, large = largest_regions(mask)
    count, whole, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    # the same regions (their numbers may differ): each region of the whole mask is one label here
    assert labels.max() == count - 1 and np.array_equal(labels > 0, whole > 0)
    assert all(len(np.unique(labels[whole == k])) == 1 for k in range(1, count))
    areas = sorted(stats[1:, cv2.CC_STAT_AREA], reverse=True)
    worth = [a for a in areas if a >= OTHER_MIN_SHARE * mask.size]
    assert [int((labels == k).sum()) for k in large] == worth[:len(large)]
    empty, none = largest_regions(np.zeros_like(mask))
    assert none == [] and not empty.any()


def _soft_scene(h: int, w: int, centre: tuple[int, int], axes: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A photo whose colours change down and across it, and a soft ellipse as its alpha."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([ys * 255 / h, xs * 255 / w, (ys + xs) % 97], 2).astype(np.uint8)
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, centre, axes, 0, 0, 360, 1.0, -1)
    return rgb, cv2.GaussianBlur(alpha, (15, 15), 0)


def test_foreground_box_and_halves_put_every_colour_back_in_its_place(monkeypatch):
    """With a per-pixel stand-in for pymatting's estimate, the estimate on the soft pixels' box in two halves
    (on two threads or one after the other) gives exactly what it gives on the whole working image."""
    from personseg.refine import matting

    class PerPixel:
        @staticmethod
        def estimate_foreground_ml(image, alpha, return_background):
            return image * np.float32(0.5) + alpha[..., None] * np.float32(0.25), np.float32(1) - image

    monkeypatch.setattr(matting, "_pymatting", PerPixel)
    scenes = [_soft_scene(800, 600, (300, 400), (200, 300)), _soft_scene(800, 600, (20, 780), (60, 90)),
              _soft_scene(120, 3000, (1500, 60), (1400, 50)), _soft_scene(700, 500, (250, 350), (40, 300))]
    shipped = (matting.FOREGROUND_SPLIT_FROM, matting.FOREGROUND_MARGIN)
    for rgb, alpha in scenes:
        made = {}
        for name, threads, (split_from, margin) in (("threads", True, shipped), ("in turn", False, shipped),
                                                    ("whole", False, (10**9, 10**6))):
            monkeypatch.setattr(matting, "_threads_allowed", lambda threads=threads: threads)
            monkeypatch.setattr(matting, "FOREGROUND_SPLIT_FROM", split_from)
            monkeypatch.setattr(matting, "FOREGROUND_MARGIN", margin)
            made[name] = matting.estimate_foreground(rgb, alpha)
        assert np.array_equal(made["threads"], made["whole"]) and np.array_equal(made["in turn"], made["whole"])
        assert not np.array_equal(made["whole"], rgb)


def test_foreground_estimate_takes_the_old_background_out(monkeypatch):
    """pymatting's estimate in halves recovers a composite's person colours far better than the photo's own, and
    the same colours whether the halves ran on two threads or one after the other."""
    from personseg.refine import matting

    h, w = 800, 600
    ramp = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    person = np.broadcast_to(np.concatenate([ramp, 255 - ramp, np.full_like(ramp, 90)], 2), (h, w, 3))
    backdrop = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8), (31, 31), 0)
    _, alpha = _soft_scene(h, w, (w // 2, h // 2), (w // 3, h // 3 + 40))
    rgb = (alpha[..., None] * person + (1 - alpha[..., None]) * backdrop + 0.5).astype(np.uint8)
    made = {}
    for threads in (True, False):
        monkeypatch.setattr(matting, "_threads_allowed", lambda threads=threads: threads)
        made[threads] = matting.estimate_foreground(rgb, alpha)
    assert np.array_equal(made[True], made[False])
    soft = (alpha > 0.05) & (alpha < 0.95)
    error = {name: (alpha[soft, None] * np.abs(fg[soft] - person[soft])).mean()
             for name, fg in (("estimate", made[True]), ("own", rgb))}
    assert error["estimate"] < 0.5 * error["own"]
