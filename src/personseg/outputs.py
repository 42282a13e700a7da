"""Compositing (cut-out, new or blurred background, preview) and writing one image's outputs."""

from __future__ import annotations

import functools
import glob
import json
import numbers
import os
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import ImageColor

from .errors import ImageError, PersonsegError
from .image import IMAGE_SUFFIXES, ImageInput, load_image, write_bytes, write_image
from .result import Result
from .pose import COCO_NAMES
from .pose.keypoints import COCO_SKELETON, MIN_SCORE, rounded_keypoints

#: The background blur runs on the image shrunk so that its sigma is about this many pixels there.
BLUR_SIGMA_SMALL = 2.5
#: Files encoded and written at once by save_outputs (PNG encoding releases the GIL: a 24 MP photo's outputs
#: are written in about half the time on two cores).
WRITERS = 2
#: The overlay preview tints the mask with this colour, taking this share of it.
OVERLAY_TINT, OVERLAY_SHARE = (40, 120, 255), 0.45
#: Each person's colour (instances) in the overlay, on the service's page and in its ``people`` stage, in the order
#: people are listed.
PERSON_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
                  "#fabed4", "#469990", "#dcbeff", "#9a6324")
#: Rows blended at a time by ``composite``.
COMPOSITE_ROWS = 256
#: The strongest background blur, as a share of the image diagonal, and the blur where none is given.
MAX_BLUR = 0.5
DEFAULT_BLUR = 0.02
#: A 'replace' background: (r, g, b), a colour name, #rrggbb, an image path or an image (image.load_image's), or None.
Background = ImageInput | tuple[int, int, int] | list[int] | None
#: The settings only one output uses, and that output: given without it they are refused (CLI and service).
DRAWN_BY = {"background": "replace", "blur": "blur"}


def cutout(result: Result) -> np.ndarray:
    """uint8 HxWx4 RGBA: the person's colours with the alpha matte as transparency, black where it is fully
    transparent (the colours there show nowhere; a 24 MP cut-out's PNG shrinks about fourfold and encodes as
    much faster). Made in strips of COMPOSITE_ROWS rows (no full-size copy of the colours)."""
    alpha, fg = _alpha(result), result.foreground
    out = np.empty((*alpha.shape, 4), np.uint8)
    for y in range(0, out.shape[0], COMPOSITE_ROWS):
        rows = slice(y, y + COMPOSITE_ROWS)
        cv2.merge([cv2.bitwise_and(fg[rows], fg[rows], mask=alpha[rows]), alpha[rows]], dst=out[rows])
    return out


def composite(result: Result, background: np.ndarray) -> np.ndarray:
    """uint8 HxWx3: the person over ``background`` (an image of the same size), blended in strips of
    COMPOSITE_ROWS rows (no full-size float weights: 96 MB each at 24 MP)."""
    alpha = np.ascontiguousarray(result.alpha, dtype=np.float32)
    fg, background = np.ascontiguousarray(result.foreground), np.asarray(background)
    out = np.empty(background.shape, np.uint8)
    for y in range(0, out.shape[0], COMPOSITE_ROWS):
        rows = slice(y, y + COMPOSITE_ROWS)
        bg = np.ascontiguousarray(background[rows])   # a colour's background (a view of one pixel): made a strip here
        cv2.blendLinear(fg[rows], bg, alpha[rows], 1.0 - alpha[rows], dst=out[rows])
    return out


