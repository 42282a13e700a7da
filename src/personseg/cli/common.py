"""Options and helpers shared by the subcommands; every choice and default comes from the library."""

from __future__ import annotations

import argparse
import sys

from ..errors import PersonsegError
from ..methods import DEFAULT_METHOD, METHODS
from ..pipeline import Segmenter
from ..refine.matting import DEFAULT_MATTING, MATTING, MATTING_SIDE

#: --matting choices: the library's mattings, and "none".
MATTING_CHOICES = (*MATTING, "none")


def methods_help(default: str) -> str:
    """``--method`` help: every method's one-line summary, and the default."""
    return "segmentation method: " + "; ".join(f"{name}: {m.summary}" for name, m in METHODS.items()) + \
        f" (default: {default})"


def add_method_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default=DEFAULT_METHOD, choices=tuple(METHODS), help=methods_help(DEFAULT_METHOD))
    p.add_argument("--matting", default=DEFAULT_MATTING, choices=MATTING_CHOICES,
                   help="how the alpha matte is made: a guided filter (default, about 10 ms), closed-form matting "
                        "(pymatting, about 10x slower, for the finest hair), or none (the method's own edges)")
    p.add_argument("--matting-side", type=int, default=MATTING_SIDE, metavar="PX",
                   help=f"longest side at which the matting runs, its alpha scaled back up (default {MATTING_SIDE}: "
                        "on 600x800 portraits as good as full size and 5x faster; 0: full size)")
    p.add_argument("--pose", action="store_true",
                   help="find keypoints even where the method does not need them: fast then frames the people "
                        "it finds and joins BlazePose's outline (far better on full-body and wide shots, about "
                        "50 ms more)")


def matting(args: argparse.Namespace) -> str | None:
    return None if args.matting == "none" else args.matting


def segmenter(args: argparse.Namespace, keypoints: bool | None = None) -> Segmenter:
    """The Segmenter that ``add_method_options``' flags ask for."""
    if args.matting_side < 0:
        raise PersonsegError("--matting-side must be 0 (full size) or a positive number of pixels")
    return Segmenter(method=args.method, matting=matting(args), keypoints=True if args.pose else keypoints,
                     instances=getattr(args, "instances", False), matting_side=args.matting_side or None)


def say(line: str) -> None:
    """A progress line on stderr."""
    print(line, file=sys.stderr, flush=True)
