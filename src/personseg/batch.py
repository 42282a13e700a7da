"""Planning a batch of images: which files, where each one's outputs go, and what is already done. Nothing is
read as an input that a batch writes, no two inputs share outputs, and a rerun picks up where one stopped."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from .errors import PersonsegError
from .image import IMAGE_SUFFIXES, not_there, write_bytes
from .outputs import OUTPUTS, output_paths, person_file_stem, person_files, save_outputs
from .pipeline import Segmenter
from .raywork import ImageActor
from .runsettings import changes, completed, shared_settings


@dataclass(frozen=True)
class Job:
    """One image of a batch: the file, the folder and stem its outputs are named by, and its name relative to
    the folder it was found in (its own name when named itself)."""

    path: Path
    out_dir: Path
    stem: str
    name: str

    def done(self, outputs: tuple[str, ...], instances: bool, since: int | None = None) -> bool:
        """Every output asked for exists (an interrupted image has only some: it is done again, keeping those);
        with ``since`` (a file time, ns), each was written then or later."""
        try:
            times = [p.stat().st_mtime_ns for p in output_paths(self.out_dir, self.stem, outputs, instances)]
        except OSError:
            return False
        return since is None or min(times, default=since) >= since

    def made_any(self) -> bool:
        """Some output of this image exists (of any kind, per-person files too)."""
        return bool(self._existing())

    def remove_other_outputs(self, outputs: tuple[str, ...], instances: bool) -> int:
        """Remove this image's existing outputs that a run saving ``outputs`` (and ``instances``) does not
        write, its per-person files among them (an earlier run may have found more people); how many."""
        written = set(output_paths(self.out_dir, self.stem, outputs, instances))
        others = [p for p in self._existing() if p not in written]
        for path in others:
            path.unlink(missing_ok=True)
        return len(others)

    def remove_outputs(self) -> None:
        """Remove every output of this image (a changed photo's, or a failed one's that was being replaced)."""
        for path in self._existing():
            path.unlink(missing_ok=True)

    def _existing(self) -> list[Path]:
        every = output_paths(self.out_dir, self.stem, tuple(OUTPUTS), instances=True)
        return [p for p in every if p.exists()] + [p for _, p in person_files(self.out_dir, self.stem)]


@dataclass
class Plan:
    jobs: list[Job]
    missing: list[Path]   # paths named that do not exist
    others: list[Path] = field(default_factory=list)   # files in the folders named that are not photos

    def only(self, names: set[str] | dict, rest: bool = False) -> None:
        """Keep the jobs of ``names`` (names relative to the folders named, as Job.name; with ``rest`` the others
        too); those of ``names`` not found count as missing."""
        self.missing += [Path(name) for name in sorted(set(names) - {job.name for job in self.jobs})]
        self.jobs = [job for job in self.jobs if rest or job.name in names]

    def nothing_found(self, listed: bool = False) -> PersonsegError:
        """The error where no job is left: the paths named that are not there (the first NAMED_OTHERS), and the
        files found that are not photos (not with ``listed``: the jobs are those a people file lists)."""
        more = f"; and {len(self.missing) - NAMED_OTHERS} more" if len(self.missing) > NAMED_OTHERS else ""
        missing = (f": {'; '.join(f'{p}: {not_there(p)}' for p in self.missing[:NAMED_OTHERS])}{more}"
                   if self.missing else "")
        others = f" ({not_photos(self.others)})" if self.others and not listed else ""
        return PersonsegError("no image files found in the given paths" + " that the people file lists" * listed
                              + missing + others)


#: Left in every output folder of `personseg segment`: a later batch searching a folder that holds it does not
#: read the outputs there as photos.
MARKER = ".personseg-outputs"


#: Held (an advisory lock) in an output folder while a run writes there.
LOCK = ".personseg-lock"


@contextmanager
def sole_writer(folder: Path, name: str = LOCK, out: Path | None = None) -> Iterator[None]:
    """Hold a lock on the file ``name`` in ``folder`` (which exists) while the block runs: PersonsegError at once
    where another run holds it (two runs into one folder would each redo and rewrite the other's images). The lock
    goes with its process; the file is removed when the block ends (a killed run leaves it, harmless: the next run
    takes it). ``out``: what the messages name (default ``folder``)."""
    path, out = folder / name, out or folder
    with _locked(path, name, out) as f:
        if f.writable():
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
        try:
            yield
        finally:
            if f.writable():   # removed while still held: a run that opened it meanwhile finds it gone (_locked)
                with suppress(OSError):   # another user's file in a sticky folder stays, harmless
                    path.unlink(missing_ok=True)


def sole_writer_of(path: Path) -> AbstractContextManager[None]:
    """``sole_writer`` for one output file: a lock on the hidden ``.NAME.lock`` beside ``path``, its folder made
    first."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(path, path.parent, e) from None
    return sole_writer(path.parent, f".{path.name}.lock", path)


def refuse_file(out: Path) -> Path:
    """``out``, an output folder; PersonsegError where a file has its name."""
    if os.path.lexists(out) and not out.is_dir():   # a link to nothing too
        raise PersonsegError(f"--out {out}: exists and is not a folder")
    return out


def cannot_write(out: Path, folder: Path, e: OSError) -> PersonsegError:
    """The refusal of ``--out out`` where ``folder`` could not be made or written: naming a file that stands
    where a folder of the path should be."""
    file = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    return PersonsegError(f"--out {out}: {file} is a file, not a folder" if file is not None else
                          f"--out {out}: cannot write there ({e.strerror or e})")


def _locked(path: Path, name: str, out: Path) -> IO[str]:
    """``path`` opened (made where missing) and locked without waiting (sole_writer's refusals); opened again where
    the run that held it removed it between this run's opening and locking it."""
    while True:
        try:
            try:
                f = open(path, "a+")
            except PermissionError:   # another user's lock file: a lock is taken on it read-only too; with none
                if not path.exists():   # there, the folder is what this run may not write: that is said
                    raise
                f = open(path)
        except OSError as e:
            raise PersonsegError(f"--out {out}: cannot write there ({e.strerror or e})") from None
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            f.close()
            raise PersonsegError(f"--out {out}: another personseg run (process {holder}) is writing there; wait "
                                 "for it to finish, or give another --out") from None
        except OSError as e:   # a file system without locks
            f.close()
            raise PersonsegError(f"--out {out}: cannot lock {name} there ({e.strerror or e})") from None
        try:
            if os.stat(path).st_ino == os.fstat(f.fileno()).st_ino:
                return f
        except FileNotFoundError:
            pass
        f.close()


def writable_folder(folder: Path) -> None:
    """Make ``folder`` (and its parents), check a file can be written there and leave MARKER in it;
    PersonsegError otherwise, once, before any work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        marker = folder / MARKER
        if not marker.exists():
            write_bytes(marker, _record_bytes({}))
    except OSError as e:
        raise cannot_write(folder, folder, e) from None


def image_settings(seg: Segmenter, outputs: tuple[str, ...], background: str | None, blur: float,
                   people: Path | None) -> dict[str, object]:
    """What decides the outputs of an image that ``seg`` segments (``people``: the COCO file of the people given,
    or None when they are searched for): OutputRecord compares them."""
    asked = seg.find_people and not (seg.method.needs_keypoints or seg.instances)   # keypoints beyond the method's
    return shared_settings(seg, seg.mediapipe_masks, outputs, background, blur) | {
        "keypoints": asked, "crf": seg.crf and seg.method.uses_crf, "instances": seg.instances,
        "require_person": seg.require_person, "people": None if people is None else str(people.resolve())}


class OutputRecord:
    """The settings that made each image's outputs in an output folder of `personseg segment`, and the photo's
    size and time then, kept in its MARKER: a rerun completes or skips an image only with the settings its
    outputs were made with, and redoes one whose photo has changed. Outputs written before there was a record
    (an unreadable MARKER, or none) are taken as they are."""

    def __init__(self, out: Path) -> None:
        self.path, self.out = out / MARKER, out
        self.images: dict[str, tuple[dict, bool, list | None]] = {}
        try:
            data = json.loads(self.path.read_text())
            kinds, images = list(data["settings"]), dict(data["images"])
            self.images = {key: (dict(kinds[row[0]]), bool(row[1]), row[2] if len(row) > 2 else None)
                           for key, row in images.items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            self.images = {}

    def key(self, job: Job) -> str:
        return (job.out_dir.relative_to(self.out) / job.stem).as_posix()

    def changed_photos(self, jobs: list[Job]) -> list[Job]:
        """Those of ``jobs`` whose outputs here were made from a photo of another size or time than theirs now
        (replaced or edited since): their outputs are the old photo's."""
        return [job for job in jobs if (stamp := self.images.get(self.key(job), (None, False, None))[2])
                is not None and stamp != _stamp(job.path) and job.made_any()]

    def refuse_changed(self, jobs: list[Job], settings: dict[str, object]) -> None:
        """PersonsegError, before any work, when one of ``jobs`` has outputs here made with other settings, or
        left half-replaced by an interrupted --overwrite run (--overwrite is the way to replace them)."""
        mixed, changed = [], []
        for job in jobs:
            earlier, replacing, _ = self.images.get(self.key(job), (None, False, None))
            if earlier is None or not job.made_any():
                continue
            if replacing:
                mixed.append(job)
            elif difference := changes(settings, earlier):
                changed.append((job, difference))
        if mixed:
            raise PersonsegError(f"--out {self.out}: an --overwrite run there did not finish (interrupted, or an image "
                                 f"failed), so the outputs of {_some([j.path for j in mixed])} may be of two runs; "
                                 "rerun with --overwrite")
        if changed:
            raise PersonsegError(f"--out {self.out} holds outputs of {_some([j.path for j, _ in changed])} made "
                                 f"with other settings ({'; '.join(changed[0][1])}): rerun with the earlier settings "
                                 "to complete them, --overwrite to replace them, or give another --out")

    def stale(self, jobs: list[Job], settings: dict[str, object]) -> list[Job]:
        """Those of ``jobs`` whose outputs here an earlier run made with other settings (or left half-replaced):
        an --overwrite run removes those it does not write (``Job.remove_other_outputs``)."""
        return [job for job in jobs if (row := self.images.get(self.key(job))) is not None
                and (row[1] or changes(settings, row[0])) and job.made_any()]

    def start(self, jobs: list[Job], settings: dict[str, object], replaced: set[Path]) -> None:
        """Record ``settings`` and each photo's size and time for ``jobs`` before their outputs are written
        (those whose path is in ``replaced`` as being replaced until ``finish``; the others with the optional
        settings of the earlier run whose outputs they keep)."""
        for job in jobs:
            earlier = self.images.get(self.key(job), (None, False, None))[0]
            replacing = job.path in replaced
            kept = not replacing and earlier is not None and job.made_any()
            self.images[self.key(job)] = (completed(settings, earlier) if kept else settings, replacing,
                                          _stamp(job.path))
        self._write()

    def forget(self, jobs: list[Job]) -> None:
        """``jobs`` have no outputs here any more (``Job.remove_outputs``): nothing to record of them."""
        if any(self.key(job) in self.images for job in jobs):
            for job in jobs:
                self.images.pop(self.key(job), None)
            self._write()

    def finish(self, jobs: list[Job]) -> None:
        """``jobs`` were written whole: no longer half-replaced."""
        if any(self.images[self.key(job)][1] for job in jobs):
            for job in jobs:
                settings, _, stamp = self.images[self.key(job)]
                self.images[self.key(job)] = (settings, False, stamp)
            self._write()

    def _write(self) -> None:
        write_bytes(self.path, _record_bytes(self.images), overwrite=True)


def _stamp(path: Path) -> list[int] | None:
    """A photo's size in bytes and modification time in nanoseconds (None when it cannot be read)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _record_bytes(images: dict[str, tuple[dict, bool, list | None]]) -> bytes:
    """MARKER's contents: each image's settings (each set of settings once), whether it is being replaced, and
    its photo's size and time."""
    kinds: list[str] = []
    index: dict[str, int] = {}
    rows = {}
    for key, (settings, replacing, stamp) in sorted(images.items()):
        text = json.dumps(settings, sort_keys=True)
        rows[key] = [index.setdefault(text, len(index)), replacing, stamp]
        if len(kinds) < len(index):
            kinds.append(text)
    return json.dumps({"about": "personseg segment writes its outputs here; a batch reading this folder skips "
                                "them, and a rerun completes them only with the settings recorded here",
                       "settings": [json.loads(k) for k in kinds], "images": rows}, indent=0).encode()


def _some(paths: list[Path]) -> str:
    """The first three of ``paths`` and how many more."""
    return ", ".join(map(str, paths[:3])) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def remove_leftovers(jobs: list[Job]) -> None:
    """Remove the temporary files a killed run left while writing the outputs of ``jobs`` (each output is
    written aside as ``.<name>.<random>.tmp``, then renamed into place); each output folder is listed once."""
    stems: dict[Path, set[str]] = {}
    for job in jobs:
        stems.setdefault(job.out_dir, set()).add(job.stem)
    for folder, ours in stems.items():
        for left in folder.glob(".*.tmp") if folder.is_dir() else ():
            if _output_stem(left.name[1:].rsplit(".", 2)[0]) in ours:
                left.unlink(missing_ok=True)


def _output_stem(name: str) -> str | None:
    """The stem of an output file's ``name`` (``<stem>.<picture>.png``, ``<stem>.person-<k>.<picture>.png``,
    ``<stem>.json``, ``<stem>.instances.json``); None for other names."""
    if name.endswith(".instances.json"):
        return name[:-len(".instances.json")]
    if name.endswith(".json"):
        return name[:-len(".json")]
    person = person_file_stem(name)
    if person is not None:
        return person
    parts = name.rsplit(".", 2)
    return parts[0] if len(parts) == 3 and parts[2] == "png" and parts[1] in OUTPUTS else None


def _an_output(file: Path, marked: set[Path]) -> bool:
    """``file`` lies in a folder of ``marked`` (output folders), or in a folder below one (where a batch kept
    its inputs' layout), and is named as outputs are: ``<stem>.<picture>.png`` (``<stem>.person-<k>.<picture>.png``
    among them)."""
    parts = file.name.split(".")
    named = len(parts) >= 3 and parts[-1] == "png" and parts[-2] in OUTPUTS
    return named and any(folder in marked for folder in file.resolve().parents)


def within(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """``path`` is ``folder`` itself or lies inside it, through links too."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents


#: The files left out as not photos that a summary names, at most.
NAMED_OTHERS = 10


def not_photos(files: list[Path]) -> str:
    """The first NAMED_OTHERS of ``files`` (Plan.others), left out as not photos, and the photo types read."""
    more = f" and {len(files) - NAMED_OTHERS} more" if len(files) > NAMED_OTHERS else ""
    return (f"not photos, left out: {', '.join(map(str, files[:NAMED_OTHERS]))}{more} (photos are "
            f"{', '.join(IMAGE_SUFFIXES)})")


#: How ``plan_batch`` says two inputs clash: segment's (their output files), or annotate's (``ANNOTATE_CLASH``).
SEGMENT_CLASH = ("these inputs would write the same output files",
                 "rename one of each pair or segment them into different --out folders")
ANNOTATE_CLASH = ("these photos would be kept under one name in the run",
                  "rename one of each pair, or name the folder above both (a photo is known by its path below "
                  "the folder named)")


def plan_batch(paths: list[str | os.PathLike], out: str | os.PathLike,
               clash: tuple[str, str] = SEGMENT_CLASH) -> Plan:
    """The images named in ``paths`` (files, and folders searched recursively, their layout kept under ``out``;
    a file named twice counts once). Refused (PersonsegError): ``out`` being an input folder or an existing file;
    an input with the name of another's output; two inputs whose outputs would have the same names. A folder
    under an input folder that is ``out`` itself is left out of the search, so a rerun never reads its own
    outputs as inputs; nor are the outputs found in earlier output folders (those holding MARKER), files named
    as outputs are. Hidden files and folders (names starting with '.') are left out of a folder's search (a file
    named is read). The folders' other files, those in output folders aside, are listed in ``Plan.others`` (not
    photos: the summary names them)."""
    out = refuse_file(Path(out))
    out_real = out.resolve()
    jobs: list[Job] = []
    missing: list[Path] = []
    others: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not os.fspath(raw):
            raise PersonsegError("an empty path was given")
        if p.is_dir():
            if p.resolve() == out_real:
                raise PersonsegError(f"--out {out} is the input folder {p}: give an output folder of its own")
            entries = folder_entries(p)
            marked = {m.parent.resolve() for m in entries if m.name == MARKER}
            # hidden files (macOS's ._ copies, thumbnails) are not the user's photos
            seen = [f for f in entries if not f.name.startswith(".")]
            found = sorted(f for f in seen if f.is_file() and not within(f, out_real))
            missing += sorted(f for f in seen if f.is_symlink() and not f.exists())   # a link to nothing: said
            files = [f for f in found if f.suffix.lower() in IMAGE_SUFFIXES and not _an_output(f, marked)]
            jobs += [Job(f, out / f.relative_to(p).parent, f.stem, f.relative_to(p).as_posix()) for f in files]
            others += [f for f in found if f.suffix.lower() not in IMAGE_SUFFIXES
                       and not any(folder in marked for folder in f.resolve().parents)]
        elif p.exists():
            jobs.append(Job(p, out, p.stem, p.name))
        else:
            missing.append(p)
    others = list({f.resolve(): f for f in reversed(others)}.values())[::-1]   # overlapping folders: once each
    unique = {job.path.resolve(): job for job in reversed(jobs)}   # a file named twice is one job
    jobs = [job for job in jobs if unique[job.path.resolve()] is job]
    _refuse_shared_outputs(jobs, clash)
    return Plan(jobs, missing, others)


def folder_entries(folder: Path) -> list[Path]:
    """Everything in ``folder`` and the folders under it, hidden folders left out (.git, thumbnails): files, links
    to files and links to nothing. Links to folders are followed where they lead to a folder not otherwise under
    it (each such folder once; one under it is searched under its own name, and a link to it or to a folder above
    it, which would lead round or out, is not followed)."""
    top = os.path.realpath(folder)
    visited = {os.path.realpath(d) for d, _, _ in os.walk(folder)}   # its own folders, links not followed
    entries: list[Path] = []
    for here, dirs, files in os.walk(folder, followlinks=True):
        kept = []
        for name in sorted(dirs):
            path = os.path.join(here, name)
            real = os.path.realpath(path)
            if name.startswith(".") or (os.path.islink(path) and (real in visited or top.startswith(real + os.sep))):
                continue
            visited.add(real)
            kept.append(name)
        dirs[:] = kept
        entries += [Path(here, name) for name in files]
    return entries


def _refuse_shared_outputs(jobs: list[Job], clash: tuple[str, str]) -> None:
    inputs = {job.path.resolve(): job.path for job in jobs}
    for job in jobs:
        for path in output_paths(job.out_dir, job.stem, tuple(OUTPUTS), instances=True):
            if path.resolve() in inputs:
                raise PersonsegError(f"the input {inputs[path.resolve()]} has the name of an output of {job.path}; "
                                     "give --out a folder of its own")
    seen: dict[tuple[Path, str], Path] = {}
    clashes = []
    for job in jobs:   # segment's outputs are named by the stem; annotate knows a photo by its name (a.jpg beside
        # a.png, as iPhones export IMG_1.HEIC and IMG_1.JPG, is no clash there)
        key = (job.out_dir.resolve(), job.stem if clash == SEGMENT_CLASH else job.path.name)
        if key in seen and seen[key].resolve() != job.path.resolve():
            clashes.append(f"{seen[key]} and {job.path}")
        seen.setdefault(key, job.path)
    for (folder, stem), path in seen.items() if clash == SEGMENT_CLASH else ():   # x.person-1.jpg beside x.jpg:
        # named as x's per-person files (annotate writes none)
        owner = person_file_stem(f"{stem}.mask.png")   # whose per-person mask this input's mask would be named as
        if owner is not None and (folder, owner) in seen:
            clashes.append(f"{seen[folder, owner]} and {path} (its outputs are named as the first's per-person "
                           "files)")
    if clashes:
        more = f" (and {len(clashes) - 3} more)" if len(clashes) > 3 else ""
        raise PersonsegError(f"{clash[0]}: " + "; ".join(clashes[:3]) + more + f"; {clash[1]}")


class OutputsActor(ImageActor):
    """The Ray actor of `personseg segment --engine ray`: segments an image (``people``: the people given for
    each path, or None to search) and writes its outputs (to a folder every node can reach; ``jobs``: each
    path's folder, stem, and whether its existing outputs are replaced), handing back {"written": files,
    "nobody": bool} as JSON."""

    def __init__(self, options: dict, jobs: dict[str, tuple[str, str, bool]], outputs: tuple[str, ...],
                 background: str | None, blur: float, people: dict[str, list] | None) -> None:
        super().__init__(options)
        self.jobs, self.outputs, self.background, self.blur = jobs, outputs, background, blur
        self.people = people

    def work(self, path: str, rgb: np.ndarray) -> str:
        result = self.segmenter(rgb, people=None if self.people is None else self.people[path])
        out_dir, stem, replace = self.jobs[path]
        written = save_outputs(result, out_dir, stem, self.outputs, self.background, self.blur, replace,
                               source=path, keep_existing=True)
        return json.dumps({"written": len(written), "nobody": not result.mask.any()})
