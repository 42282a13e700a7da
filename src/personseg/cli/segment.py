"""`personseg segment`: image files and folders in, one set of output files per image out; a rerun completes
what an earlier run left undone."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from ..annotate import given_people, read_people_file
from ..batch import (Job, OutputRecord, OutputsActor, image_settings, not_photos, plan_batch, remove_leftovers,
                     sole_writer, writable_folder)
from ..raywork import ray_run
from ..errors import PersonsegError, describe, interrupted
from ..image import not_there
from ..outputs import DEFAULT_BLUR, DEFAULT_OUTPUTS, OUTPUTS, parse_outputs, save_outputs
from ..pipeline import Segmenter
from ..refine.matting import preload_pymatting
from ..progress import progress
from .common import add_method_options, name_images, segmenter_options


def add_parser(sub) -> None:
    s = sub.add_parser("segment", help="segment image files and folders (recursive)",
                       description="Segment image files and folders (searched recursively; their layout is kept). "
                                   "Images whose outputs all exist are skipped, and an image left with only some "
                                   "of them gets the missing ones: rerunning a stopped batch completes it. The "
                                   "settings that made each image's outputs are recorded in --out: a rerun with "
                                   "other settings (method, matting, ...) is refused unless --overwrite, and a "
                                   "photo changed since its outputs were made is done again.")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("-o", "--out", required=True, type=Path, help="output folder (not an input folder)")
    add_method_options(s)
    s.add_argument("--save", default=",".join(DEFAULT_OUTPUTS),
                   help="comma-separated outputs: " + "; ".join(f"{n} ({k.help})" for n, k in OUTPUTS.items())
                   + f" (default: {','.join(DEFAULT_OUTPUTS)}; outputs that hold keypoints run the pose backend, "
                   "which with --method fast frames the networks on the people it finds, as --pose)")
    s.add_argument("--background", help="colour (name, #rrggbb, rrggbb or rgb) or image for the 'replace' output")
    s.add_argument("--blur", type=float, help="for the blur output: how strong, as a share of the image "
                   f"diagonal (default {DEFAULT_BLUR})")
    s.add_argument("--instances", action="store_true",
                   help="one mask per person too: NAME.person-1.mask.png ... (largest first), each other picture "
                        "saved of each person alone (NAME.person-1.cutout.png ...) and NAME.instances.json")
    s.add_argument("--people", type=Path, metavar="COCO.json",
                   help="segment exactly the people of this COCO keypoint file, their keypoints as the priors, "
                        "instead of searching (images matched by file_name, relative to the folder named; only "
                        "those it lists). `personseg annotate --people` writes the file back with their masks")
    s.add_argument("--engine", default="local", choices=("local", "ray"),
                   help="local (this process) or ray (Ray Data reads the images, actors of one CPU segment them; "
                        "needs pip install 'personseg[ray]')")
    s.add_argument("--workers", type=int, default=0, metavar="N",
                   help="with --engine ray, the number of actors (default: one per two CPUs)")
    s.add_argument("--address", help="with --engine ray, a running cluster's address (default: start one here)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace outputs that exist (default: keep them); an image's outputs made with other "
                        "settings that this run does not write are removed")
    s.add_argument("--quiet", action="store_true", help="no progress (a bar on a terminal, else a line every 30 s)")
    s.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.engine != "ray" and (args.workers or args.address):
        raise PersonsegError(f"{'--workers' if args.workers else '--address'} is for --engine ray; add it, or leave "
                             "the option out (the local engine segments in this process)")
    outputs = parse_outputs(args.save, args.background, args.blur)   # once, before the batch
    args.blur = DEFAULT_BLUR if args.blur is None else args.blur
    plan = plan_batch(args.paths, args.out)
    given = None if args.people is None else given_people(read_people_file(args.people))
    if given is not None:
        plan.only(given)
    if not plan.jobs:
        raise plan.nothing_found(listed=given is not None)
    failed: list[tuple[Path, str]] = [(p, not_there(p)) for p in plan.missing]
    written, nobody = 0, []
    options = segmenter_options(args, keypoints=True if any(OUTPUTS[o].keypoints for o in outputs) else None,
                                given=given is not None)
    seg = Segmenter(**options)   # also checks the options before any work, on Ray too
    settings = image_settings(seg, outputs, args.background, args.blur, args.people)
    if not args.out.is_dir():
        writable_folder(args.out)   # made now so that its lock is held while the run is planned
    # a second run into this folder is refused, not mixed in: the lock is held from before what is there is read
    with sole_writer(args.out):
        record = OutputRecord(args.out)
        # a changed photo's outputs are the old photo's: all removed before it is done again, so that an interrupted
        # or failed redo leaves nothing stale (its outputs were replaced in place: a failed photo locked the folder
        # as an unfinished --overwrite run)
        redo = record.changed_photos(plan.jobs) if not args.overwrite else []
        replaced = {job.path for job in plan.jobs} if args.overwrite else set()
        todo = [job for job in plan.jobs
                if job.path in replaced or job in redo or not job.done(outputs, args.instances)]
        if not args.overwrite:   # kept or completed outputs were made with these settings
            record.refuse_changed([job for job in plan.jobs if job not in redo], settings)
        remove_leftovers(plan.jobs)   # a killed run's temporary files (none are being written now)
        removed = 0
        if todo:
            if args.engine == "local" and (any(OUTPUTS[o].foreground for o in outputs)
                                           or args.matting == "closed-form"):
                preload_pymatting()   # imported while the models load and the first image is segmented
            writable_folder(args.out)
            for job in redo + (record.stale(todo, settings) if args.overwrite else []):
                removed += job.remove_other_outputs(outputs, args.instances)
            for job in redo:
                job.remove_outputs()
            record.start(todo, settings, replaced)
            since = record.path.stat().st_mtime_ns   # the outputs of this run are written after the record
            finished: list[Job] = []
            made = (_on_ray(todo, options, args, outputs, given, replaced) if args.engine == "ray" else
                    _here(todo, seg, args, outputs, given, replaced))
            try:
                for job, got in progress(made, len(todo), args.quiet):
                    if isinstance(got, BaseException):
                        cause = interrupted(got)
                        if cause is not None:   # Ctrl-C or SIGTERM as it was (the exit status tells them apart)
                            raise type(cause)() from got
                        failed.append((job.path, describe(got)))
                    else:
                        finished.append(job)
                        written += got["written"]
                        nobody += [job.path] * got["nobody"]
            except KeyboardInterrupt:
                if args.engine == "ray":   # its workers finish images the driver has not heard of yet: those
                    # whose outputs are all there (all written in this run, where earlier ones were replaced)
                    told = set(map(id, finished))
                    finished += [j for j in todo if id(j) not in told
                                 and j.done(outputs, args.instances, since if j.path in replaced else None)]
                print(f"personseg: {len(finished)} of {len(todo)} images finished before the interruption; rerun the "
                      "same command to do the rest", file=sys.stderr)
                raise
            finally:
                record.finish(finished)
                # a photo that failed where its outputs were being replaced (--overwrite) keeps none: not half of
                # two runs, which would refuse every later run into the folder
                gone = {p for p, _ in failed}
                lost = [job for job in todo if job.path in replaced and job.path in gone]
                for job in lost:
                    job.remove_outputs()
                record.forget(lost)
    done = len(todo) - sum(1 for p, _ in failed if p not in plan.missing)
    redone = len({job.path for job in redo} - {p for p, _ in failed})
    skipped = len(plan.jobs) - len(todo)
    parts = ([f"{done} of {len(plan.jobs) + len(plan.missing)} images segmented"]
             + [f"{skipped} already done"] * bool(skipped) + [f"{len(failed)} failed"] * bool(failed)
             + [f"no person found in {len(nobody)}"] * bool(nobody)
             + [f"{redone} done again: the photo changed since its outputs were made"] * bool(redone)
             + [f"{removed} earlier output{'s' * (removed != 1)} this run does not make removed"] * bool(removed))
    print(", ".join(parts) + f"; {written} file{'s' * (written != 1)} written to {args.out}", file=sys.stderr)
    for path, why in failed:
        print(f"  failed: {why if why.startswith(str(path)) else f'{path}: {why}'}", file=sys.stderr)
    name_images("no person found", nobody)
    if plan.others:
        print(f"  {not_photos(plan.others)}", file=sys.stderr)
    return 1 if failed else 0


def _here(todo: list[Job], seg: Segmenter, args: argparse.Namespace, outputs: tuple[str, ...],
          given: dict[str, list] | None, replaced: set[Path]):
    """(job, {"written", "nobody"} or the exception) for each image, segmented in this process (``given``: the
    people of each image by name, or None to search; ``replaced``: the paths whose existing outputs are
    replaced)."""
    for job in todo:
        try:
            result = seg(job.path, people=None if given is None else given[job.name])
            written = save_outputs(result, job.out_dir, job.stem, outputs, args.background, args.blur,
                                   job.path in replaced, source=str(job.path), keep_existing=True)
            yield job, {"written": len(written), "nobody": not result.mask.any()}
        except Exception as e:   # noqa: BLE001 - one image's failure, whatever it is, never stops the batch
            yield job, e


def _on_ray(todo: list[Job], options: dict, args: argparse.Namespace, outputs: tuple[str, ...],
            given: dict[str, list] | None, replaced: set[Path]):
    """As ``_here``, on Ray actors (raywork.ray_run), each with a Segmenter of ``options``."""
    by_path = {str(job.path.resolve()): job for job in todo}
    kwargs = {"options": options,
              "jobs": {p: (str(j.out_dir), j.stem, j.path in replaced) for p, j in by_path.items()},
              "outputs": outputs, "background": args.background, "blur": args.blur,
              "people": None if given is None else {p: given[j.name] for p, j in by_path.items()}}
    for path, made in ray_run(list(by_path), OutputsActor, kwargs, args.workers, args.address, Counter()):
        yield by_path[path], made if isinstance(made, Exception) else json.loads(made)
