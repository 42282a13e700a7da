"""`personseg eval`: score a method against true masks (photos, a clip's frames, or one mask per person)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .. import __version__
from ..data import read_ids
from ..errors import PersonsegError
from ..coco import segmentation_mask
from ..evaluate import (WORST_COUNT, WorstCases, check_pairs, evaluate, evaluate_people, instance_sets, paired,
                        predicted_people)
from ..methods import DEFAULT_METHOD
from ..image import not_there, write_bytes, write_image
from ..outputs import refuse_existing
from ..pipeline import Segmenter
from ..refine.matting import DEFAULT_MATTING, MATTING_SIDE
from ..runsettings import shared_settings
from ..video.stream import METHOD_MATTING, VideoSegmenter
from ..progress import progress
from .common import add_method_options, matting, models, segmenter

#: --json ``-`` writes the scores on stdout.
STDOUT = "-"


def add_parser(sub) -> None:
    e = sub.add_parser("eval", aliases=["evaluate"], help="score a method against ground-truth masks",
                       description="Score a method: mean foreground IoU, 2-class mIoU, boundary F (and flicker "
                                   "for a clip, or people found / missed for --people; where some true masks are "
                                   "empty, as on photos with nobody, how many of those photos got any person pixel "
                                   "and the share of their pixels marked).")
    e.add_argument("--images", type=Path, help="folder of images (with --people and a COCO file: the folder its "
                                                "file_names are under; default the file's folder)")
    e.add_argument("--masks", type=Path, help="folder of true masks (same stems)")
    e.add_argument("--people", type=Path, metavar="ANNOTATIONS",
                   help="instead: score one mask per person against an annotations file: COCO instances (from "
                        "personseg annotate, CVAT, Label Studio; category person, crowds not scored) or laid out "
                        "like pose_mini's annotations.json")
    e.add_argument("--predictions", type=Path, metavar="COCO.json",
                   help="with --people: score the people of this COCO file (personseg annotate's, after edits or "
                        "not, or another tool's; its file_names matched to the end of the true photos' paths) "
                        "instead of running a method (each person with a segmentation, crowds too); only the "
                        "photos it lists are scored (a photo it lists with no one: nobody found), the summary says "
                        "how many of the truth's it does not")
    e.add_argument("--crowds-as-people", action="store_true",
                   help="with --people and a COCO file: score its crowd annotations (iscrowd) as people, not as "
                        "regions nobody is scored on (CVAT writes its mask annotations as crowds)")
    e.add_argument("--min-area", type=int, default=0, metavar="PX",
                   help="with --people: leave out found people of fewer pixels, as annotate --min-area does")
    e.add_argument("--ids", type=Path, help="file of image ids (stems), one per line (not with --people, whose file "
                                            "names the photos; --limit takes its first N)")
    add_method_options(e)
    e.add_argument("--limit", type=int, help="score only the first N images")
    e.add_argument("--video", action="store_true",
                   help="the images are a clip's frames (in name order): segment them as personseg video does "
                        "(each method's video matting, guided for fast, unless --matting is given), report flicker")
    e.add_argument("--pose-every", type=int, metavar="N",
                   help="with --video: as personseg video --pose-every (fast with 1: BlazePose on every frame, its "
                        "outline joined)")
    e.add_argument("--worst", type=Path, help="save a picture of the worst cases here (PNG): each tile names the image "
                                               "and its IoU; the true outline green, the method's magenta")
    e.add_argument("--worst-count", type=int, metavar="N",
                   help=f"how many of the worst images --worst shows (default {WORST_COUNT})")
    e.add_argument("--json", help="write the scores as JSON here, each image's too (per_image); - : on stdout "
                                  "instead of the one-line summary (./- for a file of that name)")
    e.add_argument("--overwrite", action="store_true", help="replace --worst and --json files that exist")
    e.add_argument("--quiet", action="store_true", help="no progress (a bar on a terminal, else a line every 30 s)")
    e.set_defaults(run=run, matting=None)   # None: the default of what is scored (photos: DEFAULT_MATTING)


def _progress(args: argparse.Namespace):
    return lambda it: progress(it, quiet=args.quiet)


def run(args: argparse.Namespace) -> int:
    if args.video and args.require_person:
        raise PersonsegError("--require-person is for photos; video follows the people it finds")
    if args.video and args.people:
        raise PersonsegError("--people scores photos' people; --video is for a clip's frames: choose one")
    if args.video and args.pose:
        raise PersonsegError("--pose is for photos; for a clip give --pose-every 1, as to personseg video")
    if args.video and args.ids:   # the frames listed were segmented as if one followed the other
        raise PersonsegError("--ids with --video: a clip is segmented frame after frame, every one; give the clip's "
                             "frames with a mask for each")
    if args.pose_every is not None and not args.video:
        raise PersonsegError("--pose-every is for a clip's frames: give --video too")
    if args.limit is not None and args.limit < 1:
        raise PersonsegError(f"--limit {args.limit}: give the number of images to score, 1 or more")
    if args.worst_count is not None and not args.worst and not args.people:   # --people: refused there
        raise PersonsegError("--worst-count is the number of images --worst shows: give --worst FILE too")
    if args.worst_count is not None and args.worst_count < 1:
        raise PersonsegError(f"--worst-count {args.worst_count}: give the number of worst images to show, 1 or more")
    if args.worst is not None and str(args.worst) == STDOUT:
        raise PersonsegError("--worst -: the picture needs a file (PNG); - (stdout) is for --json")
    if args.matting is None:   # as personseg segment and personseg video make them by default
        args.matting = METHOD_MATTING if args.video else DEFAULT_MATTING
    # "-" as typed is stdout (a Path would read ./- so too); any other name a file
    args.json = args.json if args.json in (None, STDOUT) else Path(args.json)
    if args.worst and isinstance(args.json, Path) and args.worst.resolve() == args.json.resolve():
        raise PersonsegError(f"--worst and --json are both {args.json}: give each a file of its own")
    files = (("--worst", args.worst), ("--json", None if args.json == STDOUT else args.json))
    for flag, path in files:
        if path is not None and path.is_dir():
            raise PersonsegError(f"{flag} {path}: is a folder; name a file")
    refuse_existing([path for _, path in files], args.overwrite)
    for flag, given in (("--min-area", args.min_area), ("--crowds-as-people", args.crowds_as_people),
                        ("--predictions", args.predictions)):
        if given and not args.people:
            raise PersonsegError(f"{flag} is for scoring people: it goes with --people")
    if args.min_area < 0:
        raise PersonsegError(f"--min-area {args.min_area}: give a number of pixels, 0 or more")
    if args.predictions is not None and not args.predictions.is_file():   # before the truth's photos are read
        raise PersonsegError(f"--predictions {args.predictions}: {not_there(args.predictions)}")
    if args.people:
        return _people(args)
    if not args.images or not args.masks:
        raise PersonsegError("give --images and --masks (or --people ANNOTATIONS)")
    ids = read_ids(args.ids) if args.ids else None
    if ids == []:
        raise PersonsegError(f"--ids {args.ids}: lists no ids")
    for p in (args.images, args.masks):
        if not p.is_dir():
            raise PersonsegError(f"{p}: not a folder")
    if args.images.resolve() == args.masks.resolve():
        raise PersonsegError(f"--masks {args.masks} is the --images folder: give the folder of true masks")
    pairs, lacking = paired(args.images, args.masks, ids)
    pairs = pairs[: args.limit]
    if not pairs and not lacking:
        raise PersonsegError("no images to score")
    check_pairs(pairs, f"{args.images} and {args.masks}", lacking)   # before minutes of segmenting
    seg = (VideoSegmenter(args.method, pose_every=args.pose_every, matting=matting(args),
                          matting_side=args.matting_side or None, models=models(args),
                          mediapipe_masks=not args.no_mediapipe_masks, subject=args.subject,
                          person_check=not args.no_person_check)
           if args.video else segmenter(args))
    worst = WorstCases(args.worst_count or WORST_COUNT)
    ev = evaluate(lambda rgb: seg(rgb).mask, pairs, _progress(args), worst.keep if args.worst else None,
                  clip=args.video)
    summary = ev.scores.summary() | _settings(args, seg) | {
        "seconds_per_image": round(sum(ev.seconds) / max(len(ev.seconds), 1), 3)}
    if ev.flicker is not None:
        summary["flicker"] = round(ev.flicker.value, 5)
    _report(args, summary, ev.per_image)
    picture = worst.picture() if args.worst else None
    if picture is not None:
        write_image(args.worst, picture, overwrite=True)
    return 0


def _people(args: argparse.Namespace) -> int:
    if args.subject != "all":
        raise PersonsegError("--people scores everyone's masks; --subject main keeps one person: choose one")
    given = [flag for flag, value in (("--masks", args.masks), ("--ids", args.ids), ("--worst", args.worst),
                                      ("--worst-count", args.worst_count)) if value is not None]
    if given:   # the annotations file names the photos and holds the masks
        raise PersonsegError(f"{', '.join(given)}: not with --people, whose file names the photos and their masks "
                             "(--limit takes the first N)")
    # a bad file refused before the models load
    sets = instance_sets(args.people, args.images, args.limit, args.crowds_as_people)
    if args.predictions is not None:
        return _predictions(args, sets)
    args.instances = True
    seg = segmenter(args)
    least = max(1, args.min_area)   # annotate's rule: a person of no pixel is nobody
    per_image: list[tuple[str, dict[str, int]]] = []
    match = evaluate_people(lambda rgb: [i.mask for i in seg(rgb).instances if i.area >= least], sets,
                            _progress(args), lambda ident, counts: per_image.append((ident, counts)))
    summary = match.summary() | {"images": len(sets)} | _settings(args, seg)
    _report(args, summary, per_image)   # each image's counts, as photos' give each image's IoU: what to look at
    return 0


def _predictions(args: argparse.Namespace, sets: list) -> int:
    """``--predictions``: the people of a COCO file scored against the truth (``sets``) as a method's are."""
    ran = [flag for flag, given in (("--method", args.method != DEFAULT_METHOD), ("--matting", args.matting !=
           DEFAULT_MATTING), ("--matting-side", args.matting_side != MATTING_SIDE), ("--model", args.model),
           ("--pose", args.pose), ("--require-person", args.require_person),
           ("--no-person-check", args.no_person_check), ("--no-mediapipe-masks", args.no_mediapipe_masks)) if given]
    if ran:
        raise PersonsegError(f"{', '.join(ran)}: no method runs with --predictions (its people are scored as they are)")
    found = predicted_people(args.predictions, [path for _, path, _, _ in sets])
    listed = [k for k, people in enumerate(found.people) if people is not None]   # a subset of the truth's photos
    if not listed:
        bases = {path.name: path for _, path, _, _ in sets}
        near = next((name for name in found.unmatched if name.rsplit("/", 1)[-1] in bases), None)
        hint = (f": it names {near!r}, where the photo is {bases[near.rsplit('/', 1)[-1]]} (the folders in its "
                "names are not those of the photos' paths)" if near is not None else "")
        raise PersonsegError(f"{args.predictions} lists none of the {len(sets)} photos of {args.people} (file_names "
                             f"are matched to the end of the photos' paths){hint}")
    scored = [sets[k] for k in listed]
    people, sizes = iter(found.people[k] for k in listed), iter(found.sizes[k] for k in listed)
    names = iter(name for name, _, _, _ in scored)
    least = max(1, args.min_area)

    def predict(rgb):
        segmentations, (w, h), name = next(people), next(sizes), next(names)
        if None not in (w, h) and (w, h) != rgb.shape[1::-1]:
            turned = " (its EXIF orientation turns it; the masks may be of the pixels as stored)" if (
                h, w) == rgb.shape[1::-1] else ""
            raise PersonsegError(f"{args.predictions} gives {name} as {w}x{h}; the photo is "
                                 f"{rgb.shape[1]}x{rgb.shape[0]}{turned}: its masks are scored on the photo as it is")
        try:
            masks = [segmentation_mask(s, rgb.shape) for s in segmentations]
        except ValueError as e:
            raise PersonsegError(f"{args.predictions}: a segmentation of {name} cannot be read ({e})") from None
        return [m for m in masks if (m > 0).sum() >= least]

    per_image: list[tuple[str, dict[str, int]]] = []
    match = evaluate_people(predict, scored, _progress(args), lambda ident, counts: per_image.append((ident, counts)))
    summary = match.summary() | {
        "images": len(scored), "predictions": str(args.predictions),
        "true_photos_not_listed": len(sets) - len(scored), "listed_photos_not_scored": len(found.unmatched),
        "listed_photos_not_scored_first": found.unmatched[:5],   # none of the truth's, or beyond --limit
        "limit": args.limit, "min_area": args.min_area, "crowds_as_people": args.crowds_as_people,
        "data": [str(args.people)] + ([str(args.images)] if args.images else []), "version": __version__}
    _report(args, summary, per_image)
    return 0


def _report(args: argparse.Namespace, summary: dict, per_image: list) -> None:
    """The summary on one line, and with --json the scores with each image's in that file (``-``: on stdout
    instead of the line, for a pipe)."""
    scores = json.dumps(summary | {"per_image": per_image}, indent=1)
    if args.json == STDOUT:
        print(scores)
        return
    print(json.dumps(summary))
    if args.json:
        write_bytes(args.json, scores.encode(), overwrite=True)


def _settings(args: argparse.Namespace, seg: Segmenter | VideoSegmenter) -> dict:
    """Everything of a run that its scores depend on, for its JSON: ``seg``'s as segment and video record them
    (runsettings.shared_settings: the matting and the person check as they run), then eval's own."""
    return shared_settings(seg, not args.no_mediapipe_masks, (), None, None) | {
        "require_person": args.require_person, "pose": args.pose, "video": args.video,
        "pose_every": args.pose_every, "limit": args.limit, "min_area": args.min_area,
        "crowds_as_people": args.crowds_as_people,
        "ids": None if args.ids is None else str(args.ids),
        "data": ([str(args.people)] + ([str(args.images)] if args.images else []) if args.people
                 else [str(args.images), str(args.masks)]), "version": __version__}
