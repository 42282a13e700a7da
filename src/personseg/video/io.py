"""Video in and out with PyAV (FFmpeg): frames decoded one at a time and turned upright, sound packets handed on
(copied, or re-encoded where the output container cannot hold them), output encoded to a hidden partial file
that takes its final name only when complete."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import ImageError, PersonsegError
from ..image import IMAGE_SUFFIXES, image_files, load_image
from .hdr import HLG, converted, is_hdr, sdr_picture

#: Frames held between the decoding thread, the segmenting one and the encoding one (bounds memory).
QUEUE = 4
#: Seconds a background thread waits for a free place before it looks whether to stop (``_Handover``).
POLL = 0.05
#: Containers written (and read); any other file PyAV can open is read too.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
#: Encoder per container for the picture stream.
ENCODERS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9"}
#: The colour tags of the pictures written (FFmpeg's numbers): limited ("MPEG") range, the SMPTE 170M (BT.601) matrix
#: OpenCV's conversion uses, and BT.709's primaries and transfer: the pictures' colours are sRGB's and HD video's
#: (SMPTE 170M's primaries had colour-managed players shift saturated colours a little).
COLOUR_TAGS = (1, 6, 1, 1)
#: Seconds of a gap in re-encoded sound filled with silence (shorter ones are the input's clock rounding).
SOUND_GAP = 0.01
#: Container metadata a muxer writes of its own (the rest, such as creation_time, location and title, is copied).
MUXER_METADATA = ("encoder", "major_brand", "minor_version", "compatible_brands", "duration")
#: The YUV matrices of pictures read, by FFmpeg's number (AVColorSpace), as FFmpeg's scaler names them.
YUV_MATRICES = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}
#: FFmpeg's number of full ("JPEG") range.
FULL_RANGE = 2
#: Encoder and pixel format per container for pictures with transparency (cut-outs): VP9 with alpha (Chrome, Firefox
#: and Edge play it transparent; FFmpeg reads the alpha through its libvpx decoder) and ProRes 4444 (what video
#: editors take). MP4 and MKV are not offered: their H.264 has no alpha.
ALPHA_ENCODERS = {".webm": ("libvpx-vp9", "yuva420p"), ".mov": ("prores_ks", "yuva444p10le")}
#: Sound FFmpeg lists as taken by a container but refuses when the file's header is written (Opus in .mov is
#: "experimental" there): re-encoded like sound the container cannot hold.
SOUND_REFUSED = {".mov": ("opus",)}
#: Sound a container holds but many players do not play from it (Opus in MP4: QuickTime, and Safari before macOS
#: 14, play the picture silent): copied as it is, with a note.
SOUND_FEW_PLAY = {".mp4": ("opus",)}
#: The sound encoder per container for sound it cannot hold as it is (FFmpeg's list of what each takes decides).
SOUND_ENCODERS = {".mp4": "aac", ".mov": "aac", ".mkv": "libopus", ".webm": "libopus"}
SOUND_NAMES = {"aac": "AAC", "libopus": "Opus"}
#: Most frames a video file may fall short of the count it declares before it is taken as truncated (edit lists
#: that trim a clip's ends make a few fewer frames decode than are stored).
SHORTFALL = 2
#: ... and, where it declares no count, pictures ending this many seconds or more before the end it declares (a
#: last picture of a variable-rate clip may last long).
SHORT_END = 0.5


def prefetched(items: Iterable, size: int = QUEUE) -> Iterator:
    """Iterate ``items`` in a background thread, up to ``size`` ahead (decoding overlaps segmenting). Closing
    the iterator (or leaving it by an exception) stops that thread and closes ``items`` before it returns, so
    nothing is left running in native code when the caller cleans up (an interrupted video)."""
    ahead = _Handover(size)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not ahead.put(item, stop):
                    return
            ahead.put(end, stop)
        except BaseException as e:  # handed to the consumer
            ahead.put(e, stop)
        finally:   # a chain of these stops from the outside in: each waits for the thread that feeds it
            if hasattr(it, "close"):
                it.close()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while (item := ahead.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        ahead.wake()
        thread.join()


class _Handover:
    """A queue of at most ``size`` items between the main thread and a background one, made of two
    ``queue.SimpleQueue``: the items, and a token for each free place. SimpleQueue is written in C, so Ctrl-C
    (raised in the main thread only) lands before or after a put or get, never half way: ``queue.Queue``'s
    Python lock and conditions, interrupted half way, either lost a wake-up (``Condition.notify`` between waking
    a waiter and forgetting it: the next wake-up went to a lock no one waited on) or stayed held, and the
    interrupted video hung for ever (1 in 120 interrupted runs here; CI). An interrupted hand-over at most loses
    one free place."""

    def __init__(self, size: int) -> None:
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(size):
            self._free.put(True)

    def put(self, item: object, stop: threading.Event | None = None) -> bool:
        """Hand ``item`` on once a place is free; with ``stop``, looking at it every POLL seconds meanwhile and
        once a place is free (False: it was set first, nothing handed on)."""
        while True:
            try:
                self._free.get(timeout=None if stop is None else POLL)
                break
            except queue.Empty:
                if stop.is_set():
                    return False
        if stop is not None and stop.is_set():
            return False
        self._items.put(item)
        return True

    def wake(self) -> None:
        """Free a place, so that a ``put`` waiting for one looks at its ``stop`` at once."""
        self._free.put(True)

    def put_last(self, item: object) -> None:
        """Hand ``item`` on at once, taking no place (an end mark)."""
        self._items.put(item)

    def get(self) -> object:
        """The next item, its place freed."""
        item = self._items.get()
        self._free.put(True)
        return item


class _Worker:
    """Runs submitted calls in order on one background thread, at most ``size`` waiting (encoding overlaps
    segmenting; ``_Handover``, so that Ctrl-C in ``submit`` cannot leave it waiting for ever); the first failure
    is raised by the next submit or by join."""

    def __init__(self, size: int = QUEUE) -> None:
        self._calls = _Handover(size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (call := self._calls.get()) is not None:
            if self._error is None:
                try:
                    call()
                except BaseException as e:
                    self._error = e

    def submit(self, call: Callable[[], None]) -> None:
        if self._error is not None:
            raise self._error
        self._calls.put(call)

    def join(self) -> None:
        self._calls.put_last(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


@dataclass
class Frame:
    index: int
    stem: str             # the frame's file stem in a folder of frames, else frame-000001 ...
    rgb: np.ndarray | None   # None once handed to the segmenter (run._handed)
    pts: int | None = None
    duration: int | None = None   # how long its picture is shown (the file's time base), where the file says


@dataclass
class Unreadable:
    """A file of a folder of frames that cannot be a frame: unreadable, or not the first frame's size."""

    index: int
    path: Path
    reason: str


