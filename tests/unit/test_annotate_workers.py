"""`annotate --workers`: a worker process that ends abruptly (killed, out of memory) costs the photos in its pool's
hands a second try each, alone in a new worker; a photo that ends its worker again fails alone, the run goes on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from personseg import annotate
from personseg.batch import Job
from personseg.errors import PersonsegError


def _no_segmenter(options: dict, parent: int) -> None:
    """The workers' initializer, without a Segmenter (none is needed here)."""


def _failing_start(options: dict, parent: int) -> None:
    os._exit(1)


def _entry(job: Job, people: list | None) -> dict:
    """Ends the worker on a photo named 'killer' always, and on one with a file 'die-once' beside it once."""
    once = job.path.with_name("die-once")
    if job.name == "killer":
        os._exit(1)
    if job.name == "victim" and once.exists():
        once.unlink()
        os._exit(1)
    time.sleep(0.05)
    return {"file_name": job.name, "pid": os.getpid()}


def _jobs(folder: Path, names: list[str]) -> list[Job]:
    return [Job(folder / f"{name}.jpg", folder, name, name) for name in names]


@pytest.fixture
def workers(monkeypatch):
    monkeypatch.setattr(annotate, "_start_worker", _no_segmenter)
    monkeypatch.setattr(annotate, "_entry_in_worker", _entry)


def test_a_worker_killed_once_costs_nothing_and_a_photo_that_kills_it_fails_alone(workers, tmp_path):
    (tmp_path / "die-once").touch()
    names = [f"p{k}" for k in range(6)] + ["victim"] + [f"q{k}" for k in range(6)] + ["killer", "r0", "r1"]
    with pytest.warns(UserWarning, match="a worker process ended abruptly") as noted:
        made = dict((job.name, entry) for job, entry in annotate._entries(_jobs(tmp_path, names), {}, None, 2, None))
    assert sorted(made) == sorted(names)
    failed = {name: str(entry) for name, entry in made.items() if isinstance(entry, Exception)}
    assert failed == {"killer": "its worker process ended abruptly on it twice (killed, or out of memory: try fewer "
                                "--workers)"}
    assert all(made[name]["file_name"] == name for name in names if name != "killer")
    assert len(noted) == 2   # the victim's pool, then the killer's


def test_workers_that_cannot_start_fail_the_photos_after_a_few_pools(monkeypatch, tmp_path):
    monkeypatch.setattr(annotate, "_start_worker", _failing_start)
    jobs = _jobs(tmp_path, [f"p{k}" for k in range(40)])
    start = time.perf_counter()
    with pytest.warns(UserWarning):
        made = list(annotate._entries(jobs, {}, None, 2, None))
    assert len(made) == 40 and all(isinstance(e, PersonsegError) and "ended abruptly" in str(e) for _, e in made)
    assert sum("3 times in a row" in str(e) for _, e in made) >= 36   # a few fail alone first
    assert time.perf_counter() - start < 60
