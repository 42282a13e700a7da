"""Importing and starting mediapipe's legacy solutions (the models bundled with mediapipe 0.10.14) quietly."""

from __future__ import annotations

import importlib
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from .errors import DependencyError, PersonsegError


def solution(name: str) -> ModuleType:
    """``mediapipe.python.solutions.<name>``, with mediapipe's per-frame protobuf warning and its C++ logging
    silenced (neither is ours to act on)."""
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return importlib.import_module(f"mediapipe.python.solutions.{name}")
    except ImportError as e:  # pragma: no cover - mediapipe is a core dependency
        raise DependencyError(f"mediapipe is needed for its {name} model: {e}") from None


#: The process that started mediapipe's graphs: a process forked from it after that cannot run any (they wait
#: forever on threads the fork did not copy, new graphs too), so there they are refused (``Started``).
_STARTED_IN: int | None = None


#: The frame a solution is first run on, once started.
BLANK = np.zeros((64, 64, 3), np.uint8)


class Started:
    """A mediapipe solution started by ``started``: ``process`` (one call at a time) and ``close`` as the
    solution's, refused with PersonsegError in a process forked from the one that started mediapipe (checked
    before the lock, which a thread of the parent may have held when it forked)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._lock = threading.Lock()

    def process(self, rgb: np.ndarray) -> Any:
        refuse_forked()
        with self._lock:
            return self._model.process(rgb)

    def reset(self) -> None:
        """The graph started again as ``started`` left it (a video-mode solution forgets the frames before)."""
        refuse_forked()
        with self._lock, _no_stderr():
            self._model.reset()
            self._model.process(BLANK)

    def close(self) -> None:
        if _STARTED_IN == os.getpid():   # a forked process leaves the graph alone: closing it could hang too
            self._model.close()

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def started(make: Callable[[], Any]) -> Started:
    """The mediapipe solution ``make()`` returns (``solution(name).<Model>(...)``), made and run once on a blank
    frame with the process's stderr (file descriptor 2) sent to /dev/null: while its graph starts, mediapipe's
    C++ prints lines ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires ...") that no log
    level turns off, some from its own threads. Errors still raise."""
    global _STARTED_IN
    refuse_forked()
    with _no_stderr():
        model = make()
        model.process(BLANK)
    _STARTED_IN = _STARTED_IN or os.getpid()
    return Started(model)


def refuse_forked() -> None:
    """PersonsegError in a process forked after mediapipe started in its parent (_STARTED_IN)."""
    if _STARTED_IN is not None and _STARTED_IN != os.getpid():
        raise PersonsegError(
            f"this process was forked from process {_STARTED_IN} after that one started mediapipe's models, which "
            "cannot run in a forked process (they hang): start worker processes with the 'spawn' or 'forkserver' "
            "method (multiprocessing.get_context('spawn'), or ProcessPoolExecutor(mp_context=...)), or make no "
            "Segmenter before the workers start")


#: One muting at a time: two threads muting at once could restore each other's /dev/null.
_MUTE = threading.Lock()


@contextmanager
def _no_stderr() -> Iterator[None]:
    with _MUTE:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
