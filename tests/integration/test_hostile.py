"""Every command against bad input, interruption and odd setups, as a user (or an attacker) would run it: the
command line as a subprocess, and the API. Each case checks the exit status, one line on stderr per bad input,
no traceback, inputs unchanged, no partial or temporary files, and the rest of a batch finished."""

from __future__ import annotations

import copy
import hashlib
import io
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from personseg import PersonsegError, Segmenter
from personseg.batch import LOCK, MARKER
from personseg.video.run import SETTINGS
from personseg.errors import ImageError
from personseg.image import load_image, write_image

PARKOUR = "video/parkour/images"


def cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 300) -> tuple[int, str, str]:
    """Run `python -m personseg ARGS` in ``cwd``; (exit status, stdout, stderr). No traceback may appear."""
    done = subprocess.run([sys.executable, "-m", "personseg", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=None if env is None else os.environ | env)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def digest(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` by relative path -> sha256 (inputs must stay byte for byte the same), but an
    output folder's lock (it names the run that held it last)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK}


def outputs(folder: Path) -> list[Path]:
    """The files in ``folder`` but the marker and lock of an output folder and the settings of a video's frames, by
    name."""
    return sorted(p for p in folder.iterdir() if p.name not in (MARKER, LOCK, SETTINGS))


def leftovers(folder: Path) -> list[Path]:
    """Temporary and partial files left behind."""
    return [p for p in folder.rglob("*") if p.name.startswith(".") and (".tmp" in p.name or ".partial" in p.name)]


@pytest.fixture
def photos(tmp_path, data_dir) -> Path:
    """A folder of three small real photos (EG1800 test portraits shrunk to 150x200)."""
    folder = tmp_path / "photos"
    for ident in ("00002", "00005", "00013"):
        rgb = load_image(data_dir / f"eg1800/images/{ident}.jpg")
        write_image(folder / f"{ident}.jpg", np.asarray(Image.fromarray(rgb).resize((150, 200))))
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory, data_dir) -> Path:
    """A 200-frame H.264 clip with AAC sound, made from the parkour frames shrunk to 428x240."""
    from personseg.video.io import write_clip

    frames = [np.asarray(Image.fromarray(load_image(p)).resize((428, 240)))
              for p in sorted((data_dir / PARKOUR).iterdir())[:50]]
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames * 4, tone_hz=440)


def test_an_output_that_is_the_input_is_refused(tmp_path, clip):
    src = tmp_path / "in.mp4"
    src.write_bytes(clip.read_bytes())
    (tmp_path / "link.mp4").symlink_to(src)
    before = digest(tmp_path)
    for out in ("in.mp4", "link.mp4", "./in.mp4"):
        code, _, err = cli("video", "in.mp4", "--out", out, "--overwrite", cwd=tmp_path)
        assert code == 2 and len(lines(err)) == 1 and "input" in err
    code, _, err = cli("video", "in.mp4", "--out", "x.mp4", "--keypoints", "in.mp4", "--overwrite", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1
    assert digest(tmp_path) == before


def test_outputs_are_never_read_back_as_inputs(photos, tmp_path):
    code, _, err = cli("segment", "photos", "--out", "photos", "--method", "fast", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1
    before = digest(photos)
    for _ in range(3):
        code, _, err = cli("segment", "photos", "--out", "photos/masks", "--method", "fast", cwd=tmp_path)
        assert code == 0, err
    assert len(outputs(photos / "masks")) == 9   # 3 images x mask, alpha, cutout: never 26, 80 ...
    assert {k: v for k, v in digest(photos).items() if not k.startswith("masks")} == before


def test_inputs_that_would_share_outputs_are_refused_before_any_work(photos, tmp_path):
    (photos / "00002.png").write_bytes((photos / "00005.jpg").read_bytes())
    code, _, err = cli("segment", "photos", "--out", "out", "--method", "fast", "--overwrite", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1 and "00002.jpg and" in err
    assert not (tmp_path / "out").exists()


def test_bad_images_fail_alone_and_the_batch_goes_on(photos, tmp_path):
    Image.new("RGB", (1, 1)).save(photos / "tiny.png")
    (photos / "zero.jpg").write_bytes(b"")
    (photos / "text.jpg").write_text("not an image")
    code, _, err = cli("segment", "photos", "--out", "out", "--method", "fast", cwd=tmp_path)
    assert code == 1
    failures = [line for line in lines(err) if "failed:" in line]
    assert len(failures) == 3 and len(lines(err)) == 4
    assert "failed: photos/zero.jpg: the file is empty (0 bytes)" in err and "<_io" not in err
    assert len(outputs(tmp_path / "out")) == 9
    with pytest.raises(ImageError, match="too small"):
        Segmenter("fast")(np.zeros((1, 1, 3), np.uint8))


def _ctrl_c_reaches_python() -> None:
    """In the child before Python starts: SIGINT as a terminal sends it, whatever this process was started with
    (a shell's background job ignores it, and Python then keeps it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_when(process: subprocess.Popen, ready, limit: float = 120) -> None:
    end = time.monotonic() + limit
    while not ready() and time.monotonic() < end and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)


def test_ctrl_c_in_a_video_exits_130_and_leaves_nothing(tmp_path, clip):
    p = subprocess.Popen([sys.executable, "-m", "personseg", "video", str(clip), "--out", "out.mp4", "--method", "fast",
                          "--quiet"],
                         cwd=tmp_path, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_reaches_python)
    _interrupt_when(p, lambda: any(tmp_path.glob(".out.partial*")))
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 130 and lines(err) == [
        "personseg: no video file was written (the unfinished one is removed); rerun to start again",
        "personseg: interrupted"]
    assert list(tmp_path.iterdir()) == []


def test_sigterm_in_a_video_is_cleaned_up_as_ctrl_c_is(tmp_path, clip):
    """``kill`` or ``timeout`` (SIGTERM) stops a run as Ctrl-C does: no partial file or lock left, exit 143."""
    p = subprocess.Popen([sys.executable, "-m", "personseg", "video", str(clip), "--out", "out.mp4", "--method", "fast",
                          "--quiet"],
                         cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 120
    while not any(tmp_path.glob(".out.partial*")) and time.monotonic() < end and p.poll() is None:
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 143 and lines(err)[-1] == "personseg: stopped (SIGTERM)"
    assert list(tmp_path.iterdir()) == []


def test_a_video_file_named_like_a_folder_that_exists_is_refused_before_any_work(tmp_path, clip):
    (tmp_path / "out.mp4").mkdir()
    code, _, err = cli("video", str(clip), "--out", "out.mp4", "--overwrite", "--quiet", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1 and "is a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"] and not any((tmp_path / "out.mp4").iterdir())


def test_ctrl_c_in_a_batch_then_a_rerun_does_exactly_the_rest(photos, tmp_path):
    for k in range(5):
        (photos / f"copy{k}.jpg").write_bytes((photos / "00002.jpg").read_bytes())
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "personseg", "segment", "photos", "--out", "out", "--method", "fast"],
                         cwd=tmp_path, stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_reaches_python)
    _interrupt_when(p, lambda: out.is_dir() and len(list(out.glob("*.cutout.png"))) >= 2)
    err = p.communicate(timeout=60)[1]
    assert p.returncode in (0, 130) and not leftovers(out), err
    finished = {f.name.split(".")[0] for f in out.glob("*.cutout.png")}
    code, _, err = cli("segment", "photos", "--out", "out", "--method", "fast", cwd=tmp_path)
    assert code == 0 and f"{8 - len(finished)} of 8 images segmented" in err
    assert len(outputs(out)) == 24 and not leftovers(out)


def test_webm_from_a_clip_with_aac_sound_gets_opus(tmp_path, clip):
    import av

    code, _, err = cli("video", str(clip), "--out", "out.webm", "--method", "fast", "--quiet", cwd=tmp_path)
    assert code == 0 and "Opus" in err
    with av.open(str(tmp_path / "out.webm")) as c:
        assert [s.codec_context.name for s in c.streams] == ["vp9", "opus"]


def test_system_errors_are_one_line(photos, tmp_path, data_dir):
    (tmp_path / "afile").write_text("x")
    cases = [("segment", "photos", "--out", "afile"), ("segment", "photos", "--out", "/proc/personseg-x"),
             ("video", "photos", "--out", "x.mp4", "--fps", "-5"),
             ("eval", "--images", str(data_dir / "eg1800/images"), "--masks", str(data_dir / "eg1800/masks"),
              "--ids", str(data_dir / "eg1800/test.txt"), "--limit", "1", "--method", "fast", "--quiet",
              "--worst", "/proc/personseg-x/w.png"),
             ("export", "--checkpoint", "afile", "--out", "x.onnx")]
    for args in cases:
        code, _, err = cli(*args, cwd=tmp_path)
        assert code in (1, 2) and len(lines(err)) <= 2, (args, err)   # a batch: its summary and the failure
        assert "error" in err or "failed" in err
    with pytest.raises(PersonsegError, match="unknown method"):
        Segmenter(method="nope")


def test_a_folder_of_frames_with_a_bad_frame_is_finished_and_completed_on_rerun(tmp_path, data_dir):
    frames = tmp_path / "frames"
    frames.mkdir()
    for stem in ("00001", "00002", "00003"):
        (frames / f"{stem}.jpg").write_bytes((data_dir / PARKOUR / f"{stem}.jpg").read_bytes())
    Image.new("RGB", (50, 40)).save(frames / "00004.jpg")
    (frames / "00005.jpg").write_bytes(b"\xff\xd8junk")
    code, _, err = cli("video", "frames", "--out", "masks", "--method", "fast", "--quiet", cwd=tmp_path)
    assert code == 1 and sum("skipped:" in line for line in lines(err)) == 2
    assert [p.name for p in outputs(tmp_path / "masks")] == [f"0000{i}.mask.png" for i in (1, 2, 3)]
    (tmp_path / "masks/00002.mask.png").unlink()
    code, _, err = cli("video", "frames", "--out", "masks", "--method", "fast", "--quiet", cwd=tmp_path)
    assert code == 1 and len(outputs(tmp_path / "masks")) == 3


def test_a_rerun_with_other_settings_does_not_mix_its_frames_with_the_first_runs(tmp_path, data_dir):
    frames = tmp_path / "frames"
    frames.mkdir()
    for stem in ("00001", "00002"):
        (frames / f"{stem}.jpg").write_bytes((data_dir / PARKOUR / f"{stem}.jpg").read_bytes())
    assert cli("video", "frames", "--out", "masks", "--method", "fast", "--quiet", cwd=tmp_path)[0] == 0
    first = (tmp_path / "masks/00001.mask.png").read_bytes()
    (tmp_path / "masks/00002.mask.png").unlink()   # as an interrupted run leaves it
    code, _, err = cli("video", "frames", "--out", "masks", "--method", "accurate", "--quiet", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1 and "--method accurate, was fast" in err
    assert "--pose-every 1 (--method accurate's), was 5" in err   # the method decided it, not the user
    assert [p.name for p in outputs(tmp_path / "masks")] == ["00001.mask.png"]
    assert cli("video", "frames", "--out", "masks", "--save", "overlay", "--method", "fast", "--quiet",
               cwd=tmp_path)[0] == 0
    code, _, err = cli("video", "frames", "--out", "masks", "--method", "accurate", "--overwrite", "--quiet",
                       cwd=tmp_path)
    assert code == 0 and len(outputs(tmp_path / "masks")) == 2   # the masks replaced, the overlays removed ...
    assert "masks: 2 files of an earlier run that this one did not replace removed" in err   # ... and said to be
    assert (tmp_path / "masks/00001.mask.png").read_bytes() != first   # replaced, not kept
    code, _, err = cli("video", "frames", "--out", "masks", "--method", "accurate", "--quiet", cwd=tmp_path)
    assert code == 0 and "2 frames: all kept in masks as an earlier run wrote them" in err
    settings = tmp_path / "masks" / SETTINGS   # as an --overwrite run interrupted leaves it
    settings.write_text(settings.read_text().replace('"replacing": false', '"replacing": true'))
    code, _, err = cli("video", "frames", "--out", "masks", "--method", "accurate", "--quiet", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1 and "rerun with --overwrite" in err


def test_a_truncated_video_says_so(tmp_path, clip):
    import av

    with av.open(str(clip)) as src, av.open(str(tmp_path / "fast.mp4"), "w", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    data = (tmp_path / "fast.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) * 6 // 10])
    code, _, err = cli("video", "cut.mp4", "--out", "out.mp4", "--method", "fast", "--quiet", cwd=tmp_path)
    assert code == 1 and "truncated" in err and (tmp_path / "out.mp4").is_file()



def test_a_damaged_stretch_is_left_out_and_a_cut_matroska_file_says_so(tmp_path, data_dir):
    """A stretch of zeros inside a clip ended the run with nothing written; a Matroska file cut short (it
    declares no frame count) gave a short clip with exit 0 and no word."""
    from personseg.video.io import write_clip

    frames = [np.asarray(Image.fromarray(load_image(p)).resize((428, 240)))
              for p in sorted((data_dir / PARKOUR).iterdir())[:40]]
    data = bytearray(write_clip(tmp_path / "clip.mp4", frames).read_bytes())
    data[len(data) * 4 // 10: len(data) * 6 // 10] = bytes(len(data) * 6 // 10 - len(data) * 4 // 10)
    (tmp_path / "damaged.mp4").write_bytes(data)
    code, _, err = cli("video", "damaged.mp4", "--out", "out.mp4", "--method", "fast", "--quiet", cwd=tmp_path)
    assert code == 1 and "damaged packets could not be decoded (left out)" in err, err
    import av

    with av.open(str(tmp_path / "out.mp4")) as out:
        written = sum(1 for _ in out.decode(video=0))
    assert 20 <= written < 40   # measured: 32; before, none (no file)
    whole = bytearray(write_clip(tmp_path / "clip.mp4", frames[:4]).read_bytes())
    at = whole.index(b"mdat")
    size = struct.unpack(">I", whole[at - 4:at])[0]
    whole[at + 4:at - 4 + size] = np.random.default_rng(0).integers(0, 256, size - 8, np.uint8).tobytes()
    (tmp_path / "noise.mp4").write_bytes(whole)   # every picture's bytes noise
    code, _, err = cli("video", "noise.mp4", "--out", "noise-out.mp4", "--method", "fast", cwd=tmp_path)
    assert code == 2 and "no frames could be read (every packet damaged: " in err, err
    whole = write_clip(tmp_path / "clip.mkv", frames).read_bytes()
    (tmp_path / "cut.mkv").write_bytes(whole[: len(whole) // 2])
    code, _, err = cli("video", "cut.mkv", "--out", "cut.mp4", "--method", "fast", "--quiet", cwd=tmp_path)
    assert code == 1 and "the file looks truncated" in err and (tmp_path / "cut.mp4").is_file(), err
    code, _, err = cli("video", "clip.mkv", "--out", "whole.mp4", "--method", "fast", "--quiet", cwd=tmp_path)
    assert code == 0 and "truncated" not in err, err


def test_a_clip_of_no_frames_leaves_no_folder_and_one_of_one_frame_is_said_in_words(tmp_path, data_dir):
    from personseg.video.io import write_clip

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken/00001.jpg").write_bytes(b"not a frame")
    code, _, err = cli("video", "broken", "--out", "frames", "--method", "fast", cwd=tmp_path)
    assert code == 2 and "no frames could be read" in err and not (tmp_path / "frames").exists()   # a record, before
    first = load_image(sorted((data_dir / PARKOUR).iterdir())[0])
    write_clip(tmp_path / "one.mp4", [first])
    code, _, err = cli("video", "one.mp4", "--out", "result", "--method", "fast", cwd=tmp_path)
    assert code == 0 and lines(err)[0].startswith("1 frame in ") and "1 written to result" in err
    assert "note: --out result is a folder of per-frame files (a video file's name ends in .mp4" in err

def test_a_phone_video_is_turned_upright(tmp_path):
    import av

    from personseg.video.io import Frame, Source

    path = tmp_path / "sideways.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        for i in range(3):
            rgb = np.zeros((32, 64, 3), np.uint8)
            rgb[:, :32] = 255   # stored: white on the left
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd") - 4   # the track's display matrix: shown turned a quarter clockwise
    data[box + 48: box + 84] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    source = Source(path)
    first = next(item for item in source if isinstance(item, Frame))
    source.close()
    assert first.rgb.shape == (64, 32, 3) and first.rgb[:28].min() == 255 and first.rgb[36:].max() == 0


def test_a_read_only_home_is_no_obstacle(photos, tmp_path):
    code, _, err = cli("segment", "photos/00002.jpg", "--out", "out", "--method", "fast", "--matting", "closed-form",
                       cwd=tmp_path, env={"HOME": "/proc/personseg-no-home"})
    assert code == 0 and len(outputs(tmp_path / "out")) == 3, err
    assert lines(err) == ["1 of 1 images segmented; 3 files written to out"]   # nothing else on stderr


def test_matting_side_and_flags_are_checked():
    for side in (1, -5, 2.5, True):
        with pytest.raises(PersonsegError, match="matting side"):
            Segmenter("fast", matting_side=side)
    assert Segmenter("fast", matting_side=0).matting_side is None
    with pytest.raises(PersonsegError, match="instances must be True or False"):
        Segmenter("fast", instances="yes")
    from personseg.video.stream import VideoSegmenter

    with pytest.raises(PersonsegError, match="smooth must be True or False"):   # accepted before, in silence
        VideoSegmenter("fast", smooth="no")


def test_segmenters_say_in_words_that_they_do_not_pickle_and_a_video_is_named_as_one(tmp_path):
    from personseg.video.stream import VideoSegmenter

    for made in (lambda: Segmenter("fast"), lambda: VideoSegmenter("fast")):   # a bare TypeError on a lock before
        with pytest.raises(TypeError, match="does not pickle or copy .*make one in each worker"):   # as pickle's
            pickle.dumps(made())
        with pytest.raises(PersonsegError, match="does not pickle or copy"):
            copy.copy(made())
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    with pytest.raises(ImageError, match="clip.mp4: not an image, .*a video. `personseg video` reads videos"):
        Segmenter("fast")(tmp_path / "clip.mp4")


def test_training_on_fewer_pairs_than_a_batch_is_refused(tmp_path, data_dir):
    for sub in ("images", "masks"):
        (tmp_path / "d" / sub).mkdir(parents=True)
    for stem in ("00002", "00005", "00013"):
        (tmp_path / "d/images" / f"{stem}.jpg").write_bytes((data_dir / f"eg1800/images/{stem}.jpg").read_bytes())
        (tmp_path / "d/masks" / f"{stem}.png").write_bytes((data_dir / f"eg1800/masks/{stem}.png").read_bytes())
    code, _, err = cli("train", "--data", "d", "--out", "run", "--epochs", "1", "--val-fraction", "0.34",
                       "--cache", "cache", cwd=tmp_path)
    assert code == 2 and "fewer than a batch of 16" in lines(err)[-1] and not (tmp_path / "run").exists()


def test_reruns_complete_what_is_missing_and_keep_what_exists(photos, tmp_path):
    args = ("segment", "photos", "--out", "out", "--method", "fast", "--quiet")
    assert cli(*args, cwd=tmp_path)[0] == 0
    kept = digest(tmp_path / "out")
    code, _, err = cli(*args, cwd=tmp_path)
    assert code == 0 and "0 of 3 images segmented, 3 already done; 0 files written" in err
    (tmp_path / "out/00005.alpha.png").unlink()
    code, _, err = cli(*args, cwd=tmp_path)
    assert code == 0 and "1 file written" in err and digest(tmp_path / "out") == kept
    code, _, err = cli(*args, "--save", "mask,alpha,cutout,blur", cwd=tmp_path)
    assert code == 0 and "3 files written" in err
    kept = digest(tmp_path / "out")
    code, _, err = cli(*("classical" if a == "fast" else a for a in args), cwd=tmp_path)
    assert code == 2 and "--method classical, was fast" in err and digest(tmp_path / "out") == kept
    code, _, err = cli(*args, "--save", "overlay", cwd=tmp_path)   # its keypoints change fast's masks
    assert code == 2 and "keypoints" in err and digest(tmp_path / "out") == kept
    (tmp_path / "out/00005.alpha.png").unlink()   # completed at full size, it would not match its mask
    code, _, err = cli(*args, "--matting-side", "0", cwd=tmp_path)
    assert code == 2 and "--matting-side 0, was 400" in err
    assert cli(*args, cwd=tmp_path)[0] == 0   # completed
    before = digest(tmp_path / "out")
    (photos / "00013.jpg").unlink()
    (photos / "00013.jpg").write_bytes((photos / "00002.jpg").read_bytes())   # another photo, the same name
    code, _, err = cli(*args, cwd=tmp_path)
    assert code == 0 and "1 done again: the photo changed" in err
    after = digest(tmp_path / "out")
    assert after["00013.mask.png"] == after["00002.mask.png"] != before["00013.mask.png"]
    # a photo that changed into a bad file: its old outputs go, and later runs are not refused (a user's trial: the
    # failed redo left it "being replaced", and every later run asked for --overwrite)
    (photos / "00013.jpg").write_bytes(b"junk")
    for _ in range(2):
        code, _, err = cli(*args, cwd=tmp_path)
        assert code == 1 and "00013.jpg: not an image" in err and "done again" not in err
        assert not list((tmp_path / "out").glob("00013.*"))
    code, _, err = cli(*args, "--overwrite", cwd=tmp_path)   # the same for a photo failing while replaced
    assert code == 1 and cli(*args, cwd=tmp_path)[0] == 1


def test_single_file_outputs_are_not_overwritten_silently(tmp_path, data_dir):
    (tmp_path / "w.png").write_bytes(b"mine")
    eval_args = ("eval", "--images", str(data_dir / "eg1800/images"), "--masks", str(data_dir / "eg1800/masks"),
                 "--ids", str(data_dir / "eg1800/test.txt"), "--limit", "1", "--method", "fast", "--quiet")
    code, _, err = cli(*eval_args, "--worst", "w.png", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1 and (tmp_path / "w.png").read_bytes() == b"mine"
    assert cli(*eval_args, "--worst", "w.png", "--overwrite", cwd=tmp_path)[0] == 0
    (tmp_path / "m.onnx").write_bytes(b"mine")
    code, _, err = cli("export", "--checkpoint", "none.pt", "--out", "m.onnx", cwd=tmp_path)
    assert code == 2 and "output exists" in err and (tmp_path / "m.onnx").read_bytes() == b"mine"


def test_outputs_follow_the_umask(photos, tmp_path):
    for umask, mode in ((0o022, 0o644), (0o027, 0o640)):
        out = tmp_path / f"out{umask:o}"
        done = subprocess.run([sys.executable, "-c", f"import os, sys; os.umask({umask}); from personseg.cli import main; "
                               f"sys.exit(main(['segment', 'photos/00002.jpg', '--out', '{out.name}', '--method', "
                               "'fast', '--save', 'mask,json', '--quiet']))"], cwd=tmp_path, capture_output=True)
        assert done.returncode == 0
        assert {p.stat().st_mode & 0o777 for p in outputs(out)} == {mode}


def test_bad_values_are_refused_once_before_any_work(photos, tmp_path):
    cases = [("--blur", "-1"), ("--blur", "5"), ("--save", ""), ("--save", "replace", "--background", "nope"),
             ("--matting-side", "1")]
    for extra in cases:
        code, _, err = cli("segment", "photos", "--out", "out", "--method", "fast", *extra, cwd=tmp_path)
        assert code == 2 and len(lines(err)) == 1, (extra, err)
    code, _, err = cli("video", "photos", "--out", "o", "--pose-every", "-3", cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1 and "--pose-every -3" in err
    for every in ("0", "5"):   # a method that needs keypoints takes them on every frame: not silently ignored
        code, _, err = cli("video", "photos", "--out", "o", "--method", "accurate", "--pose-every", every, cwd=tmp_path)
        assert code == 2 and len(lines(err)) == 1 and f"--pose-every {every}: method accurate" in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()


def test_messages_are_plain(photos, tmp_path):
    code, _, err = cli("segment", "missing.jpg", "https://example.com/a.jpg", "--out", "out", cwd=tmp_path)
    assert code == 2 and lines(err) == ["personseg: error: no image files found in the given paths: missing.jpg: no "
                                        "such file or folder; https:/example.com/a.jpg: a URL; personseg reads files "
                                        "and bytes only (download it first)"]
    code, _, err = cli("segment", "photos/00002.jpg", "--out", "out", "--method", "fast", cwd=tmp_path)
    assert code == 0 and len(lines(err)) == 1 and "\r" not in err   # no progress bar on a pipe
    with pytest.raises(ImageError, match="the image path is empty"):
        load_image("")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(photos)


def test_file_objects_and_arrays_of_every_kind(photos):
    path = photos / "00002.jpg"
    rgb = load_image(path)
    with open(path, "rb") as f:
        assert np.array_equal(load_image(f), rgb)
    assert np.array_equal(load_image(io.BytesIO(path.read_bytes())), rgb)
    assert np.array_equal(load_image(rgb.astype(np.int64)), rgb)
    rgba = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])
    assert load_image(rgba).min() == 255   # transparent pixels over white, as for an RGBA file
    with pytest.raises(ImageError, match=r"\[0, 1\]"):
        load_image(rgb.astype(np.float32))
    with pytest.raises(ImageError, match="text, not bytes"):
        load_image(io.StringIO("x"))
    with open(path, encoding="utf-8") as f, pytest.raises(ImageError, match="binary mode"):   # a JPEG opened as text
        load_image(f)


def test_a_model_file_of_the_wrong_kind_is_one_line(tmp_path, photos):
    from personseg.models.registry import spec

    code, _, err = cli("segment", "photos", "--out", "out", "--method", "fast", "--model", str(spec("lwpsn").onnx_path),
                       cwd=tmp_path)
    assert code == 2 and len(lines(err)) == 1 and "takes input" in err


def test_a_run_into_a_folder_another_run_writes_is_refused_and_touches_nothing(tmp_path, photos, data_dir):
    """While one run writes into an output folder (its lock held, an output half-written aside), a second run into
    it is refused before it reads or removes anything there: photos and a video's frames alike; and a run writing a
    video file or an annotation file another run writes."""
    out = tmp_path / "out"
    out.mkdir()
    half = out / ".00002.mask.png.ab12cd.tmp"   # the first run's output being written
    half.write_bytes(b"half")
    record = b'{"settings": {}, "outputs": ["mask"], "replacing": true, "keypoints": null}'
    (out / SETTINGS).write_bytes(record)   # as an --overwrite video run writing frames there leaves it meanwhile
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "00001.jpg").write_bytes((data_dir / PARKOUR / "00001.jpg").read_bytes())
    holder = ("import sys, time; from pathlib import Path; from personseg.batch import sole_writer\n"
              "with sole_writer(Path(sys.argv[1]), *sys.argv[2:]):\n    print('held', flush=True); time.sleep(60)")
    first = subprocess.Popen([sys.executable, "-c", holder, str(out)], stdout=subprocess.PIPE, text=True)
    annotating = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path), ".people.json.lock"],
                                  stdout=subprocess.PIPE, text=True)   # another annotate run writing people.json
    encoding = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path), ".clip.mp4.lock"],
                                stdout=subprocess.PIPE, text=True)   # another video run writing clip.mp4
    try:
        assert {p.stdout.readline().strip() for p in (first, annotating, encoding)} == {"held"}
        refused = [(first, cli("segment", str(photos), "--out", str(out), "--method", "fast", cwd=tmp_path)),
                   (first, cli("video", str(frames), "--out", str(out), "--quiet", cwd=tmp_path)),
                   (annotating, cli("annotate", str(photos), "--out", "people.json", "--quiet", cwd=tmp_path)),
                   (encoding, cli("video", str(frames), "--out", "clip.mp4", "--quiet", cwd=tmp_path))]
    finally:
        for p in (first, annotating, encoding):
            p.kill()
            p.wait()
    for holder_process, (code, _, err) in refused:
        assert code == 2 and len(lines(err)) == 1 and f"process {holder_process.pid}) is writing there" in err
    assert half.read_bytes() == b"half" and not list(out.glob("*.png")) and (out / SETTINGS).read_bytes() == record
    assert not (tmp_path / "people.json").exists() and not (tmp_path / ".people.json.parts").exists()
    assert not list(tmp_path.glob("*clip*.mp4"))


def test_a_frame_folder_is_not_completed_from_another_input_or_with_stale_outputs(tmp_path, data_dir):
    """A rerun into a folder of frames keeps what is there only where the same input and settings made it: the
    files of an output that an --overwrite run with other settings does not write are removed (those the folder's
    record names; they were left, named, before), a user's own files there never, files of that output put there
    since are not taken as made by the new settings, the same folder name holding other frames is refused, and an
    --overwrite run of fewer frames removes the earlier files of the frames it does not have, but not where its
    input was cut short."""
    from personseg.video.run import run_video

    frames, out = tmp_path / "frames", tmp_path / "out"
    frames.mkdir()
    parkour = sorted((data_dir / PARKOUR).iterdir())
    for f in parkour[:3]:
        (frames / f.name).write_bytes(f.read_bytes())
    run_video(frames, out, method="fast", save="mask,alpha", progress=False)
    alpha = (out / f"{parkour[0].stem}.alpha.png").read_bytes()
    mine = {"notes.json": b"{}", "holiday.mask.png": alpha, "holiday.alpha.png": alpha}   # a user's own files
    for name, data in mine.items():
        (out / name).write_bytes(data)
    again = run_video(frames, out, method="fast", save="mask", smooth=False, overwrite=True, progress=False)
    assert any("3 files of an earlier run that this one did not replace removed" in n for n in again["notes"])
    assert all((out / name).read_bytes() == data for name, data in mine.items())
    assert sorted(p.name for p in out.glob("0*.png")) == [f"{p.stem}.mask.png" for p in parkour[:3]]
    (out / "holiday.alpha.png").unlink()
    (out / f"{parkour[0].stem}.alpha.png").write_bytes(alpha)   # put back by hand
    with pytest.raises(PersonsegError, match="holds alpha files that these settings' runs did not make"):
        run_video(frames, out, method="fast", save="mask,alpha", smooth=False, progress=False)
    (frames / parkour[0].name).write_bytes(parkour[5].read_bytes())   # the same name, another frame
    with pytest.raises(PersonsegError, match=r"the input \(the same name, other contents\)"):
        run_video(frames, out, method="fast", save="mask", smooth=False, progress=False)
    (frames / parkour[2].name).unlink()
    fewer = run_video(frames, out, method="fast", save="mask", smooth=False, overwrite=True, progress=False)
    assert any("1 file of an earlier run that this one did not replace removed" in n for n in fewer["notes"])
    assert not (out / f"{parkour[2].stem}.mask.png").exists() and (out / "holiday.mask.png").is_file()
    (frames / parkour[2].name).write_bytes(parkour[2].read_bytes())
    run_video(frames, out, method="fast", save="mask", smooth=False, overwrite=True, progress=False)
    (frames / parkour[2].name).write_bytes(b"not a frame any more")   # skipped: its earlier files are kept
    cut = run_video(frames, out, method="fast", save="mask", smooth=False, overwrite=True, progress=False)
    assert (out / f"{parkour[2].stem}.mask.png").is_file() and cut["skipped"]
    assert any(f"{parkour[2].stem}.mask.png" in n and "frames this input does not have" in n for n in cut["notes"])


def test_a_frame_folder_a_run_left_before_its_first_frame_takes_any_settings(tmp_path, data_dir):
    """A run stopped before it wrote a frame leaves only its settings in the folder: a rerun with other settings
    or of another input starts afresh there (nothing of the earlier run to mix with), and where frames were
    written a refusal names another input by its name alone (not as "the same name, other contents")."""
    from personseg.video.run import SETTINGS, FrameFolder, frame_settings, run_video
    from personseg.video.stream import VideoSegmenter

    frames, other, out = tmp_path / "frames", tmp_path / "other", tmp_path / "out"
    for folder, first in ((frames, 0), (other, 3)):
        folder.mkdir()
        for f in sorted((data_dir / PARKOUR).iterdir())[first:first + 2]:
            (folder / f.name).write_bytes(f.read_bytes())
    settings = frame_settings(frames, VideoSegmenter("accurate"), ("mask",), None, 0.0, True)
    left = FrameFolder(out, settings, ("mask",), overwrite=False)
    left.start()   # as a run interrupted before its first frame
    left.end(complete=False)
    assert [p.name for p in out.iterdir()] == [SETTINGS]   # the lock goes when the run ends
    assert run_video(frames, out, method="fast", progress=False)["frames"] == 2
    with pytest.raises(PersonsegError, match="other settings") as refused:
        run_video(other, out, method="fast", progress=False)
    assert f"was {frames.resolve()}" in str(refused.value) and "the same name" not in str(refused.value)
    # what the method chose is said to be its choice; a folder made without matting, as fast's were before
    run_video(frames, out, method="fast", matting=None, overwrite=True, progress=False)
    with pytest.raises(PersonsegError, match=r"--matting guided \(--method fast's\), was none"):
        run_video(frames, out, method="fast", progress=False)
    # an --overwrite run stopped before its first frame does not let a third run take the first one's files
    run_video(frames, out, method="fast", save="overlay", overwrite=True, progress=False)
    settings = frame_settings(frames, VideoSegmenter("accurate"), ("mask",), None, 0.0, True)
    stopped = FrameFolder(out, settings, ("mask",), overwrite=True)
    stopped.start()
    stopped.end(complete=False)
    with pytest.raises(PersonsegError, match="an --overwrite run into it was interrupted"):
        run_video(frames, out, method="accurate", save="overlay", progress=False)


def test_video_messages_name_what_is_wrong(tmp_path, clip):
    (tmp_path / "notes.txt").write_text("a file")
    code, _, err = cli("video", str(clip), "--out", "notes.txt/clip.mp4", cwd=tmp_path)
    assert code == 2 and "notes.txt is a file, not a folder" in err
    code, _, err = cli("video", str(clip), "--out", "notes.txt/frames/", cwd=tmp_path)
    assert code == 2 and "notes.txt is a file, not a folder" in err
    code, _, err = cli("video", str(clip), "--out", "slow.mp4", "--fps", "10", cwd=tmp_path)
    assert code == 2 and "--fps sets the frame rate of a folder of frames" in err
    code, _, err = cli("video", str(clip), "--out", "green.mp4", "--save", "replace", "--background", "bg.jpg",
                       cwd=tmp_path)
    assert code == 2 and "background 'bg.jpg': no such image file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_rerun_into_a_finished_frame_folder_redoes_nothing(tmp_path, data_dir):
    """Every frame written with these settings: a rerun says so and touches nothing (it segmented every frame
    again to write nothing); with a frame's file gone, or another output asked for, the work is done again."""
    from personseg.video.run import run_video

    frames, out = tmp_path / "frames", tmp_path / "out"
    frames.mkdir()
    for f in sorted((data_dir / PARKOUR).iterdir())[:3]:
        (frames / f.name).write_bytes(f.read_bytes())
    first = run_video(frames, out, method="fast", progress=False)
    assert first["kept"] == 0 and first["frames"] == 3
    written = {p: p.stat().st_mtime_ns for p in out.glob("*.png")}
    again = run_video(frames, out, method="fast", progress=False)
    assert again["frames"] == again["kept"] == 3 and again["seconds"] == 0
    assert any("nothing was redone" in note for note in again["notes"])
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.png")} == written
    next(iter(written)).unlink()
    assert run_video(frames, out, method="fast", progress=False)["kept"] == 2
    assert run_video(frames, out, method="fast", save="mask,alpha", progress=False)["kept"] == 0
    # a shorter input over it (its third frame's files stay), then one of its own frames' files gone: counting
    # files would take the third frame's for it
    last = sorted(frames.iterdir())[-1]
    last.unlink()
    assert run_video(frames, out, method="fast", overwrite=True, progress=False)["frames"] == 2
    (out / f"{sorted(frames.iterdir())[0].stem}.mask.png").unlink()
    assert run_video(frames, out, method="fast", progress=False)["kept"] == 1
