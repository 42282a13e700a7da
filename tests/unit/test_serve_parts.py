"""The service's parts that need no models: the queue bound, the upload limit, the settings and the CLI's guard."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from personseg.cli import main
from personseg.errors import PersonsegError
from personseg.serve import ServeSettings
from personseg.serve.app import Guard
from personseg.serve.work import Busy, WorkPool


def test_the_queue_is_bounded_and_a_cancelled_job_frees_its_place():
    pool = WorkPool("fast", workers=1, queue_size=2)   # not started: nothing takes jobs off the queue
    first = pool.submit(lambda seg: 1)
    pool.submit(lambda seg: 2)
    with pytest.raises(Busy):
        pool.submit(lambda seg: 3)
    assert pool.pending == 2
    first.cancel()   # its request timed out or its client left
    pool.submit(lambda seg: 4)
    assert pool.pending == 2
    pool.close()
    assert pool.pending == 0


def test_host_origin_and_key_are_checked_before_the_body():
    with TestClient(_echo(api_key="s3cret"), base_url="http://127.0.0.1:8000") as c:
        key = {"X-API-Key": "s3cret"}
        assert c.post("/v1/echo", content=b"x", headers=key).json() == {"bytes": 1}
        assert c.post("/v1/echo", content=b"x").status_code == 401
        assert c.post("/v1/echo", content=b"x", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.post("/v1/echo", content=b"x", headers=key | {"Host": "evil.example"}).status_code == 400
        assert c.post("/v1/echo", content=b"x", headers=key | {"Origin": "http://evil.example"}).status_code == 403
        same = c.post("/v1/echo", content=b"x", headers=key | {"Origin": "http://127.0.0.1:8000"})
        assert same.status_code == 200 and same.headers["x-content-type-options"] == "nosniff"
        # names and the scheme ignore case (both were refused)
        assert c.post("/v1/echo", content=b"x", headers=key | {"Host": "LocalHost:8000"}).status_code == 200
        own = {"Host": "LocalHost:8000", "Origin": "http://localhost:8000"}   # its own page: not another site's
        assert c.post("/v1/echo", content=b"x", headers=key | own).status_code == 200
        assert c.post("/v1/echo", content=b"x", headers={"Authorization": "bearer  s3cret"}).status_code == 200
        assert c.post("/v1/echo", content=b"x", headers={"Authorization": "Basic s3cret"}).status_code == 401


def test_a_free_port_taken_on_a_second_address_is_tried_again(monkeypatch):
    """--port 0 on a name of two addresses: the first's free port may be taken on the second (it failed)."""
    import errno
    import socket

    from personseg.cli import serve

    two = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0)) for address in ("127.0.0.1", "127.0.0.2")]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: two)
    real, calls = serve._bound, []

    def taken_once(addresses, port):
        calls.append(port)
        if len(calls) == 1:
            raise OSError(errno.EADDRINUSE, "Address already in use")
        return real(addresses, port)

    monkeypatch.setattr(serve, "_bound", taken_once)
    sockets = serve.listen("here", 0)
    try:
        assert len(calls) == 2 and len({s.getsockname()[1] for s in sockets}) == 1
    finally:
        serve._close(sockets)
    calls.clear()
    with pytest.raises(PersonsegError, match="cannot serve on here:8000 .*give another --port"):
        serve.listen("here", 8000)   # a port asked for is not another
    assert calls == [8000]


def test_a_server_on_another_loopback_address_answers_to_it(monkeypatch, free_port):
    """127.0.0.2 is this machine too: its server answered every request 400 (not among the Host names)."""
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: None)
    monkeypatch.setattr("personseg.serve.create_app", lambda settings: seen.setdefault("hosts", settings.hosts))
    assert main(["serve", "--host", "127.0.0.2", "--port", free_port]) == 0
    assert seen["hosts"] == ("127.0.0.1", "localhost", "[::1]", "127.0.0.2")


