"""The pose backend's own outline of the person: joined with the networks' probability (method ``accurate``)
and the graph cut's spatial prior (method ``classical``); and MediaPipe's selfie segmentation model, joined
with `accurate`'s networks.

BlazePose's landmark model also draws the person it found. On held-out photos it outlines whole bodies
better than our networks and portraits worse (EG1800's 51 unlisted portraits, foreground IoU: BlazePose
0.865, ours 0.932; CCP full bodies among the validation pairs: 0.930 and 0.916), so it weighs more when the
photo shows a body down to the hips. Weights and the full-body rule were chosen on those held-out images
(EG1800 unlisted 51 + the training runs' 209 validation pairs), the test sets only scored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..framing import Box, binary_mask, keypoint_box
from ..pose.keypoints import pixels_inside
from ..selfie import selfie_probability

#: Share of the backend's outline in the joined probability: on portraits, and on one person seen down to
#: the hips. Validation EG1800 / CCP, accurate + guided IoU (benchmarks/outline.py): without the outline
#: 0.9591 / 0.9158; 0.25 0.9607 / 0.9213; 0.75 (not refined) 0.9394 / 0.9302; the rule 0.9626 / 0.9302.
PORTRAIT_WEIGHT = 0.25
FULL_BODY_WEIGHT = 0.75
#: Range the outline is clipped to when it is the graph cut's spatial prior, so that colour can overrule it.
#: Held-out classical + guided IoU / boundary F, the seed 000 saliency prior -> the outline: EG1800 unlisted
#: 0.868 / 0.628 -> 0.906 / 0.732, validation EG1800 0.908 / 0.670 -> 0.946 / 0.771, validation CCP
#: 0.874 / 0.821 -> 0.915 / 0.886 (benchmarks/outline.py).
OUTLINE_PRIOR_RANGE = (0.05, 0.95)
#: Share of MediaPipe's selfie segmentation model (selfie.py) in `accurate`'s coarse probability, the
#: rest being the mean of our networks; the outline is joined after. Held-out accurate + guided IoU / boundary
#: F at shares 0 / 0.5 / 0.75 / 1 (SINet stage 6): EG1800 unlisted 0.9317 / 0.9376 / 0.9379 / 0.9368 (BF 0.781 /
#: 0.790 / 0.792 / 0.789), validation EG1800 0.9617 / 0.9693 / 0.9697 / 0.9700 (0.809 / 0.830 / 0.834 / 0.836),
#: validation CCP 0.9303 / 0.9309 / 0.9310 / 0.9311 (0.911 / 0.913 / 0.913 / 0.914). 0.75 ties 1 over the 260
#: images and keeps our networks a part (benchmarks/outline.py).
SELFIE_WEIGHT = 0.75
#: With one person given, the selfie model is left out where more than SELFIE_AWAY of its mask lies outside that
#: person's map from the person model grown by a disc SELFIE_NEAR of the image's longest side across: it marks
#: others.
#: Chosen with `accurate` on pose_mini, coco_people's first 60 train photos (each labelled person given alone, and
#: all at once) and 60 validation photos each of EG1800 and CCP (BlazePose's keypoints given), IoU without the
#: rule -> near 0.05 / 0.1 / 0.1, away 0.2 / 0.2 / 0.3: one given pose_mini 0.575 -> 0.673 / 0.673 / 0.673,
#: coco_people 0.446 -> 0.530 / 0.533 / 0.534; all given 0.777 -> 0.786 (all three), 0.612 -> 0.642 / 0.644 /
#: 0.644; EG1800 0.955 (all), CCP 0.9231 -> 0.9226 / 0.9228 / 0.9228 (the person-model blend in all).
SELFIE_NEAR, SELFIE_AWAY = 0.1, 0.3
#: The outline and the refinement network are about the one person found: outside that person's own frame
#: (their keypoint box grown by this share of its longer side on every side) the regions that ``confirm`` finds
#: to be people keep the probability they had before instead of being dimmed away by one person's outline.
#: Choice groups, `accurate` IoU without matting, the outline everywhere -> only in the frame, everything outside
#: it kept, at margins 0.05 / 0.15 / 0.3: pennfudan 0.575 -> 0.767 / 0.768 / 0.728, coco_people 0.394 -> 0.443 /
#: 0.440 / 0.431, coco_single 0.764 -> 0.765 / 0.769 / 0.770, CCP 0.9288 -> 0.9295 / 0.9298 / 0.9310, EG1800
#: validation 0.9656 -> 0.9648 / 0.9653 / 0.9656. Keeping everything outside also kept clutter the outline had
#: dimmed (the railing beside the parkour runner: accurate video 0.9235 -> 0.8904), hence ``confirm``; with it
#: (margin 0.15, the final rule): pennfudan 0.7570, coco_people 0.4295, coco_single 0.7544, CCP 0.9299, EG1800
#: validation 0.9656; the parkour frames as photos 0.9272.
OWN_FRAME_MARGIN = 0.15
#: Regions outside that frame smaller than this share of the image are not checked (nor kept), and at most
#: OTHERS_CHECKED of them, largest first, are (each check is a pose backend call).
OTHER_MIN_SHARE = 0.002
OTHERS_CHECKED = 10
#: A region that the finishing left at least 90% person (less than this share of it fell below 0.5) is not
#: checked: putting it back would change little. On the latency benchmark's 100 EG1800 portraits 55 checks -> 7
#: (person_in 12 -> 1.8 ms a photo on average); choice groups' IoU unchanged (coco_people 0.4294 -> 0.4295).
KEPT_ANYWAY = 0.1
#: COCO-17 indices of the hips, and the score at which one counts as seen.
HIPS = (11, 12)
HIP_SCORE = 0.5


def own_outline(outline: np.ndarray | None, people: list[np.ndarray]) -> np.ndarray | None:
    """``outline`` when ``people`` is one person, else None: the backend outlines one person only, and joined
    where several are known it would dim the others."""
    return outline if len(people) == 1 else None


def lone_person(people: list[np.ndarray]) -> bool:
    """True when ``people`` holds one person at most: the selfie model is joined only then, as it sees the whole
    image at 256x256 and, where several people are, merges them and loses the small ones (pose_mini
    instances, accurate: 9/19 found, 3 spurious without it; 6/19, 9 spurious with it; benchmarks/people_video.py)."""
    return len(people) <= 1


def own_frame(people: list[np.ndarray], shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """The lone person's own frame in an image of ``shape``: their keypoint box grown by OWN_FRAME_MARGIN of its
    longer side, on whole pixels inside the image; None unless ``people`` is one person placed by two or more
    keypoints, or when that frame lies outside the image."""
    box = keypoint_box(people[0], shape[0]) if len(people) == 1 else None
    if box is None:
        return None
    x0, y0, x1, y1 = box
    pad = OWN_FRAME_MARGIN * max(x1 - x0, y1 - y0)
    h, w = shape[:2]
    x0, x1 = (min(max(int(v), 0), w) for v in (np.floor(x0 - pad), np.ceil(x1 + pad)))
    y0, y1 = (min(max(int(v), 0), h) for v in (np.floor(y0 - pad), np.ceil(y1 + pad)))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def within_own_frame(done: np.ndarray, before: np.ndarray, people: list[np.ndarray],
                     confirm: Callable[[np.ndarray, Box], bool] | None) -> np.ndarray:
    """``done`` (a probability finished for the one person in ``people``: outline joined, refined) with, outside
    that person's own frame (OWN_FRAME_MARGIN), each region of ``before``'s mask that ``confirm`` (given the
    region and that frame, which it paints out) finds to be a person put back as ``before`` had it, with its part
    inside the frame unless it is joined to the person's own region. ``done`` as it is without ``confirm`` or
    unless exactly one person is placed by two or more keypoints."""
    frame = own_frame(people, done.shape) if confirm is not None else None
    if frame is None or done is before:
        return done
    x0, y0, x1, y1 = frame
    whole = binary_mask(before)
    outside = whole.copy()
    outside[y0:y1, x0:x1] = 0
    labels, large = largest_regions(outside)
    out, parts = done, None
    for k in large:
        region = labels == k
        if (done[region] < 0.5).mean() < KEPT_ANYWAY:   # the finishing kept it: nothing to put back
            continue
        if confirm(region, frame):
            if parts is None:
                parts, own = _own_parts(whole, people[0])
            reaching = np.unique(parts[region])   # a confirmed person reaching into the frame is put back whole
            region |= np.isin(parts, reaching[(reaching > 0) & ~np.isin(reaching, own)])
            out = done.copy() if out is done else out
            out[region] = np.maximum(done[region], before[region])
    return out


def largest_regions(mask: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The labels of ``mask``'s (uint8) connected regions and those worth a check (``worth_checking``)."""
    labels = np.zeros(mask.shape, np.int32)
    x, y, w, h = cv2.boundingRect(mask)   # labelled within the box that holds them all: often none, or a sliver
    if w == 0:
        return labels, []
    _, inside, stats, _ = cv2.connectedComponentsWithStats(mask[y:y + h, x:x + w], connectivity=8)
    labels[y:y + h, x:x + w] = inside
    return labels, worth_checking(stats[:, cv2.CC_STAT_AREA], mask.size)


