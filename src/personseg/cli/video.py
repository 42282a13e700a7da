"""`personseg video`: a video file or a folder of frames in; a composited video, or per-frame files, out."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import PersonsegError, interrupted
from ..methods import DEFAULT_VIDEO_METHOD, METHODS
from ..outputs import DEFAULT_BLUR, OUTPUTS, VIDEO_OUTPUTS
from ..pipeline import SUBJECTS
from ..video.io import VIDEO_SUFFIXES
from ..video.run import run_video, video_file
from ..video.stream import FRAMING_EVERY, METHOD_MATTING
from .common import (MATTING_CHOICES, add_matting_side_option, add_mediapipe_masks_option, add_model_option, matting,
                     methods_help, models)


def add_parser(sub) -> None:
    v = sub.add_parser("video", help="segment a video file (mp4, mov, webm, ... anything PyAV reads) or a folder of "
                                     "frames", description="Segment a video file or a folder of frames, in bounded "
                                                           "memory, showing progress.")
    v.add_argument("input", type=Path, metavar="IN",
                   help="a video file, or a folder of frames, read in the order of their names with numbers by value "
                        "(2.jpg before 10.jpg)")
    v.add_argument("-o", "--out", required=True,
                   help=f"a video file ({' '.join(VIDEO_SUFFIXES)}; the sound is kept; a cut-out with its "
                        "transparency: .webm or .mov) or a folder for per-frame PNGs (a name ending in / is a folder)")
    v.add_argument("--method", default=DEFAULT_VIDEO_METHOD, choices=tuple(METHODS),
                   help=methods_help(DEFAULT_VIDEO_METHOD) + "; on 854x480 video end to end, 2 cores: accurate 10-18 "
                        "frames/s, fast 18-31 (it loses arms and legs in motion: parkour clip 0.81 IoU against 0.93)")
    v.add_argument("--save", help=f"into a video file one of {', '.join(VIDEO_OUTPUTS)} (default: blur); into a "
                                  f"folder, comma-separated per-frame outputs of {', '.join(OUTPUTS)} (default: mask)")
    v.add_argument("--background", help="colour (name, #rrggbb, rrggbb or rgb) or image for 'replace'")
    v.add_argument("--blur", type=float, help="for the blur output: how strong, as a share of the image "
                   f"diagonal (default {DEFAULT_BLUR})")
    v.add_argument("--fps", type=float,
                   help="frame rate of a folder of frames (default 25; a video file keeps its own); 23.976 (or 23.98), "
                        "29.97 and 59.94 are NTSC's 24000/1001, 30000/1001 and 60000/1001")
    v.add_argument("--pose-every", type=int, metavar="N",
                   help="detect keypoints every N frames and track them in between (default: every frame for "
                        f"methods that need keypoints, every {FRAMING_EVERY} for the others, which use them to frame "
                        "the people; 0: never, the network then follows its last mask and no person check runs: "
                        "fast on the parkour, tennis and hike clips 0.713, 0.756, 0.845 IoU against 0.806, 0.762, "
                        "0.849 with its default; methods that need keypoints take 1 only). 1 with fast: BlazePose's "
                        "outline is joined too (far better on whole bodies, slower)")
    v.add_argument("--keypoints", type=Path, metavar="FILE",
                   help="write tracked keypoints here: JSON lines, one per frame, {\"frame\": its index from 0, "
                        "\"stem\": its file's stem (frame-000001 ... for a video file), for a video file \"time\": its "
                        "time in seconds (as the file times it: variable frame rates too), \"people\": [{\"id\": track "
                        "id, \"keypoints\": 17 COCO [x, y, score], points past the frame's edge kept where BlazePose "
                        "places them}]}; a rerun that completes a folder writes its earlier run's file anew. Between "
                        "detections points are followed by optical flow: a point inside the frame that drifted more "
                        "than 2%% of its diagonal off the mask gets score 0 and a track left with under two points "
                        "of score 0.3 or more is not listed; with fast's detections every 5th frame they drift on "
                        "fast motion (and a person may get a second id for a few frames): for keypoints that matter "
                        "keep the default method (accurate) or give fast --pose-every 1")
    v.add_argument("--no-smooth", action="store_true", help="no temporal smoothing")
    v.add_argument("--matting", default=METHOD_MATTING, choices=(METHOD_MATTING, *MATTING_CHOICES),
                   help="make each frame's alpha by this matting (default: guided for fast, none for the other "
                        "methods, as measured on the parkour, tennis and hike clips: guided gives fast finer edges "
                        "and less flicker for about 8 ms a 854x480 frame, and cost accurate 0.004-0.008 IoU)")
    add_matting_side_option(v)
    add_model_option(v)
    add_mediapipe_masks_option(v)
    v.add_argument("--subject", default="all", choices=SUBJECTS,
                   help="whom the mask is of: all (default: everyone the pose step finds; the frame is "
                        "searched every 15 frames, so somebody walking in joins within that) or main (the most "
                        "prominent person of the first frame with anyone in it, followed by where they move and "
                        "what they look like; only their regions are kept, so other people stay out while apart "
                        "from them, but one who walks across them is in the mask while they overlap; where the "
                        "subject is lost the mask is empty rather than someone else's)")
    v.add_argument("--no-person-check", action="store_true",
                   help="keep whatever the networks marked; by default, until the region check trained here has "
                        "taken a person's region for a person once, their regions are kept only where it does, and "
                        "with nobody so taken every marked region must pass it. It leaves most clips of nobody empty, "
                        "not all: on a pan over each no_people photo accurate marks 23 of 60 clips instead of 55, "
                        "fast 24 instead of 60, animals (dogs, cats, giraffes) among those marked (not with classical, "
                        "whose cuts it cannot judge, nor --pose-every 0)")
    v.add_argument("--overwrite", action="store_true",
                   help="replace outputs that exist (without it, a rerun into a folder completes the frames an "
                        "interrupted run left, and only with the same settings)")
    v.add_argument("--quiet", action="store_true", help="no progress (a bar on a terminal, else a line every 30 s)")
    v.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.pose_every is not None and args.pose_every < 0:
        raise PersonsegError(f"--pose-every {args.pose_every}: give 0 (never) or a number of frames")
    if args.pose_every not in (None, 1) and METHODS[args.method].needs_keypoints:
        raise PersonsegError(f"--pose-every {args.pose_every}: method {args.method} needs keypoints on every frame "
                             "(give 1 or leave it out)")
    if args.fps is not None and args.input.is_file():
        raise PersonsegError(f"--fps sets the frame rate of a folder of frames; {args.input} keeps its own (25 where "
                             "it declares none)")
    made_folder = not video_file(args.out) and not Path(args.out).exists()
    try:
        summary = run_video(args.input, args.out, method=args.method, save=args.save, background=args.background,
                            blur=args.blur, fps=25.0 if args.fps is None else args.fps, pose_every=args.pose_every,
                            keypoints=args.keypoints,
                            smooth=not args.no_smooth, matting=matting(args), matting_side=args.matting_side or None,
                            models=models(args),
                            overwrite=args.overwrite, progress=not args.quiet,
                            mediapipe_masks=not args.no_mediapipe_masks, subject=args.subject,
                            person_check=not args.no_person_check)
    except BaseException as e:
        if not interrupted(e):   # also Ctrl-C or SIGTERM met inside a library (numba's code raises SystemError)
            raise
        kept = f"; {args.out} is as it was" if args.overwrite and Path(args.out).is_file() else ""
        print("personseg: " + (f"no video file was written (the unfinished one is removed{kept}); rerun to start "
                               "again" if video_file(args.out) else
                               "any frames written are kept; rerun the same command to do the rest"), file=sys.stderr)
        raise
    kept = f", {summary['kept']} kept as an earlier run wrote them" if summary["kept"] else ""
    frames = f"{summary['frames']} frame{'s' * (summary['frames'] != 1)}"
    if summary["kept"] == summary["frames"] and not summary["seconds"]:   # nothing redone: no speed to tell
        print(f"{frames}: all kept in {args.out} as an earlier run wrote them", file=sys.stderr)
    else:
        print(f"{frames} in {summary['seconds']:.1f} s ({summary['fps']:.1f} frames/s): "
              f"{summary['frames'] - summary['kept']} written to {args.out}{kept}", file=sys.stderr)
    if summary["nobody"]:
        doubt = ("; if someone is in them, the person check doubted them: --no-person-check keeps what the "
                 "method marks" if not args.no_person_check and METHODS[args.method].regions_checked
                 and args.pose_every != 0 else "")
        print(f"  no person found in {summary['nobody']} of {summary['frames']} frames (their masks are empty"
              f"{doubt})", file=sys.stderr)
    if made_folder and not Path(args.out).suffix and not str(args.out).endswith(("/", os.sep)):   # as meant?
        summary["notes"].append(f"--out {args.out} is a folder of per-frame files (a video file's name ends in "
                                f"{', '.join(VIDEO_SUFFIXES)})")
    for note in summary["notes"]:
        print(f"  note: {note}", file=sys.stderr)
    for why in summary["skipped"]:
        print(f"  skipped: {why}", file=sys.stderr)
    return 1 if summary["skipped"] or summary["truncated"] else 0
