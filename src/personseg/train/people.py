"""Training pairs for the person model from real photos with a mask per person (seed 004 learnt on real
multi-person masks, not only on synthesised overlaps): each person the pose backend finds there, framed as the
pipeline frames them (``instances.person_maps``: their keypoint box, ``runtime.network_probability``), the image
with their own prior maps after RGB, and their own mask as the target: everyone else is background."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import PersonsegError
from ..evaluate import instance_sets, true_mask
from ..framing import ZOOM_BELOW, area, crop, frame_box, keypoint_box, on_pixels, whole_frame
from ..image import load_image
from ..instances import MIN_POINTS, find_people, photo_people
from ..models.registry import spec
from ..pose.keypoints import MIN_SCORE, pixels_inside
from .data import PairSet

#: The file of a data folder that gives each person's mask (pose_mini's layout; ``evaluate.instance_sets``).
ANNOTATIONS = "annotations.json"
#: Longest side of a pair as stored (as ``data.load_pairs`` keeps whole photos).
PAIR_SIDE = 400
#: A pose is a true person's when at least MIN_POINTS of its sure keypoints lie on their mask grown by this share
#: of the photo's diagonal (keypoints sit on the outline as often as inside it).
ON_MASK = 0.01


def people_found(sets: list[tuple], cache: Path, log: Callable[[str], None] = print
                 ) -> Iterator[tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]]:
    """(photo, true masks, everyone the pose backend finds on it) for each photo of ``sets`` (``instance_sets``'s),
    found as ``Segmenter(instances=True)`` looks (``photo_people``, then ``find_people`` on the union of the true
    masks) and kept in the JSON file ``cache`` by id and a digest of the photo's and the masks' pixels (written
    every 50 photos found, and once asked past the last without what was kept for these ids' photos as they were
    before; other ids' entries stay, and two photos sharing an id each keep theirs)."""
    from ..pose import get_backend

    cache = Path(cache)
    known = json.loads(cache.read_text()) if cache.is_file() else {}
    backend, looked, found, used = None, False, 0, set()
    for n, (ident, image, masks, _) in enumerate(sets):
        rgb = load_image(image)
        trues = [true_mask(m, rgb, image) > 0 for m in masks]
        digest = hashlib.blake2b(rgb.tobytes(), digest_size=8)
        for m in trues:
            digest.update(np.packbits(m).tobytes())
        key = f"{ident}#{digest.hexdigest()}"
        used.add(key)
        if key not in known:
            if not looked:
                backend, looked = get_backend("blazepose"), True
                log(f"finding people in up to {len(sets) - n} training photos (cached in {cache})")
            union = np.logical_or.reduce(trues) if trues else np.zeros(rgb.shape[:2], bool)
            first = photo_people(rgb, backend)[0]
            known[key] = [kp.round(2).tolist() for kp in find_people(rgb, union, backend, known=first)]
            found += 1
            if found % 50 == 0:
                _keep(known, cache)
        yield rgb, trues, [np.array(kp, np.float32) for kp in known[key]]
    if looked:   # what was kept for these photos as they were before (their id, another digest) goes
        seen = {key.rsplit("#", 1)[0] for key in used}
        _keep({k: v for k, v in known.items() if k in used or k.rsplit("#", 1)[0] not in seen}, cache)


def _keep(known: dict, cache: Path) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(known))
    tmp.replace(cache)


def matched(people: list[np.ndarray], masks: list[np.ndarray]) -> list[tuple[np.ndarray, int]]:
    """(keypoints, index of their true mask) for each pose with MIN_POINTS or more sure keypoints on a true
    person's mask (grown by ON_MASK), the poses with most points on someone first, each mask taken once."""
    if not people or not masks:
        return []
    h, w = masks[0].shape
    grow = max(1, round(ON_MASK * np.hypot(h, w)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    grown = [cv2.dilate(m.astype(np.uint8), kernel) > 0 for m in masks]
    counts = np.zeros((len(people), len(masks)), int)
    for i, kp in enumerate(people):
        sure = kp[kp[:, 2] >= MIN_SCORE]
        if len(sure):
            x, y = pixels_inside(sure, (h, w)).T
            counts[i] = [int(g[y, x].sum()) for g in grown]
    out, used_p, used_m = [], set(), set()
    for i, j in sorted(np.ndindex(counts.shape), key=lambda ij: -counts[ij]):
        if counts[i, j] >= MIN_POINTS and i not in used_p and j not in used_m:
            out.append((people[i], j))
            used_p.add(i)
            used_m.add(j)
    return out


def person_pairs(annotations: Path, ids: list[str] | None, priors: tuple[str, ...], model: str, cache: Path,
                 log: Callable[[str], None] = print) -> tuple[PairSet, list[str]]:
    """One pair per person found and matched (``matched``) on the photos of ``annotations`` (pose_mini's layout
    or a COCO file; ``ids``: only these photos), framed for ``model`` as the pipeline frames a person, and the
    photo of each pair (to hold photos out whole)."""
    from ..priors import people_map

    sets = instance_sets(annotations)
    if ids is not None:   # (a COCO file names its photos with their extension; the id lists do not)
        keep = set(ids)
        stems = Counter(Path(s[0]).stem for s in sets)   # a stem two photos share names neither
        sets = [s for s in sets if s[0] in keep or (Path(s[0]).stem in keep and stems[Path(s[0]).stem] == 1)]
        if not sets:
            raise PersonsegError(f"{annotations}: none of its photos is in the split asked for")
    aspect = spec(model).aspect
    out, photos = PairSet([], [], []), []
    found = people_found(sets, cache, log)
    for ident, _, _, _ in sets:
        rgb, trues, people = next(found)
        for kp, j in matched(people, trues):
            whole = whole_frame(rgb.shape, aspect)
            box = keypoint_box(kp, rgb.shape[0])
            framed = on_pixels(frame_box(box, aspect)) if box is not None else whole
            if area(framed) >= ZOOM_BELOW * area(whole):
                framed = whole
            x0, y0, x1, y1 = framed
            f = min(1.0, PAIR_SIDE / max(x1 - x0, y1 - y0))
            size = (max(1, round((x1 - x0) * f)), max(1, round((y1 - y0) * f)))
            picture = crop(rgb, framed, size)
            mask = np.where(crop(trues[j].astype(np.uint8) * 255, framed, size) > 127, 255, 0).astype(np.uint8)
            moved = kp.copy()
            moved[:, :2] = (moved[:, :2] - (x0, y0)) * (size[0] / (x1 - x0), size[1] / (y1 - y0))
            maps = [np.round(people_map(name, [moved], picture.shape[:2]) * 255).astype(np.uint8) for name in priors]
            out.ids.append(f"{Path(annotations).parent.name}/{ident}:{j}")
            out.images.append(np.dstack([picture] + maps))
            out.masks.append(mask)
            photos.append(f"{Path(annotations).parent.name}/{ident}")
    next(found, None)   # past the last photo: the cache is written
    log(f"{annotations}: {len(out)} people found and matched on {len(set(photos))} of {len(sets)} photos")
    return out, photos
