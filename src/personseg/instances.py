"""Several people, one mask each (after seed 004): everyone is found (faces from the full-range face detector
and the people-shaped regions of the semantic mask, each crop given to the pose backend), then the
foreground pixels are grouped into people by a non-parametric affinity model: a random walk over the
pixel grid whose edge weights fall across colour and boundary (image gradient) differences, started from
each person's skeleton-and-torso frame."""

from __future__ import annotations

import cv2
import numpy as np

from ._mediapipe import solution, started
from .framing import Box, area, binary_mask, crop, frame_box, keypoint_box, keypoint_extent, overlap, tiles
from .pose import PoseBackend, detect_people
from .pose.keypoints import MIN_SCORE, keypoint_distance, pixels_inside
from .priors.body import body_from_keypoints, draw_frame
from .refine.fusion import largest_regions
from .result import Instance
from .runtime import network_probability

#: Longest side at which pixels are grouped (labels are scaled back and cut by the full-size mask).
GROUP_SIDE = 320
#: Regions of the mask smaller than this share of the image are not people on their own.
MIN_REGION = 0.002
#: Width of the seed frames relative to the priors' (thin, so that people who touch keep apart).
SEED_WIDEN = 0.6
#: Random-walk edge sharpness (scikit-image's beta) on features scaled to unit spread.
BETA = 90.0
#: Pose crops: the least side, in pixels, that the pose backend is given.
POSE_CROP_SIDE = 256
#: At most this many people are looked for in one image.
MAX_PEOPLE = 10
#: A pose with fewer confident keypoints is not taken as a person.
MIN_POINTS = 4
#: Two poses closer than this (keypoint_distance) are the same person.
SAME_PERSON = 0.25
#: On photos (``find_people``) two poses closer than this are the same person: walkers side by side, one body width
#: apart, are about 0.2 apart, and the box rule below (WITHIN) catches BlazePose's second pose of someone found.
#: `accurate --instances`, no matting, the first 60 train photos of pennfudan / coco_people (152 / 258 people),
#: found and spurious at 0.25 (SAME_PERSON) 113 / 11 and 48 / 32; 0.2: 118 / 11, 49 / 32; 0.15: 120 / 11, 49 / 33;
#: 0.1: 121 / 12, 49 / 35; `fast` at 0.25 / 0.15 / 0.1: 104 / 20 -> 112 / 19 -> 115 / 18, 46 / 34 -> 46 / 34 -> 45 / 36.
SAME_PHOTO_PERSON = 0.15
#: A pose whose keypoint box lies this much or more inside the box of someone known is not someone else
#: (``new_person``): BlazePose's pose of the part of a person that painting out left, of their legs, or of their
#: upper body at another scale. First chosen for video; for photos (``find_people``) on the train splits of
#: pennfudan and coco_people, `accurate` instances (270 / 325 people): found and spurious with only the distance
#: measured one way 204 / 38 and 62 / 53; with this rule at 0.4 / 0.5 / 0.6 200 / 25 and 62 / 42, 202 / 26 and
#: 63 / 41, 202 / 32 and 63 / 40.
WITHIN = 0.5
#: A pose counts as a person when its keypoints inside the image average at least this visibility
#: (``seen_visibility``): for a region's crop (``person_in``) and for everyone found (``find_people``). Regions:
#: choice groups (held-out EG1800 and CCP, 60 train photos each of pennfudan, coco_people and coco_single),
#: `accurate` without matting, all 17 keypoints averaged, the crop not yet painted out: IoU at 0.5 / 0.65: CCP
#: 0.9301 / 0.9336, coco_single 0.7505 / 0.7521, the rest equal; asking instead for 3 or 6 confident keypoints
#: inside the region lost 0.04 on pennfudan (0.7254 / 0.7198 against 0.7620). Painting out the person already
#: found (whose box the region's crop often holds: the railing beside the parkour runner was confirmed by the
#: runner) took the parkour frames, as photos, from 0.9033 back to 0.9272 (0.9298 before). Everyone found:
#: `accurate` instances on pennfudan / coco_people train (270 / 325 people), found and spurious with no such
#: rule 208 / 44 and 57 / 97; at 0.5 208 / 33 and 58 / 69; at 0.65 208 / 30 and 58 / 65; at 0.8 197 / 23 and
#: 53 / 55 (benchmarks/people.py on the train splits). Averaging only the keypoints inside the image (a
#: half-length person's legs below the edge had kept every EG1800 portrait under 0.65): 10 side-by-side pairs
#: of EG1800's unlisted portraits, union IoU 0.8404 -> 0.8665, instances found 9 -> 17 of 20 (spurious 5 -> 10);
#: train splits 209 / 31 and 59 / 67; choice groups' IoU unchanged.
PERSON_VISIBILITY = 0.65
#: ``Segmenter(subject="main")`` keeps the most prominent person: BlazePose's one person a call is not always
#: them (a woman at the side of a street, not the one walking in front). Someone it finds with the first painted
#: out is taken instead where their keypoint box is this many times theirs. Choice photos, `accurate` main, no
#: matting, IoU with the largest labelled person (pennfudan / coco_people, 60 train photos each): as before 0.694 /
#: 0.428; 1.0 / 1.5 / 2.0 / 2.5 / 3.0: 0.712 / 0.415, 0.718 / 0.428, 0.720 / 0.443, 0.720 / 0.443, 0.708 / 0.443;
#: at 2.0 coco_single train (one labelled person) 0.764 -> 0.777, portraits, strips and painted-out photos
#: unchanged; one BlazePose call more (median 30 ms on 20 pennfudan and 20 EG1800 photos).
PROMINENT = 2.0
#: Colour that paints out a person already found, before the pose backend looks again.
ERASE_GREY = 127