def numbering_gap(files: list[Path]) -> str | None:
    """Where the numbers that end the frames' names (in their order) skip some, the first skip and how many are
    missing in all: the clip runs on without them, shorter than its numbering; None where none is skipped or the
    names are not so numbered."""
    numbers = [re.search(r"(\d+)$", f.stem) for f in files]
    if len(files) < 2 or not all(numbers) or len({f.stem[:m.start()] for f, m in zip(files, numbers)}) > 1:
        return None   # not one name numbered
    values = [int(m.group(1)) for m in numbers]
    skips = [k for k in range(len(files) - 1) if values[k + 1] - values[k] > 1]
    if not skips:
        return None
    first, after = files[skips[0]], files[skips[0] + 1]
    missing = sum(values[k + 1] - values[k] - 1 for k in skips)
    return (f"the frames' numbering skips from {first.name} to {after.name} ({missing} number"
            f"{'s' * (missing > 1)} missing in all): the clip runs on without them")


class Source:
    """Frames of a video file or of a folder of images (in the order of their names, numbers by value:
    ``image.name_order``), read lazily. Iterating yields Frame objects and, for files with sound, the audio
    packets (av.Packet) in stream order between them."""

    def __init__(self, path: str | Path, fps: float = 25.0) -> None:
        self.path = Path(path)
        self.audio = None          # the input audio stream, when there is one
        self.time_base = None
        self.truncated = False     # fewer pictures decoded than a video file declares
        self.damage: str | None = None   # what FFmpeg said of the first packet it could not decode
        self.notes: list[str] = []
        self.stored_aspect: Fraction | None = None   # a file's pixels' width to height where not square (anamorphic)
        self.start = 0.0   # seconds where a file's clock starts
        self.size: tuple[int, int] | None = None   # a file's upright pictures' width and height, once one is read
        self.turns = 0   # quarter turns that make a file's pictures upright, once one is read
        if self.path.is_dir():
            self.files = image_files(self.path)
            others = [f.name for f in sorted(self.path.iterdir())
                      if f.is_file() and not f.name.startswith(".") and f.suffix.lower() not in IMAGE_SUFFIXES]
            if not self.files:
                raise PersonsegError(f"{self.path}: no image files in this folder"
                                     + (f" ({len(others)} of other types, such as {others[0]})" if others else ""))
            if others:
                more = f" and {len(others) - 3} more" if len(others) > 3 else ""
                self.notes.append(f"{self.path}: not frames, left out: {', '.join(others[:3])}{more} (frames are "
                                  f"{', '.join(IMAGE_SUFFIXES)})")
            gap = numbering_gap(self.files)
            if gap:
                self.notes.append(f"{self.path}: {gap}")
            self.count: int | None = len(self.files)
            self.fps = frame_rate(fps)
            self.container = None
            return
        if not self.path.is_file():
            raise PersonsegError(f"{self.path}: no such file or folder")
        import av

        try:
            self.container = av.open(str(self.path))
        except (av.FFmpegError, UnicodeDecodeError) as e:   # FFmpeg's text of a broken file need not be UTF-8
            if unfinished_mp4(self.path):
                raise PersonsegError(f"{self.path}: an MP4/MOV file without its index (moov), which is written "
                                     "last: it looks cut short (an unfinished recording or download), and nothing "
                                     "of it can be read") from None
            raise PersonsegError(f"{self.path}: not a video PyAV can read ({e})") from None
        if not self.container.streams.video:
            self.container.close()
            raise PersonsegError(f"{self.path}: has no video stream")
        self.video = self.container.streams.video[0]
        self.video.thread_type = "AUTO"
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        self.count = self.video.frames or None
        self.fps = self.video.average_rate or frame_rate(fps)
        self.time_base = self.video.time_base
        # where the file's clock starts (a camcorder's .m2ts or a broadcast .ts: minutes in): outputs start at 0
        self.start = max(0.0, (self.container.start_time or 0) / 1e6)
        sar = self.video.sample_aspect_ratio
        self.stored_aspect = sar if sar and sar != 1 else None

    @property
    def pixel_aspect(self) -> Fraction | None:
        """The width to height of the upright pictures' pixels where they are not square (anamorphic video)."""
        if self.stored_aspect is None:
            return None
        return 1 / self.stored_aspect if self.turns % 2 else self.stored_aspect

    def __iter__(self) -> Iterator[object]:
        """Frames in order (Unreadable for a folder's files that cannot be frames) and sound packets."""
        if self.container is None:
            yield from self._folder()
            return
        import av

        streams = [self.video] + ([self.audio] if self.audio is not None else [])
        index = damaged = 0
        last = None   # where the last frame's picture ends (seconds)
        try:
            for packet in self.container.demux(*streams):
                if packet.stream is self.audio:
                    if packet.dts is not None:
                        yield packet
                    continue
                try:
                    frames = packet.decode()
                except av.InvalidDataError as e:   # a damaged stretch: its pictures are left out, the clip goes on
                    damaged += 1
                    self.damage = self.damage or str(e)
                    continue
                for frame in frames:
                    if not index and is_hdr(frame.color_trc):
                        self.notes.append(f"{self.path}: HDR video ({'HLG' if frame.color_trc == HLG else 'PQ'}): "
                                          "its pictures are made SDR to be segmented and written")
                    self.turns = round(frame.rotation / 90.0) % 4
                    rgb = _upright(_rgb(frame), self.turns)
                    self.size = self.size or (rgb.shape[1], rgb.shape[0])
                    yield Frame(index, frame_stem(index), rgb, frame.pts, frame.duration or None)
                    index += 1
                    if frame.time is not None:   # where its picture ends (a variable rate's last may last long)
                        last = frame.time + float((frame.duration or 0) * frame.time_base)
        except (av.FFmpegError, UnicodeDecodeError) as e:
            if not index:
                raise PersonsegError(f"{self.path}: decoding failed before any frame ({e})") from None
            self.truncated = True
            self.notes.append(f"{self.path}: decoding stopped after {index} frames ({e}); the output holds those")
            return
        if damaged:
            self.truncated = True
            self.notes.append(f"{self.path}: {damaged} damaged packet{'s' * (damaged > 1)} could not be decoded "
                              f"(left out); the output holds the {index} frames decoded")
        elif self.count and index < self.count - SHORTFALL:
            self.truncated = True
            self.notes.append(f"{self.path}: {index} of the {self.count} frames it declares could be decoded "
                              "(the file looks truncated); the output holds those")
        elif (not self.count and (declared := declared_seconds(self.video)) and last is not None
              and last + max(SHORTFALL / float(self.fps), SHORT_END) < declared):
            self.truncated = True   # (Matroska and WebM declare no count: their video's length, where given)
            self.notes.append(f"{self.path}: its pictures end at {last:.2f} s of the {declared:.2f} s it declares "
                              "(the file looks truncated); the output holds the frames decoded")

    def _folder(self) -> Iterator[Frame | Unreadable]:
        size = None
        for i, f in enumerate(self.files):
            try:
                rgb = load_image(f)
            except ImageError as e:
                yield Unreadable(i, f, str(e).removeprefix(f"{f}: "))
                continue
            size = size or rgb.shape[:2]
            if rgb.shape[:2] != size:
                yield Unreadable(i, f, f"{rgb.shape[1]}x{rgb.shape[0]}, not the first frame's {size[1]}x{size[0]}")
                continue
            yield Frame(i, f.stem, rgb)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()


