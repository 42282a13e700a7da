"""Seed 002's classical segmentation: keypoint-seeded GMM graph cut, with SLIC superpixels for the seeds.

Seeds come from the body frame drawn from the keypoints; colour models are Gaussian mixtures of
the seeded pixels; the cut also weighs a spatial prior (the seed 000 saliency), so that colours
shared by person and background are decided by where they are.
"""

from __future__ import annotations

import maxflow
import numpy as np

import cv2

from ..pose.keypoints import MIN_SCORE, validate_keypoints
from ..priors.body import body_from_keypoints, draw_frame, draw_skeleton
from .crf import dense_crf
from .fusion import outline_prior
from .gmm import fit_gmm, log_likelihood

#: Longest side, in pixels, at which the classical graph cut and CRF run; the result is scaled back up.
CLASSICAL_WORK_SIDE = 320

#: Seed labels.
BG, FG, PR_BG, PR_FG = 0, 1, 2, 3
#: Seeds: the core deeper than CORE body scales (shoulder widths) inside the body frame is foreground,
#: everything further than MARGIN head widths outside it background. Chosen on images no model trained on
#: (EG1800's 51 unlisted portraits, 89 CCP photos; classical + matting, IoU / boundary F): 0.4 head widths
#: 0.854 / 0.595 and CCP 0.822 / 0.747; 1.0: 0.864 / 0.615 and 0.867 / 0.809; 2.0: 0.864 / 0.615 and 0.872 /
#: 0.813; 4.0: CCP 0.870 / 0.808. Nearer margins cut off hair and loose clothes for certain.
CORE = 0.15
MARGIN = 2.0
#: Width of the limb ovals (share of the skeleton map's) that is sure foreground.
SKELETON_CORE = 0.25
#: ... counted only for limbs whose both keypoints score at least this.
SKELETON_CORE_SCORE = 0.8
#: Share of the head oval (same centre) that is sure foreground.
FACE_CORE = 0.5
#: Share of a superpixel that must lie in the core for the whole superpixel to become a foreground seed.
SLIC_COVER = 0.6
#: Spatial prior: fall-off (head widths) of the foreground probability outside the frame, and its range.
PRIOR_FALLOFF = 0.3
PRIOR_RANGE = (0.2, 0.8)
#: Weight of the contrast-sensitive smoothness term (GrabCut's gamma).
SMOOTHNESS = 30.0


def seed_labels(
    rgb: np.ndarray, kp: np.ndarray, min_score: float = MIN_SCORE, n_segments: int = 250
) -> tuple[np.ndarray, np.ndarray]:
    """Seed labels (BG / FG / PR_BG / PR_FG) and the spatial foreground prior, both HxW.

    Sure foreground: the skeleton's thin ovals and the core of the body frame, grown to the SLIC superpixels it mostly covers.
    Sure background: far outside the frame. In between: probable foreground on the frame,
    probable background off it.
    """
    kp = validate_keypoints(kp)
    shape = rgb.shape[:2]
    body = body_from_keypoints(kp, min_score)
    labels = np.full(shape, PR_BG, np.uint8)
    if body.empty:
        return labels, np.full(shape, 0.5, np.float32)
    frame = draw_frame(body, shape)
    inside = cv2.distanceTransform(frame, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - frame, cv2.DIST_L2, 5)
    sure_limbs = body_from_keypoints(kp, max(min_score, SKELETON_CORE_SCORE))
    core = (inside > CORE * body.scale) | (draw_skeleton(sure_limbs, shape, widen=SKELETON_CORE) > 0)
    if body.head is not None:
        center, (a, b), angle = body.head
        face = np.zeros(shape, np.uint8)
        cv2.ellipse(face, (tuple(map(float, center)), (2 * a * FACE_CORE, 2 * b * FACE_CORE), angle), 1, -1)
        core |= face > 0
    from skimage.segmentation import slic   # scipy.cluster with it: 0.6 s of every command's start

    segments = slic(rgb, n_segments=n_segments, compactness=10, start_label=0)
    cover = np.bincount(segments.ravel(), weights=core.ravel(), minlength=segments.max() + 1)
    size = np.bincount(segments.ravel(), minlength=segments.max() + 1)
    core |= (cover / np.maximum(size, 1))[segments] >= SLIC_COVER
    labels[frame > 0] = PR_FG
    labels[outside > MARGIN * body.detail_scale] = BG
    labels[core & (outside == 0)] = FG
    lo, hi = PRIOR_RANGE
    near = np.exp(-0.5 * (outside / max(PRIOR_FALLOFF * body.detail_scale, 1.0)) ** 2)
    return labels, (lo + (hi - lo) * near).astype(np.float32)


