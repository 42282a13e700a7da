"""The settings a run records beside its outputs (`personseg segment`, `personseg video`), so that a rerun
completes them only with the settings that made them: how two records compare, and how a refusal names what
changed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pipeline import Segmenter
    from .video.stream import VideoSegmenter

#: Settings not every run uses, or that records of earlier versions lack (None there): compared only where both
#: runs have them.
OPTIONAL = ("background", "blur", "matting_side", "input_contents")
#: Each setting as the message that refuses a rerun names it (the command line's flags).
NAMED = {"method": "--method", "pose_every": "--pose-every", "smooth": "smoothing (--no-smooth)",
         "matting": "--matting", "matting_side": "--matting-side", "models": "--model",
         "mediapipe_masks": "MediaPipe's masks (--no-mediapipe-masks)", "subject": "--subject",
         "person_check": "the person check (--no-person-check)", "background": "--background", "blur": "--blur",
         "require_person": "--require-person", "instances": "--instances", "people": "--people",
         "keypoints": "keypoints (--pose, or a --save output that holds them)",
         "crf": "the dense CRF (pydensecrf2 installed)",
         "input_contents": "the input (the same name, other contents)"}


def shared_settings(seg: Segmenter | VideoSegmenter, mediapipe_masks: bool, outputs: tuple[str, ...],
                    background: str | None, blur: float) -> dict[str, object]:
    """The settings that decide photos' and frames' outputs alike: ``seg``'s (a Segmenter or VideoSegmenter:
    method, matting, models, subject, person check), MediaPipe's masks, and the background and blur where the
    ``outputs`` use them."""
    return {"method": seg.method.name, "matting": seg.matting,
            "matting_side": (seg.matting_side or 0) if seg.matting else None,   # 0: full size
            "models": models_recorded(seg.models),
            "mediapipe_masks": mediapipe_masks, "subject": seg.subject, "person_check": seg.person_check,
            "background": background if "replace" in outputs else None,
            "blur": blur if "blur" in outputs else None}


def models_recorded(models: Mapping[str, str | Path]) -> dict[str, str]:
    """Networks of your own (model name -> ONNX file) as a record names them: each file's full path and the
    start of its SHA-256, so a file exported again under the same name counts as another setting (a missing
    file, which the Segmenter refuses, as its path alone)."""
    def named(path: Path) -> str:
        digest = f" (sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:12]})" if path.is_file() else ""
        return f"{path.resolve()}{digest}"

    return {name: named(Path(path)) for name, path in sorted(models.items())}


def changes(settings: dict[str, object], earlier: dict[str, object],
            implied: dict[str, str] | None = None) -> list[str]:
    """What differs between ``settings`` and the ``earlier`` run's, as 'FLAG NOW, was THEN' (``implied``: for
    settings another one decided, what follows their value, e.g. " (--method accurate's)"). Keypoints asked for
    beyond the method's are named only where the method is the same (`accurate` finds them whatever was asked)."""
    implied = implied or {}
    # another input's contents differ as a matter of course: named only for the same input
    unnamed = {"input_contents"} if settings.get("input") != earlier.get("input") else set()
    if settings.get("method") != earlier.get("method"):
        unnamed.add("keypoints")
    return [f"{NAMED.get(k, k)} {_shown(settings.get(k))}{implied.get(k, '')}, was {_shown(earlier.get(k))}"
            for k in sorted((settings.keys() | earlier.keys()) - unnamed)
            if settings.get(k) != earlier.get(k) and not (k in OPTIONAL and None in (settings.get(k), earlier.get(k)))]


def completed(settings: dict[str, object], earlier: dict[str, object]) -> dict[str, object]:
    """``settings`` with the optional ones this run does not use taken from the ``earlier`` run's (outputs it
    made and this one keeps were made with them)."""
    return {k: earlier.get(k) if k in OPTIONAL and v is None else v for k, v in settings.items()}


def _shown(value: object) -> str:
    if isinstance(value, dict):   # --model's files by model name
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    return "none" if value is None else "on" if value is True else "off" if value is False else str(value)