def frame_rate(fps: float) -> Fraction:
    """``fps`` as an exact rate: the NTSC rates by their true value (23.976 or 23.98, 29.97 and 59.94 are
    24000/1001, 30000/1001 and 60000/1001, as editors and players take them; 2997/125 is a rate no camera records),
    any other as the nearest fraction over at most 1001."""
    whole = round(fps * 1.001)
    if fps != int(fps) and abs(fps * 1.001 - whole) < 0.005:
        return Fraction(1000 * whole, 1001)
    return Fraction(fps).limit_denominator(1001)


def declared_seconds(stream) -> float | None:
    """Where a video ``stream`` declares its pictures end (seconds): its duration, or Matroska's and WebM's
    DURATION tag (the track's end); None where it declares neither."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d+)?)", str(stream.metadata.get("DURATION", "")))
    return None if tag is None else int(tag[1]) * 3600 + int(tag[2]) * 60 + float(tag[3])

def unfinished_mp4(path: Path) -> bool:
    """True for an MP4/MOV file (its first box ``ftyp``) with no ``moov`` box among its top-level boxes."""
    size, boxes, at = path.stat().st_size, [], 0
    with open(path, "rb") as f:
        while at + 8 <= size and len(boxes) < 64:
            f.seek(at)
            head = f.read(16)
            length, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if length == 1 and len(head) == 16:   # a 64-bit size follows
                length = int.from_bytes(head[8:16], "big")
            elif length == 0:                      # to the end of the file
                length = size - at
            boxes.append(kind)
            if length < 8:
                break
            at += length
    return bool(boxes) and boxes[0] == b"ftyp" and b"moov" not in boxes


def frame_stem(index: int) -> str:
    """The stem of a video file's frame ``index`` (from 0) in per-frame outputs: frame-000001 for the first."""
    return f"frame-{index + 1:06d}"