#: A photo wider (or taller) than this is searched by the pose backend square tile by square tile
#: (``photo_people``): it finds one person a call, on the whole image squashed into its square input. Panoramas
#: of train photos side by side (10 each, 400 px high), accurate IoU without matting, one search on the whole
#: image -> tiles from 3.0 / 4.0 to 1: pennfudan 3 photos 0.708 -> 0.716 / 0.698, 5 photos 0.500 -> 0.699 (both);
#: coco_single 3 photos 0.625 -> 0.634 / 0.623, 4 photos 0.628 -> 0.675 / 0.677. At 3.0 a real 3:1 photo of the
#: choice groups (coco_people train 000000079841, two street scenes side by side) lost the selfie model (not
#: joined where several people are found, refine/fusion.py lone_person) and gained a tree and a facade: that
#: group's mean 0.4230 -> 0.4196; and its painted-out copy was marked. At 4.0 the choice groups are unchanged.
PANORAMA_POSE = 4.0
#: Searches of each tile of a panorama: the pose backend finds one person a call, so after the first, those found
#: are painted out and the tile searched again. Panoramas of 5 train photos side by side (10 each, accurate IoU
#: without matting), one search -> two: pennfudan 0.699 -> 0.725, coco_people 0.418 -> 0.435, coco_single (one
#: labelled person a photo) 0.625 -> 0.617; 4 photos: pennfudan 0.680 -> 0.694, coco_single 0.677 -> 0.675;
#: panoramas of 5 painted-out photos (nobody) 6.01% -> 6.07% of the pixels marked. About a quarter more time.
TILE_SEARCHES = 2
#: With instances the networks are framed on the people BlazePose found on the whole image, and the search for
#: everyone looks at the regions of that mask: on a panorama the people outside that frame were never looked at
#: (three Penn-Fudan photos side by side: one instance of six people). On an image wider (or taller) than this,
#: the search looks at the regions of the networks' pass on the whole image too (``Scene.beyond``; the mask
#: itself is made as before). Panoramas of train photos side by side (400 px high), found / spurious, before ->
#: after, `accurate`: 3 pennfudan photos (8 panoramas, 44 people) 20 / 6 -> 32 / 5, 4 of them (6, 44) 29 / 6 ->
#: 33 / 6, 3 coco_people photos (6, 80) 7 / 12 -> 7 / 15; `fast` 18 / 4 -> 33 / 5, 29 / 7 -> 33 / 7, 8 / 11 ->
#: 7 / 14. The train splits as they are: one pennfudan person more found by each method, nothing else changed.
#: On every photo (beyond the frame for everyone) it was mixed: `accurate` pennfudan train 202 / 26 -> 206 / 27,
#: coco_people 63 / 41 -> 64 / 45; `fast` 191 / 34 -> 194 / 37, 57 / 54 -> 55 / 63. It costs a second pass of
#: the networks and one for each person more found: median per panorama of 3 pennfudan photos, `fast` 0.30 ->
#: 0.42 s, `accurate` 0.37 -> 0.59 s.
WIDE_SEARCH = 2.0


