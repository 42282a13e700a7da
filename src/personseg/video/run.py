"""`personseg video`: a video file or a folder of frames in; a composited video, or per-frame PNGs, out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterable
from contextlib import ExitStack, nullcontext, suppress
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..batch import cannot_write, sole_writer, sole_writer_of, within
from ..errors import PersonsegError
from ..image import image_files, write_bytes
from ..methods import DEFAULT_VIDEO_METHOD
from ..outputs import (DEFAULT_BLUR, OUTPUTS, VIDEO_OUTPUTS, background_image, drawn, output_paths, parse_outputs,
                       refuse_existing, save_outputs)
from ..pose.keypoints import rounded_keypoints
from ..progress import Progress
from ..refine.matting import MATTING_SIDE, preload_pymatting
from ..runsettings import changes, completed, shared_settings
from .io import (VIDEO_SUFFIXES, Frame, Source, Unreadable, VideoWriter, check_alpha_container,
                 frame_stem, prefetched)
from .stream import METHOD_MATTING, VideoSegmenter


#: The highest frame rate accepted for a folder of frames.
MAX_FPS = 1000.0
#: In a folder of per-frame outputs, the settings that made them: a rerun completes them only with the same.
SETTINGS = ".personseg-video.json"
#: The bytes read at each end of an input file for its fingerprint (``input_contents``).
CONTENTS_SPAN = 1 << 20


def video_file(out: str | Path) -> bool:
    """True where ``out`` names a video file (VIDEO_SUFFIXES), not a folder (a name ending in a separator, as
    ``frames.mp4/``, is a folder)."""
    return Path(out).suffix.lower() in VIDEO_SUFFIXES and not str(out).endswith(("/", os.sep))


def check_paths(src: Path, out: Path, keypoints: Path | None) -> None:
    """Refuse outputs that would replace or mix with the input (PersonsegError)."""
    for name, path in (("--out", out), ("--keypoints", keypoints)):
        if path is not None and within(path, src):
            raise PersonsegError(f"{name} {path} would write over or into the input {src}; choose another path")
    if keypoints is not None and within(keypoints, out):
        raise PersonsegError(f"--keypoints {keypoints} would be written over or into --out {out}")
    if keypoints is not None and keypoints.is_dir():   # found out only after the whole clip, where it was written
        raise PersonsegError(f"--keypoints {keypoints}: is a folder; name a file (JSON lines) that is not one")


class FrameFolder:
    """A folder of per-frame outputs and, in SETTINGS, the settings that made them: a rerun completes the frames an
    interrupted run left only with the same settings, and one with other settings is refused unless it
    ``overwrite``s them all. Made before any work (PersonsegError here); the folder is taken (one run at a time:
    ``batch.sole_writer``) before its record is read, or by ``start`` where it is new; ``start`` records the
    settings when the work begins, ``end`` records once every frame is written and lets the folder go. ``notes``:
    what a user should know (outputs of an earlier run with other settings that this one does not replace).
    ``keypoints``: the keypoint file this run writes (recorded: ``rewrites`` tells whether an existing one is an
    earlier run's of these same settings); ``implied``: for settings another one decided (not given), what the
    refusal says after their value."""

    def __init__(self, out: Path, settings: dict[str, object], outputs: tuple[str, ...], overwrite: bool,
                 keypoints: Path | None = None, implied: dict[str, str] | None = None) -> None:
        self.path, self.settings, self.overwrite = out / SETTINGS, settings, overwrite
        self._lock = ExitStack()   # held from here (or ``start``) to ``end``: one run at a time writes the folder
        self.outputs, self.notes = sorted(outputs), []
        self.stale: list[str] = []   # with overwrite, the outputs an earlier run with other settings made
        self._drawn: list[str] = []   # the outputs the record says the folder holds
        self._stems: set[str] = set()   # the frames whose files of those the record says the folder holds
        self.keypoints, self._earlier_keypoints = _resolved(keypoints), None
        self._carried: str | None = None   # an earlier run's keypoint file that these settings' frames still match
        self._finished: dict | None = None   # what the earlier run that wrote every frame with these settings saw
        if out.exists() and not out.is_dir():
            raise PersonsegError(f"--out {out}: not a folder; give a folder for per-frame PNGs")
        self._held = out.is_dir()
        self._made = not self._held   # this run makes the folder (``abandon`` removes it)
        if self._held:   # held from before the folder's record is read: a run writing it now is refused, not misread
            self._lock.enter_context(sole_writer(out))
        try:
            self._read(out, settings, outputs, overwrite, implied)
        except BaseException:
            self._lock.close()
            raise

    def _read(self, out: Path, settings: dict[str, object], outputs: tuple[str, ...], overwrite: bool,
              implied: dict[str, str] | None) -> None:
        """Check this run against the settings an earlier run recorded in the folder (``__init__``'s refusals)."""
        if not self.path.is_file():
            return
        try:
            before = json.loads(self.path.read_text())
            replacing, earlier = bool(before["replacing"]), dict(before["settings"])
            drawn = [str(o) for o in before.get("outputs", [])]
            keypoints = before.get("keypoints")
            stems = before.get("stems")   # (not in records of versions before it)
            self._stems = {str(s) for s in stems} if isinstance(stems, list) else set()
        except (OSError, ValueError, KeyError, TypeError):
            if overwrite:
                return
            raise PersonsegError(f"{self.path}: not the settings personseg video writes; remove it, or give "
                                 "--overwrite or another folder") from None
        if not any(_files_of(out, o) for o in OUTPUTS):   # no frame's file of any run: nothing to keep or mix
            return
        self._earlier_keypoints = keypoints
        self._drawn = drawn
        changed = changes(settings, earlier, implied)
        self.outputs = sorted(set(outputs) | set(drawn))
        if overwrite:
            self.stale = sorted(set(drawn) - set(outputs)) if changed or replacing else []
            if changed or replacing:   # the record lists what these settings made, not those files
                self.outputs = sorted(outputs)
            return
        if replacing:
            raise PersonsegError(f"{out}: an --overwrite run into it was interrupted, so it holds frames of two "
                                 "runs; rerun with --overwrite")
        if changed:
            raise PersonsegError(f"{out} holds frames made with other settings ({'; '.join(changed)}): rerun with "
                                 "the earlier settings to complete it, --overwrite to replace them, or give another "
                                 "folder")
        foreign = [o for o in sorted(set(outputs) - set(drawn)) if _files_of(out, o)]
        if foreign:   # left by a run with other settings that an --overwrite run did not replace
            raise PersonsegError(f"{out} holds {', '.join(foreign)} files that these settings' runs did not make: "
                                 "--overwrite to replace them, or give another folder")
        self.settings = completed(settings, earlier)
        self._finished = before.get("finished") if isinstance(before.get("finished"), dict) else None
        self._carried = keypoints   # a run adding outputs, its keypoints not asked for, keeps the file recorded

    def finished(self, src: Path, outputs: tuple[str, ...], keypoints: Path | None) -> dict | None:
        """run_video's summary of the earlier run, where it wrote every frame of ``src`` with these settings, each
        frame's files of ``outputs`` are there and ``keypoints`` (if asked for) is its file: nothing is left to
        do; else None."""
        done = self._finished
        if done is None or (keypoints is not None and not (self.rewrites(keypoints) and keypoints.is_file())):
            return None
        skipped = set(done.get("skipped_stems", []))
        stems = ([f.stem for f in image_files(src) if f.stem not in skipped] if src.is_dir()
                 else [frame_stem(i) for i in range(done["frames"])])
        folder = self.path.parent
        if len(stems) != done["frames"] or not all(p.is_file() for stem in stems
                                                   for p in output_paths(folder, stem, outputs)):
            return None
        note = f"{folder}: every frame was written by an earlier run with these settings; nothing was redone"
        summary = {k: v for k, v in done.items() if k != "skipped_stems"}
        return summary | {"seconds": 0.0, "fps": 0.0, "kept": done["frames"], "notes": done["notes"] + [note]}

    def rewrites(self, keypoints: Path) -> bool:
        """True when ``keypoints`` is the file the earlier run into this folder, with these same settings, wrote
        (a rerun segments every frame again, kept ones too, so it writes the whole file anew)."""
        return self._earlier_keypoints is not None and self._earlier_keypoints == _resolved(keypoints)

    def start(self) -> None:
        """Take the folder (PersonsegError where another run writes it: nothing is written then) and record the
        settings."""
        if not self._held:   # the folder is new
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise cannot_write(self.path.parent, self.path.parent, e) from None
            self._lock.enter_context(sole_writer(self.path.parent))
            self._held = True
        self._write(replacing=self.overwrite)

    def end(self, complete: bool, finished: dict | None = None, stems: Iterable[str] = ()) -> None:
        """Record that every frame is written (``complete``; ``finished``: the summary a rerun with nothing left to
        do reports, see ``finished``; ``stems``: the frames written, with overwrite the only ones then) and let the
        folder go."""
        with self._lock:
            if complete:
                self._stems = set(stems) if self.overwrite else self._stems | set(stems)
                self._write(replacing=False, finished=finished)

    def remove_replaced(self, stems: set[str]) -> list[str]:
        """With overwrite, once every frame ``stems`` of the input is written: the files of the earlier runs that
        this one did not replace removed, those the record names alone (its frames' files of the outputs it lists:
        of frames this input does not have, or of outputs made with other settings), a user's own files in the
        folder never; a note of how many."""
        folder = self.path.parent
        gone = [p for stem in sorted(self._stems) for kind, p in zip(self._drawn, output_paths(
            folder, stem, tuple(self._drawn))) if (stem not in stems or kind in self.stale) and p.is_file()]
        for path in gone:
            path.unlink(missing_ok=True)
        return [f"{folder}: {len(gone)} file{'s' * (len(gone) > 1)} of an earlier run that this one did not "
                "replace removed"] * bool(gone)

    def leftovers(self, stems: set[str], outputs: tuple[str, ...]) -> list[str]:
        """Notes of the files of earlier runs an overwrite left (not removed: a truncated input, or a record of an
        older version, which names no frames): of outputs made with other settings, and of frames ``stems`` does
        not have."""
        folder = self.path.parent
        left = [kind for kind in self.stale if _files_of(folder, kind)]
        stale = [f"the {', '.join(left)} files in {folder} are an earlier run's, made with other settings: this run "
                 "does not write them"] * bool(left)
        return stale + _strays(folder, stems, outputs)

    def abandon(self) -> None:
        """Let the folder go after a run that wrote no frame (none could be read, or stopped before the first): a
        folder this run made goes, its record with it."""
        with self._lock:
            if self._made:
                self.path.unlink(missing_ok=True)
        if self._made:
            with suppress(OSError):   # only where empty, once the lock's file has gone with the lock
                self.path.parent.rmdir()

    def _write(self, replacing: bool, finished: dict | None = None) -> None:
        data = {"settings": self.settings, "outputs": self.outputs, "replacing": replacing,
                "keypoints": self.keypoints or self._carried, "finished": finished, "stems": sorted(self._stems)}
        write_bytes(self.path, json.dumps(data, indent=1).encode(), overwrite=True)


def _files_of(folder: Path, output: str) -> list[Path]:
    """The per-frame files of ``output`` in ``folder`` (outputs.output_paths' names, any stem)."""
    pattern = output_paths(folder, "*", (output,))[0].name
    return [p for p in folder.glob(pattern) if not p.name.startswith(".")]


def _strays(folder: Path, stems: set[str], outputs: tuple[str, ...]) -> list[str]:
    """A note naming the files of ``outputs`` in ``folder`` that are not those of the frames ``stems`` (an
    --overwrite run of a shorter clip replaced the earlier run's frames it has, not the rest)."""
    ours = {p.name for stem in stems for p in output_paths(folder, stem, outputs)}
    strays = sorted({p.name for o in outputs for p in _files_of(folder, o) if p.name not in ours})
    if not strays:
        return []
    more = f" and {len(strays) - 1} more" if len(strays) > 1 else ""
    return [f"{folder}: {strays[0]}{more} are an earlier run's, of frames this input does not have: this run "
            "replaced the others; remove those if they should not be there"]


def input_contents(src: Path) -> str:
    """A fingerprint of what ``src`` holds (a rerun into a folder of its frames is refused where it changed: the
    same name given to another clip): a file's size and the digest of its first and last MiB; a folder's frame
    names, sizes and times of change."""
    if not src.is_file() and not src.is_dir():   # Source's refusal, before a pipe is read from
        raise PersonsegError(f"{src}: no such file or folder")
    digest = hashlib.sha256()
    if src.is_dir():
        for f in image_files(src):
            info = f.stat()
            digest.update(f"{f.name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]
    size = src.stat().st_size
    with open(src, "rb") as f:
        digest.update(f.read(CONTENTS_SPAN))
        f.seek(max(0, size - CONTENTS_SPAN))
        digest.update(f.read(CONTENTS_SPAN))
    return f"{size} bytes, {digest.hexdigest()[:16]}"


def _refuse_twin_frames(src: Path) -> None:
    """PersonsegError where two frames of the folder ``src`` have one name in two types (00001.jpg, 00001.png): a
    sequence exported twice would be shown twice over, each frame beside its twin, and their per-frame files would
    be the same."""
    seen: dict[str, Path] = {}
    for frame in image_files(src):
        if frame.stem in seen:
            raise PersonsegError(f"{src}: the frames {seen[frame.stem].name} and {frame.name} have one name in two "
                                 "types: both would be frames of the clip, one after the other (and write the same "
                                 "per-frame files); move one set out, or rename")
        seen[frame.stem] = frame


def _handed(item: object) -> np.ndarray | None:
    """A frame's picture for ``VideoSegmenter.stream``, which keeps a copy of its own: taken from the Frame, so
    that frames in flight between the threads are not held twice (a 4K clip: 25 MB a frame)."""
    if not isinstance(item, Frame):
        return None
    rgb, item.rgb = item.rgb, None
    return rgb


def _background(spec: str, shape: tuple[int, int], aspect: Fraction | None) -> np.ndarray:
    """``outputs.background_image`` for pictures of ``shape`` whose pixels are ``aspect`` wide (anamorphic video):
    an image made to cover the picture as it is shown, then squeezed into its pixels (it played stretched)."""
    h, w = shape
    if not aspect:
        return background_image(spec, shape)
    shown = (h, round(w * aspect)) if aspect > 1 else (round(h / aspect), w)
    bg = background_image(spec, shown)
    if bg.strides[0] == 0:   # a colour: the same at any size
        return np.broadcast_to(bg[0, 0], (h, w, 3))
    return cv2.resize(bg, (w, h), interpolation=cv2.INTER_AREA)


def _aspect_note(source: Source, out: Path, to_file: bool) -> list[str]:
    """Where the input's pixels are not square (anamorphic video) and the output cannot say so: per-frame PNGs,
    and WebM (VP9 stores no aspect, and the container's field is not written here); MP4, MOV and MKV say it."""
    aspect = source.pixel_aspect
    if not aspect or (to_file and out.suffix.lower() != ".webm"):
        return []
    w, h = source.size
    shown = f"{round(w * aspect)}x{h}" if aspect > 1 else f"{w}x{round(h / aspect)}"
    where = out.name if to_file else "the per-frame PNGs"
    return [f"{where}: the input's pixels are not square ({aspect.numerator}:{aspect.denominator}), shown as {shown}; "
            f"{w}x{h} pixels are written as they were" + (" (a .webm cannot say how to show them; .mp4, .mov and "
                                                          ".mkv do)" if to_file else "")]


def _resolved(path: Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


def frame_settings(src: Path, seg: VideoSegmenter, outputs: tuple[str, ...], background: str | None, blur: float,
                   mediapipe_masks: bool) -> dict[str, object]:
    """What decides the per-frame files of ``src`` segmented by ``seg`` (FrameFolder)."""
    return shared_settings(seg, mediapipe_masks, outputs, background, blur) | {
        "input": str(src.resolve()), "input_contents": input_contents(src),
        "pose_every": seg.pose_every if seg.pose is not None else 0,
        "smooth": seg.smoother is not None}


def run_video(src: str | Path, out: str | Path, method: str = DEFAULT_VIDEO_METHOD, save: str | None = None,
              background: str | None = None, blur: float | None = None, fps: float = 25.0,
              pose_every: int | None = None, keypoints: str | Path | None = None, smooth: bool = True,
              matting: str | None = METHOD_MATTING,
              matting_side: int | None = MATTING_SIDE, models: dict[str, Path] | None = None, overwrite: bool = False,
              progress: bool = True, mediapipe_masks: bool = True, subject: str = "all",
              person_check: bool = True) -> dict:
    """Segment every frame of ``src`` and write ``out``; returns {'frames', 'seconds', 'fps', 'skipped',
    'truncated', 'notes', 'nobody', 'kept'}: frames of a folder that could not be read are skipped (listed in
    'skipped'), 'truncated' says a video file decoded short of the frames it declares, 'notes' say what a user
    should know (truncation, re-encoded sound), 'nobody' counts the frames whose mask is empty. Frames already
    written to a folder are kept ('kept' counts them), so a rerun completes an interrupted one; one with other
    settings is refused unless ``overwrite`` (FrameFolder). ``models``: networks of your own by model name
    (pipeline.model_choice); ``mediapipe_masks``, ``subject``, ``person_check``: as VideoSegmenter's."""
    to_file, folder_named = video_file(out), str(out).endswith(("/", os.sep))
    src, out = Path(src), Path(out)
    if out.suffix and not to_file and not out.is_dir() and not folder_named:
        raise PersonsegError(f"{out}: write video as {', '.join(VIDEO_SUFFIXES)}, or give a folder for per-frame PNGs")
    if not 0.01 <= fps <= MAX_FPS:
        raise PersonsegError(f"--fps {fps:g}: give a frame rate from 0.01 to {MAX_FPS:g}")
    outputs = parse_outputs(save if save is not None else ("blur" if to_file else "mask"), background, blur, to_file)
    blur = DEFAULT_BLUR if blur is None else blur
    if to_file and (len(outputs) != 1 or outputs[0] not in VIDEO_OUTPUTS):
        raise PersonsegError(f"a video file shows one of {', '.join(VIDEO_OUTPUTS)} (cutout into .webm or .mov); "
                             "for json or several outputs, give --out a folder to get per-frame PNGs")
    alpha = to_file and outputs[0] == "cutout"   # the one picture with transparency
    check_alpha_container(Path(out), alpha)
    kp_path = None if keypoints is None else Path(keypoints)
    if pose_every == 0 and (kp_path is not None or "json" in outputs):   # each frame's people would be empty
        raise PersonsegError("keypoints (--keypoints, the json output) with --pose-every 0, which detects none: "
                             "give N of 1 or more, or leave --pose-every out")
    check_paths(src, out, kp_path)
    if src.is_dir():
        _refuse_twin_frames(src)
    if to_file and out.is_dir():
        raise PersonsegError(f"--out {out}: is a folder; name a video file that is not one, or end the name with / "
                             "to write per-frame PNGs into it")
    # a second run writing this video file is refused, not raced: held from before the file is looked for
    with sole_writer_of(out) if to_file else nullcontext():
        # a folder's keypoint file is judged with its frames (below): a rerun that completes them writes it anew
        refuse_existing([kp_path, out] if to_file else [], overwrite)
        seg = VideoSegmenter(method, pose_every=pose_every, smooth=smooth, matting=matting, matting_side=matting_side,
                             models=models, mediapipe_masks=mediapipe_masks, subject=subject,
                             person_check=person_check)
        # settings the method decided, not the user: a refusal says so
        implied = {}
        if pose_every is None:
            implied["pose_every"] = f" (--method {method}'s)"
        if matting == METHOD_MATTING:
            implied["matting"] = f" (--method {method}'s)"
        folder = None if to_file else FrameFolder(out, frame_settings(src, seg, outputs, background, blur,
                                                                      mediapipe_masks), outputs, overwrite, kp_path,
                                                  implied)
        try:
            earlier = folder.finished(src, outputs, kp_path) if folder is not None and not overwrite else None
        except BaseException:
            folder.end(False)
            raise
        if earlier is not None:   # an earlier run with these settings wrote every frame
            folder.end(False)
            return earlier
        source = None
        try:
            if folder is not None and kp_path is not None and not folder.rewrites(kp_path):
                refuse_existing([kp_path], overwrite)
            source = Source(src, fps=fps)
            if folder is not None:
                folder.start()
        except BaseException:   # the source and the folder let go at once
            if source is not None:
                source.close()
            if folder is not None:
                folder.end(False)
            raise
        writer: VideoWriter | None = None
        kp_file = None
        if kp_path is not None:
            kp_partial = kp_path.with_name(f".{kp_path.name}.partial")
            kp_path.parent.mkdir(parents=True, exist_ok=True)
            kp_file = open(kp_partial, "w")
        bar = Progress(source.count, "frames") if progress else None
        frames, nobody, kept, start, done, skipped = 0, 0, 0, time.perf_counter(), False, []
        stems: set[str] = set()   # the frames written into a folder
        replaced: list[str] = []   # with overwrite, the note of the earlier runs' files removed
        skipped_stems: list[str] = []
        if "cutout" in outputs:
            preload_pymatting()   # the colours' estimate, imported while the first frames are segmented
        decoded = prefetched(source)
        results = seg.stream(decoded, _handed)
        try:
            bg, early_audio = None, []
            for item, result in results:
                if isinstance(item, Unreadable):
                    skipped.append(f"{item.path}: {item.reason}")
                    skipped_stems.append(item.path.stem)
                    continue
                if result is None:
                    if writer is not None:
                        writer.write_audio(item)
                    elif to_file:
                        early_audio.append(item)   # sound before the first picture: held until the file is open
                    continue
                if "cutout" in outputs:   # composited elsewhere: estimated colours at its soft edges, as on photos
                    result = dataclasses.replace(result, estimate_foreground=True)
                if bg is None and "replace" in outputs:
                    bg = _background(background, result.rgb.shape[:2], source.pixel_aspect)
                if to_file:
                    if writer is None:
                        writer = VideoWriter(out, source, (result.rgb.shape[1], result.rgb.shape[0]), overwrite,
                                             alpha)
                        for packet in early_audio:
                            writer.write_audio(packet)
                    writer.write(lambda r=result, b=bg: drawn(r, outputs[0], b, blur), item.pts, item.index,
                                 item.duration)
                else:
                    kept += not save_outputs(result, out, item.stem, outputs, background, blur, overwrite,
                                             source=f"{src}#{item.index}", background_array=bg, keep_existing=True)
                    stems.add(item.stem)
                if kp_file is not None:
                    people = [{"id": i, "keypoints": rounded_keypoints(kp)} for i, kp in zip(result.ids, result.people)]
                    # a video file's frames with their time (variable frame rates: the index alone does not place them)
                    shown = ({"time": round(float(item.pts * source.time_base), 6)}
                             if item.pts is not None and source.time_base else {})
                    kp_file.write(json.dumps({"frame": item.index, "stem": item.stem, **shown, "people": people})
                                  + "\n")
                frames += 1
                nobody += not result.mask.any()
                if bar is not None:
                    bar.update()
            if folder is not None and overwrite and frames and not (source.truncated or skipped):
                replaced = folder.remove_replaced(stems)   # while the folder is still this run's
            done = True
        finally:
            # each step runs even if one before it fails, in this order: the pose thread, then the decoding one,
            # end; the writer's encoding thread ends; only then is the source they read closed
            with ExitStack() as stack:
                stack.callback(source.close)
                if folder is not None:
                    stack.callback(lambda: folder.end(done, {   # as they are by then
                        "frames": frames, "nobody": nobody, "skipped": skipped, "skipped_stems": skipped_stems,
                        "truncated": source.truncated, "notes": source.notes}, stems) if frames else folder.abandon())
                if kp_file is not None:
                    stack.callback(_close_keypoints, kp_file, kp_partial, kp_path, done and frames > 0)
                if writer is not None:
                    stack.callback(writer.close, complete=done)
                if bar is not None:
                    stack.callback(bar.close)
                stack.callback(decoded.close)
                stack.callback(results.close)
        if frames == 0:
            why = skipped[0] if skipped else source.damage and f"every packet damaged: {source.damage}"
            raise PersonsegError(f"{src}: no frames could be read" + (f" ({why})" if why else ""))
        seconds = time.perf_counter() - start
        notes = source.notes + (folder.notes if folder else []) + _aspect_note(source, out, to_file)
        if writer is not None and writer.repeated:
            notes.append(f"{out.name}: {writer.repeated} picture{'s' * (writer.repeated > 1)} timed as the one before "
                         "(the input's clock repeats itself) moved one tick of its clock later")
        if folder is not None and overwrite:
            notes += replaced + folder.leftovers(stems, outputs)
        return {"frames": frames, "seconds": seconds, "fps": frames / seconds, "skipped": skipped,
                "truncated": source.truncated, "notes": notes, "nobody": nobody, "kept": kept}


def _close_keypoints(file, partial: Path, final: Path, complete: bool) -> None:
    file.close()
    if complete:
        partial.replace(final)
    else:
        partial.unlink(missing_ok=True)
