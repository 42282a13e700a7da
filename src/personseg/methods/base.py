"""The protocol every method follows, and the Scene it is given for one image or video frame."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from ..framing import TILE_ABOVE, Box, Confirm


@dataclass(frozen=True)
class Scene:
    """What a method is given for one image or video frame."""

    rgb: np.ndarray                # uint8 HxWx3
    people: list[np.ndarray]       # everyone's keypoints known on it: prior maps, the selfie and outline rules
    vouched: list[np.ndarray]      # whose separate regions stay (photos: everyone; video: those the detector confirmed)
    main: np.ndarray               # the most prominent person's keypoints (all scores 0 when nobody)
    outline: np.ndarray | None     # the pose backend's outline of the main person (float HxW), if it drew one
    box: Box | None                # where networks are framed (None: they search the whole image)
    everyone: bool = False         # ``people`` came from the search for everyone (instances)
    #: whether a region (bool HxW, outside the main person's own frame) holds a person (photos: the region check,
    #: or the pose backend on its crop: pipeline._person_there); None (video): what lies outside that frame is
    #: finished with the rest
    confirm: Confirm | None = None
    #: networks framed on the people also look at the whole image, and what they see outside their frame counts
    #: (photos: people no keypoint vouches for); video frames only the tracked people
    beyond: bool = False
    #: regions dropped for want of a keypoint come back when the region check takes them for people (photos
    #: with ``beyond`` and the person check on)
    put_back: bool = False
    #: (w, h) at which the probability may be made, smaller than the photo: nothing before the matting, which
    #: works at that size, needs the photo's pixels (photos without keypoints); None: the photo's size. A method
    #: may give its probability at the photo's size all the same
    size: tuple[int, int] | None = None
    #: the networks see the whole image through tiles of their frame's shape when it is wider or taller than that
    #: frame by more than this factor (framing.tiles): panoramas, and every landscape photo where the pose backend
    #: does not look for people before the method (TILE_ABOVE_UNCHECKED: fast without keypoints)
    tile_above: float = TILE_ABOVE
    #: a frame of a clip (video.VideoSegmenter), where a method may do less on a frame than on a photo
    video: bool = False
    #: given people (Segmenter(people=...)): each one's map from the person model (instances.person_maps), for
    #: network methods; None otherwise
    given_maps: list[np.ndarray] | None = None


class Method(ABC):
    """One way to segment people. The chain (pipeline.Segmenter for photos, video.VideoSegmenter for frames):
    ``coarse``, with instances ``widen`` to everyone found, ``finish``; then matting and outputs."""

    #: the name users pick it by (the registry's key)
    name: str
    #: one line for ``--help``: what it does, how fast, how good
    summary: str
    #: it needs keypoints to segment at all (the pose backend always runs)
    needs_keypoints: bool
    #: it uses the pose backend's outline of the person where the backend runs
    uses_outline: bool
    #: the matting a video's frames get by default (VideoSegmenter's "default"); None: the probability made opaque
    #: inside (refine.matting.opaque)
    video_matting: str | None = None
    #: the region check (presence.py, trained on the networks' regions) can judge the regions it marks
    regions_checked: ClassVar[bool] = True
    #: its mask depends on the dense CRF (``Segmenter(crf=...)``, by default whether pydensecrf2 is installed)
    uses_crf: ClassVar[bool] = False

    def without_mediapipe_masks(self) -> Method:
        """This method with no mask made by MediaPipe's models (``Segmenter(mediapipe_masks=False)``): BlazePose
        still gives the keypoints, its outline is not joined."""
        return replace(self, uses_outline=False)

    def unrefined(self) -> Method:
        """This method without its refinement network: the coarse result that network is fed (itself where it
        has none)."""
        return self

    @property
    def models(self) -> tuple[str, ...]:
        """The shipped networks it runs (models/registry.py names)."""
        return ()

    @abstractmethod
    def coarse(self, scene: Scene, crf: bool) -> np.ndarray:
        """float32 HxW person probability of the scene (or of ``scene.size``). ``crf``: refine by a dense CRF where
        the method can."""

    @abstractmethod
    def widen(self, scene: Scene, prob: np.ndarray, crf: bool) -> np.ndarray:
        """``prob`` (from ``coarse``) widened to everyone in ``scene.people`` (after the search for everyone)."""

    @abstractmethod
    def finish(self, scene: Scene, prob: np.ndarray) -> np.ndarray:
        """The last stage before matting: stray regions dropped, joins and refinement."""

    def person_maps(self, rgb: np.ndarray, people: list[np.ndarray]) -> list[np.ndarray] | None:
        """Each person's own probability map, to split several people's pixels among them (None: split by
        colour, instances.group_pixels)."""
        return None
