"""Options and helpers shared by the subcommands; every choice and default comes from the library."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..errors import PersonsegError
from ..instances import PERSON_MODEL
from ..methods import DEFAULT_METHOD, METHODS
from ..models.registry import SPECS
from ..pipeline import SUBJECTS, Segmenter
from ..refine.matting import DEFAULT_MATTING, MATTING, MATTING_SIDE

#: --matting choices: the library's mattings, and "none".
MATTING_CHOICES = (*MATTING, "none")


def methods_help(default: str) -> str:
    """``--method`` help: every method's one-line summary, and the default."""
    return "segmentation method: " + "; ".join(f"{name}: {m.summary}" for name, m in METHODS.items()) + \
        f" (default: {default})"


def add_method_options(p: argparse.ArgumentParser, subject: bool = True) -> None:
    """The flags that choose and set up the Segmenter; ``subject``: offer --subject (not where everyone gets a mask
    of their own, as in annotate)."""
    p.add_argument("--method", default=DEFAULT_METHOD, choices=tuple(METHODS), help=methods_help(DEFAULT_METHOD))
    p.add_argument("--matting", default=DEFAULT_MATTING, choices=MATTING_CHOICES,
                   help="how the alpha matte is made: a guided filter (default, about 3 ms), closed-form matting "
                        "(pymatting, about 0.05 s, for the finest hair), or none (the method's own edges)")
    add_matting_side_option(p)
    add_model_option(p)
    add_mediapipe_masks_option(p)
    p.add_argument("--require-person", action="store_true",
                   help="an image where BlazePose finds nobody, on the whole image or on the crops of the mask's "
                        "largest regions, gets an empty mask and counts as 'no person found': stricter than the "
                        "default person check, and people BlazePose misses are lost too (measured before the "
                        "check: coco_people train 0.429 -> 0.387 IoU, coco_single train 0.754 -> 0.708)")
    p.add_argument("--no-person-check", action="store_true",
                   help="keep whatever the networks marked where BlazePose places nobody; by default each marked "
                        "region is then kept only when the region check trained here takes it for a person, or "
                        "BlazePose finds someone on its crop and the check does not rule it out, or a hand is found "
                        "on it (methods that find keypoints; fast only with --pose). It leaves most photos of nobody "
                        "empty, not all (accurate: no_people 10 of 60 photos marked instead of 37, among them a cat, "
                        "dogs, giraffes, a cake and a parking meter); people BlazePose misses are "
                        "lost more often: coco_people test 0.450 -> 0.438 IoU, coco_single test 0.707 -> 0.689; with "
                        "eval --video, as "
                        "personseg video --no-person-check)")
    if subject:
        p.add_argument("--subject", default="all", choices=SUBJECTS,
                       help="whom the mask is of: all (default: everyone found; other people the region check or "
                            "BlazePose confirms keep their mask) or main (only the most prominent person BlazePose "
                            "finds, or where it finds nobody the mask's largest region, for portraits with "
                            "passers-by: pennfudan train 0.794 -> 0.579 IoU against everyone, coco_single train, "
                            "one labelled person a photo, 0.759 -> 0.777; with eval --video, as personseg video "
                            "--subject)")
    p.add_argument("--pose", action="store_true",
                   help="find keypoints even where the method does not need them: fast then frames the people "
                        "it finds and joins BlazePose's outline (far better on full-body and wide shots, about "
                        "50 ms more)")


def add_mediapipe_masks_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-mediapipe-masks", action="store_true",
                   help="no mask from MediaPipe's models (its selfie segmentation model, BlazePose's outline): "
                        "BlazePose still finds the keypoints, only the networks trained here make the mask, to see "
                        "what is ours (accurate and fast: lower scores, chiefly on scenes; benchmarks/RESULTS.md)")


