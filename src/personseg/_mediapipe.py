"""Importing mediapipe's legacy solutions (the models bundled with mediapipe 0.10.14) quietly."""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType

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
