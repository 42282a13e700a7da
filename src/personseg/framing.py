"""Framing a person for a network: boxes from masks and keypoints, crops at the network's aspect ratio that
may reach past the image edge (filled by repeating the edge), and pasting a crop's result back."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import cv2
import numpy as np

from .pose.keypoints import K, MIN_SCORE

Box = tuple[float, float, float, float]   # x0, y0, x1, y1 in pixels
#: Whether a region (bool HxW) holds a person, a box (x0, y0, x1, y1) where someone already found stands
#: painted out first (photos: the region check, or the pose backend on the region's crop: pipeline._person_there).
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


def keypoint_extent(kp: np.ndarray) -> float:
    """The area of a person's ``keypoint_box`` (0 when fewer than two points are confident): how prominent
    they are."""
    box = keypoint_box(kp)
    return 0.0 if box is None else area(box)


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


#: An image wider (or taller) than a network's frame by more than this factor is seen whole through tiles of the
#: frame's shape (``tiles``) instead of letterboxed into one, which shows a panorama's people too small to be
#: marked. Panoramas of 3 pennfudan train photos side by side (400 px high, 10 panoramas), IoU without matting:
#: accurate 0.17 -> 0.73 (with the selfie model tiled too, selfie.TILE_ABOVE), fast 0.25 -> 0.66.
TILE_ABOVE = 2.5
#: The same where the pose backend does not look for people first (``fast`` without keypoints,
#: ``Scene.tile_above``): there every landscape photo (wider than 1.05:1) is tiled, and portraits taller than
#: 1.87:1. Choice groups, fast IoU without matting, letterboxed -> tiled: validation pennfudan 0.650 -> 0.732,
#: coco_people 0.262 -> 0.287, coco_single 0.564 -> 0.559; first 60 train photos 0.658 -> 0.689, 0.321 -> 0.352,
#: 0.621 -> 0.612; portraits unchanged; painted-out COCO photos (nobody) 8.7% -> 7.1% of the pixels marked. At
#: 1.3 square photos and 9:16 portraits were tiled too, with the same scores (within 0.001). It costs network
#: passes: a 4:3 photo takes two, a 3:2 one three (docs/speed.md). Where the pose backend looks (its person check
#: and region check judge what the networks mark beyond the people it finds), tiling every landscape photo was
#: mixed: accurate validation pennfudan 0.812 -> 0.803, coco_people 0.335 -> 0.367, coco_single 0.680 -> 0.664,
#: and more painted-out photos marked (21 -> 24 of 102).
TILE_ABOVE_UNCHECKED = 1.4


#: At most this many tiles: each is a network (or pose backend) call, and a strip a few pixels high would take
#: thousands. Longer, thinner images (past about 19:1 for the networks' frame, 25:1 for square tiles) are seen
#: letterboxed whole.
MAX_TILES = 32
#: The least share of a tile that its neighbour overlaps (``tiles``: a person cut by one tile's edge is whole in
#: the next). 0.25 gave three tiles to a 4:3 photo where 0.2 gives two, and the same fast IoU on the choice
#: groups (mean of the six scene groups above 0.5390 and 0.5384).
TILE_OVERLAP = 0.2


def tiles(shape: tuple[int, ...], aspect: float, above: float) -> list[Box]:
    """Frames of ``aspect`` on whole pixels that together show the whole image of ``shape``: the whole image
    letterboxed (``whole_frame``) when its shape is within a factor ``above`` of ``aspect`` (or so long and thin
    that it would take more than MAX_TILES), else frames of the image's full height (or width) side by side,
    evenly spaced, overlapping by at least TILE_OVERLAP."""
    h, w = shape[:2]
    if max(w / h / aspect, aspect * h / w) <= above:
        return [whole_frame(shape, aspect)]
    wide = w / h > aspect
    long, short = (w, h) if wide else (h, w)
    side = min(long, max(1, round(short * aspect if wide else short / aspect)))   # a tile's length along it
    n = int(np.ceil((long - side) / (side * (1 - TILE_OVERLAP)))) + 1
    if n > MAX_TILES:
        # one text an image whoever asks (each network and the pose search tile it): said once
        warnings.warn(f"an image of {w}x{h} ({long / short:.0f}:1) is too long and thin for the tiles (at most "
                      f"{MAX_TILES}): seen whole, its people may be too small to find; cut it into shorter pieces")
    if n == 1 or n > MAX_TILES:
        return [whole_frame(shape, aspect)]
    starts = [round(k * (long - side) / (n - 1)) for k in range(n)]
    return [(float(a), 0.0, float(a + side), float(h)) if wide else (0.0, float(a), float(w), float(a + side))
            for a in starts]


def blended(frames: list[Box], maps: list[np.ndarray], shape: tuple[int, ...],
            size: tuple[int, int] | None = None) -> np.ndarray:
    """float32 map of an image of ``shape`` from ``maps``, one of each of ``frames`` (``tiles`` side by side, all
    at one resolution): each put in its place on a canvas at that resolution, where two overlap a blend passing
    linearly from one to the next, then the canvas scaled to the image's size (``size``: (w, h) of a smaller map
    of the image to make instead)."""
    h, w = shape[:2]
    wide = frames[0][3] == h
    # the canvas's pixels per image pixel: the maps' own, never more than the image's
    scale = min(1.0, maps[0].shape[0] / h if wide else maps[0].shape[1] / w)
    ch, cw = (max(1, round(h * scale)), max(1, round(w * scale)))
    spans = [(round(f[0 if wide else 1] * scale), round(f[2 if wide else 3] * scale)) for f in frames]
    total = np.zeros((ch, cw), np.float32)
    weight = np.zeros(cw if wide else ch, np.float32)
    for k, ((a, b), part) in enumerate(zip(spans, maps)):
        ramp = np.ones(b - a, np.float32)   # up across the overlap with the tile before, down across the next's
        middle = np.arange(a, b, dtype=np.float32) + 0.5
        if k > 0:
            ramp = np.minimum(ramp, (middle - a) / max(spans[k - 1][1] - a, 1))
        if k < len(spans) - 1:
            ramp = np.minimum(ramp, (b - middle) / max(b - spans[k + 1][0], 1))
        ramp = np.clip(ramp, 1e-3, 1.0)
        part = cv2.resize(part, (b - a, ch) if wide else (cw, b - a), interpolation=cv2.INTER_LINEAR)
        if wide:
            total[:, a:b] += part * ramp
        else:
            total[a:b] += part * ramp[:, None]
        weight[a:b] += ramp
    total /= weight if wide else weight[:, None]
    target = size or (w, h)
    return total if (cw, ch) == target else cv2.resize(total, target, interpolation=cv2.INTER_LINEAR)


def _affine(box: Box, size: tuple[int, int]) -> np.ndarray:
    """Image pixel -> pixel of the ``box`` region resized to ``size``, pixel centres mapped as cv2.resize does."""
    x0, y0, x1, y1 = box
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)
    return np.array([[sx, 0, (0.5 - x0) * sx - 0.5], [0, sy, (0.5 - y0) * sy - 0.5]], np.float64)


def crop(rgb: np.ndarray, box: Box, size: tuple[int, int]) -> np.ndarray:
    """The ``box`` region of ``rgb`` resized to ``size`` (w, h); outside the image the edge pixels repeat.
    Like the training images (shrunk by pixel area, then warped): halvings by pixel area while the warp would
    shrink by more than two, then a bilinear warp."""
    return crops(rgb, [box], size)[0]


#: The halvings of the image being segmented (``shared_halvings``): [the image, its half, its quarter, ...].
_HALVINGS: ContextVar[list[np.ndarray] | None] = ContextVar("halvings", default=None)


@contextmanager
def shared_halvings(rgb: np.ndarray) -> Iterator[None]:
    """Within it (one photo's segmenting, on this thread), the halvings of ``rgb`` that ``crops`` makes are kept:
    every crop of it to a network and the matting's working image (``shrunk``) reuse them. ``rgb`` must not change
    meanwhile."""
    token = _HALVINGS.set([rgb])
    try:
        yield
    finally:
        _HALVINGS.reset(token)


def _halvings(rgb: np.ndarray) -> list[np.ndarray]:
    """The halvings of ``rgb`` made so far, to extend in place: those shared where ``rgb`` is the image of
    ``shared_halvings``, else a list of its own."""
    levels = _HALVINGS.get()
    return levels if levels is not None and levels[0] is rgb else [rgb]


def shrunk(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` shrunk to ``size`` (w, h) by pixel area (cv2.INTER_AREA), from the smallest of its halvings made
    so far (``shared_halvings``) that is at least that size: a 600x800 photo's half is its 300x400 working image
    for the matting, made once for the network's crop (0.2 ms). A size larger than ``rgb``: from ``rgb``."""
    level = next((im for im in reversed(_halvings(rgb)) if im.shape[1] >= size[0] and im.shape[0] >= size[1]), rgb)
    return level if level.shape[1::-1] == size else cv2.resize(level, size, interpolation=cv2.INTER_AREA)


def crops(rgb: np.ndarray, boxes: list[Box], size: tuple[int, int]) -> list[np.ndarray]:
    """``crop`` of each of ``boxes``, the halvings of the whole image made once for all of them (a panorama's
    tiles: each halving of a 24 MP photo takes milliseconds) and for every crop of a photo (``shared_halvings``).
    A halving averages 2x2 pixels (cv2.INTER_AREA): a quarter of a gaussian pyramid step's time (0.2 against
    0.85 ms for 600x800), as the networks' training images were shrunk."""
    levels = _halvings(rgb)
    out = []
    for box in boxes:
        m = _affine(box, size)
        level = 0
        # halve first, so the warp does not alias (while an axis that needs it has more than one pixel: one pixel is
        # what the edge repeats anyway)
        while (m[0, 0] < 0.5 and levels[level].shape[1] > 1) or (m[1, 1] < 0.5 and levels[level].shape[0] > 1):
            level += 1
            if len(levels) == level:
                h, w = levels[-1].shape[:2]
                levels.append(cv2.resize(levels[-1], ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA))
            h, w = levels[level - 1].shape[:2]
            sx, sy = w / levels[level].shape[1], h / levels[level].shape[0]
            # a pixel of the halved image is the mean of the pixels it covers: its centre moves by half a pixel
            m = m @ np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
        src = levels[level]
        if np.allclose(m, _affine((0, 0, src.shape[1], src.shape[0]), size)):   # the whole level: a resize, the
            # same bilinear sampling in less time (0.14 against 0.22 ms for a 600x800 photo, cold in cache)
            out.append(cv2.resize(src, size, interpolation=cv2.INTER_LINEAR))
        else:
            out.append(cv2.warpAffine(src, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    return out


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
