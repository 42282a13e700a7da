"""COCO segmentations: reading COCO files made elsewhere (CVAT's and Label Studio's exports, COCO itself): which
annotations are people, and a person's segmentation as a mask; and a mask as polygons (``as_polygons``). Writing
the files is annotate.py's."""

from __future__ import annotations

import cv2
import numpy as np
from shapely import LinearRing, Polygon, make_valid, unary_union


def person_ids(data: dict) -> set[int]:
    """The category ids of people in the COCO file ``data``: those of the categories named person (in any case;
    CVAT and Label Studio number their categories as they please), 1 where the file names no categories, none
    where it names others only."""
    named = [c for c in data.get("categories") or [] if "name" in c]
    if not named:
        return {1}
    return {c["id"] for c in named if str(c["name"]).strip().lower() == "person"}


def is_person(annotation: dict, ids: set[int]) -> bool:
    """True when ``annotation`` is of a category in ``ids`` (``person_ids``), or names none."""
    return "category_id" not in annotation or annotation["category_id"] in ids


def segmentation_mask(segmentation: list | dict, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 {0, 255} HxW mask (``shape``'s) of a COCO segmentation: polygons, or run lengths of that size,
    compressed or not, that cover it exactly (ValueError otherwise: pycocotools decodes short ones from memory
    it never wrote)."""
    from pycocotools import mask as coco_mask

    h, w = shape[:2]
    if isinstance(segmentation, list):   # polygons, each [x0, y0, x1, y1, ...] of three corners at least
        if any(not isinstance(p, list) or len(p) < 6 or len(p) % 2 for p in segmentation):
            raise ValueError("a polygon is a list of 3 or more x, y pairs")
        rle = coco_mask.merge(_decoded(lambda: coco_mask.frPyObjects(segmentation, h, w)))
    elif isinstance(segmentation, dict) and "size" in segmentation and "counts" in segmentation:
        size, counts = segmentation["size"], segmentation["counts"]
        if list(size) != [h, w]:
            raise ValueError(f"run lengths of a {size[1]}x{size[0]} mask on a {w}x{h} photo")
        compressed = isinstance(counts, (str, bytes))
        runs = run_lengths(counts) if compressed else counts
        if not isinstance(runs, list) or any(not isinstance(n, int) or n < 0 for n in runs) or sum(runs) != h * w:
            raise ValueError(f"run lengths that do not cover the {w}x{h} photo once")
        rle = ({"size": [h, w], "counts": counts} if compressed
               else _decoded(lambda: coco_mask.frPyObjects(segmentation, h, w)))
    else:
        raise ValueError("neither polygons nor run lengths with a size and counts")
    return _decoded(lambda: coco_mask.decode(rle)).astype(np.uint8) * 255


def run_lengths(counts: str | bytes) -> list[int]:
    """The run lengths in COCO's compressed ``counts`` (pycocotools' string: six bits a character from '0', five of
    them data, the sixth "more follows"; each run from the third on a difference from the one two before)."""
    text = counts.decode("ascii", "replace") if isinstance(counts, bytes) else counts
    runs: list[int] = []
    i = 0
    while i < len(text):
        value, shift, more = 0, 0, True
        while more:
            if i == len(text):
                raise ValueError("compressed run lengths cut short")
            c = ord(text[i]) - 48
            value |= (c & 0x1F) << shift
            more, shift, i = bool(c & 0x20), shift + 5, i + 1
            if not more and c & 0x10:   # the sign of the last chunk
                value |= -1 << shift
        runs.append(value + (runs[-2] if len(runs) > 2 else 0))
    return runs


def _decoded(step):
    """``step()``, pycocotools' bare Exception ("input type is not supported") and overflows as ValueError."""
    try:
        return step()
    except (KeyError, TypeError, IndexError, OverflowError) as e:
        raise ValueError(f"{type(e).__name__}: {e}") from None
    except Exception as e:  # noqa: BLE001 - pycocotools raises Exception itself for malformed input
        raise ValueError(str(e)) from None


#: With --polygons, a separate part of a person under this share of their pixels is left out (specks the grouping
#: leaves: one polygon a part, and importers take each polygon for a region, or read the first only). On the
#: people `accurate --instances` finds on 60 pennfudan train photos (131) parts up to 17 -> 4 a person, mean IoU
#: of the polygons with the mask 0.9881 -> 0.9873 (holes filled either way).
SPECK = 0.01


def as_polygons(segmentation: dict, tolerance: float = 0.0) -> list[list[float]] | dict:
    """COCO polygons of a compressed run-length ``segmentation``: the outline of each separate part (8-connected),
    largest first, parts under SPECK of the pixels left out, traced along its pixels' outer edges (on the part
    doubled: corners at quarter pixels), so that pycocotools draws the same pixels back, but for holes, which a
    polygon cannot leave out (filled); ``tolerance`` (pixels): each outline simplified within it (Douglas-Peucker;
    where that leaves under three corners or an outline crossing itself (``crosses_itself``), within half as much,
    and so on). An empty mask stays as it is (an empty polygon list is what pycocotools cannot read)."""
    from pycocotools import mask as coco_mask

    mask = coco_mask.decode({"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")})
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return segmentation
    y0, x0 = int(ys.min()), int(xs.min())
    box = mask[y0 : ys.max() + 1, x0 : xs.max() + 1]   # the person's box alone, not the whole photo doubled
    _, labels, stats, _ = cv2.connectedComponentsWithStats(box, connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]
    out = []
    for k in np.argsort(-sizes, kind="stable"):
        if out and sizes[k] < SPECK * len(ys):
            break
        part = (labels == k + 1).astype(np.uint8)
        doubled = cv2.resize(part, (2 * part.shape[1], 2 * part.shape[0]), interpolation=cv2.INTER_NEAREST)
        outline = max(cv2.findContours(doubled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0], key=len)
        within = min(2.0 * tolerance, float(max(doubled.shape)))
        while within >= 0.5:
            simpler = cv2.approxPolyDP(outline, within, True)
            if len(simpler) >= 3 and not crosses_itself(simpler.reshape(-1, 2)):
                outline = simpler
                break
            within /= 2
        out.append(((outline.reshape(-1, 2) + 0.5) / 2 + (x0, y0)).ravel().tolist())
    return out


def crosses_itself(corners: np.ndarray) -> bool:
    """True when two edges of the closed polygon ``corners`` (N x 2) cross or run along each other (their insides
    meet: touching at a corner, as the exact outlines do where two parts of a body meet diagonally, is not
    crossing); labelling tools fill or edit such outlines wrongly, or refuse them. On the outlines of 214 people
    `accurate --instances` found on 120 choice photos, Douglas-Peucker within 1 px crossed on 1, within 2 px on 2;
    a trial's 171 outlines within 1 px held one zero-width spike (an edge running back along the one before)."""
    ring = LinearRing(corners)
    if ring.is_simple:   # neither crossing nor touching: most outlines, at once
        return False
    # a crossing, through a corner too, leaves some area wound around twice or the wrong way round: the polygon's
    # area then differs from the area it covers; touching at a corner leaves both the same. Edges along each other
    # (a spike) enclose nothing: the outline is then longer than the lines it draws
    polygon = Polygon(corners)
    covered = make_valid(polygon).area
    crossed = abs(covered - polygon.area) > 1e-10 * max(1.0, covered)   # above the sums' rounding, below a pixel
    return crossed or unary_union(ring).length < ring.length * (1 - 1e-10)