def _upright(rgb: np.ndarray, turns: int) -> np.ndarray:
    """A picture turned as its display matrix says it is shown (phone videos are stored sideways): ``turns``
    quarter turns counter-clockwise, as FFmpeg reads its rotation."""
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def _rgb(frame) -> np.ndarray:
    """A decoded picture (av.VideoFrame) as RGB uint8 by FFmpeg's scaler, its YUV read with the matrix and range it
    is in (``yuv_matrix``): a phone's HD clip (BT.709) read as BT.601, as OpenCV's 4:2:0 conversion did, came out
    with its greens up to 24 levels brighter. (The scaler also cost less: 100 frames of 854x480, 0.20 ms a frame
    against OpenCV's 0.73.) HDR pictures (HLG, PQ), and SDR ones in BT.2020's colours, are made SDR in BT.709's
    (``hdr.sdr_picture``)."""
    full = frame.color_range == FULL_RANGE or frame.format.name.startswith("yuvj")
    wide = converted(frame.color_trc, frame.color_primaries)
    picture = frame.reformat(format="rgb48le" if wide else "rgb24", src_colorspace=yuv_matrix(frame),
                             src_color_range="JPEG" if full else "MPEG").to_ndarray()
    return sdr_picture(picture, frame.color_trc, frame.color_primaries) if wide else picture


