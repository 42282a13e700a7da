"""What the service answers for one segmented image: its pictures, its people as JSON, and the stages the web
page shows side by side."""

from __future__ import annotations

import base64

import cv2
import numpy as np

from ..image import encode_image
from ..outputs import OUTPUTS, PERSON_COLOURS, drawn, person_colour, render
from ..pose.keypoints import COCO_NAMES, COCO_SKELETON, rounded_keypoints, visible
from ..priors import people_map
from ..refine.matting import boundary_mask, leftover_mask, trimap
from ..result import Result, coco_rle

#: Outputs answered as one image (image/png), every picture output of the package.
PICTURES = tuple(name for name, kind in OUTPUTS.items() if kind.picture is not None)
#: Every value of ``output``: the pictures, ``json`` (each person's box, keypoints and score, and with instances
#: their mask) and ``stages`` (json with each stage's picture, for the web page).
SERVICE_OUTPUTS = (*PICTURES, "json", "stages")
#: Longest side of the stage pictures sent to the page (downloads are full size).
PREVIEW_SIDE = 1024


def png(array: np.ndarray) -> bytes:
    """``array`` (uint8 HxW, HxWx3 or HxWx4) as PNG bytes."""
    return encode_image(np.ascontiguousarray(array), "PNG")


def picture(result: Result, output: str, background: np.ndarray | None, blur: float) -> bytes:
    """One picture output (PICTURES) as PNG bytes."""
    return png(drawn(result, output, background, blur))


def listed(result: Result) -> list:
    """Whom an answer holds: the instances where they were asked for (even none), else the pose backend's people."""
    return result.instances if result.instances is not None else result.people


def people_json(result: Result) -> list[dict]:
    """Everyone as {id, bbox, keypoints, score, mask, area, colour}: with instances each person's own mask (COCO
    RLE) and its area, largest first (people given: in their order); without, the pose backend's people with
    boxes of their sure keypoints, ``mask`` and ``area`` None."""
    if result.instances is not None:
        found = [(i.keypoints, i.score, list(i.box), i.rle(), i.area) for i in result.instances]
    else:
        found = [(kp, _score(kp), _keypoint_box(kp), None, None) for kp in result.people]
    return [{"id": k + 1, "bbox": box, "keypoints": rounded_keypoints(kp), "score": round(float(score), 4),
             "mask": mask, "area": area, "colour": PERSON_COLOURS[k % len(PERSON_COLOURS)]}
            for k, (kp, score, box, mask, area) in enumerate(found)]


def _score(kp: np.ndarray) -> float:
    sure = visible(kp)
    return float(kp[sure, 2].mean()) if sure.any() else 0.0


def _keypoint_box(kp: np.ndarray) -> list[float]:
    pts = kp[visible(kp), :2]
    if not len(pts):
        return [0.0, 0.0, 0.0, 0.0]
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    return [round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)]


def result_json(result: Result, method: str) -> dict:
    """The ``json`` answer: size, method, everyone, the mask of everyone (COCO RLE) and the stage timings."""
    h, w = result.mask.shape
    return {"width": w, "height": h, "method": method, "keypoint_names": list(COCO_NAMES),
            "skeleton": [list(limb) for limb in COCO_SKELETON],
            "people": people_json(result), "regions_without_keypoints": result.unplaced,
            "mask": coco_rle(result.mask),
            "timings": {stage: round(s * 1000.0, 1) for stage, s in result.timings.items()}}


def stages_json(result: Result, method: str) -> dict:
    """The ``stages`` answer: ``result_json`` with ``images``, pictures of the run at most PREVIEW_SIDE on their
    longest side, each a PNG (the photo a JPEG) data URL: the photo; the cut-out, mask and alpha; the seed 000
    Spatial Saliency Map of everyone (what LWPSN is fed); seed 003's trimap, boundary and leftover masks, drawn
    from the final mask (the refinement network's inputs are drawn alike from the coarse one); with instances,
    each person in their colour. All are made on the preview, not the full-size photo."""
    h, w = result.mask.shape
    scale = min(1.0, PREVIEW_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))

    def small(a: np.ndarray, nearest: bool = False) -> np.ndarray:
        if scale == 1.0:
            return a
        return cv2.resize(a, size, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)

    def grey(a: np.ndarray) -> np.ndarray:
        return np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8)

    people = [kp * np.array([scale, scale, 1], np.float32) for kp in result.people]
    preview = Result(mask=small(result.mask, nearest=True), alpha=small(result.alpha), keypoints=result.keypoints,
                     people=people, rgb=small(result.rgb), estimate_foreground=result.estimate_foreground)
    pictures = {
        "cutout": render(preview, "cutout"),
        "mask": preview.mask,
        "alpha": render(preview, "alpha"),
        "ssm": grey(people_map("ssm", people, preview.mask.shape)),
        "trimap": grey(trimap(preview.mask)),
        "boundary": grey(boundary_mask(preview.mask)),
        "leftover": grey(leftover_mask(preview.mask)),
    }
    if result.instances is not None:
        pictures["people"] = _people_picture([small(i.mask, nearest=True) for i in result.instances],
                                             preview.mask.shape)
    out = result_json(result, method)
    out["images"] = {"photo": _data_url(encode_image(preview.rgb, "JPEG"), "image/jpeg")} | {
        name: _data_url(png(a)) for name, a in pictures.items()}
    out["preview_scale"] = scale
    return out


def _people_picture(masks: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """uint8 HxWx4 of ``shape``: each person's mask (uint8 HxW, people listed in order) in their colour,
    transparent elsewhere (people do not overlap)."""
    out = np.zeros((*shape, 4), np.uint8)
    for k, mask in enumerate(masks):
        out[mask > 0] = (*person_colour(k), 255)
    return out


def _data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
