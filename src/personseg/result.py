"""What segmenting an image or a video frame gives: the Result, and one Instance per person."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np
from pycocotools import mask as mask_rle


@dataclass(eq=False)
class Instance:
    """One person of several (``Result.instances``, with ``Segmenter(instances=True)``): ``mask``, their own pixels
    (uint8 HxW, 0 or 255; no two people's overlap); ``keypoints``, COCO's 17 as (x, y, score) in the photo's
    pixels; ``score``, the mean score of their confident keypoints, 0 to 1. A region the networks mark where no
    pose was found is an Instance too: ``posed`` False, every keypoint score 0 and ``score`` a flat 0.5 (not a
    confidence). Compared (and hashed) by identity: it holds arrays, which ``==`` cannot reduce to one answer."""

    mask: np.ndarray          # uint8 HxW {0, 255}
    keypoints: np.ndarray     # (17, 3); all scores 0 for a region where no pose was found
    score: float              # mean score of the confident keypoints (0.5 for a region without pose)

    @property
    def area(self) -> int:
        return int((self.mask > 0).sum())

    @property
    def posed(self) -> bool:
        """Whether a pose stands for them (not a region found without one)."""
        return bool(self.keypoints[:, 2].any())

    @property
    def box(self) -> tuple[int, int, int, int]:
        """x, y, width, height of the mask (COCO order)."""
        x, y, w, h = cv2.boundingRect((self.mask > 0).astype(np.uint8))
        return int(x), int(y), int(w), int(h)

    def rle(self) -> dict:
        """The mask as COCO's compressed run-length encoding (coco_rle)."""
        return coco_rle(self.mask)

    def __repr__(self) -> str:   # a summary: the dataclass's repr printed every array
        return f"Instance(box={self.box}, area={self.area}, score={self.score:.3f}, posed={self.posed})"


def coco_rle(mask: np.ndarray) -> dict:
    """``mask`` (nonzero: in) as COCO's compressed run-length encoding: {"size": [h, w], "counts": str}."""
    enc = mask_rle.encode(np.asfortranarray((mask > 0).astype(np.uint8)))
    return {"size": [int(v) for v in enc["size"]], "counts": enc["counts"].decode("ascii")}


@dataclass(eq=False)
class Result:
    """What segmenting one image gives.

    ``mask``: uint8 HxW, 255 on people, 0 elsewhere (the image's size). ``alpha``: float32 HxW in [0, 1], the soft
    matte (with ``matting=None`` the method's probability made opaque inside, ``refine.matting.opaque``).
    ``keypoints``: float32 (17, 3), COCO's 17 points [x, y, score] in pixels of the main person, all scores 0 when
    nobody was found. ``people``: such
    keypoints of everyone the pose backend found, most prominent first; empty also where it did not run (``fast``
    without ``keypoints=True``: there an empty ``mask`` is the sign of nobody), or ran for ``require_person``'s
    check alone (``keypoints=True`` lists them). ``rgb``: the image (uint8 HxWx3;
    an array given as that is copied, so a buffer filled again afterwards leaves it as it was).
    ``timings``: seconds per stage of the chain, for the stages that ran ("pose", "coarse", "people", "finish",
    "person check", "require_person", "matting", "instances"; in video also "subject", "edge", "smooth").
    ``ids``: in video, the track id of each of ``people``. ``instances``: with ``Segmenter(instances=True)``, one
    ``Instance`` (own mask, keypoints, score) per person, largest first (with given people, one per given person
    in their order). ``unplaced``, ``foreground`` and
    the composites of ``outputs.render`` derive from these. Results are compared (and hashed) by identity, as
    ``Instance`` is."""

    mask: np.ndarray          # uint8 HxW {0, 255}
    alpha: np.ndarray         # float32 HxW [0, 1]
    keypoints: np.ndarray     # float32 (17, 3) of the main person (all scores 0 when nobody was found)
    people: list[np.ndarray]  # keypoints of everyone the pose backend found
    rgb: np.ndarray = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)   # seconds per stage
    ids: list[int] = field(default_factory=list)   # in video, the track id of each of ``people``
    instances: list[Instance] | None = None        # with Segmenter(instances=True)
    #: False: composites take the image's own colours at soft edges instead of estimated foreground colours
    #: (video frames, but for cut-outs: the estimate costs some 6-7 ms a 854x480 frame)
    estimate_foreground: bool = True
    _foreground: np.ndarray | None = field(default=None, init=False, repr=False)

    def __repr__(self) -> str:   # a summary: the dataclass's repr printed every array (some 3 KB)
        h, w = self.mask.shape
        instances = "" if self.instances is None else f", instances={len(self.instances)}"
        return (f"Result({w}x{h}, people={len(self.people)}, marked={float((self.mask > 0).mean()):.1%}"
                f"{instances})")

    @cached_property
    def unplaced(self) -> int:
        """How many regions of the mask (each at least ``presence.MIN_REGION`` of the image) hold no confident
        keypoint of anyone in ``people``: people the pose backend did not place, or things taken for people
        (counted once: the service's header and its JSON both give it); with instances, the instances without a
        keypoint (the regions an edit's ``dropped`` numbers: a piece of a posed person is theirs)."""
        if self.instances is not None:
            return sum(not i.posed for i in self.instances)
        from .pose.keypoints import pixels_inside
        from .presence import regions   # which loads the networks' runtime: only when asked

        labels, big, _ = regions(self.mask)   # uint8 as it is: no copies (each 24 MB at 24 MP)
        placed = {int(labels[y, x]) for kp in self.people for x, y in pixels_inside(kp, self.mask.shape)}
        return sum(k not in placed for k in big)

    @property
    def foreground(self) -> np.ndarray:
        """uint8 HxWx3 person colours with the old background removed from soft edges (computed once; a process's
        first takes 1 to 2 s more to load pymatting's kernels, a minute once after installing:
        ``refine.matting.load_pymatting`` loads them ahead; ``estimate_foreground=False`` skips it)."""
        if not self.estimate_foreground:
            return self.rgb
        if self._foreground is None:
            from .refine.matting import estimate_foreground

            self._foreground = estimate_foreground(self.rgb, self.alpha)
        return self._foreground

    def person(self, k: int) -> Result:
        """Person ``k`` of ``instances`` (-1: the last) alone, as a Result of their own: their mask, their share of
        the alpha (its soft edge where they are the nearest person, none of anyone else's), their keypoints; every
        output renders it (``outputs.render(result.person(0), "cutout")``: one person cut out, soft edges kept)."""
        from .errors import PersonsegError

        if not self.instances:
            raise PersonsegError("person(k) needs a Result with instances (Segmenter(instances=True)) and someone "
                                 "found")
        if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                and -len(self.instances) <= k < len(self.instances)):
            raise PersonsegError(f"person {k!r}: this Result holds {len(self.instances)} (0 to "
                                 f"{len(self.instances) - 1}, or -1 for the last as a list counts)")
        k = int(k) % len(self.instances)
        own = self.instances[k].mask > 0
        # theirs: where they are the nearest person, but for marked pixels that are no one's own (given people)
        theirs = (self._owners == k + 1) & (own | (self.mask == 0))
        kp = self.instances[k].keypoints
        alone = replace(self, mask=self.instances[k].mask, alpha=np.where(theirs, self.alpha, 0).astype(np.float32),
                        keypoints=kp, people=[kp] if kp[:, 2].any() else [], instances=None, ids=[])
        # their soft edge is the photo's where they are its nearest person: the colours estimated there serve
        alone._foreground = self._foreground
        return alone

    @cached_property
    def _owners(self) -> np.ndarray:
        """``nearest_owner`` of the instances' masks, made once for all of ``person``'s calls."""
        return nearest_owner([i.mask for i in self.instances])


def nearest_owner(masks: list[np.ndarray]) -> np.ndarray:
    """uint16 HxW: at each pixel the number (from 1) of the nearest of ``masks`` (nonzero: in), so that each soft
    edge around the masks goes to one of them; 0 everywhere where all are empty."""
    owner = np.zeros(masks[0].shape, np.uint16)
    for k, m in enumerate(masks, start=1):
        owner[m > 0] = k
    if not owner.any():
        return owner
    _, nearest = cv2.distanceTransformWithLabels((owner == 0).astype(np.uint8), cv2.DIST_L2, 3,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    # the labels number the owned pixels in row order: each pixel's nearest owned pixel, then its owner
    return owner[owner > 0][nearest - 1]
