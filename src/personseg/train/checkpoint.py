"""Reading the checkpoints `personseg train` writes (.pt), with one clear error for anything else."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from ..errors import PersonsegError


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict:
    """The checkpoint at ``path`` (a dict with at least 'config' and 'model'); PersonsegError naming the file
    when it is missing or not one `personseg train` wrote. Read as weights only (tensors, numbers, strings, lists
    and dicts, all a checkpoint of ours holds): unpickling anything else could run code, and checkpoints are
    shared."""
    path = Path(path)
    if not path.is_file():
        raise PersonsegError(f"{path}: checkpoint not found")
    if not zipfile.is_zipfile(path):   # torch.save writes a zip archive; anything else read as a pickle was said
        # to hold objects that could run code
        what = ("an exported network (ONNX) already, not a checkpoint (a .pt file of `personseg train`)"
                if path.suffix.lower() == ".onnx" else "not a checkpoint written by `personseg train` (a .pt file)")
        raise PersonsegError(f"{path}: {what}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise PersonsegError(f"{path}: holds objects other than weights and settings, which `personseg train` does "
                             "not write (not loaded: unpickling them could run code)") from None
    except (OSError, RuntimeError, EOFError, ValueError, zipfile.BadZipFile,
            AttributeError, ImportError, IndexError, TypeError) as e:
        raise PersonsegError(f"{path}: not a checkpoint written by `personseg train` ({type(e).__name__})") from None
    if not isinstance(state, dict) or not {"config", "model"} <= state.keys():
        raise PersonsegError(f"{path}: not a checkpoint written by `personseg train` (no model and settings in it)")
    return state
