"""Segmenter: a method's stages wired together for photos, and timed. The stages live in the modules of their
stage (methods/, framing.py, runtime.py, refine/); this module only calls them in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import numpy as np

from .errors import DependencyError, PersonsegError
from .framing import binary_mask, people_box
from .image import ImageInput, load_image
from .instances import find_people, split_instances
from .methods import DEFAULT_METHOD, METHODS, Scene, get_method
from .pose import PoseBackend, detect_people, empty_keypoints, get_backend
from .refine.crf import crf_available
from .refine.matting import DEFAULT_MATTING, MATTING, MATTING_SIDE
from .result import Result

T = TypeVar("T")


def check_matting(matting: str | None) -> None:
    """Raise PersonsegError unless ``matting`` is None or one of MATTING."""
    if matting is not None and matting not in MATTING:
        raise PersonsegError(f"unknown matting {matting!r}; choose one of {', '.join(MATTING)}, or None")


def timed(timings: dict[str, float], stage: str, step: Callable[..., T], *args) -> T:
    """``step(*args)``, its seconds added to ``timings[stage]``."""
    t = time.perf_counter()
    out = step(*args)
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t
    return out


def matted(rgb: np.ndarray, prob: np.ndarray, matting: str | None, side: int | None,
           timings: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 mask, float32 alpha) of a method's finished probability: the alpha made by ``matting`` (a name in
    MATTING, at longest side ``side``) or, with None, the probability itself."""
    if matting is not None:
        prob = timed(timings, "matting", MATTING[matting], rgb, prob, side)
    return binary_mask(prob), prob.astype(np.float32, copy=False)


class Segmenter:
    """Segments the people in images with one method (methods.METHODS).

    >>> seg = Segmenter()     # the default method (methods.DEFAULT_METHOD)
    >>> r = seg(rgb)          # r.mask, r.alpha, r.keypoints
    """

    def __init__(
        self,
        method: str = DEFAULT_METHOD,
        matting: str | None = DEFAULT_MATTING,
        crf: bool | None = None,
        pose: PoseBackend | str = "blazepose",
        keypoints: bool | None = None,
        instances: bool = False,
        matting_side: int | None = MATTING_SIDE,
    ) -> None:
        """``matting``: how the alpha matte is made (a name in MATTING; None: the method's probability as it is).
        ``keypoints``: run the pose backend even where the method does not need it (None: only where it does).
        ``instances``: find everyone and give each a mask (``Result.instances``); needs the pose backend.
        ``matting_side``: longest side at which the matting runs, its alpha scaled back up (None: full size,
        for the finest edges of large photos; much slower)."""
        self.method = get_method(method)
        check_matting(matting)
        if crf and not crf_available():
            raise DependencyError("crf=True needs pydensecrf2: pip install 'personseg[crf]'")
        self.matting = matting
        self.matting_side = matting_side
        self.crf = crf_available() if crf is None else crf
        self.instances = instances
        needed = self.method.needs_keypoints or instances
        self.find_people = needed if keypoints is None else keypoints
        if needed and not self.find_people:
            raise PersonsegError(f"method {method!r} needs keypoints" if not instances else "instances need keypoints")
        self.pose = ((get_backend(pose, body_mask=self.method.uses_outline) if isinstance(pose, str) else pose)
                     if self.find_people else None)

    def __call__(self, image: ImageInput) -> Result:
        rgb = load_image(image)
        timings: dict[str, float] = {}
        people, outline = [], None
        if self.pose is not None:
            people, outline = timed(timings, "pose", detect_people, self.pose, rgb, self.method.uses_outline)
        main = people[0] if people else empty_keypoints()
        scene = Scene(rgb, people, people, main, outline, people_box(people, rgb.shape[0]))
        method = self.method
        prob = timed(timings, "coarse", method.coarse, scene, self.crf)
        if self.instances:
            everyone = timed(timings, "people", find_people, rgb, prob >= 0.5, self.pose) or people
            scene = replace(scene, people=everyone, vouched=everyone, everyone=True)
            prob = timed(timings, "people", method.widen, scene, prob, self.crf)
        prob = timed(timings, "finish", method.finish, scene, prob)
        mask, alpha = matted(rgb, prob, self.matting, self.matting_side, timings)
        instances = None
        if self.instances:
            maps = timed(timings, "instances", method.person_maps, rgb, scene.people)
            instances = timed(timings, "instances", split_instances, rgb, mask, scene.people, None, maps)
        return Result(mask=mask, alpha=alpha, keypoints=main, people=scene.people, rgb=rgb, timings=timings,
                      instances=instances)


def segment(image: ImageInput, method: str = DEFAULT_METHOD, **options) -> Result:
    """Segment one image with a new Segmenter (for one-off use; keep a Segmenter for many images)."""
    return Segmenter(method=method, **options)(image)


__all__ = ["DEFAULT_METHOD", "METHODS", "Result", "Segmenter", "check_matting", "matted", "segment", "timed"]