def searched_wide(shape: tuple[int, ...]) -> bool:
    """Whether the search for everyone on an image of ``shape`` also looks beyond the found people's frame
    (WIDE_SEARCH)."""
    return max(shape[:2]) > WIDE_SEARCH * min(shape[:2])


def photo_people(rgb: np.ndarray, pose: PoseBackend, outline: bool = False
                 ) -> tuple[list[np.ndarray], np.ndarray | None]:
    """``pose.detect_people`` on a photo; on a panorama (PANORAMA_POSE) on each of its square tiles
    (``framing.tiles``), then once more on the tile with whom it found painted out (TILE_SEARCHES): whoever it
    finds there (the second search's people only where they pass as people, ``person_pose``), the same person
    seen in two tiles once, the most prominent (the largest keypoint box) first, and with ``outline`` that
    person's outline placed in the photo."""
    frames = tiles(rgb.shape, 1.0, PANORAMA_POSE)
    if len(frames) == 1:
        return detect_people(pose, rgb, outline)
    found: list[tuple[np.ndarray, np.ndarray | None, tuple[int, ...]]] = []
    for frame in frames:
        x0, y0, x1, y1 = (int(v) for v in frame)
        tile = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        people, drawn = detect_people(pose, tile, outline)
        work = tile.copy()
        for _ in range(TILE_SEARCHES - 1 if people else 0):
            for kp in people:
                paint_out(work, kp, None)
            more = [kp for kp in pose.detect(work) if person_pose(kp, tile.shape)
                    and all(keypoint_distance(kp, q) > SAME_PERSON for q in people)]
            if not more:
                break
            people = people + more
        for k, kp in enumerate(people):
            kp = kp.copy()
            kp[:, :2] += (x0, y0)
            found.append((kp, drawn if k == 0 else None, (x0, y0, x1, y1)))
    found.sort(key=lambda item: -keypoint_extent(item[0]))
    kept: list[tuple[np.ndarray, np.ndarray | None, tuple[int, ...]]] = []
    for item in found:
        if all(keypoint_distance(item[0], other[0]) > SAME_PERSON for other in kept):
            kept.append(item)
    if not kept or kept[0][1] is None:
        return [kp for kp, _, _ in kept], None
    placed = np.zeros(rgb.shape[:2], np.float32)
    x0, y0, x1, y1 = kept[0][2]
    placed[y0:y1, x0:x1] = kept[0][1]
    return [kp for kp, _, _ in kept], placed


