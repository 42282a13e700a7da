"""The service's parts that need no models: the queue bound, the upload limit, the settings and the CLI's guard."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from personseg.cli import main
from personseg.errors import PersonsegError
from personseg.serve import ServeSettings
from personseg.serve.app import BodyLimit
from personseg.serve.work import Busy, WorkPool


def test_the_queue_is_bounded():
    pool = WorkPool("fast", workers=1, queue_size=2)   # not started: nothing takes jobs off the queue
    pool.submit(lambda seg: 1)
    pool.submit(lambda seg: 2)
    with pytest.raises(Busy):
        pool.submit(lambda seg: 3)
    assert pool.pending == 2


def _echo() -> BodyLimit:
    app = FastAPI()

    @app.post("/")
    async def echo(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    return BodyLimit(app, limit=100)


@pytest.mark.parametrize("size, status", [(0, 200), (100, 200), (101, 413), (5000, 413)])
def test_bodies_over_the_limit_are_refused_with_or_without_a_length(size, status):
    with TestClient(_echo()) as c:
        sized = c.post("/", content=b"x" * size)
        chunked = c.post("/", content=iter([b"x" * (size // 2), b"x" * (size - size // 2)]))
    for r in (sized, chunked):
        assert r.status_code == status
        assert r.json() == ({"bytes": size} if status == 200 else {"error": "the upload is over the limit of 100 bytes"})


@pytest.mark.parametrize("field, value", [("method", "magic"), ("workers", 0), ("queue", 0), ("timeout", 0),
                                          ("max_upload", 0), ("max_pixels", -1)])
def test_settings_are_checked(field, value):
    with pytest.raises(PersonsegError):
        ServeSettings(**{field: value})


def test_serving_beyond_this_machine_needs_a_key(capsys, monkeypatch):
    monkeypatch.delenv("PERSONSEG_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--api-key" in capsys.readouterr().err