def graph_cut(
    rgb: np.ndarray, labels: np.ndarray, prior: np.ndarray, iterations: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """GMM graph cut from seed ``labels`` and a spatial ``prior``.

    Returns the mask (uint8 {0, 255}) and the per-pixel foreground probability of the final
    colour models and prior (float32), which later refinement uses as its unary. Without both a
    foreground and a background seed region the seeds decide alone.
    """
    fg = (labels == FG) | (labels == PR_FG)
    if fg.all() or not fg.any():
        return (fg * 255).astype(np.uint8), fg.astype(np.float32)
    h, w = labels.shape
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    pairwise = _pairwise_weights(rgb)
    log_prior_fg, log_prior_bg = np.log(prior.ravel()), np.log1p(-prior.ravel())
    for _ in range(iterations):
        ll_fg = log_likelihood(fit_gmm(_sample(pixels, fg.ravel())), pixels) + log_prior_fg
        ll_bg = log_likelihood(fit_gmm(_sample(pixels, ~fg.ravel())), pixels) + log_prior_bg
        cost_fg, cost_bg = -ll_fg.reshape(h, w), -ll_bg.reshape(h, w)
        big = 1e9
        cost_fg[labels == BG], cost_bg[labels == BG] = big, 0.0
        cost_fg[labels == FG], cost_bg[labels == FG] = 0.0, big
        new = _cut(cost_fg, cost_bg, pairwise)
        if np.array_equal(new, fg) or new.all() or not new.any():
            break
        fg = new
    prob = 1.0 / (1.0 + np.exp(np.clip(ll_bg - ll_fg, -50, 50))).reshape(h, w)
    prob[labels == FG], prob[labels == BG] = 1.0, 0.0
    return (fg * 255).astype(np.uint8), prob.astype(np.float32)


def _sample(pixels: np.ndarray, select: np.ndarray, limit: int = 20000) -> np.ndarray:
    idx = np.flatnonzero(select)
    if len(idx) > limit:
        idx = idx[:: len(idx) // limit + 1]
    return pixels[idx]


def _pairwise_weights(rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Contrast-sensitive edge weights (GrabCut's) for the right, down and two diagonal neighbours."""
    img = rgb.astype(np.float32)
    h, w = img.shape[:2]
    pairs = []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ys, xs = slice(0, h - dy), slice(max(0, -dx), w - max(0, dx))
        a, b = img[ys, xs], img[dy:h, max(0, dx): w - max(0, -dx)]
        pairs.append((dy, dx, ys, xs, ((a - b) ** 2).sum(axis=2)))
    beta = 1.0 / (2.0 * max(float(np.mean(np.concatenate([p[4].ravel() for p in pairs]))), 1e-6))
    out = []
    for dy, dx, ys, xs, d in pairs:
        weight = np.zeros((h, w), np.float64)
        weight[ys, xs] = SMOOTHNESS / np.hypot(dy, dx) * np.exp(-beta * d)
        structure = np.zeros((3, 3))
        structure[1 + dy, 1 + dx] = 1
        out.append((weight, structure))
    return out


def _cut(cost_fg: np.ndarray, cost_bg: np.ndarray, pairwise: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    g = maxflow.Graph[float]()
    nodes = g.add_grid_nodes(cost_fg.shape)
    for weight, structure in pairwise:
        g.add_grid_edges(nodes, weights=weight, structure=structure, symmetric=True)
    # Source side = foreground: cutting a node to the sink costs its foreground cost.
    g.add_grid_tedges(nodes, cost_bg, cost_fg)
    g.maxflow()
    return ~g.get_grid_segments(nodes)


def classical_probability(rgb: np.ndarray, kp: np.ndarray, crf: bool = True, work_side: int = CLASSICAL_WORK_SIDE,
                          outline: np.ndarray | None = None) -> np.ndarray:
    """Foreground probability (float32 HxW) of the person with keypoints ``kp`` by the keypoint-seeded graph cut,
    refined by a dense CRF (``crf``), at ``work_side`` and scaled back up. ``outline``: the pose backend's
    probability map of this person, then the cut's spatial prior (else the prior falls off with the distance
    from the body drawn from the keypoints)."""
    h, w = rgb.shape[:2]
    if kp[:, 2].max() < MIN_SCORE:
        return np.zeros((h, w), np.float32)
    f = min(1.0, work_side / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    kp_small = kp.copy()
    kp_small[:, :2] *= f
    labels, prior = seed_labels(small, kp_small)
    if outline is not None:
        prior = outline_prior(cv2.resize(outline, small.shape[1::-1], interpolation=cv2.INTER_AREA))
    mask, colour_prob = graph_cut(small, labels, prior)
    prob = np.where(mask > 0, 0.8, 0.2).astype(np.float32) * 0.6 + 0.4 * colour_prob
    if crf:
        prob = dense_crf(small, prob)
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
