"""onnxruntime sessions for shipped models, with each model's pre- and post-processing."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import cv2
import numpy as np

from .errors import PersonsegError
from .framing import (TILE_ABOVE, ZOOM_BELOW, Box, area, blended, crop, crops, frame_box, from_crop, mask_box,
                      on_pixels, paste, tiles, whole_frame)
from .models.registry import ModelSpec, spec
from .priors import people_map

#: The key under which `personseg export` records in the ONNX file which model it is (its metadata).
MODEL_KEY = "personseg.model"

_SESSIONS: dict[tuple[str, int | None, Path], object] = {}   # by (model, intra-op threads, file)
_LOCK = threading.Lock()
_THREADS: ContextVar[int | None] = ContextVar("personseg_onnx_threads", default=None)
_FILES: ContextVar[dict[str, Path]] = ContextVar("personseg_model_files", default={})


@contextmanager
def threads(count: int | None) -> Iterator[None]:
    """Within the block, in this thread, networks run on ``count`` onnxruntime threads (None: each model's
    own setting, ModelSpec.threads). For callers that keep the other cores busy with work of their own beside
    the network: there, one thread does the same work in less CPU time than several that wait on each other."""
    token = _THREADS.set(count)
    try:
        yield
    finally:
        _THREADS.reset(token)


@contextmanager
def model_files(files: Mapping[str, str | Path]) -> Iterator[None]:
    """Within the block, in this thread, the models named in ``files`` run from those files (ONNX files that
    `personseg export` wrote from your training runs) instead of their shipped ones; each file is checked to
    take the model's input."""
    checked = {}
    for name, path in files.items():
        model, path = spec(name), Path(path)
        _check_input(model, path, session_for(model, path, None))
        checked[model.name] = path
    token = _FILES.set(_FILES.get() | checked)
    try:
        yield
    finally:
        _FILES.reset(token)


def session(model: ModelSpec):
    """A cached onnxruntime session for ``model``'s file (the shipped one it runs, or the one given to
    ``model_files``), with the thread count set by ``threads``, else the model's own."""
    return session_for(model, _FILES.get().get(model.name, model.runtime_path), _THREADS.get() or model.threads)


def session_for(model: ModelSpec, path: Path, count: int | None):
    """The cached onnxruntime session of ``model`` run from ``path`` on ``count`` threads."""
    key = (model.name, count, Path(path))
    with _LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = _open(key[2], count, shipped=key[2] == model.runtime_path)
        return _SESSIONS[key]


def _check_input(model: ModelSpec, path: Path, sess) -> None:
    made = sess.get_modelmeta().custom_metadata_map.get(MODEL_KEY)   # exported files name their model
    if made is not None and made != model.name:
        raise PersonsegError(f"{path} is a {made} network (personseg export); it cannot run as {model.name}")
    shape = sess.get_inputs()[0].shape
    want = [model.channels, model.size[1], model.size[0]]
    if len(shape) != 4 or list(shape[1:]) != want:
        raise PersonsegError(f"{path} takes input {shape}; model {model.name!r} takes "
                             f"(N, {', '.join(map(str, want))})")


def _open(path: Path, count: int | None, shipped: bool = True):
    if not path.is_file():
        raise PersonsegError(f"model file {path} is missing" + ("; reinstall personseg" if shipped else ""))
    if path.suffix.lower() == ".pt":
        raise PersonsegError(f"{path} is a training checkpoint; export it first: personseg export --checkpoint "
                             f"{path} --out {path.with_suffix('.onnx')}")
    import onnxruntime as ort

    # warnings only for errors: its others are not the user's to act on (e.g. that it cannot store a telemetry
    # id where the home folder is read-only)
    ort.set_default_logger_severity(3)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if count is not None:
        opts.intra_op_num_threads = count
    # worker threads spin while a call runs and stop when it ends: spinning within a call made SINet 2.5 ->
    # 1.9 ms and LWPSN 7.1 -> 5.8 ms on two threads (docs/speed.md); spinning on between calls took the CPU of
    # the threads beside the network (BlazePose on photos: accurate 76 -> 87 ms a photo; decoding, pose and
    # encoding in video: 19.2 -> 15.5 frames/s)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
    opts.add_session_config_entry("session.force_spinning_stop", "1")
    # one image a call: with the batch size fixed, onnxruntime folds the graph's shape arithmetic away
    # (SINet: 8.73 -> 8.41 ms a call, outputs within 2e-6)
    opts.add_free_dimension_override_by_name("batch", 1)
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:   # noqa: BLE001 - onnxruntime raises its own classes for files it cannot load
        raise PersonsegError(f"{path}: not an ONNX model onnxruntime can run ({type(e).__name__})") from None


