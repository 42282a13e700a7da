"""personseg: find people in photos and cut them out (masks, alpha mattes, cut-outs, backgrounds)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

# onnxruntime's telemetry off before it loads: nothing leaves the machine, and where the home folder is read-only
# it would print that it cannot store its device id
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
__all__ = ["METHODS", "Instance", "PersonsegError", "Result", "Segmenter", "VideoSegmenter", "load_image",
           "segment"]

if TYPE_CHECKING:
    from .errors import PersonsegError
    from .image import load_image
    from .pipeline import METHODS, Result, Segmenter, segment
    from .result import Instance
    from .video.stream import VideoSegmenter


def __getattr__(name: str):
    # Keep `import personseg` fast: the pipeline (OpenCV, mediapipe) loads on first use.
    if name in ("Segmenter", "Result", "segment", "METHODS"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "Instance":
        from .result import Instance

        return Instance
    if name == "VideoSegmenter":
        from .video.stream import VideoSegmenter

        return VideoSegmenter
    if name == "load_image":
        from .image import load_image

        return load_image
    if name == "PersonsegError":
        from .errors import PersonsegError

        return PersonsegError
    raise AttributeError(f"module 'personseg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
