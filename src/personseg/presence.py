"""Is a marked region a person? A small network trained here (``region-check``) looks at each region of a
mask, the photo around it and the region's shape, where no pose vouches for anyone: the networks that draw
masks also mark cats, sofas and cakes, and without keypoints nothing else tells them from people."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .framing import Box, Confirm, binary_mask
from .models.registry import spec
from .pose.keypoints import pixels_inside
from .refine.components import keep_regions
from .refine.fusion import worth_checking
from .runtime import normalised, session

#: The model that scores regions.
MODEL = "region-check"
#: Regions smaller than this share of the image are not looked at (nor kept on their own).
MIN_REGION = 0.0005
#: The crop around a region: its box's longer side times this, square, centred on the box.
CONTEXT = 1.3
#: A region is taken for a person at this probability or more. Chosen with `accurate` on the choice groups
#: (held-out EG1800 and CCP; the first 60 train photos of pennfudan, coco_people and coco_single, never trained
#: on) and the 142 person-free strips of those photos: at 0.5 / 0.7 coco_people 0.4263 / 0.4221 IoU (0.4295
#: unchecked), coco_single 0.7544 both (0.7544), strips marked 25.4% / 23.2% (50%), the other groups unchanged;
#: their mean, a strip scoring 1 when left empty, is best at 0.7 (0.7877 / 0.7901; 0.7529 unchecked).
THRESHOLD = 0.7
#: ... and a region the check scores below this is not kept because the pose backend finds someone on its crop
#: (BlazePose places people on food tables and shelves). Chosen the same way (accurate, no matting): at 0 / 0.1 /
#: 0.3 coco_people 0.4236 / 0.4236 / 0.4179 IoU, coco_single 0.7640 all three, strips left empty 75.6% / 77.5% /
#: 80.6%, COCO choice photos with everyone painted out left empty 80.4% / 83.3% / 86.3%, the other groups
#: unchanged; the mean of the seven groups 0.7931 / 0.7958 / 0.7994.
CONFIRM_FLOOR = 0.3
#: ... and the largest this many of those worth checking are kept, where the check and the pose backend left them
#: out, when a hand is found on their crop (parts of people no pose is found on: an arm on a bed, hands holding a
#: phone; about 26 ms a crop). Out of fold (the check trained five times, each without a fifth of its training
#: photos, `accurate` on each photo with the check that did not see it; docs/ARCHITECTURE.md): coco_single 0.6801 ->
#: 0.6901 IoU (6 of 340 photos gained, none lost), the other sets and the person-free strips unchanged, COCO photos
#: with everyone painted out left empty 261 -> 259 of 364 (skin-coloured smears of the painted-out people).
HANDS_CHECKED = 3
#: BlazePose's outline vouches for the person it is drawn around (video: no wait for the region check) when its mean
#: probability over the pixels it gives more than 0.5 is at least this. On the choice groups' stills (held-out EG1800
#: and CCP, the first 60 train photos of pennfudan, coco_people and coco_single, their person-free strips and the COCO
#: ones with everyone painted out), BlazePose on the whole photo: 0.965 or more for 82.5% of the 349 poses on a
#: person and for none of the 31 on nobody (0.96: 88.0% and 2; 0.95: 94.6% and 8); on the person-free views of the
#: training photos past the choice photos, 11 of 110 poses on nobody (docs/ARCHITECTURE.md, "No one where there is
#: nobody").
OUTLINE_SURE = 0.965


def regions(mask: np.ndarray) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Connected regions (8-neighbour) of ``mask`` (uint8/bool HxW): labels, the labels of regions of at least
    MIN_REGION of the image, and each label's OpenCV statistics (x, y, w, h, area)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8, copy=False), connectivity=8)
    big = [k for k in range(1, count) if stats[k, cv2.CC_STAT_AREA] >= MIN_REGION * mask.size]
    return labels, big, stats


def region_box(x: int, y: int, w: int, h: int) -> Box:
    """The square crop the network sees around a region's box (x, y, w, h)."""
    side = CONTEXT * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


def region_input(rgb: np.ndarray, labels: np.ndarray, label: int, box: Box) -> np.ndarray:
    """The network's (1, 4, h, w) float32 input: the square ``box`` of ``rgb`` and of region ``label`` of
    ``labels``, shrunk (area averaging) to the model's size, the image's edge pixels repeated where the square
    leaves it. Only the square's part of the image is touched."""
    model = spec(MODEL)
    (w, h), side = model.size, box[2] - box[0]
    f = w / side
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(rgb.shape[1], int(np.ceil(box[2]))), min(rgb.shape[0], int(np.ceil(box[3])))
    # the part inside the image at the model's scale, then the edges repeated out to the square
    left, top = max(0, round((x0 - box[0]) * f)), max(0, round((y0 - box[1]) * f))
    iw, ih = max(1, min(w - left, round((x1 - x0) * f))), max(1, min(h - top, round((y1 - y0) * f)))
    inside = np.dstack([rgb[y0:y1, x0:x1], (labels[y0:y1, x0:x1] == label).astype(np.uint8) * 255])
    small = cv2.resize(inside, (iw, ih), interpolation=cv2.INTER_AREA)
    planes = cv2.copyMakeBorder(small, top, h - top - ih, left, w - left - iw, cv2.BORDER_REPLICATE)
    return normalised(planes.astype(np.float32).transpose(2, 0, 1), model)