def _echo(**settings) -> Guard:
    app = FastAPI()

    @app.post("/v1/echo")
    async def echo(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    return Guard(app, ServeSettings(max_upload=100, **settings))


@pytest.mark.parametrize("size, status", [(0, 200), (100, 200), (101, 413), (5000, 413)])
def test_bodies_over_the_limit_are_refused_with_or_without_a_length(size, status):
    with TestClient(_echo(), base_url="http://127.0.0.1:8000") as c:
        sized = c.post("/v1/echo", content=b"x" * size)
        chunked = c.post("/v1/echo", content=iter([b"x" * (size // 2), b"x" * (size - size // 2)]))
    for r in (sized, chunked):
        assert r.status_code == status
        refused = {"error": "the upload is over the limit of 100 bytes (a server's --max-upload-mb)"}
        assert r.json() == ({"bytes": size} if status == 200 else refused)


@pytest.mark.parametrize("field, value", [("method", "magic"), ("workers", 0), ("queue", 0), ("timeout", 0),
                                          ("max_upload", 0), ("max_pixels", -1), ("api_key", "clé"),
                                          ("api_key", " ")])
def test_settings_are_checked(field, value):
    with pytest.raises(PersonsegError):
        ServeSettings(**{field: value})


def test_serving_beyond_this_machine_needs_a_key(capsys, monkeypatch):
    monkeypatch.delenv("PERSONSEG_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--api-key" in capsys.readouterr().err


def test_any_site_allowed_without_a_key_is_warned_of(capsys, monkeypatch, free_port):
    import uvicorn

    monkeypatch.delenv("PERSONSEG_API_KEY", raising=False)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: None)   # not served: what the CLI says first
    monkeypatch.setattr("personseg.serve.create_app", lambda settings: None)
    assert main(["serve", "--allow-origin", "*", "--port", free_port]) == 0
    assert "--allow-origin '*' without --api-key" in capsys.readouterr().err
    assert main(["serve", "--allow-origin", "*", "--api-key", "k", "--port", free_port]) == 0
    assert "without --api-key" not in capsys.readouterr().err


def test_each_request_is_logged_unless_quiet(monkeypatch, free_port):
    import logging

    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: None)
    monkeypatch.setattr("personseg.serve.create_app", lambda settings: None)
    access = logging.getLogger("uvicorn.access")
    assert main(["serve", "--port", free_port]) == 0 and access.level == logging.INFO
    assert main(["serve", "--port", free_port, "--quiet"]) == 0 and access.level == logging.WARNING


def test_the_port_is_held_while_the_models_load(capsys, monkeypatch):
    """`--port 0` takes a free port and names it; until the server stops, a second server on it is refused at once
    (it was let through while the first loaded its models, and failed after loading its own)."""
    import re
    import socket

    import uvicorn

    seen = {}

    def serve(self, sockets):   # the models are loaded, the server about to run: a second one starts meanwhile
        seen["port"] = sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", seen["port"]), timeout=5):   # listened on: a request waits
            pass
        seen["second"] = main(["serve", "--port", str(seen["port"])])

    monkeypatch.setattr(uvicorn.Server, "run", serve)
    monkeypatch.setattr("personseg.serve.create_app", lambda settings: None)
    assert main(["serve", "--port", "0"]) == 0
    err = capsys.readouterr().err
    assert re.search(rf"then serving http://127\.0\.0\.1:{seen['port']}/ ", err)
    assert seen["second"] == 2 and f"cannot serve on 127.0.0.1:{seen['port']}" in err and "in use" in err


def test_the_guard_lets_allowed_sites_post_and_no_other(caplog):
    with TestClient(_echo(origins=("http://localhost:3000",)), base_url="http://127.0.0.1:8000") as c:
        assert c.post("/v1/echo", content=b"x", headers={"Origin": "http://localhost:3000"}).status_code == 200
        other = c.post("/v1/echo", content=b"x", headers={"Origin": "http://127.0.0.1:3000"})
        assert other.status_code == 403 and "--allow-origin" in other.json()["error"]
    # the page's browser hides the answer: the server says it on its stderr
    assert "refused a POST from a page of http://127.0.0.1:3000: not among --allow-origin http://localhost:3000" \
        in caplog.text
    with TestClient(_echo(origins=("*",)), base_url="http://127.0.0.1:8000") as c:
        assert c.post("/v1/echo", content=b"x", headers={"Origin": "http://any.example"}).status_code == 200


@pytest.mark.parametrize("origin", ["localhost:3000", "http://localhost:3000/", "ftp://x.example",
                                    "https://x.example/app", "http://x.example:port"])
def test_origins_are_given_as_browsers_send_them(origin):
    with pytest.raises(PersonsegError, match="as a browser sends it"):
        ServeSettings(origins=(origin,))


def test_origins_are_kept_as_browsers_send_them():
    given = ("HTTP://LocalHost:3000", "https://App.Example.com:443", "http://[::1]:80", "*")
    assert ServeSettings(origins=given).origins == ("http://localhost:3000", "https://app.example.com",
                                                     "http://[::1]", "*")


def test_the_page_takes_every_photo_type_personseg_reads():
    """Browsers give some photos no type (a .HEIC on most): the page then goes by the name's suffix."""
    import re
    from importlib import resources

    from personseg.image import IMAGE_SUFFIXES

    script = (resources.files("personseg.serve") / "page" / "app.js").read_text()
    pattern = re.search(r"const isImage = .*?/(\\\.\(.*?\)\$)/i", script).group(1)
    for suffix in IMAGE_SUFFIXES:
        assert re.search(pattern, f"IMG_0001{suffix.upper()}", re.I), suffix
