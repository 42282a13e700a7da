"""Planning a batch of images: which files, where each one's outputs go, and what is already done. Nothing is
read as an input that a batch writes, no two inputs share outputs, and a rerun picks up where one stopped."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import PersonsegError
from .image import IMAGE_SUFFIXES
from .outputs import OUTPUTS, output_paths, save_outputs
from .raywork import ImageActor


@dataclass(frozen=True)
class Job:
    """One image of a batch: the file, the folder and stem its outputs are named by, and its name relative to
    the folder it was found in (its own name when named itself)."""

    path: Path
    out_dir: Path
    stem: str
    name: str

    def done(self, outputs: tuple[str, ...], instances: bool) -> bool:
        """Every output asked for exists (an interrupted image has only some: it is done again, keeping those)."""
        return all(p.exists() for p in output_paths(self.out_dir, self.stem, outputs, instances))


@dataclass
class Plan:
    jobs: list[Job]
    missing: list[Path]   # paths named that do not exist

    def only(self, names: set[str] | dict) -> None:
        """Keep the jobs of ``names`` (names relative to the folders named, as Job.name); those of ``names`` not
        found count as missing."""
        self.missing += [Path(name) for name in sorted(set(names) - {job.name for job in self.jobs})]
        self.jobs = [job for job in self.jobs if job.name in names]


#: Left in every output folder of `personseg segment`: a later batch searching a folder that holds it does not
#: read the outputs there as photos.
MARKER = ".personseg-outputs"


def writable_folder(folder: Path) -> None:
    """Make ``folder`` (and its parents), check a file can be written there and leave MARKER in it;
    PersonsegError otherwise, once, before any work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        marker = folder / MARKER
        if not marker.exists():
            marker.write_text("personseg segment writes its outputs here; a batch reading this folder skips them\n")
    except OSError as e:
        raise PersonsegError(f"--out {folder}: cannot write there ({e.strerror or e})") from None


def _an_output(file: Path, marked: set[Path]) -> bool:
    """``file`` lies in a folder of ``marked`` (output folders) and is named as outputs are:
    ``<stem>.<picture>.png`` or ``<stem>.person-<k>.mask.png``."""
    parts = file.name.split(".")
    named = len(parts) >= 3 and parts[-1] == "png" and (
        parts[-2] in OUTPUTS or (parts[-2] == "mask" and parts[-3].startswith("person-")))
    return named and file.parent.resolve() in marked


def within(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """``path`` is ``folder`` itself or lies inside it, through links too."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


def plan_batch(paths: list[str | os.PathLike], out: str | os.PathLike) -> Plan:
    """The images named in ``paths`` (files, and folders searched recursively, their layout kept under ``out``;
    a file named twice counts once). Refused (PersonsegError): ``out`` being an input folder or an existing file;
    an input with the name of another's output; two inputs whose outputs would have the same names. A folder
    under an input folder that is ``out`` itself is left out of the search, so a rerun never reads its own
    outputs as inputs; nor are the outputs found in earlier output folders (those holding MARKER), files named
    as outputs are."""
    out = Path(out)
    out_real = out.resolve()
    if out.exists() and not out.is_dir():
        raise PersonsegError(f"--out {out}: exists and is not a folder")
    jobs: list[Job] = []
    missing: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not os.fspath(raw):
            raise PersonsegError("an empty path was given")
        if p.is_dir():
            if p.resolve() == out_real:
                raise PersonsegError(f"--out {out} is the input folder {p}: give an output folder of its own")
            marked = {m.parent.resolve() for m in p.rglob(MARKER)}
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                           and not within(f, out_real) and not _an_output(f, marked))
            jobs += [Job(f, out / f.relative_to(p).parent, f.stem, f.relative_to(p).as_posix()) for f in files]
        elif p.exists():
            jobs.append(Job(p, out, p.stem, p.name))
        else:
            missing.append(p)
    unique = {job.path.resolve(): job for job in reversed(jobs)}   # a file named twice is one job
    jobs = [job for job in jobs if unique[job.path.resolve()] is job]
    _refuse_shared_outputs(jobs)
    return Plan(jobs, missing)


def _refuse_shared_outputs(jobs: list[Job]) -> None:
    inputs = {job.path.resolve(): job.path for job in jobs}
    for job in jobs:
        for path in output_paths(job.out_dir, job.stem, tuple(OUTPUTS), instances=True):
            if path.resolve() in inputs:
                raise PersonsegError(f"the input {inputs[path.resolve()]} has the name of an output of {job.path}; "
                                     "give --out a folder of its own")
    seen: dict[tuple[Path, str], Path] = {}
    clashes = []
    for job in jobs:
        key = (job.out_dir.resolve(), job.stem)
        if key in seen and seen[key].resolve() != job.path.resolve():
            clashes.append(f"{seen[key]} and {job.path}")
        seen.setdefault(key, job.path)
    if clashes:
        more = f" (and {len(clashes) - 3} more)" if len(clashes) > 3 else ""
        raise PersonsegError("these inputs would write the same output files: " + "; ".join(clashes[:3]) + more
                             + "; rename one of each pair or segment them into different --out folders")


class OutputsActor(ImageActor):
    """The Ray actor of `personseg segment --engine ray`: segments an image (``people``: the people given for
    each path, or None to search) and writes its outputs (to a folder every node can reach), handing back
    {"written": files, "nobody": bool} as JSON."""

    def __init__(self, options: dict, jobs: dict[str, tuple[str, str]], outputs: tuple[str, ...],
                 background: str | None, blur: float, overwrite: bool, people: dict[str, list] | None) -> None:
        super().__init__(options)
        self.jobs, self.outputs, self.background, self.blur, self.overwrite = jobs, outputs, background, blur, overwrite
        self.people = people

    def work(self, path: str, rgb: np.ndarray) -> str:
        result = self.segmenter(rgb, people=None if self.people is None else self.people[path])
        out_dir, stem = self.jobs[path]
        written = save_outputs(result, out_dir, stem, self.outputs, self.background, self.blur, self.overwrite,
                               source=path, keep_existing=True)
        return json.dumps({"written": len(written), "nobody": not result.mask.any()})
