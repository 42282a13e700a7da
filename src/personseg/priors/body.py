"""Body geometry from COCO-17 keypoints: limb segments, torso polygon and head oval, drawn as masks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..pose.keypoints import COCO_SKELETON, FACE, K, MIN_SCORE, body_scale, face_center_and_size, up_direction

# Limbs drawn as ovals: the COCO skeleton without the face's edges and the ear-shoulder ones (the head
# oval and the neck polygon cover those; an ear-shoulder oval would cross the background beside the neck).
LIMB_EDGES = tuple(e for e in COCO_SKELETON if e[0] not in FACE and e[1] not in FACE)
#: Shoulders and hips closer than this share of the body's scale are drawn this far apart (someone seen side-on).
TORSO_WIDTH = 0.6


@dataclass(frozen=True)
class Body:
    """The parts of one person that the priors draw; coordinates in image pixels."""

    scale: float                       # about one shoulder width
    limbs: tuple[tuple[np.ndarray, np.ndarray], ...]
    torso: np.ndarray | None           # (4, 2) polygon: left shoulder, right shoulder, right hip, left hip
    neck: np.ndarray | None            # (4, 2) polygon joining the head's base to the shoulders
    head: tuple[np.ndarray, tuple[float, float], float] | None  # centre, semi-axes, angle in degrees

    @property
    def detail_scale(self) -> float:
        """Length for margins around the outline: about a head's width (hair, clothes stand off the joints)."""
        return self.head[1][0] * 2.0 if self.head is not None else 0.4 * self.scale

    @property
    def empty(self) -> bool:
        return not self.limbs and self.torso is None and self.head is None


def body_from_keypoints(kp: np.ndarray, min_score: float = MIN_SCORE, apart: bool = True) -> Body:
    """Describe the person of ``kp``; hips that are not seen are placed below the shoulders. ``apart``: shoulders
    and hips closer than TORSO_WIDTH of the scale (someone seen side-on) drawn that far apart, as the priors are;
    False: where they were found."""
    scale = body_scale(kp, min_score)
    v = kp[:, 2] >= min_score
    pts = kp[:, :2].astype(np.float32)
    limbs = tuple((pts[a], pts[b]) for a, b in LIMB_EDGES if v[a] and v[b])
    torso = None
    ls, rs, lh, rh = K["left_shoulder"], K["right_shoulder"], K["left_hip"], K["right_hip"]
    if v[ls] and v[rs]:
        down = -up_direction(kp, min_score)
        # the left side's way across the body, from the shoulders and hips together: a pair moved apart goes the
        # way the other lies (each side-on pair's own gap is noise; two ways apart would cross the torso)
        across = np.array([-down[1], down[0]], np.float32)
        gap = (pts[ls] - pts[rs]) + ((pts[lh] - pts[rh]) if v[lh] and v[rh] else 0.0)
        left = across if float(np.dot(gap, across)) >= 0 else -across
        least = TORSO_WIDTH * scale if apart else 0.0
        shoulder_l, shoulder_r = _apart(pts[ls], pts[rs], left, least)
        width = float(np.linalg.norm(shoulder_l - shoulder_r))
        out = (shoulder_l - shoulder_r) / max(width, 1e-6) * 0.05 * width  # shoulders' outer edge
        hip_l, hip_r = ((pts[lh], pts[rh]) if not (v[lh] and v[rh]) else
                        _apart(pts[lh], pts[rh], left, least))
        hip_l = hip_l if v[lh] else shoulder_l + down * 1.6 * width - out
        hip_r = hip_r if v[rh] else shoulder_r + down * 1.6 * width + out
        torso = np.stack([shoulder_l + out, shoulder_r - out, hip_r, hip_l]).astype(np.float32)
    head = None
    fc = face_center_and_size(kp, min_score)
    if torso is None and fc is not None and not v[[ls, rs, lh, rh]].any():
        torso = _torso_below_face(*fc, up_direction(kp, min_score))
    if fc is not None:
        center, width = fc
        up = up_direction(kp, min_score)
        angle = float(np.degrees(np.arctan2(up[1], up[0]))) + 90.0
        head = (center + up * 0.25 * width, (0.55 * width, 0.8 * width), angle)
    neck_poly = None
    if head is not None and torso is not None:
        side = np.array([-up[1], up[0]], np.float32) * 0.3 * width
        c = head[0]
        l_side, r_side = (c + side, c - side) if np.dot(side, pts[ls] - pts[rs]) > 0 else (c - side, c + side)
        mid = (pts[ls] + pts[rs]) / 2
        neck_poly = np.stack([l_side, r_side, (mid + pts[rs]) / 2, (mid + pts[ls]) / 2]).astype(np.float32)
    return Body(scale=scale, limbs=limbs, torso=torso, neck=neck_poly, head=head)


def _apart(left: np.ndarray, right: np.ndarray, side: np.ndarray, least: float) -> tuple[np.ndarray, np.ndarray]:
    """A pair of points (shoulders, hips) closer than ``least`` pixels set that far apart about their middle, the
    left one towards ``side`` (a unit vector): seen side-on they are one point, and a torso drawn between them a
    line."""
    if float(np.linalg.norm(left - right)) >= least:
        return left, right
    mid = (left + right) / 2
    return mid + side * least / 2, mid - side * least / 2


def _torso_below_face(center: np.ndarray, width: float, up: np.ndarray) -> np.ndarray:
    """A torso guessed from the face alone (close-ups where the shoulders were not found)."""
    down, side = -up, np.array([-up[1], up[0]], np.float32)
    top = center + down * 1.3 * width
    bottom = top + down * 2.5 * width
    return np.stack([top + side * 1.1 * width, top - side * 1.1 * width,
                     bottom - side * 1.3 * width, bottom + side * 1.3 * width]).astype(np.float32)


def limb_width(body: Body) -> float:
    """Half-thickness of a limb oval, in pixels."""
    return max(0.12 * body.scale, 1.0)


def draw_skeleton(body: Body, shape: tuple[int, int], widen: float = 1.0) -> np.ndarray:
    """uint8 {0, 1} map of ovals along the limbs (seed 000's skeleton map); ``widen`` scales their width."""
    out = np.zeros(shape, np.uint8)
    half = limb_width(body) * widen
    for p, q in body.limbs:
        _oval(out, p, q, half)
    return out


def draw_frame(body: Body, shape: tuple[int, int], widen: float = 1.0) -> np.ndarray:
    """uint8 {0, 1} skeleton map with the torso and head filled (seed 000's frame map)."""
    out = draw_skeleton(body, shape, widen)
    for poly in (body.torso, body.neck):
        if poly is None:
            continue
        if widen != 1.0:
            c = poly.mean(axis=0)
            poly = c + (poly - c) * widen
        cv2.fillPoly(out, [np.round(poly * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    if body.head is not None:
        center, (a, b), angle = body.head
        cv2.ellipse(out, (tuple(center), (2 * a * widen, 2 * b * widen), angle), 1, thickness=-1)
    return out


def _oval(canvas: np.ndarray, p: np.ndarray, q: np.ndarray, half_width: float) -> None:
    d = q - p
    length = float(np.linalg.norm(d))
    center = (p + q) / 2
    angle = float(np.degrees(np.arctan2(d[1], d[0])))
    axes = (length + 2 * half_width, 2 * half_width)
    cv2.ellipse(canvas, (tuple(map(float, center)), axes, angle), 1, thickness=-1)