def prior_planes(model: ModelSpec, people: list[np.ndarray], box: Box) -> list[np.ndarray]:
    """The model's prior maps for the ``box`` region at its input size, as float32 0..255 planes; the
    keypoints are carried into the crop's pixels, so the maps are drawn there directly."""
    if not model.priors:
        return []
    sx, sy = model.size[0] / (box[2] - box[0]), model.size[1] / (box[3] - box[1])
    moved = [np.hstack([(kp[:, :2] - box[:2]) * (sx, sy), kp[:, 2:]]).astype(np.float32) for kp in people]
    return [people_map(name, moved, (model.size[1], model.size[0])) * 255.0 for name in model.priors]


def guide_planes(model: ModelSpec, guides: np.ndarray | None, box: Box, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The model's guide maps (seed 003's boundary and leftover masks of a coarse mask, hxwxG float32 in [0, 1]
    over the whole image of ``shape``, at its size or smaller, in ``model.guides`` order) cut to the ``box``
    region at its input size, as float32 0..255 planes."""
    if not model.guides:
        return []
    if guides is None:
        raise ValueError(f"model {model.name!r} refines a coarse matte; pass its guide maps")
    fx, fy = guides.shape[1] / shape[1], guides.shape[0] / shape[0]   # the box in the maps' pixels
    box = (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)
    cut = crop(np.ascontiguousarray(guides, np.float32), box, model.size).reshape(model.size[1], model.size[0], -1)
    return [cut[..., i] * 255.0 for i in range(len(model.guides))]


def preprocess(rgb: np.ndarray, model: ModelSpec, box: Box, people: list[np.ndarray] = (),
               guides: np.ndarray | None = None, cut: np.ndarray | None = None) -> np.ndarray:
    """The ``box`` region of an RGB uint8 HxWx3 image (plus the model's prior maps from ``people``'s
    keypoints and its ``guides`` maps) -> (1, C, h, w) float32 normalised at the model's input size. ``cut``:
    that region already cropped to the input size (``framing.crops``)."""
    cut = crop(rgb, box, model.size) if cut is None else cut
    planes = np.stack(cv2.split(cut)).astype(np.float32)
    extra = prior_planes(model, list(people), box) + guide_planes(model, guides, box, rgb.shape)
    if extra:
        planes = np.concatenate([planes, np.stack(extra)])
    return normalised(planes, model)


def normalised(planes: np.ndarray, model: ModelSpec) -> np.ndarray:
    """(C, h, w) float32 planes on 0..255, normalised in place as ``model`` is fed, as a batch of one."""
    planes -= np.array(model.mean, np.float32)[:, None, None]
    planes *= (1.0 / np.array(model.std, np.float32))[:, None, None]
    return planes[None]


def network_map(rgb: np.ndarray, name: str, box: Box, people: list[np.ndarray] = (),
                guides: np.ndarray | None = None, cut: np.ndarray | None = None) -> np.ndarray:
    """float32 person probability of the ``box`` region, at model ``name``'s input size (``cut``: as
    ``preprocess``'s)."""
    model = spec(name)
    logits = session(model).run(None, {"image": preprocess(rgb, model, box, people, guides, cut)})[0][0]
    lower = logits[0] - logits[1]
    if lower.shape != (model.size[1], model.size[0]):   # logits at a fraction of the input size (SINet: half)
        lower = cv2.resize(lower, model.size, interpolation=cv2.INTER_LINEAR)
    lower = lower.astype(np.float32, copy=False)   # a model of your own may give other floats
    np.exp(np.clip(lower, -50, 50, out=lower), out=lower)   # the sigmoid of the person logit, in place
    lower += 1.0
    return np.divide(1.0, lower, out=lower)


def foreground_probability(rgb: np.ndarray, name: str, box: Box | None = None,
                           people: list[np.ndarray] = (), guides: np.ndarray | None = None,
                           size: tuple[int, int] | None = None) -> np.ndarray:
    """float32 HxW person probability from shipped model ``name``, run on ``box`` (default: the whole image,
    letterboxed to the model's aspect ratio); 0 outside the box. ``people``: keypoints for prior maps;
    ``guides``: a refinement model's guide maps (HxWxG); ``size``: (w, h) of the map (default: the image's)."""
    box = box or whole_frame(rgb.shape, spec(name).aspect)
    return paste(network_map(rgb, name, box, people, guides), box, rgb.shape, size=size)


