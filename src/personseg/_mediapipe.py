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

from .errors import DependencyError


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


def started(make: Callable[[], Any]) -> Any:
    """The mediapipe solution ``make()`` returns (``solution(name).<Model>(...)``), made and run once on a blank
    frame with the process's stderr (file descriptor 2) sent to /dev/null: while its graph starts, mediapipe's
    C++ prints lines ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires ...") that no log
    level turns off, some from its own threads. Errors still raise."""
    with _no_stderr():
        model = make()
        model.process(np.zeros((64, 64, 3), np.uint8))
    return model


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
