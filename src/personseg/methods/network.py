"""Methods served by shipped networks: the mean of their probabilities, each framed on the people, then the
joins and refinement the method asks for."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..framing import keypoint_box
from ..instances import person_maps
from ..presence import people_put_back
from ..refine.components import keep_people
from ..refine.fusion import join_outline, lone_person, own_outline, shows_hips, with_selfie, within_own_frame
from ..refine.network import refined_probability
from ..runtime import coarse_probability
from .base import Confirm, Method, Scene


@dataclass(frozen=True)
class NetworkMethod(Method):
    """``networks``' probabilities averaged (models/registry.py names), each framed on the scene's box and fed
    its people's prior maps where it takes them. ``selfie``: joined with MediaPipe's selfie segmentation model
    where one person at most is known; ``uses_outline``: joined with the pose backend's outline of one person;
    ``refine``: then corrected by seed 003's refinement network (not on one person seen down to the hips).
    ``lone_networks``: on a video frame where the selfie model is joined (one person followed at most), these
    networks instead of ``networks`` (the selfie model weighs three quarters there). ``video_matting``: as
    Method's."""

    name: str
    summary: str
    networks: tuple[str, ...]
    needs_keypoints: bool = False
    uses_outline: bool = False
    selfie: bool = False
    refine: bool = False
    lone_networks: tuple[str, ...] = ()
    video_matting: str | None = None

    @property
    def models(self) -> tuple[str, ...]:
        return self.networks + ("refine",) * self.refine

    def without_mediapipe_masks(self) -> NetworkMethod:
        """Neither BlazePose's outline nor MediaPipe's selfie model: the networks trained here make the mask
        (the refinement network still runs where the method refines, full bodies included: without the outline
        there is no full-body exception; skipping them instead measured neither better nor worse on the choice
        groups, accurate without the masks: CCP validation 0.9171 -> 0.9156 IoU, coco_people train 0.3359 ->
        0.3397, pennfudan train 0.5400 -> 0.5385)."""
        return replace(self, uses_outline=False, selfie=False)

    def unrefined(self) -> NetworkMethod:
        return replace(self, refine=False)

    def coarse(self, scene: Scene, crf: bool) -> np.ndarray:
        lone = bool(self.lone_networks) and scene.video and self.selfie and lone_person(scene.people)
        return coarse_probability(scene.rgb, self.lone_networks if lone else self.networks, scene.box,
                                  scene.people, beyond=scene.beyond, size=scene.size, above=scene.tile_above)

    def widen(self, scene: Scene, prob: np.ndarray, crf: bool) -> np.ndarray:
        """The maximum of ``prob`` and a pass framed on each person on their own, so small ones are seen too."""
        boxes = [b for b in (keypoint_box(kp, scene.rgb.shape[0]) for kp in scene.people) if b is not None]
        return np.maximum.reduce([prob] + [coarse_probability(scene.rgb, self.networks, b, scene.people,
                                                              size=scene.size) for b in boxes])

    def finish(self, scene: Scene, prob: np.ndarray) -> np.ndarray:
        """The selfie model joined (after the search for everyone, which it would mislead), regions nobody
        vouches for dropped, then the outline and the refinement network (``finished_probability``)."""
        if self.selfie:
            own = scene.given_maps[0] if scene.given_maps and len(scene.given_maps) == 1 else None
            prob = with_selfie(scene.rgb, prob, scene.people, own)
        prob = kept_or_put_back(scene.rgb, prob, scene.vouched, scene.put_back)
        if self.uses_outline or self.refine:
            outline = scene.outline if self.uses_outline else None
            prob = finished_probability(scene.rgb, prob, scene.vouched, outline, self.refine, scene.confirm,
                                        scene.put_back)
        return prob

    def person_maps(self, rgb: np.ndarray, people: list[np.ndarray]) -> list[np.ndarray] | None:
        """With two or more people, each one's map from the person model (``lwpsn-person``)."""
        return person_maps(rgb, people) if len(people) > 1 else None


def kept_or_put_back(rgb: np.ndarray, prob: np.ndarray, people: list[np.ndarray], put_back: bool) -> np.ndarray:
    """``prob`` with the regions nobody vouches for dropped (``keep_people``); with ``put_back`` (``Scene.put_back``)
    those the region check takes for people stay."""
    kept = keep_people(prob, people)
    return people_put_back(rgb, prob, kept) if put_back else kept


def finished_probability(rgb: np.ndarray, prob: np.ndarray, people: list[np.ndarray],
                         outline: np.ndarray | None, refine: bool = True,
                         confirm: Confirm | None = None, put_back: bool = False) -> np.ndarray:
    """``outline`` (the pose backend's probability map of the person, or None) joined into ``prob`` when
    ``people`` is one person (``own_outline``), weighing more when that person is seen down to the hips; then,
    with ``refine`` and except on such a full body, seed 003's refinement network and the stray regions dropped
    again. On full bodies the refinement network (trained on portrait-like mattes) lowered held-out scores: CCP
    validation pairs 0.9302 -> 0.9228 IoU with the outline joined. Nor with several people: framed on all of
    them it erases the small ones (accurate instances on the train splits, refined only for one person instead
    of always: coco_people found 53 -> 59 of 325, spurious 98 -> 92; pennfudan 187 -> 200 of 270, spurious
    64 -> 55, matched IoU 0.789 -> 0.803; given coco_people's true keypoints 32 -> 37 of 77). Both work in the
    person's own frame: outside it the regions ``confirm`` finds to be people keep ``prob``
    (``within_own_frame``). ``put_back``: as in ``kept_or_put_back``."""
    outline = own_outline(outline, people)
    full_body = outline is not None and shows_hips(people, rgb.shape)
    done = prob if outline is None else join_outline(prob, outline, full_body)
    if refine and not full_body and len(people) <= 1:
        done = kept_or_put_back(rgb, refined_probability(rgb, done), people, put_back)
    return within_own_frame(done, prob, people, confirm)