def person_scores(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """Labels of ``mask``'s regions, their statistics (``regions``) and, for each region of at least
    MIN_REGION, the probability that it is a person."""
    labels, big, stats = regions(mask)
    return labels, stats, _scored(rgb, labels, stats, big)


def _scored(rgb: np.ndarray, labels: np.ndarray, stats: np.ndarray, ks: list[int]) -> dict[int, float]:
    """The probability that each region ``k`` of ``ks`` (labels of ``labels``, OpenCV's ``stats``) is a person."""
    if not ks:
        return {}
    sess = session(spec(MODEL))
    name = sess.get_inputs()[0].name
    logits = [float(sess.run(None, {name: region_input(rgb, labels, k, region_box(*stats[k, :4]))})[0].ravel()[0])
              for k in ks]
    return {k: float(1.0 / (1.0 + np.exp(-z))) for k, z in zip(ks, logits)}


def looked_over(rgb: np.ndarray, prob: np.ndarray, trusted: list[np.ndarray], candidates: dict[int, np.ndarray],
                threshold: float = THRESHOLD) -> tuple[np.ndarray, set[int]]:
    """``prob`` (float HxW) where people the pose backend placed are not all trusted yet (video: its search for
    everyone also places people on rocks and patterns): each region of ``prob >= 0.5`` holding a confident keypoint
    of one of ``candidates`` (id -> keypoints) and none of ``trusted``'s stays only when the region check gives it
    ``threshold`` or more; with nobody trusted, every region must (no pose backend's second opinion on crops, as
    ``checked_probability`` asks: it finds the doubted pose again). What goes, goes with its soft edge. Returns
    the probability and the ids of the candidates standing on a region the check took."""
    if trusted and not candidates:
        return prob, set()
    mask = binary_mask(prob)
    labels, big, stats = regions(mask)

    def held(kp: np.ndarray) -> set[int]:
        x, y = pixels_inside(kp, mask.shape).T
        return set(labels[y, x].tolist()) - {0}

    on = {tid: held(kp) for tid, kp in candidates.items()}
    if trusted:
        doubted = set().union(*on.values()) - set().union(*map(held, trusted))
    else:
        doubted = set(range(1, len(stats)))
    if not doubted:
        return prob, set()
    scores = _scored(rgb, labels, stats, [k for k in big if k in doubted])
    taken = {k for k, score in scores.items() if score >= threshold}
    people = {tid for tid, ks in on.items() if ks & taken}
    if doubted <= taken:
        return prob, people
    keep = np.ones(len(stats), bool)
    keep[0] = False   # the background is not a region kept: its faint edges of regions dropped go too
    keep[list(doubted - taken)] = False
    return (keep_regions(prob, labels, keep) if keep.any() else np.zeros_like(prob)), people


def taken_for_person(rgb: np.ndarray, region: np.ndarray, threshold: float = THRESHOLD) -> bool:
    """True when the check gives the region ``region`` (bool HxW, one connected region of at least MIN_REGION) of
    ``rgb`` ``threshold`` or more."""
    _, _, scores = person_scores(rgb, region)
    return any(score >= threshold for score in scores.values())


def checked_probability(rgb: np.ndarray, prob: np.ndarray, confirm: Confirm | None = None,
                        threshold: float = THRESHOLD, hand: Callable[[np.ndarray], bool] | None = None) -> np.ndarray:
    """``prob`` (float HxW) on the regions of ``prob >= 0.5`` taken for people and their soft edge
    (``keep_regions``), 0 elsewhere: all 0 where none is taken. A region is taken when the check gives it
    ``threshold`` or more, or else, if it is one of the largest (``refine.fusion.worth_checking``: each is a
    pose backend call) and scored at least CONFIRM_FLOOR, when ``confirm`` (``instances.person_in``: the pose
    backend on its crop) finds someone, or else, if it is one of the HANDS_CHECKED largest, when ``hand``
    (``pose.hands.HandFinder.seen``) finds a hand on the check's crop of it (the part inside the photo)."""
    mask = binary_mask(prob)
    labels, stats, scores = person_scores(rgb, mask)
    keep = np.zeros(len(stats), bool)
    for k, score in scores.items():
        keep[k] = score >= threshold
    if confirm is not None:
        for rank, k in enumerate(worth_checking(stats[:, cv2.CC_STAT_AREA], mask.size)):
            keep[k] = keep[k] or (scores.get(k, 0.0) >= CONFIRM_FLOOR and confirm(labels == k, (0.0, 0.0, 0.0, 0.0)))
            if not keep[k] and hand is not None and rank < HANDS_CHECKED:
                x0, y0, x1, y1 = (max(0, int(round(v))) for v in region_box(*stats[k, :4]))
                keep[k] = hand(rgb[y0:y1, x0:x1])
    return keep_regions(prob, labels, keep) if keep.any() else np.zeros_like(prob)


def sure_outline(outline: np.ndarray | None) -> np.ndarray | None:
    """bool HxW: the pixels of BlazePose's ``outline`` (float HxW person probability) above 0.5, where it is sure
    of the person there (OUTLINE_SURE); None where it is not, or there is no outline."""
    if outline is None:
        return None
    drawn = outline > 0.5
    return drawn if drawn.any() and float(outline[drawn].mean()) >= OUTLINE_SURE else None


def people_put_back(rgb: np.ndarray, prob: np.ndarray, kept: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """``kept`` (``prob`` with regions dropped: ``keep_people``) with each dropped region that the check takes for a
    person (``threshold`` or more) back as it was in ``prob``."""
    if kept is prob:
        return kept
    dropped = cv2.bitwise_and(binary_mask(prob), cv2.bitwise_not(binary_mask(kept)))
    labels, _, scores = person_scores(rgb, dropped)
    back = [k for k, score in scores.items() if score >= threshold]
    if not back:
        return kept
    taken = np.isin(labels, back)
    kept = kept.copy()
    kept[taken] = prob[taken]
    return kept