def whole_probability(rgb: np.ndarray, model: str, people: list[np.ndarray] = (), guides: np.ndarray | None = None,
                      size: tuple[int, int] | None = None, above: float = TILE_ABOVE) -> np.ndarray:
    """float32 person probability of the whole image from ``model``, seen through ``framing.tiles`` for images
    wider or taller than its frame by more than ``above`` (blended where they overlap). ``size``: as
    ``foreground_probability``'s."""
    frames = tiles(rgb.shape, spec(model).aspect, above)
    if len(frames) == 1:
        return foreground_probability(rgb, model, frames[0], people, guides, size)
    maps = [network_map(rgb, model, frame, people, guides, cut)
            for frame, cut in zip(frames, crops(rgb, frames, spec(model).size))]
    return blended(frames, maps, rgb.shape, size)


def network_probability(rgb: np.ndarray, model: str, box: Box | None = None,
                        people: list[np.ndarray] = (), guides: np.ndarray | None = None,
                        beyond: bool = False, size: tuple[int, int] | None = None,
                        above: float = TILE_ABOVE) -> np.ndarray:
    """Person probability from a shipped network, framed for it. With ``box`` (where the people are, from
    keypoints or the previous video frame) one pass on that region framed for the network (the whole image,
    ``whole_probability``, when that is most of it); otherwise a pass on the whole image, then, when the people
    found there fill a small part of it, a second pass on a crop around them, so that a distant person is seen at
    the network's full resolution. ``people``: everyone's keypoints, for models fed prior maps (seed 000's SSM);
    ``guides``: HxWxG maps made from a coarse matte, for the refinement model (seed 003). ``beyond``: a pass
    zoomed on a given ``box`` is joined by one on the whole image, which gives the probability outside the zoomed
    crop (people no keypoint vouches for). ``size``: (w, h) of the map returned, where smaller than the image
    (default: the image's; boxes stay in the image's pixels). ``above``: the whole image is seen through tiles
    when it is wider or taller than the network's frame by more than this factor (``whole_probability``)."""
    aspect = spec(model).aspect
    whole = whole_frame(rgb.shape, aspect)
    small = seen = None   # the whole image's map when it is seen first: one frame's at the network's size, or tiled
    if box is None:
        frames = tiles(rgb.shape, aspect, above)
        if len(frames) == 1:
            small = network_map(rgb, model, whole, people, guides)
            found = mask_box(small)
            box = from_crop(found, whole, spec(model).size) if found is not None else None
        else:
            seen = whole_probability(rgb, model, people, guides, size, above)
            found = mask_box(seen)
            f = (rgb.shape[1] / seen.shape[1], rgb.shape[0] / seen.shape[0])
            box = (found[0] * f[0], found[1] * f[1], found[2] * f[0], found[3] * f[1]) if found is not None else None
            whole = frames[0]   # a zoomed pass is worth it where it shows the people larger than a tile did
    framed = on_pixels(frame_box(box, aspect)) if box is not None else whole
    if area(framed) < ZOOM_BELOW * area(whole):
        if not beyond or small is not None or seen is not None:   # the whole image was seen first: nothing outside
            return foreground_probability(rgb, model, framed, people, guides, size)
        prob = whole_probability(rgb, model, people, guides, size, above)
        return paste(network_map(rgb, model, framed, people, guides), framed, rgb.shape, out=prob, size=size)
    if small is not None:
        return paste(small, whole, rgb.shape, size=size)
    return seen if seen is not None else whole_probability(rgb, model, people, guides, size, above)


def coarse_probability(rgb: np.ndarray, models: tuple[str, ...], box: Box | None,
                       people: list[np.ndarray], beyond: bool = False,
                       size: tuple[int, int] | None = None, above: float = TILE_ABOVE) -> np.ndarray:
    """The mean of the probabilities of ``models``, each framed on ``box`` (see ``network_probability``, also
    for ``beyond``, ``size`` and ``above``) and fed ``people``'s prior maps where it takes them."""
    total = network_probability(rgb, models[0], box=box, people=people, beyond=beyond, size=size, above=above)
    for model in models[1:]:   # summed in place: no stack of full-size maps (two of them are 192 MB at 24 MP)
        total += network_probability(rgb, model, box=box, people=people, beyond=beyond, size=size, above=above)
    return total if len(models) == 1 else np.multiply(total, np.float32(1 / len(models)), out=total)
