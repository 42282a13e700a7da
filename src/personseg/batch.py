"""Planning a batch of images: which files, where each one's outputs go, and what is already done. Nothing is
read as an input that a batch writes, no two inputs share outputs, and a rerun picks up where one stopped."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import PersonsegError
from .image import IMAGE_SUFFIXES
from .outputs import output_paths


@dataclass(frozen=True)
class Job:
    """One image of a batch: the file, and the folder and stem its outputs are named by."""

    path: Path
    out_dir: Path
    stem: str

    def done(self, outputs: tuple[str, ...], instances: bool) -> bool:
        """Every output asked for exists (an interrupted image has only some: it is done again, keeping those)."""
        return all(p.exists() for p in output_paths(self.out_dir, self.stem, outputs, instances))


@dataclass
class Plan:
    jobs: list[Job]
    missing: list[Path]   # paths named that do not exist


def writable_folder(folder: Path) -> None:
    """Make ``folder`` (and its parents) and check a file can be written there; PersonsegError otherwise, once,
    before any work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise PersonsegError(f"--out {folder}: cannot write there ({e.strerror or e})") from None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plan_batch(paths: list[str | os.PathLike], out: str | os.PathLike) -> Plan:
    """The images named in ``paths`` (files, and folders searched recursively, their layout kept under ``out``).
    Refused (PersonsegError): ``out`` being an input folder, or a file named as an input (outputs would mix with
    inputs); two inputs whose outputs would have the same names. A folder under an input folder that is
    ``out`` itself is left out of the search, so a rerun never reads its own outputs as inputs."""
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
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                           and not _inside(f.resolve(), out_real))
            jobs += [Job(f, out / f.relative_to(p).parent, f.stem) for f in files]
        elif p.exists():
            jobs.append(Job(p, out, p.stem))
        else:
            missing.append(p)
    _refuse_shared_outputs(jobs)
    return Plan(jobs, missing)


def _refuse_shared_outputs(jobs: list[Job]) -> None:
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
