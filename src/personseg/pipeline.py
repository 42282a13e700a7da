"""Segmenter: a method's stages wired together for photos, and timed. The stages live in the modules of their
stage (methods/, framing.py, runtime.py, refine/); this module only calls them in order."""

from __future__ import annotations

import numbers
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from dataclasses import replace
from functools import partial
from typing import TypeVar

import numpy as np

from .allocator import tune_allocator
from .errors import DependencyError, NotPicklableError, NotPlacedWarning, PersonsegError
from .framing import Box, TILE_ABOVE, TILE_ABOVE_UNCHECKED, binary_mask, keypoint_box, people_box, shared_halvings
from .image import ImageInput, descreened, kept_image
from .instances import (MAX_PEOPLE, PERSON_MODEL, anyone_in, find_people, most_prominent, person_in, person_maps,
                        photo_people, searched_wide, split_instances)
from .methods import DEFAULT_METHOD, METHODS, Method, Scene, get_method
from .pose import PoseBackend, check_backend, empty_keypoints, get_backend
from .pose.hands import HandFinder
from .pose.keypoints import given_keypoints, pixels_inside, placed_people, visible
from .presence import checked_probability, taken_for_person
from .refine.components import keep_subject, only_people
from .refine.crf import crf_available
from .refine.matting import DEFAULT_MATTING, MATTING, MATTING_SIDE, opaque, working_size
from .result import Instance, Result
from .runtime import model_files

T = TypeVar("T")
#: Whom a photo's mask is of: everyone the method finds (the default), or only the most prominent person.
SUBJECTS = ("all", "main")
#: With given people, each one's map from the person model (``instances.person_maps``: one person's SSM in, their
#: mask out) weighs this much beside the method's probability (network methods): the method marks everyone and
#: loses small people, the person model only the one shown. Chosen on pose_mini and coco_people's first 60 train
#: photos (every labelled person given alone, and all at once; IoU with their true masks) and 60 validation
#: photos each of EG1800 and CCP (BlazePose's keypoints given), weights 0 / 0.4 / 0.5 / 0.6 / 1: `accurate`,
#: one given, pose_mini 0.387 / 0.438 / 0.575 / 0.657 / 0.661, coco_people 0.290 / 0.329 / 0.446 / 0.518 /
#: 0.524; all given 0.745 / 0.759 / 0.777 / 0.782 / 0.759 and 0.575 / 0.602 / 0.612 / 0.635 / 0.610; EG1800
#: 0.959 / 0.958 / 0.955 / 0.946 / 0.910, CCP 0.922 / 0.925 / 0.923 / 0.914 / 0.888. `fast` at 0.5: one given
#: 0.622 -> 0.671, 0.385 -> 0.528; all 0.722 -> 0.783, 0.558 -> 0.634; EG1800 0.935 -> 0.941, CCP 0.905 -> 0.919.
GIVEN_MAP_WEIGHT = 0.5
#: Smallest longest side at which matting may run: below it the matte of any person is a few pixels wide.
MIN_MATTING_SIDE = 32


def check_matting(matting: str | None, also: str = "") -> None:
    """Raise PersonsegError unless ``matting`` is None or one of MATTING (``also``: what else the caller took
    before, for the message)."""
    if matting is not None and matting not in MATTING:
        raise PersonsegError(f"unknown matting {matting!r}; choose one of {', '.join(MATTING)}, {also}or None")


def check_given(subject: str, require_person: bool, person_check: bool) -> None:
    """Raise PersonsegError where people are given with options that choose among the people found (a request or
    a command line that asks for both; a Segmenter called with people leaves those options aside)."""
    if subject != "all" or require_person or not person_check:
        raise PersonsegError("subject, require_person and person_check choose among the people found; with people "
                             "given exactly those are segmented")


def check_subject(subject: str, instances: bool = False) -> None:
    """Raise PersonsegError unless ``subject`` is one of SUBJECTS and fits ``instances``."""
    if subject not in SUBJECTS:
        raise PersonsegError(f"unknown subject {subject!r}; choose one of {', '.join(SUBJECTS)}")
    if subject == "main" and instances:
        raise PersonsegError("subject 'main' keeps one person and instances give everyone's masks: choose one")


def check_matting_side(side: int | None) -> int | None:
    """``side`` as the matting's working size: None (or 0) for full size, else at least MIN_MATTING_SIDE pixels."""
    whole = isinstance(side, numbers.Integral) and not isinstance(side, (bool, np.bool_))
    if side is None or (whole and side == 0):
        return None
    if not whole or side < MIN_MATTING_SIDE:
        raise PersonsegError(f"matting side {side!r}: give a whole number of pixels, at least {MIN_MATTING_SIDE}, "
                             "or 0 for full size (None in Python)")
    return int(side)