def yuv_matrix(frame) -> str:
    """The YUV matrix of a decoded picture, by FFmpeg's scaler's name for it: as its stream tags it, else as
    players take untagged video (BT.2020 for HDR; BT.709 from 1280 pixels wide or 577 lines high, BT.601 below: mpv's
    rule)."""
    tagged = YUV_MATRICES.get(frame.colorspace)
    if tagged is not None:
        return tagged
    if is_hdr(frame.color_trc):
        return "BT2020"
    return "ITU709" if frame.width >= 1280 or frame.height > 576 else "ITU601"


def check_alpha_container(path: Path, alpha: bool) -> None:
    """PersonsegError where pictures with transparency (``alpha``) are to go into a container that cannot hold it."""
    if alpha and path.suffix.lower() not in ALPHA_ENCODERS:
        raise PersonsegError(f"{path}: a cut-out needs transparency, which {path.suffix} video as written here (H.264) "
                             "cannot hold; write it as .webm (VP9 with alpha) or .mov (ProRes 4444), or into a folder "
                             "of per-frame PNGs")


class VideoWriter:
    """Encodes RGB frames (single-channel ones as grey; with ``alpha``, RGBA cut-outs with their transparency,
    ALPHA_ENCODERS) into ``path`` on a background thread; copies the source's sound, or re-encodes it
    (SOUND_ENCODERS) where the container cannot hold it."""

    def __init__(self, path: str | Path, source: Source, size: tuple[int, int], overwrite: bool = False,
                 alpha: bool = False) -> None:
        import av

        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in ENCODERS:
            raise PersonsegError(f"{self.path}: write video as {', '.join(VIDEO_SUFFIXES)}")
        check_alpha_container(self.path, alpha)
        if self.path.exists() and not overwrite:
            raise PersonsegError(f"output exists: {self.path} (use --overwrite to replace)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.path.with_name(f".{self.path.stem}.partial{suffix}")
        self.out = av.open(str(self.partial), "w")
        encoder, pix_fmt = ALPHA_ENCODERS[suffix] if alpha else (ENCODERS[suffix], "yuv420p")
        self.stream = self.out.add_stream(encoder, rate=source.fps)
        # 4:2:0 video made by OpenCV's conversion needs an even width and height: an odd last row or column is
        # dropped (FFmpeg converts cut-outs itself, to any size)
        self.size = tuple(size) if alpha else (size[0] - size[0] % 2, size[1] - size[1] % 2)
        if self.size != tuple(size):
            source.notes.append(f"{self.path.name}: {size[0]}x{size[1]} frames written as "
                                f"{self.size[0]}x{self.size[1]} (the video needs an even width and height; "
                                "per-frame PNGs into a folder keep every pixel)")
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = pix_fmt
        # OpenCV's RGB -> 4:2:0 and FFmpeg's RGBA -> YUVA are BT.601, limited range: said in the file (players take
        # untagged HD video for BT.709 and shift its colours)
        colours = self.stream.codec_context
        colours.color_range, colours.colorspace, colours.color_primaries, colours.color_trc = COLOUR_TAGS
        # x264 at its cheapest settings, for speed in step with the segmenting (854x480 parkour, blurred
        # background: 10 ms a frame, 12% larger than 'superfast' at 16 ms; 'zerolatency' threads by slices,
        # which took 8% more frames/s end to end than frame threads); VP9 holds no frames back (its default 25
        # made the same files at realtime speed: 20 4K cut-outs, 1.8 -> 1.2 GB and 2.8 -> 2.2 s); ProRes profile
        # 4 is 4444, with alpha
        self.stream.options = {"libx264": {"crf": "20", "preset": "ultrafast", "tune": "zerolatency"},
                               "libvpx-vp9": {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8",
                                              "lag-in-frames": "0"},
                               "prores_ks": {"profile": "4"}}[encoder]
        if encoder == "prores_ks":   # on several threads it wrote half-transparent grey pixels at the left edge of
            self.stream.codec_context.thread_count = 1   # some rows (FFmpeg 8.1, 854x480); one thread: none
        self.source_time_base = source.time_base
        if source.container is not None:   # the clip's date, place, title, ... as FFmpeg keeps them by default
            self.out.metadata.update({key: value for key, value in source.container.metadata.items()
                                      if key.lower() not in MUXER_METADATA})
        if source.time_base is not None:
            self.stream.codec_context.time_base = source.time_base
        self.audio = None
        self._transcode = None   # the input's decoder where its sound is re-encoded
        self._sound_start: int | None = None   # where the re-encoded sound starts (samples at the encoder's rate)
        self._samples = 0   # samples sent to the sound's encoder
        self._resampler, self._resampled_rate = None, None   # the input's sound to the encoder's rate, from one rate
        self._sound_end: float | None = None   # where the input's last sound frame ends (seconds)
        if source.audio is not None:
            codec, encoder = source.audio.codec_context.name, SOUND_ENCODERS[suffix]
            if codec in self.out.supported_codecs and codec not in SOUND_REFUSED.get(suffix, ()):
                self.audio = self.out.add_stream_from_template(source.audio)
                if codec in SOUND_FEW_PLAY.get(suffix, ()):
                    source.notes.append(f"{self.path.name}: the sound ({codec}) was copied as it is; some players "
                                        f"(QuickTime, older Safari) play {suffix} files with {codec} sound silent: "
                                        ".mkv or .webm suit it, or re-encode the sound as AAC")
            elif encoder in av.codecs_available:
                # mono stays mono (made stereo, each side was 3 dB quieter); more channels than two are mixed down
                # (the encoders take only some of their layouts)
                channels = source.audio.codec_context.layout.nb_channels
                self.audio = self.out.add_stream(encoder, rate=48000, layout="mono" if channels == 1 else "stereo")
                self._transcode = source.audio.codec_context
                mixed = f" mixed down from {channels} channels to two," if channels > 2 else ""
                source.notes.append(f"{self.path.name}: the sound ({codec}) was{mixed} re-encoded as "
                                    f"{SOUND_NAMES[encoder]}, which {suffix} takes")
            else:
                source.notes.append(f"{self.path.name}: the sound was left out: {suffix} cannot hold {codec} and "
                                    f"no {encoder} encoder is available")
            if self.audio is not None and source.audio.language:   # add_stream_from_template keeps no tags
                self.audio.metadata["language"] = source.audio.language
            more = len(source.container.streams.audio) - 1
            if more and self.audio is not None:
                source.notes.append(f"{self.path.name}: the first sound track is kept; {more} more (other "
                                    "languages, commentary) left out")
        self._durations: dict[int, int] = {}   # pts -> duration of the pictures sent to the encoder
        self.source, self._encoded = source, False
        self._last_pts: int | None = None
        self.repeated = 0   # pictures whose time repeated an earlier one's, moved one tick later
        self._worker = _Worker()

    def write(self, draw: Callable[[], np.ndarray], pts: int | None = None, index: int = 0,
              duration: int | None = None) -> None:
        """Queue the picture ``draw()`` returns; it is drawn on the encoding thread (compositing the next
        frame's picture overlaps segmenting the frame after it). ``pts`` and ``duration``: the input frame's, in
        its time base."""
        self._worker.submit(lambda: self._encode(draw(), pts, index, duration))

    def write_audio(self, packet) -> None:
        if self.audio is not None:
            self._worker.submit(lambda: self._mux_audio(packet))

    def _encode(self, picture: np.ndarray, pts: int | None, index: int, duration: int | None) -> None:
        import av

        w, h = self.size
        if not self._encoded and self.source.pixel_aspect:   # set before the encoder opens, once the source knows
            # the pictures' turn: anamorphic video shown as wide as it was (it played squeezed)
            self.stream.codec_context.sample_aspect_ratio = self.source.pixel_aspect
        self._encoded = True
        picture = np.ascontiguousarray(picture[:h, :w])
        if picture.ndim == 2:
            frame = av.VideoFrame.from_ndarray(picture, format="gray")
        elif picture.shape[2] == 4:   # a cut-out: FFmpeg's scaler converts it to the stream's format with its alpha,
            # the picture tagged as the stream is (ProRes takes its tags from the picture: untagged, an editor took
            # the HD cut-outs for BT.709, saturated colours up to 22 levels off); on one thread, as the scaler
            # inside the encoder ran (on several, half-transparent pixels at the left edge of some rows again)
            frame = av.VideoFrame.from_ndarray(picture, format="rgba").reformat(
                format=self.stream.pix_fmt, dst_colorspace="ITU601", dst_color_range="MPEG", threads=1)
            frame.color_primaries, frame.color_trc = COLOUR_TAGS[2:]
        else:   # OpenCV's 4:2:0 conversion is cheaper than the encoder's own
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(picture, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        if pts is not None and self.source_time_base is not None:
            # the input's clock from its start (a .ts minutes in came out as minutes of nothing before the clip),
            # each picture after the last (repeated times, which rounding makes, stopped the muxer)
            pts = pts - round(self.source.start / self.source_time_base)
            if self._last_pts is not None and pts <= self._last_pts:
                pts, self.repeated = self._last_pts + 1, self.repeated + 1
            self._last_pts = pts
            frame.pts, frame.time_base = pts, self.source_time_base
            if duration:
                self._durations[pts] = duration
        else:
            frame.pts, frame.time_base = index, 1 / self.stream.average_rate
        for packet in self.stream.encode(frame):
            self._mux_video(packet)

    def _mux_video(self, packet) -> None:
        """Mux a picture's packet, lasting as long as its input frame did: the encoders time each by the next
        one, and a variable-rate clip's last picture (a GIF's long last frame) came out cut short."""
        duration = self._durations.pop(packet.pts, None)
        if duration and packet.time_base == self.source_time_base:
            packet.duration = duration
        self.out.mux(packet)

    def _mux_audio(self, packet) -> None:
        if self._transcode is None:
            packet.stream = self.audio
            shift = round(self.source.start / packet.time_base)
            packet.pts = None if packet.pts is None else packet.pts - shift
            packet.dts = None if packet.dts is None else packet.dts - shift
            self.out.mux(packet)
            return
        import av

        context = self.audio.codec_context
        for frame in self._transcode.decode(packet):
            if self._sound_start is None:
                self._sound_start = round(((frame.time or 0.0) - self.source.start) * context.sample_rate)
            if frame.sample_rate != self._resampled_rate:   # the first frame, or the input's sound changed its rate
                self._encode_sound(self._resampler.resample(None) if self._resampler is not None else [])
                self._resampler = av.AudioResampler(context.format, context.layout, context.sample_rate)
                self._resampled_rate = frame.sample_rate
            if frame.time is not None:   # a gap in the input's sound is filled with silence (timed by the samples
                # sent, what came after it played early by its length)
                gap = round((frame.time - self._sound_end) * frame.sample_rate) if self._sound_end is not None else 0
                if gap > SOUND_GAP * frame.sample_rate:
                    silence = av.AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=gap)
                    for plane in silence.planes:
                        plane.update(bytes(plane.buffer_size))
                    silence.sample_rate = frame.sample_rate
                    self._encode_sound(self._resampler.resample(silence))
                self._sound_end = frame.time + frame.samples / frame.sample_rate
            frame.pts = None
            self._encode_sound(self._resampler.resample(frame))

    def _encode_sound(self, frames: list) -> None:
        """Encode sound frames (the encoder's format, layout and rate) timed from where the input's sound starts, then
        without gaps by the samples sent: the encoder timed it from 0 (sound half a second into a clip, or a clip
        timed from 2 s, came out that much early), and sound changing its rate midway stopped the run (its own
        resampler takes one rate)."""
        rate = self.audio.codec_context.sample_rate
        for frame in frames:
            frame.pts, frame.time_base = self._sound_start + self._samples, Fraction(1, rate)
            self._samples += frame.samples
            for out in self.audio.encode(frame):
                self.out.mux(out)

    def close(self, complete: bool = True) -> None:
        """Flush and give the file its name (``complete``), or delete the partial file; on any failure here
        (an encoder error, a full disk, Ctrl-C) the partial file is deleted too."""
        try:
            try:
                self._worker.join()
                if complete:
                    for packet in self.stream.encode(None):
                        self._mux_video(packet)
                    if self._transcode is not None:
                        if self._resampler is not None:
                            self._encode_sound(self._resampler.resample(None))
                        for packet in self.audio.encode(None):
                            self.out.mux(packet)
            finally:
                self.out.close()
        except BaseException:
            self.partial.unlink(missing_ok=True)
            raise
        if complete:
            self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)


