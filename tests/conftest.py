"""Settings for the whole suite: how many processes run the tests (pytest-xdist), and each one's share of the
cores."""

from __future__ import annotations

import os

#: The most processes ``-n auto`` (pyproject's addopts) starts, whatever the machine: each loads its own networks.
MOST_WORKERS = 4


def _cores() -> int:
    """The cores this process may run on (a container's or taskset's, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pytest_xdist_auto_num_workers(config) -> int:
    return max(1, min(MOST_WORKERS, _cores()))


# With the tests spread over processes, torch's OpenMP threads (one per core in every process) fought over the
# cores (a training test took 5 s alone and 37 s beside another): each worker's torch gets its share. Set before any
# test imports torch; the commands the tests start inherit it. onnxruntime's sessions keep their own count
# (runtime.py; their threads spin only within a call).
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _cores() // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))