def model_choice(method: Method, models: Mapping[str, str | os.PathLike] | str | os.PathLike | None,
                 also: tuple[str, ...] = ()) -> dict[str, Path]:
    """``models`` (model name -> ONNX file of your own, from `personseg export`; one file alone where ``method``
    runs one network) checked against what ``method`` runs (and ``also``, models it runs for some images: the
    person model of photos with instances or given people): each name one of those, each file taking that
    model's input (PersonsegError otherwise)."""
    if isinstance(models, (str, os.PathLike)):
        if len(method.models) != 1:
            raise PersonsegError(f"models={str(models)!r}: method {method.name!r} runs "
                                 f"{', '.join(method.models) or 'no network'}; say which it replaces, "
                                 f"e.g. models={{{method.models[0]!r}: ...}}" if method.models else
                                 f"models={str(models)!r}: method {method.name!r} runs no network")
        models = {method.models[0]: models}
    elif models is not None and not isinstance(models, Mapping):
        raise PersonsegError(f"models={models!r}: give an ONNX file or a mapping of model name to file")
    chosen = {name: Path(path) for name, path in (models or {}).items()}
    foreign = sorted(set(chosen) - set(method.models) - set(also))
    if foreign:
        runs = ", ".join(method.models) or "no network"
        runs += f" ({', '.join(also)} with instances or given people)" if also else ""
        raise PersonsegError(f"method {method.name!r} runs {runs}; it has no model {', '.join(foreign)} to replace")
    with model_files(chosen):   # opens and checks each file now, not at the first image
        pass
    return chosen


def check_flag(name: str, value: object) -> None:
    """Raise PersonsegError unless ``value`` is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise PersonsegError(f"{name} must be True or False, not {value!r}")


def timed(timings: dict[str, float], stage: str, step: Callable[..., T], *args) -> T:
    """``step(*args)``, its seconds added to ``timings[stage]``."""
    t = time.perf_counter()
    out = step(*args)
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t
    return out


def matted(rgb: np.ndarray, prob: np.ndarray, matting: str | None, side: int | None,
           timings: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 mask, float32 alpha) of a method's finished probability (at ``rgb``'s size, or at the matting's
    working size when ``matting`` is given): the alpha made by ``matting`` (a name in MATTING, at longest side
    ``side``) or, with None, the probability made opaque inside (``opaque``: its own edges; a probability is not
    a matte, and a cut-out of it is see-through: half of a Penn-Fudan walker under 0.9 with ``fast``)."""
    if matting is None:
        return binary_mask(prob), opaque(prob)
    prob = timed(timings, "matting", MATTING[matting], rgb, prob, side)
    return binary_mask(prob), prob.astype(np.float32, copy=False)


