"""Importing and starting mediapipe's legacy solutions (the models bundled with mediapipe 0.10.14) quietly."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

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


class Quiet:
    """A mediapipe solution (``solution(name).<Model>(...)``) whose first ``process`` call runs with the
    process's stderr (file descriptor 2) sent to /dev/null: that is when its graph starts, and mediapipe's
    C++ then prints start-up lines ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires
    ...") that no log level turns off. Errors still raise."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._started = False

    def process(self, rgb: Any) -> Any:
        if self._started:
            return self.model.process(rgb)
        with _no_stderr():
            out = self.model.process(rgb)
        self._started = True
        return out

    def close(self) -> None:
        self.model.close()

    def __enter__(self) -> Quiet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def _no_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