def add_matting_side_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--matting-side", type=int, default=MATTING_SIDE, metavar="PX",
                   help=f"longest side at which the matting runs, its alpha scaled back up (default {MATTING_SIDE}: "
                        "on 600x800 portraits as good as full size and 5x faster; 0: full size)")


def add_model_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", action="append", default=[], metavar="[NAME=]FILE",
                   help="run a network of your own (an ONNX file from `personseg export`) instead of the shipped "
                        "one: NAME is the model it replaces (e.g. sinet=runs/mine.onnx), and may be left out when "
                        "the method runs one network; repeat for several")


def models(args: argparse.Namespace) -> dict[str, Path]:
    """``--model`` values as model name -> file, for the chosen method (NAME= only where NAME is a model, so a
    file name may hold '=')."""
    chosen = {}
    for value in args.model:
        name, sep, path = value.partition("=")
        # a word before '=' names a model; a path (runs/lr=1e-3/best.onnx) is a file
        if sep and name not in SPECS and re.fullmatch(r"[\w-]+", name) and not Path(value).exists():
            raise PersonsegError(f"--model {value}: no model {name!r}; the models: {', '.join(SPECS)}")
        if not sep or name not in SPECS:
            path = value
            runs = METHODS[args.method].models
            if not runs:
                raise PersonsegError(f"--model {value}: method {args.method!r} runs no network for it to replace")
            if len(runs) != 1:
                raise PersonsegError(f"--model {value}: method {args.method!r} runs {', '.join(runs)}; say which it "
                                     "replaces as NAME=FILE")
            name = runs[0]
        chosen[name] = Path(path)
    return chosen


def matting(args: argparse.Namespace) -> str | None:
    return None if args.matting == "none" else args.matting


def segmenter_options(args: argparse.Namespace, keypoints: bool | None = None, given: bool = False,
                      per_person: bool | None = None) -> dict:
    """The Segmenter's options that ``add_method_options``' flags ask for (``keypoints``: as Segmenter's, where
    --pose does not ask for them; ``given``: the people to segment are given, so flags that search refuse;
    ``per_person``: masks are made per person, as with --instances or given people, the person model's work)."""
    subject = getattr(args, "subject", "all")   # annotate offers none
    if given and (args.require_person or subject != "all" or args.no_person_check):
        flags = ", ".join(["--require-person", "--no-person-check"] + ["--subject"] * hasattr(args, "subject"))
        raise PersonsegError(f"{flags} choose among the people found; with --people exactly the given people are "
                             "segmented")
    chosen = models(args)
    if per_person is None:
        per_person = getattr(args, "instances", False) or given
    if PERSON_MODEL in chosen and not per_person:   # it was recorded as used, and never ran
        raise PersonsegError(f"--model {PERSON_MODEL}=...: the person model makes one mask per person, with "
                             "--instances or people given; without them it does not run")
    return {"method": args.method, "matting": matting(args), "keypoints": True if args.pose else keypoints,
            "instances": getattr(args, "instances", False), "matting_side": args.matting_side or None,
            "models": chosen, "mediapipe_masks": not args.no_mediapipe_masks,
            "require_person": args.require_person, "subject": subject,
            "person_check": not args.no_person_check}


def segmenter(args: argparse.Namespace, keypoints: bool | None = None) -> Segmenter:
    """The Segmenter that ``add_method_options``' flags ask for."""
    return Segmenter(**segmenter_options(args, keypoints))


#: The images where nobody was found are named after a summary, this many at most.
NAMED = 10


def name_images(what: str, images: list) -> None:
    """After a summary, on stderr: "  ``what``: " and the first NAMED of ``images`` (paths or names), if any."""
    if images:
        more = f" and {len(images) - NAMED} more" if len(images) > NAMED else ""
        print(f"  {what}: {', '.join(map(str, images[:NAMED]))}{more}", file=sys.stderr)


def say(line: str) -> None:
    """A progress line on stderr."""
    print(line, file=sys.stderr, flush=True)


