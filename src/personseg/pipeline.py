"""Segmenter: the stages of each method wired together. Every stage is a plain function over arrays."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from .framing import (ZOOM_BELOW, Box, area, binary_mask, frame_box, from_crop, keypoint_box, mask_box, on_pixels,
                      paste, union, whole_frame)
from .image import ImageInput, load_image
from .models.registry import spec
from .pose import PoseBackend, detect_people, empty_keypoints, get_backend
from .pose.keypoints import MIN_SCORE
from .refine.components import keep_people
from .refine.fusion import join_outline, join_selfie, lone_person, outline_prior, own_outline, shows_hips
from .refine.matting import MATTING_SIDE, guided_matte, matte

METHODS = ("classical", "fast", "pose-unet", "accurate")
#: Measured best on EG1800 test in IoU and boundary F (benchmarks/RESULTS.md), with matting on, and under
#: 0.5 s per 600x800 photo on 2 cores. Video keeps `fast` as its default, for speed.
DEFAULT_METHOD = "accurate"
#: Methods served by shipped networks, and the models (models/registry.py) whose probabilities they average.
#: `accurate` is the best measured combination (docs/ablation.md): SINet and LWPSN + SSM (seed 000), both
#: framed on the keypoints, averaged, then refined by seed 003's network. The average scored above either
#: network alone on EG1800, CCP and the parkour frames, with the refinement and matting after it.
NETWORK_MODELS = {"fast": ("sinet",), "pose-unet": ("pose-unet",), "accurate": ("sinet", "lwpsn")}
#: Methods whose networks' probability is joined with MediaPipe's selfie segmentation model (models/selfie.py,
#: refine/fusion.py): on held-out portraits it scored above our networks, and their join above either.
SELFIE_METHODS = ("accurate",)
#: Methods whose network output is finished by the pose backend's outline of the person (refine/fusion.py)
#: and seed 003's refinement network (``finished_probability``).
REFINED_METHODS = ("accurate",)
#: Methods that use the pose backend's outline of the person where it draws one (refine/fusion.py): joined
#: with the networks' probability (``finished_probability``), or as the graph cut's spatial prior. `fast`
#: runs the pose backend only when asked (``keypoints=True``; in video, when it runs on every frame).
OUTLINE_METHODS = ("classical", "fast", "accurate")
#: Methods whose segmentation needs keypoints.
POSE_METHODS = ("classical", "pose-unet", "accurate")
#: How the alpha matte is made from a method's person probability (``Segmenter(matting=...)``): a guided
#: filter with the image as guide (default: on held-out portraits and full bodies as good as closed-form
#: matting or better, at a tenth of its time), or pymatting's closed-form matting of a trimap (seed 003).
MATTING = {"guided": guided_matte, "closed-form": matte}
DEFAULT_MATTING = "guided"
#: Longest side, in pixels, at which the classical graph cut and CRF run; the result is scaled back up.
CLASSICAL_WORK_SIDE = 320


@dataclass
class Result:
    """What segmenting one image gives."""

    mask: np.ndarray          # uint8 HxW {0, 255}
    alpha: np.ndarray         # float32 HxW [0, 1]
    keypoints: np.ndarray     # float32 (17, 3) of the main person (all scores 0 when nobody was found)
    people: list[np.ndarray]  # keypoints of everyone the pose backend found
    rgb: np.ndarray = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)   # in video, the track id of each of ``people``
    instances: list | None = None                  # with Segmenter(instances=True): list[instances.Instance]
    _foreground: np.ndarray | None = field(default=None, repr=False)

    @property
    def foreground(self) -> np.ndarray:
        """uint8 HxWx3 person colours with the old background removed from soft edges (computed once)."""
        if self._foreground is None:
            from .refine.matting import estimate_foreground

            self._foreground = estimate_foreground(self.rgb, self.alpha)
        return self._foreground


def check_method(method: str) -> None:
    """Raise ValueError unless ``method`` is one of METHODS."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def check_matting(matting: str | None) -> None:
    """Raise ValueError unless ``matting`` is None or one of MATTING."""
    if matting is not None and matting not in MATTING:
        raise ValueError(f"unknown matting {matting!r}; choose one of {', '.join(MATTING)}, or None")


