"""Framing a person for a network: boxes from masks and keypoints, crops at the network's aspect ratio that
may reach past the image edge (filled by repeating the edge), and pasting a crop's result back."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .pose.keypoints import K, MIN_SCORE

Box = tuple[float, float, float, float]   # x0, y0, x1, y1 in pixels
#: Whether a region (bool HxW) holds a person, a box (x0, y0, x1, y1) where someone already found stands
#: painted out first (photos: the pose backend on the region's crop, instances.person_in).
Confirm = Callable[[np.ndarray, Box], bool]
ANKLES = [K["left_ankle"], K["right_ankle"]]

#: Margin added around a person's box on every side, as a share of the box's height.
MARGIN = 0.1
#: A crop is worth a second network pass only when it is smaller than this share of the whole frame's area.
ZOOM_BELOW = 0.5


def binary_mask(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """uint8 {0, 255} mask of the pixels of ``prob`` at or above ``threshold``."""
    return cv2.compare(prob, threshold, cv2.CMP_GE)


def mask_box(prob: np.ndarray, threshold: float = 0.5) -> Box | None:
    """Bounding box of the pixels at or above ``threshold``; None when there are none."""
    x, y, w, h = cv2.boundingRect(binary_mask(prob, threshold))
    if w == 0:
        return None
    return float(x), float(y), float(x + w), float(y + h)


def keypoint_box(kp: np.ndarray, height: float | None = None) -> Box | None:
    """Box around a person's confident keypoints, stretched up by the head's height above the eyes and
    down below the ankles, which keypoints do not reach; None when fewer than two points are confident.
    With the image's ``height``, a person whose ankles are not seen is taken to go on below what was seen
    (a portrait's torso under the shoulders): the box then reaches the image's bottom edge."""
    pts = kp[kp[:, 2] >= MIN_SCORE, :2]
    if len(pts) < 2:
        return None
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    head = 0.25 * (y1 - y0) if y1 - y0 > 0 else 0.0
    y1 = y1 + 0.5 * head
    if height is not None and not (kp[ANKLES, 2] >= MIN_SCORE).any():
        y1 = max(y1, float(height))
    return float(x0), float(y0 - head), float(x1), float(y1)


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def people_box(people: list[np.ndarray], height: float) -> Box | None:
    """The box around everyone's keypoints in an image ``height`` pixels high (``keypoint_box``; None when
    nobody has enough)."""
    box = None
    for kp in people:
        box = union(box, keypoint_box(kp, height))
    return box


def frame_box(box: Box, aspect: float, margin: float = MARGIN) -> Box:
    """``box`` grown by ``margin`` (share of its height) on every side, then widened or heightened about its
    centre to the width/height ratio ``aspect``."""
    x0, y0, x1, y1 = box
    pad = margin * max(y1 - y0, x1 - x0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    w, h = x1 - x0, y1 - y0
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def on_pixels(box: Box) -> Box:
    """``box`` widened out to whole pixels, so that ``paste`` puts a map back with a resize."""
    return (float(np.floor(box[0])), float(np.floor(box[1])), float(np.ceil(box[2])), float(np.ceil(box[3])))


def whole_frame(shape: tuple[int, ...], aspect: float) -> Box:
    """The whole image, widened or heightened to ``aspect`` (the network sees it letterboxed, not squashed), on
    whole pixels."""
    return on_pixels(frame_box((0.0, 0.0, float(shape[1]), float(shape[0])), aspect, margin=0.0))


def _affine(box: Box, size: tuple[int, int]) -> np.ndarray:
    """Image pixel -> pixel of the ``box`` region resized to ``size``, pixel centres mapped as cv2.resize does."""
    x0, y0, x1, y1 = box
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    return np.array([[sx, 0, (0.5 - x0) * sx - 0.5], [0, sy, (0.5 - y0) * sy - 0.5]], np.float64)


def crop(rgb: np.ndarray, box: Box, size: tuple[int, int]) -> np.ndarray:
    """The ``box`` region of ``rgb`` resized to ``size`` (w, h); outside the image the edge pixels repeat.
    Like the training images (stored at half size, then warped): pyramid halving, then a bilinear warp."""
    m = _affine(box, size)
    while min(m[0, 0], m[1, 1]) < 0.5:   # halve with a gaussian pyramid step first, so the warp does not alias
        rgb = cv2.pyrDown(rgb)
        m[:, :2] *= 2.0
    return cv2.warpAffine(rgb, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def from_crop(inner: Box, box: Box, size: tuple[int, int]) -> Box:
    """A box given in the pixels of a ``size`` (w, h) crop of ``box``, in the image's pixels."""
    sx, sy = (box[2] - box[0]) / size[0], (box[3] - box[1]) / size[1]
    return box[0] + inner[0] * sx, box[1] + inner[1] * sy, box[0] + inner[2] * sx, box[1] + inner[3] * sy


def paste(prob: np.ndarray, box: Box, shape: tuple[int, ...], out: np.ndarray | None = None,
          size: tuple[int, int] | None = None) -> np.ndarray:
    """A crop's float32 map put back where ``box`` lies in an image of ``shape``; 0 outside the box, or, given
    ``out`` (float32 of ``shape``), written over ``out`` on the whole pixels the box covers, the rest of it kept.
    A box on whole pixels (``on_pixels``) is resized (a tenth of a warp's time for a 600x800 image), any other
    warped. ``size``: (w, h) of a smaller map of the image to put it in instead (``out`` then of that size), the
    box scaled into it."""
    if size is not None and size != (shape[1], shape[0]):
        fx, fy = size[0] / shape[1], size[1] / shape[0]
        box, shape = (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy), (size[1], size[0])
    if all(float(v).is_integer() for v in box):
        x0, y0, x1, y1 = (int(v) for v in box)
        full = cv2.resize(prob, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        if out is None and (x0, y0, x1, y1) == (0, 0, shape[1], shape[0]):
            return full
        out = np.zeros(shape[:2], np.float32) if out is None else out
        ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
        if ix1 > ix0 and iy1 > iy0:
            out[iy0:iy1, ix0:ix1] = full[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
        return out
    m = _affine(box, (prob.shape[1], prob.shape[0]))
    warped = cv2.warpAffine(prob, m, (shape[1], shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    if out is None:
        return warped
    ix0, iy0 = max(0, int(np.ceil(box[0]))), max(0, int(np.ceil(box[1])))
    ix1, iy1 = min(shape[1], int(np.floor(box[2]))), min(shape[0], int(np.floor(box[3])))
    out[iy0:iy1, ix0:ix1] = warped[iy0:iy1, ix0:ix1]
    return out


def area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def overlap(a: Box, b: Box) -> float:
    """The area two boxes share (0 when they do not meet)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
