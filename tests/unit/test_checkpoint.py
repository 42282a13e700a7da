"""Checkpoints are read as weights only: a shared .pt that would run code when unpickled is refused unrun."""

from __future__ import annotations

import os

import pytest
import torch

from personseg.errors import PersonsegError
from personseg.train.checkpoint import read_checkpoint


class _Runs:
    """Unpickled, it would create a file: what a malicious checkpoint could do instead."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path):
    evil, ran = tmp_path / "evil.pt", tmp_path / "ran"
    torch.save({"config": {}, "model": _Runs(str(ran))}, evil)
    with pytest.raises(PersonsegError, match="holds objects other than weights.*could run code"):
        read_checkpoint(evil)
    assert not ran.exists()
    fine = tmp_path / "fine.pt"   # what train writes: tensors, numbers, strings, lists and dicts
    torch.save({"config": {"model": "sinet", "lr": 3e-4}, "model": {"w": torch.ones(2)}, "history": [{"epoch": 1}]},
               fine)
    assert read_checkpoint(fine)["config"]["model"] == "sinet"
