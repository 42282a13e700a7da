"""Seed 003's matting stage: trimap from a coarse mask, alpha matting in the unknown band, the boundary
and leftover masks, and foreground colours for halo-free cut-outs."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np

from ..errors import DependencyError
from ..framing import binary_mask, shrunk

#: Half-width of the trimap's unknown band as a share of sqrt(mask area) (about 10 px for a portrait).
TRIMAP_BAND = 0.018
#: Longest side, in pixels, at which the matting runs by default; the alpha is scaled back up. Measured on
#: EG1800 test (fast method, 80 images): the same IoU and boundary F as at full size (600x800), 5x faster.
MATTING_SIDE = 400
#: Guided-filter matting: window radius as a share of sqrt(mask area) (about 12 px for a portrait at the
#: working size), and the regularisation (on colours scaled to [0, 1]) that decides how strong an edge must be
#: to be followed. Chosen on images no shipped model trained on (EG1800's 51 unlisted portraits, the 89 CCP
#: photos of the models' validation split), with the fast method: radius 0.03-0.1, eps 0.003-0.03.
GUIDED_RADIUS = 0.05
GUIDED_EPS = 0.005
#: The filtered map is steepened about 0.5 by this factor (the mask is unchanged): soft alpha then covers about
#: as many pixels as closed-form matting's (held-out portraits 4.3% vs 4.2%), not a wide haze (32% unsteepened).
GUIDED_CONTRAST = 3.0
#: The guided filter's coefficients are computed on the working-size image shrunk by this factor again and
#: applied at working size (He and Sun's fast guided filter, 2015): they are smooth, and the shrinking costs
#: the guide's detail nothing. On the choice groups (held-out EG1800 and CCP, pennfudan, coco_people and
#: coco_single train) the masks score within 0.0006 IoU of the exact filter's, boundary F within 0.0025; the
#: step takes a third less time (docs/speed.md).
GUIDED_SUBSAMPLE = 2
#: ... only for windows at least this wide (a person of at least 160 x 160 px of area at the working size). Small people
#: get the exact filter: windows of 2-4 px, halved, lost up to 0.011 IoU on the video clips (accurate with
#: guided matting: parkour 0.9233 -> 0.9160, tennis 0.8899 -> 0.8790).
GUIDED_SUBSAMPLE_RADIUS = 8
#: Seed 003's thresholds for the boundary and leftover masks, as shares of sqrt(area of the matte).
BOUNDARY_TH = 0.2
LEFTOVER_TH = 0.05


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def band_radius(mask: np.ndarray, share: float = TRIMAP_BAND) -> int:
    """Trimap half-width in pixels for ``mask``, grown with the person's size (at least 2 px)."""
    return max(2, int(round(share * np.sqrt(np.count_nonzero(mask)))))


def trimap(mask: np.ndarray, radius: int | None = None) -> np.ndarray:
    """float64 HxW trimap: 1 sure foreground (mask eroded), 0 sure background (outside the dilated mask),
    0.5 unknown between."""
    m = (mask > 127).astype(np.uint8)
    r = band_radius(mask) if radius is None else radius
    sure_fg = cv2.erode(m, _disk(r), borderType=cv2.BORDER_REPLICATE)
    maybe = cv2.dilate(m, _disk(r))
    out = np.full(m.shape, 0.5)
    out[sure_fg > 0] = 1.0
    out[maybe == 0] = 0.0
    return out


def estimate_alpha(rgb: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """float32 HxW alpha in [0, 1] by closed-form matting (pymatting), solved only around the unknown band."""
    unknown = tri == 0.5
    alpha = (tri >= 0.5).astype(np.float32)
    if not unknown.any() or not (tri == 1).any() or not (tri == 0).any():
        return alpha
    ys, xs = np.nonzero(unknown)
    pad = 8
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, tri.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, tri.shape[1])
    crop_tri = tri[y0:y1, x0:x1]
    if not (crop_tri == 1).any() or not (crop_tri == 0).any():
        return alpha
    estimate_alpha_cf = _pymatting().estimate_alpha_cf
    # its preconditioner prints each failed try before the shift that works: not ours to show
    with contextlib.redirect_stdout(io.StringIO()):
        crop = estimate_alpha_cf(rgb[y0:y1, x0:x1].astype(np.float64) / 255.0, crop_tri)
    alpha[y0:y1, x0:x1] = np.clip(crop, 0.0, 1.0)
    return alpha