def colour_of(spec: str) -> tuple[int, int, int] | None:
    """The RGB colour ``spec`` names: a colour name, #rrggbb or #rgb, or rrggbb or rgb alone (a # in a URL starts
    its fragment); None for anything else."""
    try:
        return ImageColor.getrgb(f"#{spec}" if re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", spec) else spec)[:3]
    except ValueError:
        return None


def background_image(spec: str, shape: tuple[int, int]) -> np.ndarray:
    """A background of ``shape`` from a colour (``colour_of``; a read-only view of one pixel, no full-size copy) or
    an image path (scaled to cover, centred)."""
    h, w = shape
    colour = colour_of(spec)
    if colour is not None:
        return np.broadcast_to(np.array(colour, np.uint8), (h, w, 3))
    if not Path(spec).is_file():
        looks = Path(spec).suffix.lower() in IMAGE_SUFFIXES or "/" in spec
        raise PersonsegError(f"background {spec!r}: no such image file" if looks and not Path(spec).exists() else
                             f"background {spec!r} is neither a colour (name, #rrggbb, rrggbb, #rgb or rgb) nor an "
                             "image file")
    return covering(load_image(spec), shape)


def covering(bg: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The RGB image ``bg`` scaled to cover ``shape`` (h, w) and centred (as it is where already that size)."""
    h, w = shape
    if bg.shape[:2] == (h, w):
        return bg
    f = max(h / bg.shape[0], w / bg.shape[1])
    bg = cv2.resize(bg, (max(w, round(bg.shape[1] * f)), max(h, round(bg.shape[0] * f))),
                    interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    y, x = (bg.shape[0] - h) // 2, (bg.shape[1] - w) // 2
    return np.ascontiguousarray(bg[y:y + h, x:x + w])


def blur_background(result: Result, strength: float = DEFAULT_BLUR) -> np.ndarray:
    """uint8 HxWx3: the person sharp over their own background blurred (sigma = strength x diagonal).

    The blur averages background pixels only (a blur of the image weighted by 1 - alpha, over the blur of
    the weights), so the person is not smeared into it. It is done on the image shrunk until the blur's
    sigma is about BLUR_SIGMA_SMALL pixels there (a result this smooth loses nothing), by plain bilinear
    sampling (the blur that follows is wider than the sampling step), and scaled back up."""
    h, w = result.rgb.shape[:2]
    sigma = max(0.5, strength * float(np.hypot(h, w)))
    shrink = max(1, int(sigma / BLUR_SIGMA_SMALL))
    size = (max(1, w // shrink), max(1, h // shrink))
    small = cv2.resize(result.rgb, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
    weight = 1.0 - cv2.resize(result.alpha, size, interpolation=cv2.INTER_LINEAR)
    weight = np.clip(weight, 0.0, 1.0) ** 2 + 1e-4   # soft edges count little; never divide by zero
    s = sigma / shrink
    blurred = cv2.GaussianBlur(small * weight[..., None], (0, 0), s) / cv2.GaussianBlur(weight, (0, 0), s)[..., None]
    back = cv2.resize(np.clip(blurred, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
    return composite(result, back)


def overlay(result: Result) -> np.ndarray:
    """uint8 HxWx3 preview: the mask tinted (with instances, each person in their colour, PERSON_COLOURS: a region
    of the mask that is no one's is outlined only), its outline and the keypoints drawn."""
    out = result.rgb.copy()
    tinted = ([(i.mask, person_colour(k)) for k, i in enumerate(result.instances)] if result.instances
              else [(result.mask, OVERLAY_TINT)])
    for mask, colour in tinted:
        x, y, w, h = cv2.boundingRect(mask)   # tinted within the mask's box: no full-size copy
        if w:
            part, inside = out[y:y + h, x:x + w], mask[y:y + h, x:x + w]
            tint = np.broadcast_to(np.array(colour, np.uint8), part.shape)
            cv2.copyTo(cv2.addWeighted(part, 1.0 - OVERLAY_SHARE, tint, OVERLAY_SHARE, 0.0), inside, part)
    contours, _ = cv2.findContours(result.mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    thick = max(1, round(min(out.shape[:2]) / 300))   # by the short side: on a panorama people are its height
    cv2.drawContours(out, contours, -1, (255, 255, 255), thick)
    for kp in result.people:
        for a, b in COCO_SKELETON:
            if kp[a, 2] >= MIN_SCORE and kp[b, 2] >= MIN_SCORE:
                cv2.line(out, tuple(map(int, kp[a, :2])), tuple(map(int, kp[b, :2])), (255, 220, 0), thick)
        for x, y, s in kp:
            if s >= MIN_SCORE:
                cv2.circle(out, (int(x), int(y)), 2 * thick, (255, 60, 60), -1)
    return out


def person_colour(k: int) -> tuple[int, int, int]:
    """The RGB colour of the ``k``-th person listed (PERSON_COLOURS, in turn)."""
    return ImageColor.getrgb(PERSON_COLOURS[k % len(PERSON_COLOURS)])[:3]


def keypoints_json(result: Result, source: str | None = None) -> dict:
    """The keypoints of everyone found, as a JSON-ready dict, the CLI's ``json`` output (in video each with their
    track ``id``, as ``--keypoints`` gives them); ``source``: the photo's name, written as it is."""
    h, w = result.mask.shape
    ids = [{"id": i} for i in result.ids] if result.ids else [{}] * len(result.people)
    return {
        "source": source,
        "width": w,
        "height": h,
        "keypoint_names": list(COCO_NAMES),
        "people": [tid | {"keypoints": rounded_keypoints(kp)} for tid, kp in zip(ids, result.people)],
        "regions_without_keypoints": result.unplaced,
        "foreground_fraction": round(float((result.mask > 0).mean()), 4),
    }


def instances_json(result: Result, source: str | None = None) -> dict:
    """Everyone's mask (COCO compressed RLE), box (x, y, w, h), keypoints and score, largest first (people given:
    in their order), as a JSON-ready dict: the CLI's ``json`` output with ``--instances``. PersonsegError for a
    Result made without instances (its people would read as nobody)."""
    if result.instances is None:
        raise PersonsegError("instances_json needs a Result with instances (Segmenter(instances=True)); "
                             "result.keypoints and result.people hold the people of any Result")
    h, w = result.mask.shape
    people = []
    for k, inst in enumerate(result.instances or [], start=1):
        people.append({"id": k, "score": round(inst.score, 4), "area": inst.area, "bbox": list(inst.box),
                       "segmentation": inst.rle(), "keypoints": rounded_keypoints(inst.keypoints)})
    return {"source": source, "width": w, "height": h, "keypoint_names": list(COCO_NAMES), "people": people}


@dataclass(frozen=True)
class OutputKind:
    """One kind of output: what it shows, and how its picture is made from a Result (None: a JSON file)."""

    name: str
    help: str
    picture: Callable[[Result, Background, float], np.ndarray] | None
    keypoints: bool = False  # it shows keypoints: the pose backend runs for it whatever the method
    foreground: bool = False  # it shows the estimated foreground colours (Result.foreground)


def _alpha(result: Result) -> np.ndarray:
    return cv2.convertScaleAbs(result.alpha, alpha=255.0)   # rounded and saturated, no float copies


def _replace(result: Result, background: Background) -> np.ndarray:
    h, w = result.rgb.shape[:2]
    if background is None:
        raise PersonsegError("the 'replace' output needs a background: a colour name, #rrggbb, (r, g, b), an "
                             "image path, or an image (an array or a PIL image, as photos are given)")
    if isinstance(background, (str, os.PathLike)):
        return composite(result, background_image(os.fspath(background), (h, w)))
    if isinstance(background, (tuple, list)) and not any(isinstance(v, (list, tuple)) for v in background):
        if len(background) != 3 or not all(isinstance(v, numbers.Integral) and 0 <= v <= 255 for v in background):
            raise PersonsegError(f"background {background!r}: a colour (r, g, b) is three whole numbers from 0 to 255")
        return composite(result, np.broadcast_to(np.array(background, np.uint8), (h, w, 3)))
    try:
        bg = load_image(background)
    except ImageError as e:
        raise PersonsegError(f"the background: {e}") from None
    return composite(result, covering(bg, (h, w)))


#: Every output, in the order ``--help`` lists them; the same renderers serve photos and video frames.
OUTPUTS: dict[str, OutputKind] = {k.name: k for k in (
    OutputKind("mask", "0/255 PNG", lambda r, bg, blur: r.mask),
    OutputKind("alpha", "8-bit soft matte", lambda r, bg, blur: _alpha(r)),
    OutputKind("cutout", "RGBA PNG, the person's colours with the matte as transparency",
               lambda r, bg, blur: cutout(r), foreground=True),
    OutputKind("replace", "the person over --background", lambda r, bg, blur: _replace(r, bg), foreground=True),
    OutputKind("blur", "the person over their own background blurred (--blur)",
               lambda r, bg, blur: blur_background(r, blur), foreground=True),
    OutputKind("overlay", "preview: the mask tinted, its outline and the keypoints drawn",
               lambda r, bg, blur: overlay(r), keypoints=True),
    OutputKind("json", "keypoints of the people found (--instances: everyone, with person-k.mask.png files)",
               None, keypoints=True),
)}
DEFAULT_OUTPUTS = ("mask", "alpha", "cutout")
#: What a video file can show: every picture (a cut-out only in a container that holds transparency, video.io).
VIDEO_OUTPUTS = tuple(name for name, kind in OUTPUTS.items() if kind.picture is not None)


def render(result: Result, output: str, background: Background = None,
           blur: float | None = None) -> np.ndarray:
    """The picture of one output (any of OUTPUTS with a picture), the photo's size: 'mask' uint8 HxW 0/255,
    'alpha' uint8 HxW 0..255, 'cutout' uint8 HxWx4 RGBA (straight alpha, black under the fully transparent),
    'replace', 'blur' and 'overlay' uint8 HxWx3 RGB. ``background`` is needed for 'replace': (r, g, b), a
    colour name, #rrggbb or an image path (``background_image``), or an image as photos are given (an array, a PIL
    image, bytes: image.load_image), scaled to cover the photo and centred (``covering``);
    ``blur`` is for 'blur' (a share of the diagonal; None: DEFAULT_BLUR). Either given for another output is
    refused, as the command line refuses it."""
    kind = OUTPUTS.get(output)
    if kind is None or kind.picture is None:
        pictures = [name for name, k in OUTPUTS.items() if k.picture is not None]
        raise PersonsegError(f"{output!r} is not a picture output; choose from {', '.join(pictures)}")
    for setting, value in (("background", background), ("blur", blur)):
        if value is not None and output != DRAWN_BY[setting]:
            raise PersonsegError(f"{setting} is for the {DRAWN_BY[setting]!r} output, not {output!r}")
    if output == DRAWN_BY["blur"]:
        blur = DEFAULT_BLUR if blur is None else blur
        check_blur(blur)
    return kind.picture(result, background, blur)


def drawn(result: Result, output: str, background: Background, blur: float | None) -> np.ndarray:
    """``render`` of ``output`` given a run's settings for all its outputs: each output takes those it draws."""
    return render(result, output, background if output == DRAWN_BY["background"] else None,
                  blur if output == DRAWN_BY["blur"] else None)


def refuse_existing(paths: list[Path | None], overwrite: bool) -> None:
    """PersonsegError naming the output files that exist, unless ``overwrite``."""
    existing = [str(p) for p in paths if p is not None and p.exists()]
    if existing and not overwrite:
        raise PersonsegError(f"output exists: {', '.join(existing)} (use --overwrite to replace)")


def check_outputs(outputs: tuple[str, ...], background: str | None) -> None:
    """Raise PersonsegError unless some outputs are asked for, every name is a known output and 'replace' has a
    background."""
    if not outputs:
        raise PersonsegError(f"no outputs asked for; choose from {', '.join(OUTPUTS)}")
    unknown = set(outputs) - set(OUTPUTS)
    if unknown:
        raise PersonsegError(f"unknown output(s) {', '.join(sorted(unknown))}; choose from {', '.join(OUTPUTS)}")
    if "replace" in outputs and not background:
        raise PersonsegError("the 'replace' output needs a background: a colour name, #rrggbb or an image path")


def parse_outputs(save: str, background: str | None = None, blur: float | None = None,
                  one: bool = False) -> tuple[str, ...]:
    """The output names of a comma-separated ``save`` list, checked with ``background`` (a colour or a readable
    image, tried once here rather than on every image) and ``blur`` (a share of the diagonal, above 0 and at
    most MAX_BLUR; None: DEFAULT_BLUR); each given without the output that draws it, refused (``one``: the
    outputs go into one video file, which shows one of them)."""
    outputs = tuple(dict.fromkeys(o.strip() for o in save.split(",") if o.strip()))
    check_outputs(outputs, background)
    for setting, value in (("background", background), ("blur", blur)):
        output = DRAWN_BY[setting]
        if value is not None and value != "" and output not in outputs:
            wanted = output if one else ",".join((*outputs, output))
            raise PersonsegError(f"--{setting} {value} is used only by the '{output}' output, which is not asked "
                                 f"for (outputs: {', '.join(outputs)}); ask for it: --save {wanted}")
    if "replace" in outputs:
        background_image(background, (1, 1))
    if blur is not None:
        check_blur(blur)
    return outputs


def check_blur(blur: float) -> None:
    """Raise PersonsegError unless ``blur`` is a share of the image diagonal above 0 and at most MAX_BLUR."""
    if not isinstance(blur, numbers.Real) or isinstance(blur, (bool, np.bool_)) or not 0.0 < blur <= MAX_BLUR:
        raise PersonsegError(f"blur {blur!r}: give a number, a share of the image diagonal above 0 and at most "
                             f"{MAX_BLUR}")   # NaN too


def output_paths(out_dir: str | Path, stem: str, outputs: tuple[str, ...], instances: bool = False) -> list[Path]:
    """The files ``save_outputs`` writes for these ``outputs`` (the per-person files aside, ``person_files``: with
    ``instances``, ``<stem>.instances.json``, written after them, stands for them)."""
    out_dir = Path(out_dir)
    paths = [out_dir / (f"{stem}.json" if OUTPUTS[o].picture is None else f"{stem}.{o}.png") for o in outputs]
    return paths + [out_dir / f"{stem}.instances.json"] * instances


#: A per-person file's name: ``<stem>.person-<k>.<picture>.png`` (stem, k, picture).
PERSON_FILE = re.compile(r"(.+)\.person-(\d+)\.(\w+)\.png")


def person_file_stem(name: str) -> str | None:
    """The stem of the image whose per-person file is named ``name``; None for other names."""
    m = PERSON_FILE.fullmatch(name)
    return m.group(1) if m and m.group(3) in OUTPUTS else None


def person_files(out_dir: Path, stem: str) -> list[tuple[int, Path]]:
    """The per-person files of ``stem`` in ``out_dir`` (``PERSON_FILE``), with their k: not those of another
    image whose name merely begins so."""
    found = sorted(out_dir.glob(f"{glob.escape(stem)}.person-*.png"))
    return [(int(PERSON_FILE.fullmatch(p.name).group(2)), p) for p in found if person_file_stem(p.name) == stem]


def save_outputs(
    result: Result,
    out_dir: str | Path,
    stem: str,
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS,
    background: str | None = None,
    blur: float = DEFAULT_BLUR,
    overwrite: bool = False,
    source: str = "",
    background_array: np.ndarray | None = None,
    keep_existing: bool = False,
) -> list[Path]:
    """Write the chosen ``outputs`` of one image as ``<out_dir>/<stem>.<output>.png`` (and ``<stem>.json``); with
    instances, also each person's mask and each picture chosen of them alone (``Result.person``: their soft edge
    kept), ``<stem>.person-<k>.<output>.png`` (largest first), and, last, ``<stem>.instances.json``.
    Returns the files written.

    Every file is written atomically. An existing file is replaced with ``overwrite``, kept (and the missing
    ones written: completing an interrupted run) with ``keep_existing``, and otherwise stops the whole image.
    ``background`` and ``blur``: the run's settings, each used by the output that draws it (``drawn``).
    ``background_array``: the 'replace' background already made (saves remaking it for every video frame).
    """
    check_outputs(outputs, background)
    if DRAWN_BY["blur"] in outputs:
        check_blur(blur)
    out_dir = Path(out_dir)
    names = dict(zip(outputs, output_paths(out_dir, stem, outputs)))
    alone = ("mask", *(o for o in outputs if OUTPUTS[o].picture is not None and o != "mask"))   # each person's
    if result.instances is not None:
        names |= {f"person-{k}.{o}": out_dir / f"{stem}.person-{k}.{o}.png"
                  for k in range(1, len(result.instances) + 1) for o in alone}
        names["instances"] = out_dir / f"{stem}.instances.json"
    existing = {key for key, path in names.items() if path.exists()} if not overwrite else set()
    if existing and not keep_existing:
        raise PersonsegError(f"output exists: {', '.join(str(names[k]) for k in existing)} "
                             "(use --overwrite to replace)")
    bg = background_array
    if bg is None and any(key.rsplit(".", 1)[-1] == "replace" for key in set(names) - existing):   # theirs too
        bg = background_image(background, result.mask.shape)
    if overwrite:   # a photo now holding fewer people: the files of those no longer there go
        people = len(result.instances or [])
        for k, path in person_files(out_dir, stem):
            if k > people:
                path.unlink(missing_ok=True)
    writing = _Writing()

    def write(write_file, *args, **kwargs) -> None:   # the next picture is drawn while the last ones are encoded
        writing.hand(functools.partial(write_file, *args, overwrite=True, **kwargs))

    # the JSON made before any picture is drawn: counting the mask's regions takes a full-size label image (96 MB
    # at 24 MP), which beside the pictures being encoded raised the peak by as much
    facts = (json.dumps(keypoints_json(result, source), indent=1).encode()
             if any(OUTPUTS[o].picture is None and o not in existing for o in outputs) else b"")
    try:
        for o in outputs:
            if o in existing:
                continue
            if OUTPUTS[o].picture is None:
                write(write_bytes, names[o], facts)
            else:
                write(write_image, names[o], drawn(result, o, bg, blur), reuse=True)   # drawn for this alone
        for k, inst in enumerate(result.instances or [], start=1):
            person = None   # this person alone, made once for their pictures
            for o in (o for o in alone if f"person-{k}.{o}" not in existing):
                if o == "mask":
                    write(write_image, names[f"person-{k}.mask"], inst.mask)
                    continue
                person = person or result.person(k - 1)
                write(write_image, names[f"person-{k}.{o}"], drawn(person, o, bg, blur), reuse=True)
        if result.instances is not None and "instances" not in existing:
            writing.wait()   # the people's file comes last: once it is there, their masks are
            write(write_bytes, names["instances"], json.dumps(instances_json(result, source)).encode())
    finally:
        writing.wait()   # nothing of this image is still being written when it returns or raises
    return writing.results()


class _Writing:
    """The files of one ``save_outputs`` call, written by the writer threads (``_writers``), at most WRITERS
    handed to them at once. Ctrl-C cannot leave the caller's waits for ever: the writers record each outcome here
    themselves, and the caller looks at those, woken by a token on a C ``queue.SimpleQueue`` or every POLL seconds
    (concurrent.futures' ``wait``, interrupted while it took its futures' Python locks, left the writer threads
    waiting for ever, and the process could not exit)."""

    def __init__(self) -> None:
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._outcomes: dict[int, tuple[object, BaseException | None]] = {}
        self._handed = 0

    def hand(self, write: Callable[[], object]) -> None:
        while self._handed - len(self._outcomes) >= WRITERS:
            self._wait_one()
        _writers().put((self, self._handed, write))
        self._handed += 1

    def wait(self) -> None:
        """Until every write handed is done; Ctrl-C (or SIGTERM) meanwhile is raised once they are (a second one
        stops at once): a writer thread still in OpenCV's encoder as the interrupted process ended aborted it
        ("terminate called without an active exception", exit -6, not 130)."""
        try:
            self._until_written()
        except KeyboardInterrupt:   # raised where the wait's loop looks at signals: the whole loop again
            self._until_written()
            raise

    def _until_written(self) -> None:
        while len(self._outcomes) < self._handed:
            self._wait_one()

    def _wait_one(self) -> None:
        try:
            self._done.get(timeout=POLL)
        except queue.Empty:   # (a token lost to Ctrl-C costs no more than this)
            pass

    def finished(self, k: int, made: object, error: BaseException | None) -> None:
        """On a writer thread: write ``k``'s outcome."""
        self._outcomes[k] = made, error
        self._done.put(True)

    def results(self) -> list:
        """What each write returned, in the order handed; the first failure (in that order) raised."""
        failed = sorted(k for k, (_, error) in self._outcomes.items() if error is not None)
        if failed:
            raise self._outcomes[failed[0]][1]
        return [self._outcomes[k][0] for k in range(self._handed)]


#: Seconds a wait for the writers goes before it looks at their outcomes again (``_Writing``).
POLL = 0.05


_WRITER_JOBS: list[queue.SimpleQueue] = []   # the one queue of the writer threads, once made
_WRITERS_MADE = threading.Lock()


def _writers() -> queue.SimpleQueue:
    """The queue of the WRITERS threads that encode and write output files, made once (save_outputs runs for every
    video frame; several threads' first calls at once make one set): (the ``_Writing`` it is for, its index
    there, the write)."""
    with _WRITERS_MADE:
        if not _WRITER_JOBS:
            _WRITER_JOBS.append(_start_writers())
        return _WRITER_JOBS[0]


def _start_writers() -> queue.SimpleQueue:
    jobs: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        while True:
            writing, k, write = jobs.get()
            try:
                writing.finished(k, write(), None)
            except BaseException as e:   # noqa: BLE001 - raised by the caller (``_Writing.results``)
                writing.finished(k, None, e)

    for n in range(WRITERS):   # daemons: each call waits for its own writes before it returns or raises
        threading.Thread(target=work, name=f"personseg-writer-{n}", daemon=True).start()
    return jobs
