"""`annotate --workers`: a worker process that ends abruptly (killed, out of memory) costs the photos in its pool's
hands a second try each, alone in a new worker; a photo that ends its worker again fails alone, the run goes on."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from personseg import annotate
from personseg.batch import Job
from personseg.errors import PersonsegError


def _no_segmenter(options: dict, parent: int) -> None:
    """The workers' initializer, without a Segmenter (none is needed here)."""


def _failing_start(options: dict, parent: int) -> None:
    os._exit(1)


def _entry(job: Job, people: list | None, edits: bool) -> dict:
    """Ends the worker on a photo named 'killer...' always, and on 'victim' once (while a file 'die-once' is
    beside it)."""
    once = job.path.with_name("die-once")
    if job.name.startswith("killer"):
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
        yielded = list(annotate._entries(_jobs(tmp_path, names), {}, None, 2, None, False))
    assert Counter(job.name for job, _ in yielded) == Counter(names)   # each once
    made = {job.name: entry for job, entry in yielded}
    failed = {name: str(entry) for name, entry in made.items() if isinstance(entry, Exception)}
    assert failed == {"killer": "its worker process ended abruptly on it twice (killed, or out of memory: try fewer "
                                "--workers)"}
    assert all(made[name]["file_name"] == name for name in names if name != "killer")
    assert len(noted) == 2 and any("victim" in str(n.message) for n in noted)   # the victim's pool, the killer's


def test_a_worker_ended_while_the_last_result_is_taken_costs_nothing(workers, tmp_path):
    names = [f"p{k}" for k in range(10)]
    yielded = []
    with pytest.warns(UserWarning, match="a worker process ended abruptly"):
        for job, entry in annotate._entries(_jobs(tmp_path, names), {}, None, 2, None, False):
            if not yielded:   # a worker ends while this process is busy with a result: the pool is broken when the
                os.kill(entry["pid"], signal.SIGKILL)   # next photo is handed to it
                time.sleep(0.5)
            yielded.append((job.name, entry))
    assert Counter(name for name, _ in yielded) == Counter(names)
    assert not [name for name, entry in yielded if isinstance(entry, Exception)]


def test_photos_that_end_their_workers_in_a_row_fail_alone(workers, tmp_path):
    names = [f"p{k}" for k in range(6)] + ["killer1", "killer2", "killer3"] + [f"q{k}" for k in range(12)]
    with pytest.warns(UserWarning):
        yielded = list(annotate._entries(_jobs(tmp_path, names), {}, None, 2, None, False))
    assert Counter(job.name for job, _ in yielded) == Counter(names)
    assert sorted(job.name for job, entry in yielded if isinstance(entry, Exception)) == ["killer1", "killer2",
                                                                                           "killer3"]


def test_workers_that_cannot_start_fail_the_photos_after_a_few_pools(monkeypatch, tmp_path):
    monkeypatch.setattr(annotate, "_start_worker", _failing_start)
    jobs = _jobs(tmp_path, [f"p{k}" for k in range(40)])
    start = time.perf_counter()
    with pytest.warns(UserWarning):
        made = list(annotate._entries(jobs, {}, None, 2, None, False))
    assert len(made) == 40 and all(isinstance(e, PersonsegError) and "ended abruptly" in str(e) for _, e in made)
    assert sum("3 times in a row before any photo finished" in str(e) for _, e in made) >= 36   # a few alone first
    assert time.perf_counter() - start < 60
