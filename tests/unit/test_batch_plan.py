"""Planning a batch: what is read, where outputs go, what is refused before any work (files made here)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from PIL import Image

from personseg.batch import (ANNOTATE_CLASH, MARKER, OutputRecord, plan_batch, remove_leftovers, within,
                             writable_folder)
from personseg.cli.common import models
from personseg.errors import PersonsegError
from personseg.image import load_image, write_image
from personseg.outputs import parse_outputs


@pytest.fixture
def folder(tmp_path):
    for name in ("a.jpg", "sub/b.png"):
        write_image(tmp_path / "in" / name, np.zeros((16, 16, 3), np.uint8))
    return tmp_path


def test_folders_keep_their_layout_and_a_file_named_twice_is_one_job(folder):
    plan = plan_batch([folder / "in", folder / "in/a.jpg", folder / "nope.jpg"], folder / "out")
    assert sorted((j.out_dir.relative_to(folder), j.stem) for j in plan.jobs) == [
        (folder.joinpath("out").relative_to(folder), "a"), (folder.joinpath("out/sub").relative_to(folder), "b")]
    assert plan.missing == [folder / "nope.jpg"]


def test_an_output_folder_inside_an_input_folder_is_not_searched(folder):
    write_image(folder / "in/masks/a.mask.png", np.zeros((16, 16), np.uint8))
    assert len(plan_batch([folder / "in"], folder / "in/masks").jobs) == 2
    with pytest.raises(PersonsegError, match="is the input folder"):
        plan_batch([folder / "in"], folder / "in")


def test_outputs_of_an_earlier_batch_inside_an_input_folder_are_not_read(folder):
    """`segment in --out in/o`, then `segment in --out out`: in/o's outputs are not photos of the second batch;
    a photo of the user's there, and a file named like an output in a folder no batch wrote, still are."""
    writable_folder(folder / "in/o")
    assert (folder / "in/o" / MARKER).is_file()
    for name in ("o/a.mask.png", "o/a.person-1.mask.png", "o/sub/b.cutout.png", "o/holiday.jpg", "mine/c.mask.png"):
        write_image(folder / "in" / name, np.zeros((16, 16, 3), np.uint8))
    names = sorted(j.name for j in plan_batch([folder / "in"], folder / "out").jobs)
    assert names == ["a.jpg", "mine/c.mask.png", "o/holiday.jpg", "sub/b.png"]   # o/sub: the layout kept below o
    assert len(plan_batch([folder / "in/o/a.mask.png"], folder / "out").jobs) == 1   # named: read


def test_files_that_are_not_photos_are_listed_not_read(folder):
    """A drawing, a note and a file without a type are named for the summary; hidden files and an earlier batch's
    JSON outputs are not."""
    for name in ("c.svg", "sub/notes.txt", "noext", ".DS_Store", "sub/.cache/x.bin", "._a.jpg", ".thumbs/b.jpg"):
        (folder / "in" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "in" / name).write_bytes(b"x")
    writable_folder(folder / "in/o")
    (folder / "in/o/a.json").write_text("{}")
    plan = plan_batch([folder / "in"], folder / "out")
    assert len(plan.jobs) == 2   # hidden photos (macOS's ._ copies, thumbnails) are not searched
    assert sorted(p.relative_to(folder / "in").as_posix() for p in plan.others) == ["c.svg", "noext", "sub/notes.txt"]
    assert len(plan_batch([folder / "in/._a.jpg"], folder / "out").jobs) == 1   # named: read
    assert len(plan_batch([folder / "in", folder / "in/sub"], folder / "out").others) == 3   # named twice: once


def test_a_background_or_blur_without_the_output_that_draws_it_is_refused():
    with pytest.raises(PersonsegError, match="used only by the 'replace' output.*: --save mask,cutout,replace$"):
        parse_outputs("mask,cutout", "red")
    with pytest.raises(PersonsegError, match="ask for it: --save replace$"):   # into a video file: one output
        parse_outputs("blur", "red", one=True)
    assert parse_outputs("mask,replace", "red") == ("mask", "replace")
    with pytest.raises(PersonsegError, match="--blur 0.1 is used only by the 'blur' output"):
        parse_outputs("mask", blur=0.1)
    assert parse_outputs("blur", blur=0.1) == ("blur",)


