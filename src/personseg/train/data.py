"""Training data: image/mask pairs held in memory at a working size, from the eg1800 layout or any folder."""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..data import data_root, read_ids
from ..errors import ImageError, PersonsegError
from ..evaluate import find_pairs, marks_its_border, paired, unusable
from ..image import IMAGE_SUFFIXES, load_pair
from ..pipeline import Segmenter


@dataclass
class PairSet:
    """Images (uint8 HxWx3, or HxWxC with prior maps after RGB) and masks (uint8 HxW 0/255), each pair the same size."""

    ids: list[str]
    images: list[np.ndarray]
    masks: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)


def _layout_hint(root: Path, images: str, masks: str) -> str:
    """What ``root`` holds instead of the folders ``images`` and ``masks``, as a hint to append to the error."""
    if not root.is_dir():
        return f" (there is no folder {root})"
    if root.name in (images, masks) and (root.parent / images).is_dir() and (root.parent / masks).is_dir():
        return f" (give the folder that holds both: {root.parent})"
    folders = sorted(f.name + "/" for f in root.iterdir() if f.is_dir() and not f.name.startswith("."))
    if any(f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES for f in root.iterdir()):
        return (f" (it holds images itself: put the photos in {root / images}/ and each mask, named as its photo, "
                f"in {root / masks}/)")
    if not folders:
        return " (it is empty)"
    lacking = [f"{name}/" for name in (images, masks) if not (root / name).is_dir()]
    missing = f"{' and '.join(lacking)} {'is' if len(lacking) == 1 else 'are'} missing"
    return f" (it holds {', '.join(folders[:6])}; {missing})"


def load_pairs(root: str | Path, split: str | None = None, max_side: int = 400,
               images: str = "images", masks: str = "masks") -> PairSet:
    """Read ``root/images`` + ``root/masks`` (same stems), limited to the ids of ``split`` when given
    (``split_ids``: the eg1800 and ccp layout), each pair shrunk so its longest side is at most ``max_side``."""
    root = Path(root)
    img_dir, mask_dir = root / images, root / masks
    if not img_dir.is_dir() or not mask_dir.is_dir():
        raise PersonsegError(f"{root}: expected folders '{images}/' and '{masks}/' with pairs of the same name"
                             f"{_layout_hint(root, images, masks)}")
    ids = split_ids(root, split)
    pairs, lacking = paired(img_dir, mask_dir, ids)
    if not pairs and not lacking:
        raise PersonsegError(f"{root}: no image/mask pairs found")
    out, bad = PairSet([], [], []), []
    for ident, ip, mp in pairs:
        try:
            rgb, m = load_pair(ip, mp)
        except ImageError as e:   # every unusable pair named at once, not one a run
            bad.append(str(e))
            continue
        f = min(1.0, max_side / max(rgb.shape[:2]))
        if f < 1.0:
            size = (round(rgb.shape[1] * f), round(rgb.shape[0] * f))
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            m = np.where(cv2.resize(m, size, interpolation=cv2.INTER_LINEAR) > 127, 255, 0).astype(np.uint8)
        out.ids.append(ident)
        out.images.append(rgb)
        out.masks.append(m)
    if bad or lacking:
        raise unusable(bad, len(pairs), str(root), lacking)
    _inverted_note(out.masks, mask_dir)
    return out


def _inverted_note(masks: list[np.ndarray], folder: Path) -> None:
    """A note where most masks mark most of their border as the person: drawn inverted (the person black), which
    trains a network to mark the background (of 300 masks of each set here: none but 10% of EG1800's portraits)."""
    framed = sum(marks_its_border(m) for m in masks)
    if framed > len(masks) / 2:
        warnings.warn(f"{framed} of the {len(masks)} masks in {folder} mark most of their border as the person: "
                      "are they inverted (the person black)? A mask is the person bright on black", stacklevel=3)


#: The split name of the train split less the choice groups (``fit_ids``).
FIT = "fit"