class Segmenter:
    """Segments the people in images with one method (methods.METHODS). One Segmenter may be called from several
    threads at once (the same masks as one call after another); its models load on the first call.

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
        models: Mapping[str, str | os.PathLike] | str | os.PathLike | None = None,
        mediapipe_masks: bool = True,
        require_person: bool = False,
        subject: str = "all",
        person_check: bool = True,
    ) -> None:
        """``method``: a name in METHODS (``accurate``, the default: pose, our networks and MediaPipe's masks,
        refined; ``fast``: one small network, no pose, so no person check: it marks something on most photos of
        nobody (60 of the 60 of no_people; ``keypoints=True`` runs the check, 16 of 60; ``accurate`` 10 of 60);
        ``classical``: graph cut from the pose prior, no network;
        ``pose-unet``: seed 002's pose-guided network; README, "Methods").
        ``crf``: the dense CRF (pydensecrf2) on the coarse mask of a method that uses one (``classical``; the
        others ignore it); None: where pydensecrf2 is installed.
        ``pose``: the keypoint backend, a name ("blazepose") or an object with ``detect`` (pose.PoseBackend).
        ``matting``: how the alpha matte is made (a name in MATTING; None: the method's probability made opaque
        inside, refine.matting.opaque).
        ``keypoints``: run the pose backend even where the method does not need it (None: only where it does).
        ``instances``: find everyone and give each a mask (``Result.instances``); needs the pose backend.
        ``matting_side``: longest side at which the matting runs, its alpha scaled back up (None or 0: full
        size, for the finest edges of large photos; much slower).
        ``models``: networks of your own to run instead of shipped ones, by model name, e.g.
        ``{"sinet": "runs/mine/best.onnx"}``, or one file alone for a method that runs one network
        (see ``model_choice``).
        ``mediapipe_masks``: False runs the method without any mask made by MediaPipe's models (its selfie
        segmentation model, BlazePose's outline): BlazePose still finds the keypoints, the networks trained here
        make the mask; to see what is ours.
        ``require_person``: an image where the pose backend places nobody and none of the mask's largest regions
        passes as a person (the pose backend on its crop, ``instances.anyone_in``) gets an empty mask and no
        people, instead of whatever the networks marked; needs the pose backend. Photos with nobody come out
        empty far more often, at the cost of people the pose backend misses (README, "Several people").
        ``subject``: "all" (everyone the method finds) or "main" (only the most prominent person the pose backend
        finds, instances.most_prominent; the regions holding none of their keypoints dropped, others dimmed by their
        outline as before: for a portrait with passers-by behind; where it places nobody, or the one placed stands
        on no region, the largest region; not with ``instances``, which give everyone's masks).
        ``person_check``: where the pose backend has looked at the image (methods that need keypoints, or
        ``keypoints``) and placed nobody, each marked region is kept only when the region check trained here
        takes it for a person, or the pose backend finds someone on its crop, or (the pose backend named, not
        given as an object) mediapipe's hand detector finds a hand on it (presence.py): a cat, a sofa or a cake is
        not a person. False keeps whatever the networks marked.
        ``require_person``, ``subject`` and ``person_check`` choose among the people found: a call given
        ``people`` segments exactly those and they play no part (the CLI and the service refuse them together).
        The first Segmenter of a process tunes glibc's allocator for image-sized arrays (allocator.py)."""
        tune_allocator()
        check_flag("mediapipe_masks", mediapipe_masks)
        self.method = get_method(method, mediapipe_masks)
        self.mediapipe_masks = mediapipe_masks
        check_matting(matting)
        check_backend(pose)
        # the person model runs for photos with instances, or given people, on the network methods
        self.models = model_choice(self.method, models, (PERSON_MODEL,) if self.method.models else ())
        check_flag("instances", instances)
        check_flag("require_person", require_person)
        check_flag("person_check", person_check)
        check_subject(subject, instances)
        for name, value in (("crf", crf), ("keypoints", keypoints)):
            if value is not None:
                check_flag(name, value)
        if crf and not crf_available():
            raise DependencyError("crf=True needs pydensecrf2: pip install 'personseg[crf]'")
        self.matting = matting
        self.matting_side = check_matting_side(matting_side)
        self.crf = crf_available() if crf is None else crf
        self.instances = instances
        self.require_person = require_person
        self.person_check = person_check
        self.subject = subject
        needed = self.method.needs_keypoints or instances
        self.find_people = needed if keypoints is None else keypoints
        chooser = ("instances need" if instances else "require_person needs" if require_person
                   else "subject 'main' needs")
        if (needed or require_person or subject == "main") and keypoints is False:
            raise PersonsegError(f"method {method!r} needs keypoints" if self.method.needs_keypoints else
                                 f"{chooser} keypoints")
        # require_person and subject 'main' alone run the pose backend for their choice only: the method's mask
        # stays as it is
        self.pose = ((get_backend(pose, body_mask=self.method.uses_outline) if isinstance(pose, str) else pose)
                     if self.find_people or require_person or subject == "main" else None)
        # the person check's second opinion on parts of people (started when asked); not beside a pose backend of
        # the caller's, which may be there to run nothing of mediapipe's (a process forked after it started cannot)
        self._hands = HandFinder() if isinstance(pose, str) else None

    def __getstate__(self) -> dict:
        """Refused: a Segmenter does not pickle or copy (NotPicklableError says what to do instead)."""
        raise NotPicklableError("a Segmenter does not pickle or copy (its models, sessions and locks): make one in "
                                "each worker process, once (e.g. in the pool's initializer)")

    def __call__(self, image: ImageInput, people: Sequence | None = None) -> Result:
        """Segment ``image`` (a path, bytes, a binary file, a PIL image or an RGB array: image.load_image).
        ``people``: the people to segment, each as 17 COCO keypoints [x, y, v] in pixels (pose.given_keypoints):
        exactly they are segmented, with their keypoints as the priors, and nobody is searched for (seed 002's
        masks for a pose dataset); with instances, ``Result.instances`` holds one per given person, in their
        order (an empty mask for a person with fewer than two sure keypoints inside the photo, who cannot be placed:
        errors.NotPlacedWarning; PersonsegError where nobody given can be: pose.placed_people); an empty
        list gives an empty mask."""
        rgb = kept_image(image)
        given = None if people is None else given_keypoints(people)
        placed = None if given is None else placed_people(given, rgb.shape)
        if placed is not None and len(placed) < len(given):   # (people given no sure keypoint at all: as meant)
            ids = {id(kp) for kp in placed}
            left = [k + 1 for k, kp in enumerate(given) if id(kp) not in ids and visible(kp).any()]
            if left:
                where = f"{os.fspath(image)}: " if isinstance(image, (str, os.PathLike)) else ""
                warnings.warn(NotPlacedWarning(
                    f"{where}{len(left)} of the {len(given)} people given cannot be placed on the {rgb.shape[1]}x"
                    f"{rgb.shape[0]} photo (fewer than two sure keypoints inside it, or all on one point): their "
                    f"masks are empty (person {', '.join(map(str, left[:10]))}{', ...' * (len(left) > 10)})"),
                    stacklevel=2)
        seen = descreened(rgb)
        with model_files(self.models), shared_halvings(seen):
            result = self._segment(seen, placed)
        result.rgb = rgb   # cut-outs and composites of the photo as it is
        if given is not None and result.instances is not None:   # one per given person, in their order
            found = {id(i.keypoints): i for i in result.instances}
            result.instances = [found.get(id(kp)) or Instance(np.zeros_like(result.mask), kp, 0.0) for kp in given]
        return result

    def _segment(self, rgb: np.ndarray, given: list[np.ndarray] | None) -> Result:
        timings: dict[str, float] = {}
        people, outline = given or [], None
        if given is not None and not given:
            empty = np.zeros(rgb.shape[:2], np.float32)
            return Result(mask=empty.astype(np.uint8), alpha=empty, keypoints=empty_keypoints(), people=[], rgb=rgb,
                          instances=[] if self.instances else None)
        if self.find_people and given is None:
            people, outline = timed(timings, "pose", photo_people, rgb, self.pose, self.method.uses_outline)
            if self.subject == "main":
                people, outline = timed(timings, "pose", most_prominent, rgb, self.pose, people, outline,
                                        self.method.uses_outline)
        main = people[0] if people else empty_keypoints()
        # given people are exactly who is segmented: nobody else is looked for
        search = self.pose is not None and given is None and self.subject == "all"
        confirm = partial(_person_there, rgb, self.pose) if search else None
        # not where the pose runs for require_person alone, nor with instances, whose search for everyone then
        # made up more people (docs/ARCHITECTURE.md)
        beyond = search and self.find_people and not self.instances
        # without the pose backend nothing between the networks and the matting needs the photo's pixels: the
        # probability is made at the matting's working size (not scaled up to the photo and back down)
        size = (working_size(rgb.shape, self.matting_side)
                if self.pose is None and given is None and self.matting and self.matting_side else None)
        # given people's own maps from the person model (network methods): the selfie rule and the blend below
        given_maps = timed(timings, "people", person_maps, rgb, given) if given and self.method.models else None
        scene = Scene(rgb, people, people, main, outline, people_box(people, rgb.shape[0]), confirm=confirm,
                      beyond=beyond, put_back=beyond and self.person_check, size=size,
                      tile_above=TILE_ABOVE if self.find_people else TILE_ABOVE_UNCHECKED, given_maps=given_maps)
        method = self.method
        prob = timed(timings, "coarse", method.coarse, scene, self.crf)
        # several given people are each framed on their own too, as found ones are with instances: one frame
        # around them all lost the small ones
        if self.instances or (given and len(given) > 1):
            seen = prob   # the regions the search looks at: on panoramas beyond the found people's frame too
            # (classical runs no network; with nobody placed the networks saw the whole image already)
            if search and method.models and scene.box is not None and searched_wide(rgb.shape):
                seen = timed(timings, "people", method.coarse, replace(scene, beyond=True), self.crf)
            everyone = people if given else timed(timings, "people", find_people, rgb, seen >= 0.5, self.pose,
                                                  MAX_PEOPLE, people) or people
            scene = replace(scene, people=everyone, vouched=everyone, everyone=True)
            prob = timed(timings, "people", method.widen, scene, prob, self.crf)
        prob = timed(timings, "finish", method.finish, scene, prob)
        if given:   # exactly the people given: with each one's own map (GIVEN_MAP_WEIGHT), and the regions none
            # of them stands on are nobody's (nothing is searched)
            if given_maps is not None:
                prob = (1.0 - GIVEN_MAP_WEIGHT) * prob + GIVEN_MAP_WEIGHT * np.maximum.reduce(given_maps)
            prob = timed(timings, "finish", only_people, prob, given)
        looked = self.find_people   # the pose backend has looked at the image
        # nobody placed on the whole image: with instances too, whoever the search then placed on crops of the
        # mask's regions (BlazePose places a "person" on doughnuts there)
        if self.person_check and looked and given is None and not _placed(people):
            confirm = partial(person_in, rgb, pose=self.pose)   # also for subject 'main': nobody is placed
            check = partial(checked_probability, hand=None if self._hands is None else self._hands.seen)
            prob = timed(timings, "person check", check, rgb, prob, confirm)
            if self.instances:   # whom the search placed on regions the check took away is nobody
                kept = [kp for kp in scene.people if _stands_on(prob, kp)]
                scene = replace(scene, people=kept, vouched=kept, main=kept[0] if kept else empty_keypoints())
        if self.subject == "main" and given is None:
            if not looked:   # the pose backend runs for the choice alone
                looked = True
                found, outline = timed(timings, "pose", photo_people, rgb, self.pose)
                found = timed(timings, "pose", most_prominent, rgb, self.pose, found, outline)[0]
                scene = replace(scene, people=found, vouched=found, main=found[0] if found else main)
            # nobody placed, or on none of the regions: the largest (docs/ARCHITECTURE.md, "Several people")
            prob = timed(timings, "finish", keep_subject, prob, scene.main, False)
        if self.require_person and given is None and not self._someone(rgb, scene.people, prob, timings, looked):
            prob = np.zeros_like(prob)
            scene = replace(scene, people=[], vouched=[], main=empty_keypoints())
        mask, alpha = matted(rgb, prob, self.matting, self.matting_side, timings)
        instances = None
        if self.instances:
            maps = (given_maps if given_maps is not None and len(given) > 1 else
                    timed(timings, "instances", method.person_maps, rgb, scene.people))
            instances = timed(timings, "instances", split_instances, rgb, mask, scene.people, None, maps, bool(given))
            if given:   # exactly the people given: regions nobody claims are not people of their own
                instances = [i for i in instances if any(i.keypoints is kp for kp in given)]
        return Result(mask=mask, alpha=alpha, keypoints=scene.main, people=scene.people, rgb=rgb, timings=timings,
                      instances=instances)

    def _someone(self, rgb: np.ndarray, people: list[np.ndarray], prob: np.ndarray, timings: dict[str, float],
                 looked: bool) -> bool:
        """require_person's check: someone among ``people`` (where the pose backend has ``looked`` at the image,
        else its people found for this check alone) or, failing that, on the crop of one of ``prob``'s largest
        regions."""
        if not looked:
            people = timed(timings, "pose", photo_people, rgb, self.pose)[0]
        return _placed(people) or timed(timings, "require_person", anyone_in, rgb, prob, self.pose)


def _person_there(rgb: np.ndarray, pose: PoseBackend, region: np.ndarray, known: Box) -> bool:
    """Whether a region outside the one found person's own frame, which finishing for that person dropped, is
    someone too (``refine.fusion.within_own_frame``): the region check takes it for a person, or the pose backend
    finds one on its crop with ``known`` painted out (``instances.person_in``). Adding the region check, chosen on
    the choice groups (accurate, no matting): pennfudan train 60 IoU 0.7774 -> 0.7932, coco_people 0.4212 ->
    0.4296, EG1800 / CCP validation, coco_single and the negatives (person-free strips, painted-out photos left
    empty) unchanged; a crowd where BlazePose places one person kept the others it had dropped."""
    return taken_for_person(rgb, region) or person_in(rgb, region, known, pose)


def _stands_on(prob: np.ndarray, kp: np.ndarray) -> bool:
    """True when one of ``kp``'s confident keypoints lies on ``prob >= 0.5``."""
    x, y = pixels_inside(kp, prob.shape).T
    return bool((prob[y, x] >= 0.5).any())


def _placed(people: list[np.ndarray]) -> bool:
    """True when someone in ``people`` is placed by two or more confident keypoints."""
    return any(keypoint_box(kp) is not None for kp in people)


def segment(image: ImageInput, method: str = DEFAULT_METHOD, **options) -> Result:
    """Segment one image with a new Segmenter (for one-off use; keep a Segmenter for many images)."""
    return Segmenter(method=method, **options)(image)


__all__ = ["DEFAULT_METHOD", "METHODS", "SUBJECTS", "Result", "Segmenter", "check_matting", "check_matting_side",
           "check_subject", "matted", "segment", "timed"]
