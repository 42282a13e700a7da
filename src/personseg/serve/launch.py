"""`personseg serve` in a child process, for scripts, tests and benchmarks that talk to a real server."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from ..errors import PersonsegError

#: The URL in the line `personseg serve` writes on stderr before it loads its models.
SERVING = re.compile(r"then serving (http://\S+?)/ ")


@contextlib.contextmanager
def serving(*options: str, wait: float = 180.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `personseg serve OPTIONS` on a free loopback port (its own: `--port 0`, named on its stderr); yields
    (base URL, process) once /v1/health answers 200, and stops the server on leaving. PersonsegError if it exits
    or is not healthy within ``wait`` seconds."""
    log = tempfile.TemporaryFile()   # a file, not a pipe: a server that logs much never blocks on it
    proc = subprocess.Popen([sys.executable, "-m", "personseg", "serve", "--port", "0", *options],
                            stdout=subprocess.DEVNULL, stderr=log)
    url = None
    try:
        deadline = time.monotonic() + wait
        while True:
            exited = proc.poll() is not None
            said = _written(log.fileno())
            if exited:
                raise PersonsegError(f"the server exited ({proc.returncode}): {said.strip()[-2000:]}")
            url = url or next(iter(SERVING.findall(said)), None)
            try:
                if url is not None:
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


def _written(fd: int) -> str:
    """What the file ``fd`` holds, read without moving the offset the child writes at."""
    return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")