def matte(rgb: np.ndarray, prob: np.ndarray, side: int | None = MATTING_SIDE) -> np.ndarray:
    """float32 HxW alpha of the person where ``prob`` (float person probability, HxW or at the working size)
    >= 0.5, made at the working size ``side`` (see ``working_matte``) and scaled back up to the image's size."""
    return cv2.resize(working_matte(rgb, prob, side), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def working_matte(rgb: np.ndarray, prob: np.ndarray, side: int | None = MATTING_SIDE) -> np.ndarray:
    """float32 alpha of the person where ``prob`` (float person probability, HxW or at the working size) >= 0.5:
    trimap of that mask and closed-form matting, on the image shrunk so its longest side is at most ``side``
    (None: full size); the alpha is returned at that working size."""
    rgb, prob = _shrunk(rgb, prob, side)
    return estimate_alpha(rgb, trimap(binary_mask(prob)))


def working_size(shape: tuple[int, ...], side: int | None) -> tuple[int, int]:
    """(w, h) of an image of ``shape`` shrunk so its longest side is at most ``side`` (None: as it is)."""
    h, w = shape[:2]
    f = 1.0 if side is None else min(1.0, side / max(h, w))
    return (max(1, round(w * f)), max(1, round(h * f))) if f < 1.0 else (w, h)


def shrunk_probability(prob: np.ndarray, side: int | None, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``prob`` as float32 at the working size of an image of ``shape`` (default: ``prob``'s own), its longest
    side at most ``side`` (None: as it is)."""
    prob = np.asarray(prob, np.float32)
    size = working_size(prob.shape if shape is None else shape, side)
    return prob if size == prob.shape[::-1] else cv2.resize(prob, size, interpolation=cv2.INTER_LINEAR)


def _shrunk(rgb: np.ndarray, prob: np.ndarray, side: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` shrunk so its longest side is at most ``side`` (None: as it is), and ``prob`` (as float32; the
    image's size or smaller) at that size."""
    return shrunk(rgb, working_size(rgb.shape, side)), shrunk_probability(prob, side, rgb.shape)


def guided_matte(rgb: np.ndarray, prob: np.ndarray, side: int | None = MATTING_SIDE,
                 radius: float = GUIDED_RADIUS, eps: float = GUIDED_EPS) -> np.ndarray:
    """float32 HxW alpha from ``prob`` (float person probability, HxW or at the working size) by a guided
    filter (He et al.) with the image as guide: the map becomes locally a linear function of the colours, so its
    edges move onto the image's; then steepened (GUIDED_CONTRAST) so that only the edge stays soft. Made on the
    image shrunk so its longest side is at most ``side`` (None: full size) and scaled back up; the window grows
    with the person's size (``radius`` x sqrt of the mask's area)."""
    h, w = rgb.shape[:2]
    small_rgb, small = _shrunk(rgb, prob, side)
    area = cv2.countNonZero(binary_mask(small))
    if area == 0:
        return np.zeros((h, w), np.float32)
    r = max(1, int(round(radius * np.sqrt(area))))
    alpha = guided_filter(small_rgb, small, r, eps, contrast=GUIDED_CONTRAST)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    return alpha if alpha.shape == (h, w) else cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float,
                  subsample: int | None = None, contrast: float = 1.0) -> np.ndarray:
    """float32 HxW ``src`` (float32 HxW) filtered by a colour guided filter (He et al.) with ``guide`` (uint8
    HxWx3) as guide: in each window of ``radius`` the output is a linear function of the guide's colours
    (scaled to [0, 1]) fitted to ``src`` with ridge ``eps``; then steepened about 0.5 by ``contrast`` (not
    clipped). The coefficients are fitted on both shrunk by ``subsample`` (1: the exact filter; None:
    GUIDED_SUBSAMPLE for windows of GUIDED_SUBSAMPLE_RADIUS and more, else 1) and applied to the full-size guide
    (fast guided filter), the steepening folded into them."""
    if subsample is None:
        subsample = GUIDED_SUBSAMPLE if radius >= GUIDED_SUBSAMPLE_RADIUS else 1
    if subsample == 1:   # the exact filter: OpenCV's is faster than the same sums here
        out = cv2.ximgproc.guidedFilter(guide, src, radius, eps * 255.0**2)
        return out if contrast == 1 else (out - np.float32(0.5)) * np.float32(contrast) + np.float32(0.5)
    h, w = src.shape
    size = (max(1, w // subsample), max(1, h // subsample))
    small = cv2.resize(guide, size, interpolation=cv2.INTER_AREA)
    p = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
    k = 2 * max(1, round(radius / subsample)) + 1

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (k, k), borderType=cv2.BORDER_REFLECT)

    def less(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """x y - u v in a new array (in-place steps: at this size numpy's allocations cost as much as its sums)."""
        out = x * y
        out -= u * v
        return out

    def cov(x: np.ndarray, y: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
        out = mean(x * y)
        out -= mx * my
        return out

    r, g, b = (c.astype(np.float32) * np.float32(1 / 255) for c in cv2.split(small))
    mr, mg, mb, mp = mean(r), mean(g), mean(b), mean(p)
    cr, cg, cb = cov(r, p, mr, mp), cov(g, p, mg, mp), cov(b, p, mb, mp)
    rr, rg, rb = cov(r, r, mr, mr), cov(r, g, mr, mg), cov(r, b, mr, mb)
    gg, gb, bb = cov(g, g, mg, mg), cov(g, b, mg, mb), cov(b, b, mb, mb)
    rr += eps
    gg += eps
    bb += eps
    # a = (covariance of the colours + eps I)^-1 x (covariance of colours and src), by the 3x3 adjugate
    irr, irg, irb = less(gg, bb, gb, gb), less(gb, rb, rg, bb), less(rg, gb, gg, rb)
    igg, igb, ibb = less(rr, bb, rb, rb), less(rb, rg, rr, gb), less(rr, gg, rg, rg)
    det = rr * irr
    det += rg * irg
    det += rb * irb
    # 1 / det with the steepening and the guide's 0..255 colours folded in
    inv = np.divide(np.float32(contrast / 255), det, out=det)

    def solved(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        out = x * cr
        out += y * cg
        out += z * cb
        out *= inv
        return out

    ar, ag, ab = solved(irr, irg, irb), solved(irg, igg, igb), solved(irb, igb, ibb)
    offset = mp * np.float32(contrast)
    offset -= (ar * mr + ag * mg + ab * mb) * np.float32(255)
    offset += np.float32(0.5 - 0.5 * contrast)
    # each plane scaled up on its own and the guide's colours as planes: no interleaved copies at this size
    ar, ag, ab, offset = (cv2.resize(mean(c), (w, h), interpolation=cv2.INTER_LINEAR) for c in (ar, ag, ab, offset))
    r, g, b = cv2.split(guide)
    ar *= r
    ag *= g
    ab *= b
    ar += ag
    ar += ab
    ar += offset
    return ar


#: The foreground estimate runs on the working image's box around the soft pixels, this many working pixels
#: wider on each side, cut in two along its longer side, each half reaching as far past the cut, and the halves
#: are estimated at once on two threads (pymatting's estimate is one sequential sweep). On EG1800 and CCP train
#: composites (benchmarks/foreground.py's error, 40 photos each) 7.00 -> 6.92 and 10.60 -> 10.47, the estimate
#: 18.9 -> 12.0 ms a 600x800 photo (docs/speed.md).
FOREGROUND_MARGIN = 16
#: ... cut in two only from this long side on (a small person's box is not worth a thread).
FOREGROUND_SPLIT_FROM = 96


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 foreground colours: the person's colours with the old background taken out of the soft edge,
    so a cut-out on a new background has no halo. pymatting's multi-level estimate of the person's and the
    background's colours runs on the image shrunk to the matting's working size (MATTING_SIDE, where the alpha
    was made), on the box around the soft pixels (FOREGROUND_MARGIN); each soft pixel at full size then takes
    the person's colour there corrected by what the compositing equation leaves over, which carries the image's
    own detail (the last step of Forte and Pitie's blur fusion, ICIP 2021). Elsewhere the image's own colours
    are kept. Chosen on synthetic composites of EG1800 train photos (benchmarks/foreground.py): error within 2%
    of the estimate at full size, a third of its time."""
    ys, xs = np.nonzero((alpha > 0.01) & (alpha < 0.99))
    fg = rgb.copy()
    if not len(ys):
        return fg
    h, w = alpha.shape
    size = working_size(alpha.shape, MATTING_SIDE)
    at_x, at_y = ((v.astype(np.float32) + 0.5) * (n / full) - 0.5   # the soft pixels' places in the small image
                  for v, n, full in ((xs, size[0], w), (ys, size[1], h)))
    box = tuple(slice(max(0, int(v.min()) - FOREGROUND_MARGIN), min(n, int(v.max()) + 2 + FOREGROUND_MARGIN))
                for v, n in ((at_y, size[1]), (at_x, size[0])))
    small = shrunk(rgb, size)[box].astype(np.float32) / 255.0
    small_alpha = cv2.resize(alpha.astype(np.float32), size, interpolation=cv2.INTER_AREA)[box]
    person, background = _estimate_in_halves(small, small_alpha)
    at_x -= box[1].start
    at_y -= box[0].start
    person = _sampled(person, at_x, at_y)
    background = _sampled(background, at_x, at_y)
    a = alpha[ys, xs].astype(np.float32)[:, None]
    image = rgb[ys, xs].astype(np.float32) / 255.0
    est = person + a * (image - a * person - (1.0 - a) * background)
    fg[ys, xs] = np.clip(est * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return fg


def _estimate_in_halves(image: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pymatting's multi-level foreground and background estimates (float32 HxWx3), made on two halves from a
    long side of FOREGROUND_SPLIT_FROM on (each half reaching FOREGROUND_MARGIN past the cut, kept up to it). The
    second half runs on a thread of its own where that can run at once (``_threads_allowed``), else after the
    first: the colours are the same either way."""
    def estimate(part: tuple[slice, ...]) -> tuple[np.ndarray, np.ndarray]:
        f, b = _pymatting().estimate_foreground_ml(np.ascontiguousarray(image[part]),
                                                   np.ascontiguousarray(alpha[part]), return_background=True)
        return np.asarray(f, np.float32), np.asarray(b, np.float32)

    axis = int(alpha.shape[1] > alpha.shape[0])
    n = alpha.shape[axis]
    if n < FOREGROUND_SPLIT_FROM:
        return estimate((slice(None),))
    cut = n // 2
    lead = (slice(None),) * axis
    first, second = lead + (slice(0, cut + FOREGROUND_MARGIN),), lead + (slice(cut - FOREGROUND_MARGIN, n),)
    if _threads_allowed():
        done: list = []   # the second half's colours, or what it raised

        def run() -> None:
            try:
                done.append(estimate(second))
            except BaseException as e:   # raised on the calling thread below
                done.append(e)

        thread = threading.Thread(target=run, name="personseg-foreground", daemon=True)
        thread.start()
        f1, b1 = estimate(first)
        thread.join()
        if isinstance(done[0], BaseException):
            raise done[0]
        f2, b2 = done[0]
    else:
        (f1, b1), (f2, b2) = estimate(first), estimate(second)
    keep1, keep2 = lead + (slice(0, cut),), lead + (slice(FOREGROUND_MARGIN, None),)
    return (np.concatenate([f1[keep1], f2[keep2]], axis), np.concatenate([b1[keep1], b2[keep2]], axis))


def _threads_allowed() -> bool:
    """Whether pymatting may run on two threads at once: more than one core for this process, and numba's
    threading layer chosen (by an earlier call) and not "workqueue", which aborts the process on calls from two
    threads."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores < 2:
        return False
    import numba

    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:   # no parallel kernel has run yet
        return False


def _sampled(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """N x C values of ``image`` (HxWxC float32) at the points (x, y), bilinear (edges repeated)."""
    n, row = len(x), 4096   # remap's maps must be under 32767 on each side: the points in rows of ``row``
    rows = -(-n // row)
    grid = [np.pad(v, (0, rows * row - n), mode="edge").reshape(rows, row) for v in (x, y)]
    out = cv2.remap(image, grid[0], grid[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * row, -1)[:n]


def boundary_mask(matte: np.ndarray) -> np.ndarray:
    """Seed 003's boundary mask: dilation minus erosion of the binarised matte by a disk, blurred (float32
    [0, 1]). The disk is some 40 px wide at the working size, so both are made from exact Euclidean distances
    to the edge (one pass each way) rather than by sliding the disk: the same scores on held-out images
    (benchmarks/outline.py's groups, accurate), a fifth of accurate's time."""
    m = (np.asarray(matte) > (127 if matte.dtype == np.uint8 else 0.5)).astype(np.uint8)
    th1 = max(1, int(round(BOUNDARY_TH * np.sqrt(m.sum()))))
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)   # 0 on the person
    inside = cv2.distanceTransform(m, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)        # 0 off the person
    band = ((outside <= th1) & (inside <= th1)).astype(np.float32)
    return _wide_blur(band, th1)


def leftover_mask(matte: np.ndarray) -> np.ndarray:
    """Seed 003's leftover mask: the binarised matte eroded by th2, blurred with th1 (float32 [0, 1])."""
    m = (np.asarray(matte) > (127 if matte.dtype == np.uint8 else 0.5)).astype(np.uint8)
    root = np.sqrt(m.sum())
    th1, th2 = max(1, int(round(BOUNDARY_TH * root))), max(1, int(round(LEFTOVER_TH * root)))
    inner = cv2.erode(m, _disk(th2), borderType=cv2.BORDER_REPLICATE)
    return _wide_blur(inner.astype(np.float32), th1)


#: ``_wide_blur`` works on the map halved from this half-width on.
HALVED_BLUR = 8


def _wide_blur(plane: np.ndarray, half: int) -> np.ndarray:
    """float32 ``plane`` blurred by OpenCV's Gaussian of kernel 2 x ``half`` + 1. From HALVED_BLUR on, made on
    the plane halved (area average) with half the sigma and scaled back up: a blur that wide keeps no detail a
    halving loses (a portrait's guide maps at 300x400, kernels some 100 px wide: 1.3 -> 0.2 ms, within 0.015 of
    the exact blur's; within 0.04 at the narrowest halved; accurate on the choice groups within 0.0015 IoU,
    docs/speed.md)."""
    if half < HALVED_BLUR:
        return cv2.GaussianBlur(plane, (2 * half + 1, 2 * half + 1), 0)
    h, w = plane.shape
    small = cv2.resize(plane, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    sigma = 0.3 * (half - 1) + 0.8   # OpenCV's sigma for that kernel
    small = cv2.GaussianBlur(small, (2 * (half // 2) + 1, 2 * (half // 2) + 1), sigma / 2)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def load_pymatting() -> None:
    """Import pymatting now, which the first cut-out, replaced or blurred background of a process (its foreground
    colours) or closed-form matting would otherwise wait for: numba loads its compiled kernels from its cache as it
    is imported (1 to 2 s on 2 cores), or compiles them the first time after installing (about a minute). For a
    program about to make cut-outs on request."""
    _pymatting()


def preload_pymatting() -> None:
    """``load_pymatting`` on a background thread, for callers that will need it and have other work to do
    meanwhile. A failure is left for the first real use to raise."""
    _numba_folder()   # the environment is changed here, not beside threads that read it

    def load() -> None:
        with contextlib.suppress(Exception):
            load_pymatting()

    threading.Thread(target=load, name="personseg-pymatting-import", daemon=True).start()


def _pymatting():
    # pymatting compiles with numba on first import (about a minute, then cached); import it only when used.
    _numba_folder()
    import pymatting

    return pymatting


def _numba_folder() -> None:
    if "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = _numba_cache()


def _numba_cache() -> str:
    """A writable folder for numba's compiled kernels: ~/.cache/personseg-numba, or, where the home folder is not
    writable (service users, containers), one in the system's temporary folder."""
    user = os.getuid() if hasattr(os, "getuid") else 0
    for folder in (lambda: Path.home() / ".cache" / "personseg-numba",
                   lambda: Path(tempfile.gettempdir()) / f"personseg-numba-{user}"):
        try:
            folder = folder()
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK | os.X_OK):
                return str(folder)
        except (OSError, RuntimeError):
            continue
    raise DependencyError("no writable folder for pymatting's compiled kernels: set NUMBA_CACHE_DIR")


def opaque(prob: np.ndarray) -> np.ndarray:
    """float32 alpha of a probability no matting has refined (``matting=None``): steepened
    about 0.5 by GUIDED_CONTRAST and clipped to [0, 1]. A method's probability is not a matte: inside a person it
    stays near 0.8 on many of ``accurate``'s video frames, which a cut-out shows as see-through; the mask (0.5) is
    the same."""
    out = np.multiply(prob, np.float32(GUIDED_CONTRAST), dtype=np.float32)   # numpy: a third of OpenCV's time here
    out -= np.float32(0.5 * GUIDED_CONTRAST - 0.5)                          # (0.12 vs 0.41 ms at 600x800)
    return np.clip(out, 0.0, 1.0, out=out)


#: The maps a refinement network can be fed from a coarse matte, by the name its model spec uses.
GUIDE_MAPS = {"boundary": boundary_mask, "leftover": leftover_mask}
#: How the alpha matte is made from a method's person probability (``Segmenter(matting=...)``): a guided
#: filter with the image as guide (default: on held-out portraits and full bodies as good as closed-form
#: matting or better, at a tenth of its time), or pymatting's closed-form matting of a trimap (seed 003).
MATTING = {"guided": guided_matte, "closed-form": matte}
DEFAULT_MATTING = "guided"
