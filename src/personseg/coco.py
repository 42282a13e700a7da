"""Reading COCO files made elsewhere (CVAT's and Label Studio's exports, COCO itself): which annotations are
people, and a person's segmentation as a mask. Writing them is annotate.py's."""

from __future__ import annotations

import numpy as np


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