def split_ids(root: str | Path, split: str | None) -> list[str] | None:
    """The ids of ``split`` in the data set in ``root``: ``root/<split>.txt``, or for 'fit' the train split less
    the choice groups (``fit_ids``); None (every pair) without a split."""
    if not split:
        return None
    listed = Path(root) / f"{split}.txt"
    if split != FIT and not listed.is_file():
        raise PersonsegError(f"{listed}: id list not found (--split {split} reads one in each folder; leave --split "
                             "out to take every pair)")
    return fit_ids(root) if split == FIT else read_ids(listed)


def validation_split(count: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (validation, training), each ascending, of ``count`` pairs: a seeded ``fraction`` held out."""
    order = np.random.default_rng(seed).permutation(count)
    n_val = max(1, int(round(count * fraction)))
    if n_val >= count:
        raise PersonsegError(f"{count} pair{'s are' if count != 1 else ' is'} too few to hold out {n_val} for "
                             "validation")
    return sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())


def backgrounds(pairs: PairSet, size: tuple[int, int]) -> list[np.ndarray]:
    """Each image with its person painted out (OpenCV in-painting), at ``size`` (w, h): backgrounds onto
    which other images' people are composited (seed 001's extra data)."""
    out = []
    for rgb, m in zip(pairs.images, pairs.masks):
        small = cv2.resize(rgb[..., :3], size, interpolation=cv2.INTER_AREA)
        hole = cv2.dilate(cv2.resize(m, size, interpolation=cv2.INTER_NEAREST), np.ones((7, 7), np.uint8))
        out.append(cv2.inpaint(small, (hole > 0).astype(np.uint8), 5, cv2.INPAINT_TELEA))
    return out


def pose_keypoints(pairs: PairSet, cache: Path, log=print) -> list[list[np.ndarray]]:
    """Everyone's keypoints in each stored image, from the project's own pose backend, computed once and
    kept in the JSON file ``cache`` (keyed by id, image size and pixels, so a changed set is detected)."""
    from ..pose import get_backend

    cache = Path(cache)
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    keys = [_cache_key(pairs, i) for i in range(len(pairs))]
    todo = [i for i, key in enumerate(keys) if key not in known]
    if todo:
        backend = get_backend("blazepose")
        log(f"finding keypoints in {len(todo)} training images (cached in {cache})")
    for n, i in enumerate(todo, 1):
        known[keys[i]] = [kp.round(2).tolist() for kp in backend.detect(pairs.images[i][..., :3])]
        if n % 200 == 0 or n == len(todo):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(known))
            tmp.replace(cache)
    return [[np.array(kp, np.float32) for kp in known[key]] for key in keys]


def _cache_key(pairs: PairSet, i: int) -> str:
    """Id, size and a digest of the stored pixels: another photo of the same name and size is not taken for it."""
    image = pairs.images[i]
    h, w = image.shape[:2]
    return f"{pairs.ids[i]}@{w}x{h}#{hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=8).hexdigest()}"


def coarse_mattes(pairs: PairSet, method: str, cache: Path, log=print) -> list[np.ndarray]:
    """Each stored image's coarse matte (uint8 HxW) from the project's own ``method`` without its refinement
    network (what that network is fed at inference), followed by closed-form matting (seed 003's), as seed 003's
    refinement network is trained on; computed once and kept in the .npz file ``cache`` (keyed by id, image size
    and pixels, so a changed set is detected)."""
    cache = Path(cache)
    known = dict(np.load(cache)) if cache.is_file() else {}
    keys = [_cache_key(pairs, i) for i in range(len(pairs))]
    todo = [i for i, key in enumerate(keys) if key not in known]
    if todo:
        segmenter = Segmenter(method=method, matting="closed-form")
        segmenter.method = segmenter.method.unrefined()
        log(f"making coarse mattes of {len(todo)} training images with method {method!r} (cached in {cache})")
    for n, i in enumerate(todo, 1):
        alpha = segmenter(pairs.images[i][..., :3]).alpha
        known[keys[i]] = np.round(alpha * 255).astype(np.uint8)
        if n % 200 == 0 or n == len(todo):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(cache.name + ".tmp.npz")
            np.savez_compressed(tmp, **known)
            tmp.replace(cache)
    return [known[key] for key in keys]


def with_priors(pairs: PairSet, priors: tuple[str, ...], people: list[list[np.ndarray]]) -> PairSet:
    """``pairs`` with each prior map (in [0, 1], stored as 0..255) added to its image as a channel after RGB;
    an image where nobody was found gets an empty map."""
    from ..priors import people_map

    return _with_maps(pairs, [[people_map(name, kps, img.shape[:2]) for name in priors]
                              for img, kps in zip(pairs.images, people)])


def with_guides(pairs: PairSet, guides: tuple[str, ...], mattes: list[np.ndarray]) -> PairSet:
    """``pairs`` with seed 003's guide maps of each image's coarse matte added as channels after the others."""
    from ..refine.matting import GUIDE_MAPS

    return _with_maps(pairs, [[GUIDE_MAPS[name](m) for name in guides] for m in mattes])


def _with_maps(pairs: PairSet, maps: list[list[np.ndarray]]) -> PairSet:
    images = [np.dstack([img] + [np.round(np.clip(m, 0, 1) * 255).astype(np.uint8) for m in planes])
              if planes else img for img, planes in zip(pairs.images, maps)]
    return PairSet(pairs.ids, images, pairs.masks)


#: The first photos of each multi-person train split (pennfudan, coco_people, coco_single) are choice groups:
#: no network trained on all sets and no region check trains on them.
CHOICE_PHOTOS = 60


def fit_ids(root: str | Path) -> list[str]:
    """The train ids of the data set in ``root`` that a network trained on every set fits: the train split less
    the choice groups (the held-out pairs of EG1800 and CCP, the first ``CHOICE_PHOTOS`` of the others)."""
    name = Path(root).resolve().name
    if name not in ("eg1800", "ccp", "pennfudan", "coco_people", "coco_single"):
        raise PersonsegError(f"{root}: split {FIT!r} is the train split less this project's choice photos, known "
                             "for eg1800, ccp, pennfudan, coco_people and coco_single only; give your own, e.g. "
                             "--split train")
    ids = read_ids(Path(root) / "train.txt")
    if name in ("eg1800", "ccp"):
        held = {ip.stem for group, pairs in heldout_groups().items() if group != "EG1800 unlisted"
                for ip, _ in pairs if ip.parent.parent.name == name}
        return [i for i in ids if i not in held]
    return ids[CHOICE_PHOTOS:]


def heldout_groups() -> dict[str, list[tuple[Path, Path]]]:
    """(image, mask) paths of each group of images no shipped model trained on, where choices are made: EG1800's
    unlisted portraits (portraitnet_train.txt less the train and test ids), and the validation pairs every
    training run held out (10% of EG1800 + CCP train, seed 0), split into EG1800 and CCP."""
    root = data_root()
    eg = root / "eg1800"
    seen = set(read_ids(eg / "train.txt")) | set(read_ids(eg / "test.txt"))
    unlisted = [i for i in read_ids(eg / "portraitnet_train.txt") if i not in seen]
    groups = {"EG1800 unlisted": [(ip, mp) for _, ip, mp in find_pairs(eg / "images", eg / "masks", unlisted)]}
    pairs = [(name, ip, mp) for name in ("eg1800", "ccp") for _, ip, mp in
             find_pairs(root / name / "images", root / name / "masks", read_ids(root / name / "train.txt"))]
    val, _ = validation_split(len(pairs), 0.1, 0)
    groups["validation EG1800"] = [pairs[i][1:] for i in val if pairs[i][0] == "eg1800"]
    groups["validation CCP"] = [pairs[i][1:] for i in val if pairs[i][0] == "ccp"]
    return groups
