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

import numpy as np

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


def with_selfie(rgb: np.ndarray, prob: np.ndarray, people: list[np.ndarray]) -> np.ndarray:
    """``prob`` (our networks' person probability of ``rgb``) joined with MediaPipe's selfie segmentation model's
    where ``people`` holds one person at most (``lone_person``); else ``prob``."""
    return join_selfie(prob, selfie_probability(rgb)) if lone_person(people) else prob


def outline_prior(outline: np.ndarray) -> np.ndarray:
    """The outline as the classical graph cut's spatial foreground prior (OUTLINE_PRIOR_RANGE)."""
    return np.clip(outline, *OUTLINE_PRIOR_RANGE).astype(np.float32)
