"""`personseg annotate`: one COCO file of everyone's box, keypoints and mask in whole folders, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..annotate import ENGINES, annotate
from ..batch import not_photos
from ..errors import PersonsegError, interrupted
from ..progress import progress
from .common import NAMED, add_method_options, name_images, segmenter_options


def add_parser(sub) -> None:
    a = sub.add_parser("annotate", help="COCO annotations (box, keypoints, mask per person) for images and folders",
                       description="Write one COCO file (category person, 17 keypoints) with everyone found in the "
                                   "images: mask as RLE (or --polygons), box, area, keypoints and score. Each "
                                   "finished image is kept "
                                   "at once in a hidden folder beside the output (.NAME.parts), so a stopped run "
                                   "goes on where it stopped when run again, and the same command run later "
                                   "annotates only the photos added or changed since (photos gone leave the file; "
                                   "a file edited since is left as it is); the file is the same whatever order "
                                   "images finish in. Exit status 1: some images failed (named; the file holds the "
                                   "rest, and the same command tries the failed ones again). Every method "
                                   "searches for everyone and makes a mask for each person here, so the time "
                                   "per photo is about the same whichever is chosen: on 2 cores, the default "
                                   "method, 0.26 s with one person to 0.44 s with five or more on an AVX-512 EPYC "
                                   "(benchmarks/RESULTS.md), a median of 0.8 s on 10 pennfudan and 10 coco_people "
                                   "test photos on an older AVX2 one (measured for this help); --workers runs "
                                   "photos side by side.")
    a.add_argument("paths", nargs="+", metavar="PATH", help="photos and folders of photos (searched recursively)")
    a.add_argument("-o", "--out", required=True, type=Path, help="the COCO .json file to write")
    add_method_options(a, subject=False)   # everyone gets a mask of their own
    a.add_argument("--people", type=Path, metavar="COCO.json",
                   help="segment the people of this COCO keypoint file (images matched by file_name, relative to "
                        "the folder named; only those it lists) instead of searching for them: masks for a pose "
                        "dataset. The file is written back as it was, each person's segmentation, area and bbox "
                        "(the mask's box) filled; a person with fewer than two labelled joints inside the photo "
                        "gets an empty mask and keeps a box given (noted where they have any joint)")
    a.add_argument("--edited", action="store_true",
                   help="with --people, the file is an earlier annotate file after edits (keypoints moved, people "
                        "added or removed, outlines corrected by hand): the people as the search finds them keep the "
                        "search's masks, or their outline where it is not what this run would write for it (the "
                        "same --polygons and --simplify as the file's), and only the others are segmented from "
                        "their keypoints, as the web page's edits do "
                        "(without it, everyone is segmented from their keypoints, which remakes every mask); photos "
                        "under the paths that the file does not list are searched and added, numbered on from "
                        "its largest ids")
    a.add_argument("--min-area", type=int, default=0, metavar="PX",
                   help="leave out people of fewer pixels (default 0); another value on a rerun rewrites the file "
                        "without segmenting again, each person keeping their id")
    a.add_argument("--polygons", action="store_true",
                   help="segmentations as polygons, which Label Studio's COCO import and some trainers read, "
                        "instead of compressed run lengths: one outline a separate part, largest first, traced "
                        "along the pixels' edges (parts under 1%% of the person left out, and holes, between an "
                        "arm and the body, filled: a polygon cannot leave them out); switching it on or off "
                        "rewrites the file from the earlier run's work")
    a.add_argument("--simplify", type=float, default=0.0, metavar="PX",
                   help="with --polygons, simplify each outline within PX pixels (Douglas-Peucker), for editing "
                        "by hand: on pedestrians about 750 corners a person exact, 300 at 0.5, 83 at 1 (default "
                        "0: exact)")
    a.add_argument("--workers", type=int, default=0, metavar="N",
                   help="processes, each with its own models (default 0: this process; about one per two cores "
                        "helps), or with --engine ray the number of actors (default: one per two CPUs)")
    a.add_argument("--engine", default="local", choices=ENGINES,
                   help="local (this machine, --workers processes) or ray (Ray Data and actors; needs "
                        "pip install 'personseg[ray]')")
    a.add_argument("--address", help="with --engine ray, a running cluster's address (default: start one here)")
    a.add_argument("--overwrite", action="store_true",
                   help="start afresh: replace the file and the parts of earlier runs beside it")
    a.add_argument("--quiet", action="store_true", help="no progress (a bar on a terminal, else a line every 30 s)")
    a.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.simplify and not args.polygons:
        raise PersonsegError("--simplify is for --polygons; add it, or leave the option out")
    if args.address and args.engine != "ray":
        raise PersonsegError("--address is for --engine ray; add it, or leave the option out")
    options = segmenter_options(args, keypoints=True, given=args.people is not None, per_person=True)
    try:
        summary = annotate(args.paths, args.out, options, min_area=args.min_area, workers=args.workers,
                           overwrite=args.overwrite, engine=args.engine, address=args.address, people=args.people,
                           edits=args.edited,
                           polygons=args.simplify if args.polygons else None,
                           progress=lambda it, total: progress(it, total, args.quiet))
    except BaseException as e:
        if interrupted(e):
            print("personseg: stopped; the same command goes on where this one stopped (photos already annotated "
                  "are not done again)", file=sys.stderr)
        raise
    images, people = summary["images"], summary["people"]
    parts = [f"{images} image{'s' * (images != 1)}, {people} {'person' if people == 1 else 'people'} written to "
             f"{args.out}"]
    parts += [f"{summary['done_before']} done by an earlier run"] * bool(summary["done_before"])
    parts += [f"{summary['unchanged']} with their people as an earlier run found them: its masks kept, not searched "
              "again"] * bool(summary["unchanged"])
    nobody = ("no person found" if not summary["small"] else
              f"no person kept (none found, or all under --min-area {args.min_area})")
    parts += [f"{nobody} in {len(summary['nobody'])}"] * bool(summary["nobody"])
    parts += [f"{len(summary['gone'])} no longer under the paths left the file"] * bool(summary["gone"])
    parts += [f"{summary['small']} people under --min-area {args.min_area} left out"] * bool(summary["small"])
    parts += [f"{len(summary['unplaced'])} of the people given got an empty mask"] * bool(summary["unplaced"])
    parts += [f"{len(summary['failed'])} failed (why: below; the same command again tries only those"
              + ", with the same --people file" * bool(args.people) + ")"] * bool(summary["failed"])
    parts += [f"{len(summary['missing'])} not found" + " (listed in --people)" * bool(args.people)] * bool(
        summary["missing"])
    print("; ".join(parts), file=sys.stderr)
    for kind, listed in (("failed", summary["failed"]), ("not found", summary["missing"])):
        for path, why in listed[:NAMED if kind == "not found" else None]:   # (a file of another folder: all)
            print(f"  {kind}: {why if why.startswith(str(path)) else f'{path}: {why}'}", file=sys.stderr)
    if len(summary["missing"]) > NAMED:
        print(f"  not found: {len(summary['missing']) - NAMED} more", file=sys.stderr)
    for name in summary["gone"]:
        print(f"  left the file: {name}", file=sys.stderr)
    name_images(nobody, summary["nobody"])
    empty: dict[str, list[str]] = {}
    for name, ann_id in summary["unplaced"]:
        empty.setdefault(name, []).append(str(ann_id))
    name_images("empty masks (fewer than two of a person's keypoints on the photo, or nothing marked around them; "
                "their keypoints are kept)", [f"{name} (annotation {', '.join(ids)})" for name, ids in empty.items()])
    if summary["others"]:
        print(f"  {not_photos(summary['others'])}", file=sys.stderr)
    return 1 if summary["failed"] or summary["missing"] else 0