def write_clip(path: str | Path, frames, fps: int = 25, tone_hz: float | None = None, layout: str = "mono") -> Path:
    """Encode RGB ``frames`` (an iterable of same-size arrays) as a video in ``path``'s container (ENCODERS: H.264,
    or VP9 in .webm), with a sine tone as sound (SOUND_ENCODERS: AAC, or Opus in .webm and .mkv; in every channel
    of ``layout``) when ``tone_hz`` is given: test clips for the video path."""
    import av

    path = Path(path)
    suffix = path.suffix.lower()
    sound = SOUND_ENCODERS[suffix]
    rate, chunk = (48000, 960) if sound == "libopus" else (44100, 1024)   # Opus takes 20 ms frames at 48 kHz
    with av.open(str(path), "w") as out:
        video = out.add_stream(ENCODERS[suffix], rate=fps)
        video.pix_fmt = "yuv420p"
        audio = out.add_stream(sound, rate=rate, layout=layout) if tone_hz else None
        channels = audio.codec_context.layout.nb_channels if audio is not None else 0
        sample = 0
        for i, rgb in enumerate(frames):
            if i == 0:
                video.width, video.height = rgb.shape[1] - rgb.shape[1] % 2, rgb.shape[0] - rgb.shape[0] % 2
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:video.height, :video.width]), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
            while audio is not None and sample < (i + 1) * rate / fps:
                t = (sample + np.arange(chunk)) / rate
                wave = (0.2 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
                tone = av.AudioFrame.from_ndarray(np.repeat(wave[None], channels, axis=0), format="fltp",
                                                  layout=layout)
                tone.sample_rate, tone.pts = rate, sample
                sample += chunk
                out.mux(audio.encode(tone))
        out.mux(video.encode(None))
        if audio is not None:
            out.mux(audio.encode(None))
    return path
