"""COCO-17 keypoints: names, skeleton, the estimated head point and the 14-joint form of seed 002.

Keypoints are float32 arrays of shape (17, 3): x, y in image pixels and a score in [0, 1], COCO order.
"""

from __future__ import annotations

import numpy as np

COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
K = {name: i for i, name in enumerate(COCO_NAMES)}

#: Limbs as pairs of COCO indices (the COCO skeleton, 0-based).
COCO_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

#: The 14 joints of seed 002 (LSP style): head, neck, shoulders, elbows, wrists, hips, knees, ankles.
JOINT14_NAMES = (
    "head", "neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
#: Limbs of the 14-joint body (indices into JOINT14_NAMES).
JOINT14_LIMBS = (
    (0, 1), (1, 2), (1, 3), (2, 4), (4, 6), (3, 5), (5, 7), (2, 8), (3, 9), (8, 9),
    (8, 10), (10, 12), (9, 11), (11, 13),
)

#: Default score under which a keypoint is treated as missing.
MIN_SCORE = 0.3
FACE = (K["nose"], K["left_eye"], K["right_eye"], K["left_ear"], K["right_ear"])
#: A body's scale is at least this share of its torso's length (shoulders' middle to hips'): seen side-on, a
#: walker's shoulders and hips are each one point and would give a scale of a few pixels, priors of a thread.
TORSO_SCALE = 0.5


def empty_keypoints() -> np.ndarray:
    """Keypoints of nobody: every score is zero."""
    return np.zeros((17, 3), np.float32)


def validate_keypoints(kp: np.ndarray) -> np.ndarray:
    """Return ``kp`` as float32 (17, 3) or raise ValueError."""
    kp = np.asarray(kp, dtype=np.float32)
    if kp.shape != (17, 3):
        raise ValueError(f"keypoints must have shape (17, 3) (x, y, score in COCO order); got {kp.shape}")
    return kp


def given_keypoints(people) -> list[np.ndarray]:
    """People's keypoints given by a person or a file, as float32 (17, 3) arrays: each person 17 x [x, y, v] in
    pixels (or 51 numbers, COCO's layout), v a score in [0, 1] or COCO's visibility (0 not labelled, 1 hidden,
    2 seen; both labelled kinds count as sure). PersonsegError on anything else."""
    from ..errors import PersonsegError

    if _one_person(people):
        raise PersonsegError("give a list of people, each 17 keypoints: one person's keypoints alone are "
                             "people=[keypoints]")
    out = []
    for k, kp in enumerate(people):
        try:
            given = np.asarray(kp)
            if given.dtype.kind in "US":   # numbers given as text ("12"): not read as numbers
                raise TypeError
            kp = given.astype(np.float32).reshape(17, 3)   # (a copy: the caller's array is not changed)
        except OverflowError:   # an integer too large for a float: as far out as infinity
            kp = np.full((17, 3), np.inf, np.float32)
        except (TypeError, ValueError):
            raise PersonsegError(f"person {k + 1}: give 17 keypoints as [x, y, v] (or 51 numbers)") from None
        if not np.isfinite(kp).all() or (kp[:, 2] < 0).any():
            raise PersonsegError(f"person {k + 1}: keypoints must be finite, with v >= 0")
        kp[:, 2] = np.clip(kp[:, 2], 0.0, 1.0)
        out.append(kp)
    return out


def _one_person(people) -> bool:
    """Whether ``people`` is one person's keypoints alone ((17, 3) or 51 numbers), not a list of people."""
    try:
        shape = np.shape(people)
    except ValueError:   # ragged: a list of people of other lengths
        return False
    return shape in ((17, 3), (51,))


def placed_people(given: list[np.ndarray], shape: tuple[int, ...]) -> list[np.ndarray]:
    """Those of the people ``given`` who can be placed on an image of ``shape``: two or more sure keypoints inside
    it, not all on one point. PersonsegError where a sure keypoint lies more than the image's
    size outside it, or where people with sure keypoints were given and none can be placed (keypoints made for
    another size of the photo)."""
    from ..errors import PersonsegError

    h, w = shape[:2]
    placed = []
    for k, kp in enumerate(given):
        sure = kp[visible(kp), :2]
        far = sure[(sure[:, 0] < -w) | (sure[:, 0] > 2 * w) | (sure[:, 1] < -h) | (sure[:, 1] > 2 * h)]
        if len(far):
            raise PersonsegError(f"person {k + 1}: a keypoint at ({far[0, 0]:g}, {far[0, 1]:g}) lies far outside the "
                                 f"{w}x{h} photo (keypoints are in pixels of this photo, turned upright)")
        on = sure[inside(sure, shape)]
        if len(on) >= 2 and max(np.ptp(on[:, 0]), np.ptp(on[:, 1])) >= 1:
            placed.append(kp)
    if given and not placed and any(visible(kp).sum() >= 2 for kp in given):
        raise PersonsegError(f"none of the {len(given)} people given can be placed on the {w}x{h} photo: fewer than "
                             "two of their sure keypoints lie inside it, or all on one point (keypoints are in pixels "
                             "of this photo, turned upright)")
    return placed


def rounded_keypoints(kp: np.ndarray) -> list:
    """(17, 3) keypoints as JSON lists, to the hundredth (in double precision: no float32 tails such as
    278.1199951171875)."""
    return np.round(np.asarray(kp, np.float64), 2).tolist()


def visible(kp: np.ndarray, min_score: float = MIN_SCORE) -> np.ndarray:
    """Boolean mask of the keypoints scored at least ``min_score``."""
    return kp[:, 2] >= min_score


def inside(xy: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean (n,): which of the (n, 2+) points (x, y, ...) lie inside an image of ``shape``."""
    h, w = shape[:2]
    return (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)


def pixels_inside(kp: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """int (n, 2) pixel positions (x, y) of ``kp``'s confident keypoints that lie inside an image of ``shape``."""
    pts = kp[kp[:, 2] >= MIN_SCORE, :2].astype(int)
    return pts[inside(pts, shape)]


def near_mask(kp: np.ndarray, mask: np.ndarray, reach: float) -> np.ndarray:
    """A copy of ``kp`` with the score of each confident keypoint inside the frame farther than ``reach`` pixels
    from every pixel of ``mask`` (HxW, nonzero on people) set to 0: a point the tracker carried off the person.
    Points past the frame's edge stay as they are (the pose backend places limbs the frame cuts off there)."""
    out = kp.copy()
    h, w = mask.shape[:2]
    for i in np.flatnonzero(visible(kp) & inside(kp, mask.shape)):
        x, y = (float(v) for v in kp[i, :2])
        x0, y0 = max(0, int(np.floor(x - reach))), max(0, int(np.floor(y - reach)))
        ys, xs = np.nonzero(mask[y0:min(h, int(y + reach) + 1), x0:min(w, int(x + reach) + 1)])
        if not len(xs) or np.min((xs + x0 - x) ** 2 + (ys + y0 - y) ** 2) > reach ** 2:
            out[i, 2] = 0.0
    return out


def _torso_length(kp: np.ndarray, seen: np.ndarray) -> float | None:
    """Distance from the middle of the seen shoulders to the middle of the seen hips, or None without both."""
    shoulders, hips = [K["left_shoulder"], K["right_shoulder"]], [K["left_hip"], K["right_hip"]]
    if not seen[shoulders].any() or not seen[hips].any():
        return None
    top = kp[shoulders, :2][seen[shoulders]].mean(axis=0)
    return float(np.linalg.norm(top - kp[hips, :2][seen[hips]].mean(axis=0)))


def neck(kp: np.ndarray, min_score: float = MIN_SCORE) -> np.ndarray | None:
    """Midpoint of the shoulders, or None when either is missing."""
    ls, rs = kp[K["left_shoulder"]], kp[K["right_shoulder"]]
    if ls[2] < min_score or rs[2] < min_score:
        return None
    return (ls[:2] + rs[:2]) / 2


def body_scale(kp: np.ndarray, min_score: float = MIN_SCORE) -> float:
    """A length in pixels that grows with the person's size: about one shoulder width.

    The largest of the shoulders' distance, the face's (ears or eyes) and the hips' (each scaled to a shoulder
    width) and TORSO_SCALE of the torso's length (someone seen side-on, whose shoulders are one point), else the
    spread of whatever is seen; 0 when nothing is.
    """
    v = visible(kp, min_score)
    pts = kp[:, :2]

    def dist(a: str, b: str) -> float | None:
        ia, ib = K[a], K[b]
        return float(np.linalg.norm(pts[ia] - pts[ib])) if v[ia] and v[ib] else None

    cands = [
        dist("left_shoulder", "right_shoulder"),
        None if (d := dist("left_ear", "right_ear")) is None else 2.2 * d,
        None if (d := dist("left_eye", "right_eye")) is None else 5.0 * d,
        None if (d := dist("left_hip", "right_hip")) is None else 1.5 * d,
        None if (d := _torso_length(kp, v)) is None else TORSO_SCALE * d,
    ]
    cands = [c for c in cands if c is not None and c > 1.0]
    if cands:
        return max(cands)
    if v.sum() >= 2:
        span = pts[v].max(axis=0) - pts[v].min(axis=0)
        return float(max(span.max() / 3.0, 1.0))
    return 0.0


def face_center_and_size(kp: np.ndarray, min_score: float = MIN_SCORE) -> tuple[np.ndarray, float] | None:
    """Centre of the seen face points and the head's width in pixels, or None without a face."""
    v = visible(kp, min_score)
    face = [i for i in FACE if v[i]]
    if not face:
        return None
    center = kp[face, :2].mean(axis=0)
    if v[K["left_ear"]] and v[K["right_ear"]]:
        width = 1.25 * float(np.linalg.norm(kp[K["left_ear"], :2] - kp[K["right_ear"], :2]))
    elif v[K["left_eye"]] and v[K["right_eye"]]:
        width = 2.6 * float(np.linalg.norm(kp[K["left_eye"], :2] - kp[K["right_eye"], :2]))
    else:
        width = 0.45 * body_scale(kp, min_score)
    width = max(width, 0.35 * body_scale(kp, min_score), 2.0)
    return center, width


def up_direction(kp: np.ndarray, min_score: float = MIN_SCORE) -> np.ndarray:
    """Unit vector pointing from the body towards the top of the head (image up when unknown)."""
    n = neck(kp, min_score)
    fc = face_center_and_size(kp, min_score)
    if n is not None and fc is not None:
        d = fc[0] - n
        if np.linalg.norm(d) > 1e-3:
            return (d / np.linalg.norm(d)).astype(np.float32)
    v = visible(kp, min_score)
    hips = [K["left_hip"], K["right_hip"]]
    if n is not None and v[hips].all():
        d = n - kp[hips, :2].mean(axis=0)
        if np.linalg.norm(d) > 1e-3:
            return (d / np.linalg.norm(d)).astype(np.float32)
    return np.array([0.0, -1.0], np.float32)


def head_point(kp: np.ndarray, min_score: float = MIN_SCORE) -> np.ndarray | None:
    """Estimated top of the head (x, y), from the face points, the neck and the head size (seed 002)."""
    fc = face_center_and_size(kp, min_score)
    if fc is None:
        return None
    center, width = fc
    return (center + up_direction(kp, min_score) * 0.75 * width).astype(np.float32)


def to_joints14(kp: np.ndarray, min_score: float = MIN_SCORE) -> np.ndarray:
    """The seed 002 14-joint form (JOINT14_NAMES order) as float32 (14, 3); missing joints score 0."""
    kp = validate_keypoints(kp)
    out = np.zeros((14, 3), np.float32)
    hp = head_point(kp, min_score)
    if hp is not None:
        face_scores = [kp[i, 2] for i in FACE if kp[i, 2] >= min_score]
        out[0] = (*hp, float(np.mean(face_scores)))
    n = neck(kp, min_score)
    if n is not None:
        out[1] = (*n, min(kp[K["left_shoulder"], 2], kp[K["right_shoulder"], 2]))
    for j, name in enumerate(JOINT14_NAMES[2:], start=2):
        out[j] = kp[K[name]]
    out[out[:, 2] < min_score] = 0.0
    return out


def keypoint_distance(a: np.ndarray, b: np.ndarray, min_score: float = MIN_SCORE) -> float:
    """Mean distance between the points two people both have, over the size of b's box: about 0 for the same
    person, 1e6 when they share no point."""
    both = (a[:, 2] >= min_score) & (b[:, 2] >= min_score)
    if not both.any():
        return 1e6
    pts = b[b[:, 2] >= min_score, :2]
    size = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 1.0)
    return float(np.linalg.norm(a[both, :2] - b[both, :2], axis=1).mean() / size)
