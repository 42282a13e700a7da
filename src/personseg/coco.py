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
    """uint8 {0, 255} HxW mask (``shape``'s) of a COCO segmentation: polygons, or run lengths, compressed or not,
    of that size (ValueError otherwise)."""
    from pycocotools import mask as coco_mask

    h, w = shape[:2]
    if isinstance(segmentation, dict) and list(segmentation.get("size", (h, w))) != [h, w]:
        size = segmentation["size"]
        raise ValueError(f"run lengths of a {size[1]}x{size[0]} mask on a {w}x{h} photo")
    try:
        if isinstance(segmentation, list):   # polygons, each [x0, y0, x1, y1, ...] of three corners at least
            if any(not isinstance(p, list) or len(p) < 6 or len(p) % 2 for p in segmentation):
                raise ValueError("a polygon is a list of 3 or more x, y pairs")
            rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, h, w))
        elif isinstance(segmentation["counts"], list):   # uncompressed run lengths
            rle = coco_mask.frPyObjects(segmentation, h, w)
        else:
            rle = {"size": [h, w], "counts": segmentation["counts"]}
        return coco_mask.decode(rle).astype(np.uint8) * 255
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"{type(e).__name__}: {e}") from None
