"""Segmenting a video frame by frame: the person's box carried from frame to frame (so a network looks at the
person, not the whole frame), keypoints tracked (pose/tracking.py), probabilities smoothed over time."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np

from ..allocator import tune_allocator
from ..errors import NotPicklableError, PersonsegError
from ..framing import keypoint_box, keypoint_extent, mask_box, people_box
from ..image import ImageInput, kept_image
from ..methods import DEFAULT_VIDEO_METHOD, Scene, get_method
from ..pipeline import check_flag, check_matting, check_matting_side, check_subject, matted, model_choice, timed
from ..pose import PoseBackend, check_backend, detect_people, empty_keypoints, get_backend
from ..pose.keypoints import near_mask, pixels_inside
from ..pose.tracking import PeopleTracker
from ..presence import looked_over, sure_outline
from ..refine.components import SUBJECT_EDGE, keep_subject, near_regions
from ..refine.crf import crf_available
from ..refine.matting import MATTING_SIDE
from ..result import Result
from ..runtime import model_files, threads
from .io import prefetched
from .everyone import OthersFinder
from .subject import SubjectFinder
from .temporal import TemporalSmoother

T = TypeVar("T")

#: ``matting`` that stands for the method's own default on video frames (Method.video_matting).
METHOD_MATTING = "default"
#: For network methods, keypoints are detected this often (in frames) to frame the people for the network.
FRAMING_EVERY = 5
#: onnxruntime threads for the network while the other stages of ``stream`` run beside it.
ONNX_THREADS = 1
#: Without keypoints, a pass on the whole frame (to find people entering) at least this often, in frames.
REFRESH = 15


@dataclass
class Followed:
    """What the pose step found on one frame: everyone's tracked keypoints by id, the ids of those the detector
    confirmed (when it last ran), whether it ran on this frame, the person's outline it drew there (for methods
    that use it), and the ids of those standing on an outline it was sure of (``presence.sure_outline``)."""

    people: dict[int, np.ndarray] = field(default_factory=dict)
    ids: set[int] = field(default_factory=set)
    detected: bool = False
    seconds: float = 0.0
    outline: np.ndarray | None = None
    subject: int | None = None   # with subject "main": the subject's track id (None: not followed)
    outlined: set[int] = field(default_factory=set)

    @property
    def confirmed(self) -> list[np.ndarray]:
        """The keypoints of those the detector confirmed."""
        return [kp for tid, kp in self.people.items() if tid in self.ids]


@dataclass
class Looked:
    """What the pose backend found on the whole frame (``VideoSegmenter._look``): None on frames it does not look
    at (and with subject "main", where the subject is sought on a crop in frame order instead)."""

    detected: list[np.ndarray] | None = None
    outline: np.ndarray | None = None
    seconds: float = 0.0


class VideoSegmenter:
    """Call with each frame of one clip (as Segmenter takes an image) in order; returns that frame's Result, whose
    ``people`` are the tracked keypoints and ``ids`` their track ids (make a new one for another clip: the people
    followed are carried from frame to frame; a keypoint inside the frame farther than 2% of its diagonal from its
    mask is unseen, score 0, and a track left with fewer than two sure keypoints is not listed). ``stream`` does the
    same for a whole sequence with the pose step running a few frames ahead on threads of its own (the same
    results, faster). One clip at a time: a call or ``stream`` while another runs is refused (PersonsegError).

    ``method``: DEFAULT_VIDEO_METHOD ("accurate", as for photos). "fast" takes about 60% of its time a frame and
    loses bodies in fast motion (clip IoU parkour 0.806 against 0.930, tennis 0.762 against 0.898: methods/__init__);
    "fast" with ``pose_every=1`` follows them about as well as "accurate" at about its speed.
    ``pose_every``: run the pose detector on every n-th frame and follow the keypoints by optical flow in
    between; None: every frame for methods that need keypoints (which take no other), every FRAMING_EVERY
    frames for networks (to frame the people); 0: never (a network then follows the previous frame's mask).
    ``matting``: a way in refine.matting.MATTING to make each frame's alpha from its smoothed probability (None:
    the probability made opaque inside, its own edges: refine.matting.opaque; "guided" costs about 8 ms a
    854x480 frame), at longest side ``matting_side``, as on photos; METHOD_MATTING (the default): the method's
    own choice for video (``Method.video_matting``: guided for fast, none for the others, measured on the three
    clips). ``mediapipe_masks``: False, no mask made by MediaPipe's models (as
    ``Segmenter(mediapipe_masks=False)``). ``subject``: "all" (everyone the method finds) or "main": the most
    prominent person of the first frame with anyone in it, followed by identity (video/subject.py) and alone in
    the mask, reported as id 1; where they are lost the mask is empty rather than someone else's.
    ``person_check`` (where the pose step runs): a person's regions are kept only once the region check trained
    here has taken one of them for a person (presence.looked_over; BlazePose, and the search for everyone most,
    also place poses on rocks, patterns and pets) or the pose backend drew a sure outline around them
    (presence.sure_outline; with ``mediapipe_masks`` only, and from a backend given as an object only where it
    draws one: ``BlazePoseBackend(body_mask=True)``), and with nobody so taken every marked region must pass it;
    until then they are not listed in ``people``. False keeps whatever the method marked.

    Its Results composite with the frame's own colours at soft edges (``Result.estimate_foreground`` False: no
    6-7 ms estimate a 854x480 frame); ``dataclasses.replace(result, estimate_foreground=True)`` estimates them, as
    ``personseg video`` does for cut-outs.
    """

    def __init__(self, method: str = DEFAULT_VIDEO_METHOD, pose_every: int | None = None, smooth: bool = True,
                 pose: PoseBackend | str = "blazepose", crf: bool | None = None,
                 matting: str | None = METHOD_MATTING,
                 matting_side: int | None = MATTING_SIDE,
                 models: Mapping[str, str | os.PathLike] | str | os.PathLike | None = None,
                 mediapipe_masks: bool = True,
                 subject: str = "all", person_check: bool = True) -> None:
        tune_allocator()   # as Segmenter does (allocator.py)
        check_flag("smooth", smooth)
        check_flag("mediapipe_masks", mediapipe_masks)
        check_flag("person_check", person_check)
        check_subject(subject)
        self.subject = subject
        self.method = get_method(method, mediapipe_masks)
        self.models = model_choice(self.method, models)
        if matting == METHOD_MATTING:
            matting = self.method.video_matting
        check_matting(matting, also=f"{METHOD_MATTING!r} (the method's own) ")
        check_backend(pose)
        if pose_every is not None and (not isinstance(pose_every, int) or pose_every < 0):
            raise PersonsegError(f"pose_every {pose_every!r}: give 0 (never) or a number of frames")
        if subject == "main" and pose_every == 0:
            raise PersonsegError("subject 'main' follows the subject by their keypoints: pose_every 0 finds none")
        if self.method.needs_keypoints and pose_every not in (None, 1):
            raise PersonsegError(f"pose_every {pose_every}: method {method!r} needs keypoints on every frame "
                                 "(give 1 or leave it out)")
        self.matting = matting
        self.matting_side = check_matting_side(matting_side)
        self.crf = crf_available() if crf is None else crf   # as in Segmenter: the CRF is an optional extra
        self.pose_every = (1 if self.method.needs_keypoints else FRAMING_EVERY if pose_every is None
                           else pose_every)
        # the outline only where the pose step runs on every frame: joined on some frames only, it would flicker
        self.outline = self.method.uses_outline and self.pose_every == 1
        # where the outline is joined, BlazePose looks at each frame afresh, as on photos: the outline's weights
        # were chosen on photos, and its video mode (the person sought where the last frame had them, the
        # outline smoothed; 30 ms a call instead of 45) lost to that on all three clips (accurate, video mode ->
        # afresh: parkour 0.9252 -> 0.9303 IoU, tennis 0.8948 -> 0.8980, hike 0.9168 -> 0.9226; flicker within
        # 0.00005; docs/speed.md)
        # (without MediaPipe's masks, BlazePose still looks at frames as the chosen method would: only the masks
        # differ)
        # following the subject, BlazePose looks at a crop around them on each call: frames are not in order there
        static = (get_method(method).uses_outline and self.pose_every == 1) or subject == "main"
        # with the person check, BlazePose's outline also vouches for the person it is drawn around (about 7 ms more
        # a call where the method does not join it); not without MediaPipe's masks, whose promise is that nothing
        # MediaPipe draws decides the mask
        self.person_check = person_check and self.pose_every > 0 and self.method.regions_checked
        self._vouching = self.person_check and mediapipe_masks
        self.pose = ((get_backend(pose, video=not static, body_mask=self.outline or subject == "main" or self._vouching)
                      if isinstance(pose, str) else pose) if self.pose_every else None)
        # everyone: the others looked for on crops and by whole-frame searches, which a video-mode backend
        # (it looks where its last call found someone) cannot do; a backend given as an object does both, so
        # give one that looks at each call afresh
        self._others_pose = ((get_backend(pose) if isinstance(pose, str) else pose)
                             if subject == "all" and self.pose else None)
        self._smooth = smooth
        self._start_clip()
        self._calling = threading.Lock()   # held by the call or stream segmenting (``_claimed``)

    def _start_clip(self) -> None:
        """What one clip's frames build up, as before its first frame (the models and pose backends stay)."""
        self.tracker = PeopleTracker()
        self.smoother = TemporalSmoother() if self._smooth else None
        self._looked = 0     # frames the pose step's first part has seen (``_look``)
        self._followed = 0   # frames the pose step has seen
        self._segmented = 0  # frames the segmenting step has seen
        self._box = None
        self._box_id: int | None = None   # whose regions ``_box`` is, the main person's then
        self._subject = (SubjectFinder(self.pose, self.outline or self._vouching, max(1, REFRESH // self.pose_every),
                                       self.pose_every)
                         if self.subject == "main" and self.pose else None)
        self._others = OthersFinder(self._others_pose, self.pose_every) if self._others_pose is not None else None
        self._trusted: set[int] = set()   # track ids whose region the person check has taken for a person
        self._subject_trusted = False     # with subject "main": the subject's region has been taken once
        self._kept: np.ndarray | None = None   # the last frame's mask (bool HxW) after the person check
        self._known: set[int] = set()   # the last frame's track ids
        self._shape: tuple[int, ...] | None = None   # the first frame's

    def reset(self) -> None:
        """Start a new clip: forget the people followed and trusted, the smoothing, the last mask and the clip's
        size, keeping the loaded models (a fresh VideoSegmenter's results, without loading them again). Refused
        while a call or stream is segmenting (``_claimed``)."""
        with self._claimed():
            forget = getattr(self.pose, "reset", None)   # a backend in video mode looks where its last call found
            if forget is not None:                       # someone (BlazePoseBackend.reset)
                forget()
            self._start_clip()

    def _looked_over(self, rgb: np.ndarray, prob: np.ndarray, followed: Followed) -> np.ndarray:
        """``prob`` with the regions of people not yet trusted, or with nobody trusted every region, kept only
        where the region check takes them for people (presence.looked_over). Those it takes are trusted from then
        on, as are those standing on an outline the pose backend was sure of (``Followed.outlined``: the check
        doubts many real bodies, 44 of 100 parkour frames lost at the starts of 10-frame clips), a fresh track
        standing on the last frame's mask (the same body: the runner's flip leaves a stale
        track and a fresh one, and the check doubts a body upside down), and with subject "main" a fresh track of
        a subject once trusted (the finder takes back only someone who looks like them, where they were lost)."""
        ids = followed.ids
        self._trusted |= followed.outlined
        if self._subject_trusted and followed.subject is not None:   # a fresh track the finder took them back in
            self._trusted.add(followed.subject)
        if self._kept is not None:
            self._trusted |= {tid for tid in ids - self._known if _mostly_on(self._kept, followed.people[tid])}
        self._known = set(followed.people)
        # a trusted track the detector missed this time still holds its regions (a crossing pedestrian hides him)
        trusted = [kp for tid, kp in followed.people.items() if tid in self._trusted]
        doubted = {tid: followed.people[tid] for tid in ids if tid not in self._trusted}
        prob, taken = looked_over(rgb, prob, trusted, doubted)
        self._trusted |= taken
        self._subject_trusted |= followed.subject in self._trusted
        self._kept = prob >= 0.5
        return prob

    def __getstate__(self) -> dict:
        raise NotPicklableError("a VideoSegmenter does not pickle or copy (its models, the people it follows, its "
                                "locks): make one in each worker process")

    def __call__(self, frame: ImageInput) -> Result:
        """The next frame's Result; ``frame`` as ``Segmenter`` takes an image (image.load_image), the clip's
        size on every frame. One call at a time (``_claimed``)."""
        with self._claimed():
            rgb = self._frame(frame)
            return self.segment(rgb, self.follow(rgb))

    @contextmanager
    def _claimed(self) -> Iterator[None]:
        """Held while a call or ``stream`` segments: another meanwhile, from another thread (or a call inside a
        stream's loop), is refused (PersonsegError; two threads broke the people followed with an internal error)."""
        if not self._calling.acquire(blocking=False):
            raise PersonsegError("this VideoSegmenter is segmenting frames for another call or stream: it follows "
                                 "one clip frame by frame, in order, from one thread; finish or close that stream "
                                 "before reset() and the next clip, or make one for each thread")
        try:
            yield
        finally:
            self._calling.release()

    def _frame(self, frame: ImageInput) -> np.ndarray:
        """``frame`` as RGB uint8 (image.load_image); PersonsegError where its size is not the first frame's."""
        rgb = kept_image(frame)
        if self._shape is None:
            self._shape = rgb.shape
        elif rgb.shape != self._shape:
            raise PersonsegError(f"a frame of {rgb.shape[1]}x{rgb.shape[0]} in a clip of "
                                 f"{self._shape[1]}x{self._shape[0]}: every frame must have the first one's size "
                                 "(a new clip: call reset() first)")
        return rgb

    def stream(self, items: Iterable[T],
               picture: Callable[[T], ImageInput | None]) -> Iterator[tuple[T, Result | None]]:
        """Segment a sequence: yields (item, its Result) for each of ``items`` in order, where ``picture(item)``
        is the frame (as ``__call__`` takes it); items it gives None for pass through with None. The pose step
        runs ahead on background threads (it never depends on the network's output), the pose backend on the
        whole frame on one and the search for everyone else and the tracking on another, so both overlap the
        network and each other: the same results as calling on each frame, sooner."""
        # a backend given as an object serves the search for everyone too: called from one thread, as it was
        split = self._others is None or self._others.pose is not self.pose

        def looked() -> Iterator[tuple[T, np.ndarray | None, Looked | None]]:
            for item in items:
                rgb = picture(item)
                rgb = None if rgb is None else self._frame(rgb)
                yield item, rgb, self._look(rgb) if split and rgb is not None else None

        def followed(seen: Iterator[tuple[T, np.ndarray | None, Looked | None]]
                     ) -> Iterator[tuple[T, np.ndarray | None, Followed | None]]:
            try:
                for item, rgb, look in seen:
                    yield item, rgb, None if rgb is None else self._follow(rgb, look or self._look(rgb))
            finally:   # the look thread ends with this one, also when following fails
                seen.close()

        with self._claimed():
            ahead = prefetched(followed(prefetched(looked())))
            try:
                for item, rgb, found in ahead:
                    if rgb is None:
                        yield item, None
                        continue
                    with threads(ONNX_THREADS):
                        result = self.segment(rgb, found)
                    yield item, result
            finally:   # the pose threads end here, not whenever the generator is collected
                ahead.close()
                self._looked = self._followed   # frames looked at ahead and never followed are looked at again

    def follow(self, rgb: np.ndarray) -> Followed:
        """The pose step for the next frame: detect (every ``pose_every`` frames), then track."""
        return self._follow(rgb, self._look(rgb))

    def _look(self, rgb: np.ndarray) -> Looked:
        """The first part of the pose step, which needs nothing of earlier frames: with subject "all", the pose
        backend on the whole frame where this frame is one it looks at."""
        index, self._looked = self._looked, self._looked + 1
        if self.pose is None or index % self.pose_every or self._subject is not None:
            return Looked()
        t = time.perf_counter()
        detected, outline = detect_people(self.pose, rgb, outline=self.outline or self._vouching)
        return Looked(detected, outline, time.perf_counter() - t)

    def _follow(self, rgb: np.ndarray, look: Looked) -> Followed:
        """The rest of the pose step, in frame order: the subject found, or everyone else looked for (``_look``
        found someone on this frame), then everyone tracked."""
        if self.pose is None:
            return Followed()
        t = time.perf_counter()
        detected, outline = look.detected, look.outline
        if self._followed % self.pose_every == 0:
            if self._subject is not None:   # the subject alone
                sid = self._subject_id()
                kp, outline = self._subject(rgb, None if sid is None else self.tracker.tracks[sid])
                detected = [] if kp is None else [kp]
            elif self._others is not None and detected is not None:
                heading = [track.expected for track in self.tracker.tracks.values()]
                detected = detected + self._others(rgb, detected, heading)
        self._followed += 1
        people = self.tracker.update(rgb, detected)
        ids = self.tracker.confirmed & people.keys()
        sure = sure_outline(outline) if self._vouching else None
        outlined = set() if sure is None else {tid for tid in ids if _mostly_on(sure, people[tid])}
        return Followed(people, ids, detected is not None, look.seconds + time.perf_counter() - t,
                        outline if self.outline else None, self._subject_id() if self._subject is not None else None,
                        outlined)

    def _subject_id(self) -> int | None:
        """The subject's track with ``subject="main"``: the tracker is fed their detections only, so it is the
        one the detector saw most recently (a fresh track for them outlives a stale one)."""
        tracks = self.tracker.tracks
        return min(tracks, key=lambda tid: (tracks[tid].missed, -tid), default=None)

    def segment(self, rgb: np.ndarray, followed: Followed) -> Result:
        """The segmenting step for the next frame, given its pose step's findings: the method's chain as on
        photos, on the people the pose step follows, then temporal smoothing and matting."""
        with model_files(self.models):
            return self._segment(rgb, followed)

    def _segment(self, rgb: np.ndarray, followed: Followed) -> Result:
        people, confirmed = followed.people, followed.confirmed
        timings = {"pose": followed.seconds} if self.pose is not None else {}
        if self.subject == "main":
            main_id = followed.subject if followed.subject in people else None
        else:
            main_id = max(people, key=lambda tid: keypoint_extent(people[tid]), default=None)
        main = empty_keypoints() if main_id is None else people[main_id]
        # frame (and keep the regions of) the people the detector last confirmed: a track it lost may have
        # drifted onto the background. Between detections the previous frame's own mask frames them better
        # than keypoints carried by optical flow (parkour, fast: IoU 0.693 -> 0.739). With nobody tracked,
        # every REFRESH frames the whole frame is searched instead. With several people (subject "all"), this
        # frames the main person and each other confirmed person gets a pass framed on them (``widen``): one
        # frame around everyone is too coarse and takes in what lies between them.
        others = [kp for kp in confirmed if kp is not main] if self.subject == "all" else []
        box = people_box([kp for kp in confirmed if kp is main] if others else confirmed, rgb.shape[0])
        last = self._box if not others or self._box_id == main_id else None   # the main person's own, if they were
        if (not followed.detected or box is None) and (box is not None or self._segmented % REFRESH):
            box = last or box
        if box is None and others and main_id not in followed.ids:
            # the main person is a track the detector no longer confirms: the last frame's mask (theirs, or the
            # main person's before them) frames the network, not a pass on the whole frame, whose faint haze of
            # probability over the background a trial's clip showed as the background kept sharp for five frames
            # (fast on the three clips, IoU / flicker:
            # parkour 0.7976 / 0.01005 -> 0.7945 / 0.00998, hike 0.8370 / 0.00534 -> 0.8329 / 0.00541, tennis
            # and accurate unchanged)
            box = self._box
        scene = Scene(rgb, list(people.values()), confirmed, main, followed.outline, box, everyone=bool(others),
                      video=True)
        prob = timed(timings, "coarse", self.method.coarse, scene, self.crf)
        if others:
            prob = timed(timings, "people", self.method.widen, replace(scene, people=others), prob, self.crf)
        prob = timed(timings, "finish", self.method.finish, scene, prob)
        if self.person_check:
            prob = timed(timings, "person check", self._looked_over, rgb, prob, followed)
        if self.subject == "main":
            # the subject's own regions; nothing where they are not followed or hold no region
            prob = timed(timings, "subject", keep_subject, prob, main, True)
        # this frame's own finding frames the next one (smoothing would carry old errors); the main person's
        # regions alone where others have passes of their own
        self._box = mask_box(keep_subject(prob, main, False) if others else prob)
        self._box_id = main_id
        if self.smoother is not None:
            prob = timed(timings, "smooth", self.smoother, rgb, prob)
        mask, alpha = matted(rgb, prob, self.matting, self.matting_side, timings)
        # none of the alpha's haze far from the people (the probability's, or what the matting spreads of it)
        alpha = timed(timings, "edge", near_regions, alpha)
        self._segmented += 1
        # with the person check, those whose region it has not yet taken for a person are not listed; keypoints
        # the tracker carried off the mask (optical flow drags them onto the background as the camera pans) are
        # unseen, and a track left with fewer than two is not listed (fast on parkour: 36% of the listed sure
        # keypoints lay off the runner, and 31 frames listed a stale second track; the masks are as they were)
        reach = SUBJECT_EDGE * np.hypot(*mask.shape)
        people = {tid: near_mask(kp, mask, reach) for tid, kp in people.items()}
        shown = [tid for tid in people if (not self.person_check or tid in self._trusted)
                 and keypoint_box(people[tid]) is not None]
        if main_id not in shown:
            main_id = None if self.subject == "main" else max(shown, key=lambda tid: keypoint_extent(people[tid]),
                                                               default=None)
        main = empty_keypoints() if main_id is None else people[main_id]
        if self.subject == "main":   # the subject alone, id 1 throughout (also when a fresh track took them back)
            ids, listed = ([1], [main]) if followed.subject in shown else ([], [])
        else:
            ids = sorted(shown)
            listed = [people[i] for i in ids]
        return Result(mask=mask, alpha=alpha, keypoints=main, people=listed, rgb=rgb, timings=timings, ids=ids,
                      estimate_foreground=False)


def _mostly_on(mask: np.ndarray, kp: np.ndarray) -> bool:
    """True when most of ``kp``'s confident keypoints inside the frame lie on ``mask``."""
    x, y = pixels_inside(kp, mask.shape).T
    return len(x) > 0 and mask[y, x].mean() > 0.5
