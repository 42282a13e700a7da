"""`personseg serve` in a child process, for scripts, tests and benchmarks that talk to a real server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from ..errors import PersonsegError


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(*options: str, wait: float = 180.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `personseg serve OPTIONS` on a free loopback port; yields (base URL, process) once /v1/health answers
    200, and stops the server on leaving. PersonsegError if it exits or is not healthy within ``wait`` seconds."""
    port = free_port()
    log = tempfile.TemporaryFile("w+")   # a file, not a pipe: a server that logs much never blocks on it
    proc = subprocess.Popen([sys.executable, "-m", "personseg", "serve", "--port", str(port), *options],
                            stdout=subprocess.DEVNULL, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise PersonsegError(f"the server exited ({proc.returncode}): {log.read().strip()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise PersonsegError(f"the server did not become healthy within {wait:g} s")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