def worth_checking(areas: np.ndarray, size: int) -> list[int]:
    """The labels of the regions worth a check, largest first, from every label's ``areas`` (the background's
    first) in an image of ``size`` pixels: at least OTHER_MIN_SHARE of it, at most OTHERS_CHECKED of them."""
    areas = areas[1:]
    return [int(k) + 1 for k in np.argsort(-areas) if areas[k] >= OTHER_MIN_SHARE * size][:OTHERS_CHECKED]


def _own_parts(mask: np.ndarray, person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labels of ``mask``'s connected regions and those that hold one of ``person``'s confident keypoints."""
    _, parts = cv2.connectedComponents(mask, connectivity=8)
    pts = pixels_inside(person, mask.shape)
    return parts, np.unique(parts[pts[:, 1], pts[:, 0]])


def shows_hips(people: list[np.ndarray], shape: tuple[int, ...]) -> bool:
    """True when exactly one person is known and a hip of theirs is seen inside an image of ``shape``."""
    if len(people) != 1:
        return False
    h, w = shape[:2]
    hips = people[0][list(HIPS)]
    seen = (hips[:, 2] > HIP_SCORE) & (hips[:, 0] >= 0) & (hips[:, 0] < w) & (hips[:, 1] >= 0) & (hips[:, 1] < h)
    return bool(seen.any())


def join_outline(prob: np.ndarray, outline: np.ndarray, full_body: bool) -> np.ndarray:
    """The weighted mean of ``prob`` (a network's person probability) and ``outline`` (the pose backend's,
    same shape), the outline weighing FULL_BODY_WEIGHT on a full body and PORTRAIT_WEIGHT otherwise."""
    weight = FULL_BODY_WEIGHT if full_body else PORTRAIT_WEIGHT
    return ((1.0 - weight) * prob + weight * outline).astype(np.float32)


def join_selfie(prob: np.ndarray, selfie: np.ndarray) -> np.ndarray:
    """The weighted mean of ``prob`` (our networks' person probability) and ``selfie`` (the selfie segmentation
    model's, same shape), the latter weighing SELFIE_WEIGHT."""
    return ((1.0 - SELFIE_WEIGHT) * prob + SELFIE_WEIGHT * selfie).astype(np.float32)


def with_selfie(rgb: np.ndarray, prob: np.ndarray, people: list[np.ndarray],
                own: np.ndarray | None = None) -> np.ndarray:
    """``prob`` (our networks' person probability of ``rgb``) joined with MediaPipe's selfie segmentation model's
    where ``people`` holds one person at most (``lone_person``); else ``prob``. ``own``: the one person given,
    their map from the person model (float HxW): the selfie model, which marks everyone, is then left out where
    it marks others (``marks_others``)."""
    if not lone_person(people):
        return prob
    selfie = selfie_probability(rgb)
    return prob if own is not None and marks_others(selfie, own) else join_selfie(prob, selfie)


def marks_others(selfie: np.ndarray, own: np.ndarray) -> bool:
    """Whether more than SELFIE_AWAY of the selfie model's mask lies away from a person's own map (``own`` >= 0.5
    grown by a disc SELFIE_NEAR of the image's longest side across): other people, whom a given person's mask must
    not take."""
    marked = binary_mask(selfie) > 0
    radius = max(1, int(SELFIE_NEAR * max(own.shape)) // 2)
    # the disc by exact distances to the map, one pass whatever its size (OpenCV's dilation by a disc of that size
    # took 28 s on a 4032x3866 photo: an edit on the page timed out)
    away = cv2.distanceTransform((binary_mask(own) == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return bool((marked & (away > radius)).sum() > SELFIE_AWAY * marked.sum())


def outline_prior(outline: np.ndarray) -> np.ndarray:
    """The outline as the classical graph cut's spatial foreground prior (OUTLINE_PRIOR_RANGE)."""
    return np.clip(outline, *OUTLINE_PRIOR_RANGE).astype(np.float32)