class Segmenter:
    """Segments the people in images with one method.

    >>> seg = Segmenter()     # method="accurate"
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
        check_method(method)
        check_matting(matting)
        from .refine.crf import crf_available

        if crf and not crf_available():
            from .errors import DependencyError

            raise DependencyError("crf=True needs pydensecrf2: pip install 'personseg[crf]'")
        self.method = method
        self.matting = matting
        self.matting_side = matting_side
        self.crf = crf_available() if crf is None else crf
        self.instances = instances
        self.find_people = method in POSE_METHODS or instances if keypoints is None else keypoints
        if (method in POSE_METHODS or instances) and not self.find_people:
            raise ValueError(f"method {method!r} needs keypoints" if not instances else "instances need keypoints")
        self.pose = ((get_backend(pose, body_mask=method in OUTLINE_METHODS) if isinstance(pose, str) else pose)
                     if self.find_people else None)

    def __call__(self, image: ImageInput) -> Result:
        rgb = load_image(image)
        timings: dict[str, float] = {}
        people: list[np.ndarray] = []
        outline = None
        if self.pose is not None:
            t = time.perf_counter()
            people, outline = detect_people(self.pose, rgb, outline=self.method in OUTLINE_METHODS)
            timings["pose"] = time.perf_counter() - t
        kp = people[0] if people else empty_keypoints()
        t = time.perf_counter()
        if self.method in NETWORK_MODELS:
            prob = coarse_probability(rgb, NETWORK_MODELS[self.method], people_box(people, rgb.shape[0]), people)
        else:
            prob = classical_probability(rgb, kp, crf=self.crf, outline=own_outline(outline, people))
        timings[self.method] = time.perf_counter() - t
        if self.instances:
            t = time.perf_counter()
            from .instances import find_people

            people = find_people(rgb, prob >= 0.5, self.pose) or people
            if self.method in NETWORK_MODELS:   # each person framed on their own, so small ones are seen too
                boxes = [b for b in (keypoint_box(kp, rgb.shape[0]) for kp in people) if b is not None]
                models = NETWORK_MODELS[self.method]
                prob = np.maximum.reduce([prob] + [coarse_probability(rgb, models, b, people) for b in boxes])
            elif len(people) > 1:
                prob = np.maximum.reduce([classical_probability(rgb, p, crf=self.crf) for p in people])
            timings["people"] = time.perf_counter() - t
        if self.method in NETWORK_MODELS:   # after the search for people, which the selfie model would mislead
            t = time.perf_counter()
            prob = with_selfie(rgb, self.method, prob, people)
            timings[self.method] += time.perf_counter() - t
        prob = keep_people(prob, people)
        if self.method in NETWORK_MODELS and self.method in OUTLINE_METHODS:
            t = time.perf_counter()
            prob = finished_probability(rgb, prob, people, outline, refine=self.method in REFINED_METHODS)
            timings["finish"] = time.perf_counter() - t
        t = time.perf_counter()
        mask = binary_mask(prob)
        if self.matting is not None:
            alpha = MATTING[self.matting](rgb, prob, self.matting_side)
            mask = binary_mask(alpha)
            timings["matting"] = time.perf_counter() - t
        else:
            alpha = prob
        instances = None
        if self.instances:
            t = time.perf_counter()
            from .instances import person_maps, split_instances

            # network methods split several people by the person model; classical by colour alone
            maps = person_maps(rgb, people) if self.method in NETWORK_MODELS and len(people) > 1 else None
            instances = split_instances(rgb, mask, people, maps=maps)
            timings["instances"] = time.perf_counter() - t
        return Result(mask=mask, alpha=alpha.astype(np.float32), keypoints=kp, people=people, rgb=rgb,
                      timings=timings, instances=instances)


def network_probability(rgb: np.ndarray, model: str, box: Box | None = None,
                        people: list[np.ndarray] = (), guides: np.ndarray | None = None) -> np.ndarray:
    """Person probability from a shipped network. With ``box`` (where the people are, from keypoints or the
    previous video frame) one pass on that region framed for the network (the whole image when that is most
    of it); otherwise a pass on the whole image, then, when the people found there fill a small part of it, a
    second pass on a crop around them, so that a distant person is seen at the network's full resolution.
    ``people``: everyone's keypoints, for models fed prior maps (seed 000's SSM); ``guides``: HxWxG maps made
    from a coarse matte, for the refinement model (seed 003)."""
    from .runtime import foreground_probability, network_map

    aspect = spec(model).aspect
    whole = whole_frame(rgb.shape, aspect)
    small = None
    if box is None:
        small = network_map(rgb, model, whole, people, guides)
        found = mask_box(small)
        box = from_crop(found, whole, spec(model).size) if found is not None else None
    framed = on_pixels(frame_box(box, aspect)) if box is not None else whole
    if area(framed) < ZOOM_BELOW * area(whole):
        return foreground_probability(rgb, model, framed, people, guides)
    if small is not None:
        return paste(small, whole, rgb.shape)
    return foreground_probability(rgb, model, whole, people, guides)


def coarse_probability(rgb: np.ndarray, models: tuple[str, ...], box: Box | None,
                       people: list[np.ndarray]) -> np.ndarray:
    """The mean of the probabilities of ``models`` (a network method's NETWORK_MODELS), each framed on ``box``
    (see ``network_probability``) and fed ``people``'s prior maps where it takes them."""
    probs = [network_probability(rgb, model, box=box, people=people) for model in models]
    return probs[0] if len(probs) == 1 else np.mean(probs, axis=0).astype(np.float32)


def with_selfie(rgb: np.ndarray, method: str, prob: np.ndarray, people: list[np.ndarray]) -> np.ndarray:
    """``prob`` (a network method's networks' probability) joined with MediaPipe's selfie segmentation model's
    for SELFIE_METHODS where ``people`` holds one person at most (``lone_person``); else ``prob``."""
    if method not in SELFIE_METHODS or not lone_person(people):
        return prob
    from .models.selfie import selfie_probability

    return join_selfie(prob, selfie_probability(rgb))


def method_probability(rgb: np.ndarray, method: str, box: Box | None, people: list[np.ndarray]) -> np.ndarray:
    """A network method's coarse probability: its networks' (``coarse_probability``) ``with_selfie``."""
    return with_selfie(rgb, method, coarse_probability(rgb, NETWORK_MODELS[method], box, people), people)


def refined_probability(rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Seed 003's deep refinement of a coarse person probability: alpha matting of its mask and the boundary
    and leftover masks of that matte, made on the image shrunk to the matting's working size (as the refine
    model's training mattes were), then the refinement network fed the image and those maps.
    Nobody in the coarse mask: nothing to refine."""
    from .refine.matting import GUIDE_MAPS, working_matte

    if not (prob >= 0.5).any():
        return prob
    coarse = working_matte(rgb, prob)
    guides = np.dstack([GUIDE_MAPS[name](coarse) for name in spec("refine").guides])
    h, w = rgb.shape[:2]
    guides = cv2.resize(guides, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
    return network_probability(rgb, "refine", box=mask_box(cv2.resize(coarse, (w, h))), guides=guides)


def finished_probability(rgb: np.ndarray, prob: np.ndarray, people: list[np.ndarray],
                         outline: np.ndarray | None, refine: bool = True) -> np.ndarray:
    """A network method's last stage: ``outline`` (the pose backend's probability map of the person, or None)
    joined into ``prob`` when ``people`` is one person (``own_outline``), weighing more when that person is seen down to the hips; then, with ``refine`` and except on such a full
    body, seed 003's refinement network and the stray regions dropped again. On full bodies the refinement
    network (trained on portrait-like mattes) lowered held-out scores: CCP validation pairs 0.9302 -> 0.9228
    IoU with the outline joined."""
    outline = own_outline(outline, people)
    full_body = outline is not None and shows_hips(people, rgb.shape)
    if outline is not None:
        prob = join_outline(prob, outline, full_body)
    if full_body or not refine:
        return prob
    return keep_people(refined_probability(rgb, prob), people)


def people_box(people: list[np.ndarray], height: float) -> Box | None:
    """The box around everyone's keypoints in an image ``height`` pixels high (framing.keypoint_box; None
    when nobody has enough)."""
    box = None
    for kp in people:
        box = union(box, keypoint_box(kp, height))
    return box


def classical_probability(rgb: np.ndarray, kp: np.ndarray, crf: bool = True, work_side: int = CLASSICAL_WORK_SIDE,
                          outline: np.ndarray | None = None) -> np.ndarray:
    """Foreground probability (float32 HxW) by the keypoint-seeded graph cut, refined by a dense CRF.
    ``outline``: the pose backend's probability map of this person, then the cut's spatial prior (else the
    prior falls off with the distance from the body drawn from the keypoints)."""
    from .refine.graphcut import graph_cut, seed_labels

    h, w = rgb.shape[:2]
    if kp[:, 2].max() < MIN_SCORE:
        return np.zeros((h, w), np.float32)
    f = min(1.0, work_side / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    kp_small = kp.copy()
    kp_small[:, :2] *= f
    labels, prior = seed_labels(small, kp_small)
    if outline is not None:
        prior = outline_prior(cv2.resize(outline, small.shape[1::-1], interpolation=cv2.INTER_AREA))
    mask, colour_prob = graph_cut(small, labels, prior)
    prob = np.where(mask > 0, 0.8, 0.2).astype(np.float32) * 0.6 + 0.4 * colour_prob
    if crf:
        from .refine.crf import dense_crf

        prob = dense_crf(small, prob)
    return cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)


def segment(image: ImageInput, method: str = DEFAULT_METHOD, **options) -> Result:
    """Segment one image with a new Segmenter (for one-off use; keep a Segmenter for many images)."""
    return Segmenter(method=method, **options)(image)
