"""Settings for the whole suite."""

from __future__ import annotations

import os

# With the tests spread over processes (pytest-xdist), each has its share of the cores: torch's OpenMP threads,
# one per core in every process, would fight over them (a training test took 5 s alone and 37 s beside another).
# Set before any test imports torch; the commands the tests start inherit it.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))