def most_prominent(rgb: np.ndarray, pose: PoseBackend, people: list[np.ndarray], outline: np.ndarray | None,
                   with_outline: bool = False) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The most prominent person of a photo where ``people`` (and ``outline``) are what ``photo_people`` found: where
    that is one person, the pose backend looks once more with them painted out, and someone else it finds there
    whose keypoint box is PROMINENT times theirs or more is taken instead, with their outline (``with_outline``).
    Several found (a backend finding everyone, or a panorama's tiles) are already ranked, most prominent first."""
    if len(people) != 1 or keypoint_box(people[0]) is None or len(tiles(rgb.shape, 1.0, PANORAMA_POSE)) > 1:
        return people, outline
    work = rgb.copy()
    paint_out(work, people[0], outline)
    found, drawn = detect_people(pose, work, with_outline)
    least = PROMINENT * keypoint_extent(people[0])
    for kp in found:
        if person_pose(kp, rgb.shape) and new_person(kp, people, SAME_PHOTO_PERSON) and keypoint_extent(kp) >= least:
            return [kp], drawn
    return people, outline


def find_people(rgb: np.ndarray, mask: np.ndarray, pose: PoseBackend, max_people: int = MAX_PEOPLE,
                known: list[np.ndarray] = (), same: float = SAME_PHOTO_PERSON) -> list[np.ndarray]:
    """Keypoints of everyone. The single-person pose backend is run on the whole image again and again, each
    person found painted out before the next run; then on a body-sized crop below every face the full-range
    face detector finds (on tiles, so small faces count) and on every person-sized region of ``mask``. Poses
    below PERSON_VISIBILITY are not people. ``known``: people the pose backend already found on this image
    (``photo_people``), taken first and painted out before the first run. ``same``: poses closer than this are
    one person (``new_person``; video's subject finder keeps SAME_PERSON)."""
    people: list[np.ndarray] = [kp for kp in known if _enough_points(kp)][:max_people]

    def take(found: list[np.ndarray]) -> list[np.ndarray]:
        new = [kp for kp in found if _enough_points(kp) and new_person(kp, people, same)]
        people.extend(new[: max_people - len(people)])
        return new

    work = rgb.copy()
    for kp in people:
        paint_out(work, kp, None)
    while len(people) < max_people and take(pose.detect(work)):
        for kp in people:
            paint_out(work, kp, None)
    crops = [(x0 - 2.5 * (x1 - x0), y0 - 0.7 * (x1 - x0), x1 + 2.5 * (x1 - x0), y1 + 7.5 * (x1 - x0))
             for x0, y0, x1, y1 in face_boxes(rgb)] + _regions(mask)
    for box in crops:
        if len(people) >= max_people:
            break
        take(pose_in(rgb, box, pose))
    return [kp for kp in people if seen_visibility(kp, rgb.shape) >= PERSON_VISIBILITY]


def new_person(kp: np.ndarray, known: list[np.ndarray], same: float = SAME_PERSON) -> bool:
    """``kp`` is nobody in ``known``: ``same`` (SAME_PERSON in video, SAME_PHOTO_PERSON on photos) apart from each
    (measured either way), and its box not mostly (WITHIN) inside theirs."""
    return all(min(keypoint_distance(kp, q), keypoint_distance(q, kp)) >= same
               and _within(keypoint_box(kp), keypoint_box(q)) < WITHIN for q in known)


def _within(a: Box | None, b: Box | None) -> float:
    """The share of box ``a`` inside box ``b`` (0 when either is None)."""
    if a is None or b is None or area(a) == 0:
        return 0.0
    return overlap(a, b) / area(a)


def _enough_points(kp: np.ndarray) -> bool:
    """True when a pose has MIN_POINTS confident keypoints or more: one ``find_people`` takes."""
    return bool((kp[:, 2] >= MIN_SCORE).sum() >= MIN_POINTS)


def person_pose(kp: np.ndarray, shape: tuple[int, ...]) -> bool:
    """True when ``find_people`` keeps a pose the backend placed on the whole image of ``shape``."""
    return _enough_points(kp) and seen_visibility(kp, shape) >= PERSON_VISIBILITY


def paint_out(work: np.ndarray, kp: np.ndarray | None, outline: np.ndarray | None) -> None:
    """Paint ERASE_GREY over the person of ``kp`` (their body frame, widened) and their ``outline`` (float HxW,
    from the pose backend), in place."""
    if kp is not None:
        # the torso where its points were found (drawn apart for someone side-on, widened, it covered a runner
        # behind a crossing pedestrian: docs/ARCHITECTURE.md, "Several people")
        work[draw_frame(body_from_keypoints(kp, apart=False), work.shape[:2], widen=1.8) > 0] = ERASE_GREY
    if outline is not None:
        work[cv2.dilate((outline > 0.2).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0] = ERASE_GREY


def face_boxes(rgb: np.ndarray, tiles: int = 3) -> list[Box]:
    """Boxes of the faces mediapipe's full-range face detector finds on the whole image and on a
    ``tiles`` x ``tiles`` grid of half-overlapping tiles (so that small faces are seen), duplicates merged."""
    h, w = rgb.shape[:2]
    views = [(0, 0, w, h)]
    tw, th = 2 * w // (tiles + 1), 2 * h // (tiles + 1)
    views += [(i * tw // 2, j * th // 2, i * tw // 2 + tw, j * th // 2 + th) for i in range(tiles) for j in range(tiles)]
    boxes: list[Box] = []
    scores: list[float] = []
    detector = solution("face_detection").FaceDetection
    with started(lambda: detector(model_selection=1, min_detection_confidence=0.6)) as det:
        for x0, y0, x1, y1 in views:
            for d in det.process(np.ascontiguousarray(rgb[y0:y1, x0:x1])).detections or []:
                b = d.location_data.relative_bounding_box
                vw, vh = x1 - x0, y1 - y0
                boxes.append((x0 + b.xmin * vw, y0 + b.ymin * vh, x0 + (b.xmin + b.width) * vw,
                              y0 + (b.ymin + b.height) * vh))
                scores.append(float(d.score[0]))
    keep = cv2.dnn.NMSBoxes([(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes], scores, 0.6, 0.3)
    return [boxes[i] for i in np.asarray(keep, int).ravel()]


def _regions(mask: np.ndarray) -> list[Box]:
    n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8))
    least = MIN_REGION * mask.size
    return [(float(x), float(y), float(x + bw), float(y + bh)) for x, y, bw, bh, a in stats[1:] if a >= least]


def pose_in(rgb: np.ndarray, box: Box, pose: PoseBackend) -> list[np.ndarray]:
    """The pose backend on ``box`` (grown by a margin, kept square-ish, scaled up when small)."""
    x0, y0, x1, y1 = frame_box(box, 1.0, margin=0.15)
    side = x1 - x0
    size = max(POSE_CROP_SIDE, min(640, round(side)))
    patch = crop(rgb, (x0, y0, x1, y1), (size, size))
    out = []
    for kp in pose.detect(patch):
        kp = kp.copy()
        kp[:, :2] = kp[:, :2] * (side / size) + (x0, y0)
        out.append(kp)
    return out


def seen_visibility(kp: np.ndarray, shape: tuple[int, ...]) -> float:
    """The mean visibility of a pose's keypoints that lie inside an image of ``shape`` (0 with fewer than
    MIN_POINTS there): legs below a portrait's bottom edge do not count against a half-length person."""
    h, w = shape[:2]
    inside = (kp[:, 0] >= 0) & (kp[:, 0] < w) & (kp[:, 1] >= 0) & (kp[:, 1] < h)
    return float(kp[inside, 2].mean()) if inside.sum() >= MIN_POINTS else 0.0


def person_in(rgb: np.ndarray, region: np.ndarray, known: Box, pose: PoseBackend) -> bool:
    """True when the pose backend, run on the box of ``region`` (bool HxW) in ``rgb`` (``pose_in``) with the
    ``known`` box (where a person already found stands) painted out, finds a person there (PERSON_VISIBILITY)."""
    x, y, w, h = cv2.boundingRect(region.astype(np.uint8, copy=False))
    kx0, ky0, kx1, ky1 = (max(int(round(v)), 0) for v in known)
    work = rgb
    if kx1 > kx0 and ky1 > ky0:
        work = rgb.copy()
        work[ky0:ky1, kx0:kx1] = ERASE_GREY
    return any(seen_visibility(kp, rgb.shape) >= PERSON_VISIBILITY
               for kp in pose_in(work, (float(x), float(y), float(x + w), float(y + h)), pose))


def anyone_in(rgb: np.ndarray, prob: np.ndarray, pose: PoseBackend) -> bool:
    """True when one of the largest regions of ``prob >= 0.5`` (``largest_regions``) holds a person
    (``person_in``)."""
    labels, large = largest_regions(binary_mask(prob))
    return any(person_in(rgb, labels == k, (0.0, 0.0, 0.0, 0.0), pose) for k in large)


def group_pixels(rgb: np.ndarray, mask: np.ndarray, people: list[np.ndarray], edges: np.ndarray | None = None,
                 maps: list[np.ndarray] | None = None, given: bool = False) -> list[np.ndarray]:
    """Split the foreground of ``mask`` among ``people`` (keypoints): one uint8 {0, 255} mask each, in the
    order given, plus one for each person-sized region of the mask that nobody claims. Every foreground
    pixel goes to exactly one mask; a person left with a sliver gets an empty mask (``given`` people only where
    it touches a person who keeps theirs: a small person given, apart or beside another small one, keeps theirs).

    With ``maps`` (each person's float HxW probability from the person model, ``person_maps``) a pixel is
    claimed by the person whose map is highest there, if at least 0.5, else by the person whose
    skeleton-and-torso frame it is on (the person model draws some real pedestrians faintly: their region then
    went whole to a neighbour); without, each person claims their frame and a random walk over colour and
    boundaries settles the rest. ``edges``: a float
    HxW boundary map in [0, 1] for that walk instead of the image gradient (benchmarks/people_composites.py
    gives it the true outlines, an upper bound on what learnt boundaries could add to the walk). Unclaimed
    pixels go to the nearest person."""
    from skimage.segmentation import random_walker

    h, w = mask.shape
    f = min(1.0, GROUP_SIDE / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    fg = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST) > 0
    if maps is None:
        seeds = _frame_seeds(people, fg, f)
        small_edges = None if edges is None else cv2.resize(edges.astype(np.float32), size,
                                                            interpolation=cv2.INTER_AREA)
        features = _features(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), small_edges)
    else:   # a person the person model hardly draws still holds their own frame (no one's map there)
        seeds = _map_seeds(maps, fg, size)
        frames = _frame_seeds(people, fg, f)
        seeds = np.where((seeds == 0) & (frames > 0), frames, seeds)
    labels = np.zeros(fg.shape, np.int32)
    count, components = cv2.connectedComponents(fg.astype(np.uint8), connectivity=4)   # as the random walk steps
    extra = len(people)
    for c in range(1, count):
        region = components == c
        inside = np.unique(seeds[region])
        inside = inside[inside > 0]
        if inside.size == 0:
            standing = _standing_on(people, region, f)   # a person whose map missed their region
            if standing:
                labels[region] = standing
            elif region.sum() >= MIN_REGION * region.size:
                extra += 1
                labels[region] = extra
        elif inside.size == 1:
            labels[region] = inside[0]
        elif maps is not None:
            labels[region] = seeds[region]
        else:
            markers = np.where(region, seeds, -1)
            walked = random_walker(features, markers, beta=BETA, mode="bf", channel_axis=-1)
            labels[region] = walked[region]
    full = cv2.resize(labels.astype(np.uint16), (w, h), interpolation=cv2.INTER_NEAREST)
    on = mask > 0
    full[~on] = 0
    _drop_slivers(full, extra, len(people) if given else 0)   # slivers are no one's own: they join a neighbour
    unlabelled = on & (full == 0)
    if unlabelled.any() and full.any():   # detail lost at the working size, and specks: the nearest person's
        from scipy.ndimage import distance_transform_edt

        _, (iy, ix) = distance_transform_edt(full == 0, return_indices=True)
        full = np.where(unlabelled, full[iy, ix], full)
    return [np.where(on & (full == k), 255, 0).astype(np.uint8) for k in range(1, extra + 1)]


def _drop_slivers(labels: np.ndarray, count: int, people: int) -> None:
    """Zero (in place) the labels 1..``count`` under MIN_REGION of the image: their pixels join a neighbour.
    Of labels 1..``people`` only the parts that touch the pixels of someone who keeps theirs (a label not under
    MIN_REGION) go; the rest stay (two small people side by side keep theirs)."""
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    small = sizes < MIN_REGION * labels.size
    small[0] = False
    keeps = ~small   # (label 0 never counts: only labels above 0 are looked at)
    touching = []   # (box, part) of small people's parts beside someone who keeps theirs, zeroed once all are seen
    for k in np.flatnonzero(small[1 : people + 1] & (sizes[1 : people + 1] > 0)) + 1:
        ys, xs = np.nonzero(labels == k)
        box = (slice(max(0, ys.min() - 1), ys.max() + 2), slice(max(0, xs.min() - 1), xs.max() + 2))
        n, parts = cv2.connectedComponents((labels[box] == k).astype(np.uint8))
        for c in range(1, n):
            part = (parts == c).astype(np.uint8)
            around = labels[box][cv2.dilate(part, np.ones((3, 3), np.uint8)) > 0]
            if ((around > 0) & keeps[around]).any():
                touching.append((box, part > 0))
    small[1 : people + 1] = False   # people's parts went above, one by one
    for box, part in touching:
        labels[box][part] = 0
    labels[small[labels]] = 0


def _frame_seeds(people: list[np.ndarray], fg: np.ndarray, f: float) -> np.ndarray:
    """Each person's label on their skeleton-and-torso frame (drawn at scale ``f``) inside ``fg``; 0 where
    frames overlap."""
    seeds = np.zeros(fg.shape, np.int32)
    claims = np.zeros(fg.shape, np.int32)
    for k, kp in enumerate(people, start=1):
        small_kp = kp.copy()
        small_kp[:, :2] *= f
        frame = draw_frame(body_from_keypoints(small_kp), fg.shape, widen=SEED_WIDEN) > 0
        seeds[frame & fg] = k
        claims += frame & fg
    seeds[claims > 1] = 0
    return seeds


def _standing_on(people: list[np.ndarray], region: np.ndarray, f: float) -> int:
    """The label (index + 1) of the person with the most sure keypoints on ``region`` (bool, the image scaled by
    ``f``), at least MIN_POINTS of them; 0 for none."""
    counts = []
    for kp in people:
        scaled = kp.copy()
        scaled[:, :2] *= f
        x, y = pixels_inside(scaled, region.shape).T
        counts.append(int(region[y, x].sum()))
    best = int(np.argmax(counts)) if counts else 0
    return best + 1 if counts and counts[best] >= MIN_POINTS else 0


def _map_seeds(maps: list[np.ndarray], fg: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Inside ``fg``, the label of the person whose map is highest, where that is at least 0.5; else 0."""
    small = np.stack([cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_AREA) for m in maps])
    return np.where(fg & (small.max(axis=0) >= 0.5), small.argmax(axis=0) + 1, 0).astype(np.int32)


def _features(rgb: np.ndarray, edges: np.ndarray | None = None) -> np.ndarray:
    """Per-pixel features for the affinities: Lab colour and a boundary map (``edges``, else the gradient
    magnitude), unit spread."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    if edges is None:
        gray = lab[..., 0]
        edges = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    feats = np.dstack([lab, edges])
    return (feats - feats.mean(axis=(0, 1))) / (feats.std(axis=(0, 1)) + 1e-6)


def split_instances(rgb: np.ndarray, mask: np.ndarray, people: list[np.ndarray], edges: np.ndarray | None = None,
                    maps: list[np.ndarray] | None = None, given: bool = False) -> list[Instance]:
    """Everyone in ``rgb`` with their own mask (a split of ``mask`` among ``people``, ``group_pixels``),
    largest first."""
    masks = group_pixels(rgb, mask, people, edges, maps, given)
    out = []
    for k, m in enumerate(masks):
        kp = people[k] if k < len(people) else np.zeros((17, 3), np.float32)
        seen = kp[:, 2] >= MIN_SCORE
        if (m > 0).sum() == 0:
            continue
        out.append(Instance(m, kp, float(kp[seen, 2].mean()) if seen.any() else 0.5))
    return sorted(out, key=lambda i: -i.area)


#: The network of seed 004 that draws one person of several (``person_maps``): photos with instances or several
#: given people, on network methods.
PERSON_MODEL = "lwpsn-person"


def person_maps(rgb: np.ndarray, people: list[np.ndarray]) -> list[np.ndarray]:
    """Each person's probability from the person model (``lwpsn-person``: seed 000's LWPSN trained on
    overlapping people, fed one person's SSM), framed on their keypoints."""
    return [network_probability(rgb, PERSON_MODEL, box=keypoint_box(kp, rgb.shape[0]), people=[kp])
            for kp in people]
