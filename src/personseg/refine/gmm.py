"""Small colour Gaussian mixtures (k-means initialised, as GrabCut does) for graph-cut unaries."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ColorGMM:
    weights: np.ndarray   # (k,)
    means: np.ndarray     # (k, 3)
    covs: np.ndarray      # (k, 3, 3)


def fit_gmm(pixels: np.ndarray, k: int = 5, seed: int = 0) -> ColorGMM:
    """Fit a k-component full-covariance mixture to (N, 3) float32 colours by k-means clustering."""
    pixels = np.asarray(pixels, np.float32)
    k = max(1, min(k, len(pixels) // 10))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 10, 0.5)
    _, assign, _ = cv2.kmeans(pixels, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    assign = assign.ravel()
    weights, means, covs = [], [], []
    for j in range(k):
        members = pixels[assign == j]
        if len(members) < 2:
            continue
        weights.append(len(members))
        means.append(members.mean(axis=0))
        covs.append(np.cov(members, rowvar=False) + np.eye(3, dtype=np.float32) * 1e-2)
    w = np.asarray(weights, np.float64)
    return ColorGMM(w / w.sum(), np.asarray(means, np.float64), np.asarray(covs, np.float64))


def log_likelihood(gmm: ColorGMM, pixels: np.ndarray) -> np.ndarray:
    """Log density of each (N, 3) colour under ``gmm``."""
    x = np.asarray(pixels, np.float64)
    comps = []
    for w, mu, cov in zip(gmm.weights, gmm.means, gmm.covs):
        inv = np.linalg.inv(cov)
        d = x - mu
        maha = np.einsum("ni,ij,nj->n", d, inv, d)
        comps.append(np.log(w) - 0.5 * (maha + np.log(np.linalg.det(cov)) + 3 * np.log(2 * np.pi)))
    return np.logaddexp.reduce(np.stack(comps), axis=0)