def test_inputs_named_like_outputs_or_sharing_them_are_refused(folder):
    write_image(folder / "in/a.mask.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(PersonsegError, match="has the name of an output"):
        plan_batch([folder / "in/a.jpg", folder / "in/a.mask.png"], folder / "in")
    write_image(folder / "in/a.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(PersonsegError, match="same output files"):
        plan_batch([folder / "in/a.jpg", folder / "in/a.png"], folder / "out")
    write_image(folder / "in/a.person-1.jpg", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(PersonsegError, match="a.person-1.jpg .its outputs are named as the first's per-person"):
        plan_batch([folder / "in/a.jpg", folder / "in/a.person-1.jpg"], folder / "out")
    # annotate's words (it said "segment them into different --out folders"), and no per-person files of its own
    # a.jpg beside a.png is no clash there (it knows a photo by its name); a.jpg of two folders named is
    write_image(folder / "other/a.jpg", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(PersonsegError, match="kept under one name in the run: .*in/a.jpg and .*other/a.jpg; rename"):
        plan_batch([folder / "in/a.jpg", folder / "other/a.jpg"], folder / "out", ANNOTATE_CLASH)
    assert len(plan_batch([folder / "in/a.jpg", folder / "in/a.png"], folder / "out", ANNOTATE_CLASH).jobs) == 2
    plan_batch([folder / "in/a.jpg", folder / "in/a.person-1.jpg"], folder / "out", ANNOTATE_CLASH)


def test_a_rerun_keeps_or_completes_outputs_only_with_the_settings_that_made_them(folder):
    """The record in --out: other settings are refused for images with outputs (not for those without, nor a
    background the earlier run did not use); --overwrite with other settings removes the outputs it does not
    write; an --overwrite run interrupted before ``finish`` leaves its images refused until rerun with
    --overwrite; a photo changed since its outputs were made is to be done again; a marker written before there
    were records takes outputs as they are."""
    out = folder / "out"
    jobs = plan_batch([folder / "in"], out).jobs
    fast = {"method": "fast", "matting": "guided", "background": None}
    writable_folder(out)
    OutputRecord(out).refuse_changed(jobs, fast)   # nothing recorded yet
    OutputRecord(out).start(jobs, fast, replaced=set())
    write_image(out / "a.mask.png", np.zeros((16, 16), np.uint8))   # a.jpg's outputs exist, sub/b.png's do not
    OutputRecord(out).refuse_changed(jobs, fast | {"background": "red"})
    with pytest.raises(PersonsegError, match=r"outputs of .*a\.jpg made with other settings \(--method accurate, "
                                             r"was fast\).*--overwrite"):
        OutputRecord(out).refuse_changed(jobs, fast | {"method": "accurate"})
    OutputRecord(out).refuse_changed(jobs[1:], fast | {"method": "accurate"})
    write_image(out / "a.cutout.png", np.zeros((16, 16, 3), np.uint8))
    write_image(out / "a.person-1.mask.png", np.zeros((16, 16), np.uint8))
    assert OutputRecord(out).stale(jobs, fast) == []   # the same settings: the outputs stay
    # --overwrite --method accurate --save mask: fast's cut-out and person mask would pass for accurate's
    (stale,) = OutputRecord(out).stale(jobs, fast | {"method": "accurate"})
    assert stale is jobs[0] and stale.remove_other_outputs(("mask",), instances=False) == 2
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "a.mask.png"]
    record = OutputRecord(out)
    record.start(jobs, fast | {"method": "accurate"}, replaced={job.path for job in jobs})
    with pytest.raises(PersonsegError, match="interrupted"):
        OutputRecord(out).refuse_changed(jobs, fast | {"method": "accurate"})
    record.finish(jobs)
    OutputRecord(out).refuse_changed(jobs, fast | {"method": "accurate"})
    assert OutputRecord(out).changed_photos(jobs) == []
    (folder / "in/a.jpg").unlink()
    write_image(folder / "in/a.jpg", np.full((16, 16, 3), 200, np.uint8))   # the photo replaced by another
    assert OutputRecord(out).changed_photos(jobs) == [jobs[0]]   # sub/b.png has no outputs: nothing to redo
    (out / MARKER).write_text("personseg segment writes its outputs here\n")   # an earlier version's marker
    OutputRecord(out).refuse_changed(jobs, fast)


def test_within_follows_links(folder):
    (folder / "link").symlink_to(folder / "in")
    assert within(folder / "link/a.jpg", folder / "in") and not within(folder / "in", folder / "in/sub")



def test_folders_reached_through_links_are_searched_once_each(folder):
    write_image(folder / "elsewhere/c.jpg", np.zeros((16, 16, 3), np.uint8))
    (folder / "in/2024").symlink_to(folder / "elsewhere", target_is_directory=True)
    (folder / "in/sub/up").symlink_to(folder / "in", target_is_directory=True)   # a loop
    (folder / "in/again").symlink_to(folder / "in/sub", target_is_directory=True)
    write_image(folder / "in/b/c/d.jpg", np.zeros((16, 16, 3), np.uint8))
    (folder / "in/a").symlink_to(folder / "in/b/c", target_is_directory=True)   # a link above what it leads to
    (folder / "in/up").symlink_to(folder, target_is_directory=True)   # out of the folder named
    names = sorted(j.name for j in plan_batch([folder / "in"], folder / "out").jobs)
    assert names == ["2024/c.jpg", "a.jpg", "b/c/d.jpg", "sub/b.png"]   # folders under their own names


def test_model_files_may_hold_an_equals_sign():
    args = argparse.Namespace(method="fast", model=["runs/lr=1e-3/best.onnx", "sinet=runs/x=1.onnx"])
    assert {k: str(v) for k, v in models(args).items()} == {"sinet": "runs/x=1.onnx"}
    args = argparse.Namespace(method="fast", model=["runs/lr=1e-3/best.onnx"])
    assert {k: str(v) for k, v in models(args).items()} == {"sinet": "runs/lr=1e-3/best.onnx"}
    with pytest.raises(PersonsegError, match="say which it replaces"):
        models(argparse.Namespace(method="accurate", model=["mine.onnx"]))


def test_float_files_and_arrays_a_hair_past_one(tmp_path):
    values = np.linspace(0, 255, 16 * 16, dtype=np.float32).reshape(16, 16)
    Image.fromarray(values, mode="F").save(tmp_path / "f.tif")
    assert load_image(tmp_path / "f.tif")[..., 0].max() == 255
    assert load_image(np.full((16, 16), 1.0000001, np.float32)).min() == 255


def test_a_killed_runs_temporary_files_are_removed_for_the_images_done_again(folder):
    out = folder / "out"
    jobs = plan_batch([folder / "in"], out).jobs   # a.jpg, sub/b.png
    left = [".a.mask.png.k3j_x9.tmp", ".a.person-2.mask.png.q1w2e3.tmp", ".a.json.zz9.tmp", "sub/.b.cutout.png.a1.tmp"]
    others = [".ab.mask.png.k3j_x9.tmp", ".notes.txt.k3j.tmp", "a.mask.png"]   # another image's, the user's, an output
    for name in left + others:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"")
    remove_leftovers(jobs)
    assert not any((out / name).exists() for name in left) and all((out / name).exists() for name in others)


def test_a_second_run_into_a_folder_being_written_is_refused(tmp_path):
    import subprocess
    import sys

    from personseg.batch import sole_writer

    holder = ("import sys, time; from pathlib import Path; from personseg.batch import sole_writer\n"
              "with sole_writer(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)")
    other = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        with pytest.raises(PersonsegError, match=f"another personseg run \\(process {other.pid}\\) is writing"):
            with sole_writer(tmp_path):
                pass
    finally:
        other.kill()
        other.wait()
    with sole_writer(tmp_path):   # the lock went with its process
        with pytest.raises(PersonsegError, match="another personseg run"):   # and is held within one too
            with sole_writer(tmp_path):
                pass


def test_a_folder_this_run_may_not_write_is_said_so(tmp_path, monkeypatch):
    from personseg import batch

    def refused(path, mode="r"):   # as for a user without write permission there (tests run as root)
        if mode != "r":
            raise PermissionError(13, "Permission denied")
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(batch, "open", refused, raising=False)
    with pytest.raises(PersonsegError, match="cannot write there .Permission denied."):
        with batch.sole_writer(tmp_path, out=tmp_path):
            pass


def test_an_image_is_done_since_a_time_only_when_every_output_was_written_then(folder):
    """An interrupted run counts the images its workers finished from the files they wrote after the run began
    (Ray's driver hears of them late); outputs of an earlier run are not this run's."""
    import os

    (job,) = plan_batch([folder / "in" / "a.jpg"], folder / "out").jobs
    job.out_dir.mkdir(parents=True)
    mask, cutout = (job.out_dir / f"{job.stem}.{o}.png" for o in ("mask", "cutout"))
    mask.write_bytes(b"earlier")
    os.utime(mask, ns=(10**18, 10**18))
    assert not job.done(("mask", "cutout"), False) and not job.done(("mask",), False, since=2 * 10**18)
    cutout.write_bytes(b"now")
    since = cutout.stat().st_mtime_ns
    assert job.done(("mask", "cutout"), False) and not job.done(("mask", "cutout"), False, since)
    mask.write_bytes(b"now too")
    os.utime(mask, ns=(since, since))
    assert job.done(("mask", "cutout"), False, since)


def test_a_folder_takes_the_formats_a_photo_named_alone_takes(tmp_path):
    # .avif and .gif were left out of a folder as "not photos", while named alone, or sent to the service, they work
    for name in ("a.avif", "b.gif", "c.jfif"):
        Image.new("RGB", (16, 12), (200, 30, 30)).save(tmp_path / name, format="JPEG" if name.endswith("jfif") else None)
    plan = plan_batch([tmp_path], tmp_path / "out")
    assert sorted(job.name for job in plan.jobs) == ["a.avif", "b.gif", "c.jfif"] and not plan.others
    assert all(load_image(job.path).shape == (12, 16, 3) for job in plan.jobs)


def test_a_cluster_address_nothing_answers_at_is_refused_at_once():
    # Ray retried for minutes, printing its own warnings, before any word of ours
    from personseg.raywork import _check_reachable

    with pytest.raises(PersonsegError, match="--address 127.0.0.1:1: nothing answers there"):
        _check_reachable("127.0.0.1:1")
    _check_reachable("auto")   # forms Ray reads itself are left to it


def test_a_file_ray_cannot_decode_is_named_as_a_local_run_names_it():
    # "photos/x.jpg: <bytes>: not an image", and "the image data is empty" for an empty file
    from personseg.raywork import _decode

    assert _decode({"path": "x.jpg", "bytes": b"junk"})["error"] == "not an image, or in a format that cannot be read"
    assert _decode({"path": "x.jpg", "bytes": b""})["error"] == "the file is empty (0 bytes)"


def test_a_link_to_nothing_in_a_folder_is_named_not_skipped(folder):
    # a dangling link in a folder was left out without a word
    from personseg.image import not_there

    (folder / "in/gone.jpg").symlink_to(folder / "nowhere.jpg")
    plan = plan_batch([folder / "in"], folder / "out")
    assert plan.missing == [folder / "in/gone.jpg"]
    assert not_there(plan.missing[0]) == f"a link to {folder / 'nowhere.jpg'}, which is not there"


def test_a_refused_rerun_names_keypoints_only_where_the_method_is_the_same():
    """`fast` with json (keypoints asked) then `accurate` into the same folder said 'keypoints off, was on' too,
    though `accurate` finds them whatever is asked (a user's trial of the README)."""
    from personseg.runsettings import changes

    assert changes({"method": "accurate", "keypoints": False}, {"method": "fast", "keypoints": True}) == [
        "--method accurate, was fast"]
    assert changes({"method": "fast", "keypoints": False}, {"method": "fast", "keypoints": True}) == [
        "keypoints (--pose, or a --save output that holds them) off, was on"]
