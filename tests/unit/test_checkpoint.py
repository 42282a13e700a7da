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


def test_files_that_are_no_checkpoint_are_named_for_what_they_are(tmp_path):
    """An exported network or a photo given as a checkpoint was said to hold objects that could run code."""
    onnx, photo, old = tmp_path / "mine.onnx", tmp_path / "photo.jpg", tmp_path / "old.pt"
    onnx.write_bytes(b"\x08\x07\x12\x07pytorch")
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(64))
    torch.save({"config": {}, "model": _Runs(str(tmp_path / "ran"))}, old, _use_new_zipfile_serialization=False)
    with pytest.raises(PersonsegError, match=r"mine.onnx: an exported network \(ONNX\) already, not a checkpoint"):
        read_checkpoint(onnx)
    for path in (photo, old):   # nor is a pickle of before torch's zip format unpickled
        with pytest.raises(PersonsegError, match=r"not a checkpoint written by `personseg train` \(a .pt file\)"):
            read_checkpoint(path)
    assert not (tmp_path / "ran").exists()


def test_a_cards_run_record_says_only_what_the_checkpoints_show(tmp_path):
    """export's card: the kept epoch counted as the log counts, last.pt's averaged IoU not given as its own, a
    diverged loss as null, and no run read from another run's last.pt."""
    from personseg.train.export import run_record

    config = {"model": "sinet", "epochs": 3}
    history = [{"epoch": 1, "loss": 0.5, "val_iou": 0.8, "seconds": 2.0, "averaged": 0, "lr": 4e-10},
               {"epoch": 2, "loss": float("nan"), "val_iou": 0.85, "seconds": 2.0, "averaged": 2}]
    torch.save({"config": config, "model": {}, "epoch": 1, "history": history, "command": {"lr": 0.1},
                "data": {"training": {"pairs": 9}}}, tmp_path / "last.pt")
    torch.save({"config": config, "model": {}, "epoch": 1, "val_iou": 0.85}, tmp_path / "best.pt")
    best = run_record(tmp_path / "best.pt")
    assert (best["epoch_kept"], best["val_iou"], best["epochs_run"], best["options"]) == (2, 0.85, 2, {"lr": 0.1})
    assert best["log"][1]["loss"] is None and best["log"][0]["lr"] == 4e-10   # significant digits kept
    last = run_record(tmp_path / "last.pt")
    assert last["val_iou"] is None and "the mean of the last 2 epochs' weights" in last["val_iou_note"]
    torch.save({"config": config | {"epochs": 5}, "model": {}, "epoch": 1, "history": history},
               tmp_path / "last.pt")   # another run's
    assert run_record(tmp_path / "best.pt").keys() == {"config", "epoch_kept", "val_iou", "run"}
    # a starting network kept (epoch -1), beside a run of the same settings whose best was another network's score
    torch.save({"config": config, "model": {}, "epoch": -1, "val_iou": 0.98}, tmp_path / "best.pt")
    torch.save({"config": config, "model": {}, "epoch": 1, "history": history, "best": 0.91}, tmp_path / "last.pt")
    assert "run" in run_record(tmp_path / "best.pt")
    torch.save({"config": config, "model": {}, "epoch": 1, "history": history, "best": 0.98}, tmp_path / "last.pt")
    assert run_record(tmp_path / "best.pt")["epochs_run"] == 2   # its own run
