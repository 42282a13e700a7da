"""A folder of frames (video/io.py Source): the order frames are read in."""

from __future__ import annotations

import cv2
import numpy as np

from personseg.video.io import Frame, Source
from personseg.video.run import video_file


def test_frames_numbered_without_padding_come_in_number_order(tmp_path):
    """FFmpeg's default %d naming (1.jpg ... 12.jpg) is read 1, 2, ... 12, not 1, 10, 11, 12, 2; padded names
    and names with several numbers keep their order too."""
    for n in range(1, 13):
        cv2.imwrite(str(tmp_path / f"{n}.png"), np.full((8, 8, 3), n, np.uint8))
    frames = [f for f in Source(tmp_path) if isinstance(f, Frame)]
    assert [f.stem for f in frames] == [str(n) for n in range(1, 13)]
    assert [int(f.rgb[0, 0, 0]) for f in frames] == list(range(1, 13))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("shot2-10.png", "shot10-1.png", "shot2-9.png", "frame-000010.png", "frame-000002.png"):
        cv2.imwrite(str(mixed / name), np.zeros((8, 8, 3), np.uint8))
    assert [f.stem for f in Source(mixed) if isinstance(f, Frame)] == [
        "frame-000002", "frame-000010", "shot2-9", "shot2-10", "shot10-1"]
    assert Source(tmp_path).notes == [] and Source(mixed).notes == []   # numbered throughout; not one numbering
    (tmp_path / "5.png").unlink()
    (tmp_path / "6.png").unlink()
    (tmp_path / "9.png").unlink()
    assert Source(tmp_path).notes == [f"{tmp_path}: the frames' numbering skips from 4.png to 7.png (3 numbers "
                                      "missing in all): the clip runs on without them"]


def test_a_name_ending_in_a_separator_is_a_folder_whatever_its_suffix():
    assert video_file("out.mp4") and video_file("clips/Out.MKV")
    assert not video_file("out.mp4/") and not video_file("masks.v1/") and not video_file("masks")


def test_name_order_settles_ties_and_takes_any_name():
    from personseg.image import name_order

    names = ["10.jpg", "01.jpg", "2.jpg", "1.jpg", "\u00b21.png", "b.jpg", "a10.jpg", "a9.jpg"]
    assert sorted(names, key=name_order) == ["01.jpg", "1.jpg", "2.jpg", "10.jpg", "a9.jpg", "a10.jpg", "b.jpg",
                                             "\u00b21.png"]


def test_an_mp4_cut_short_before_its_index_is_told_apart(tmp_path):
    """An MP4 whose index (moov, written last) never came: said to be cut short, not just unreadable."""
    from personseg.video.io import unfinished_mp4

    ftyp = (16).to_bytes(4, "big") + b"ftypisom" + b"\0\0\0\0"
    mdat = (10**6).to_bytes(4, "big") + b"mdat" + b"\0" * 100   # its data cut off
    moov = (8).to_bytes(4, "big") + b"moov"
    (tmp_path / "cut.mp4").write_bytes(ftyp + mdat)
    (tmp_path / "whole.mp4").write_bytes(ftyp + moov + (8).to_bytes(4, "big") + b"mdat")
    (tmp_path / "text.mp4").write_bytes(b"hello, not a video at all")
    assert unfinished_mp4(tmp_path / "cut.mp4")
    assert not unfinished_mp4(tmp_path / "whole.mp4") and not unfinished_mp4(tmp_path / "text.mp4")


def test_frames_too_small_for_the_flow_are_not_smoothed():
    """DIS flow refuses frames under 12 px (8x8 to 11x11 video ended in an internal OpenCV error on its second
    frame); such a frame's map is taken as it is, larger ones are smoothed."""
    from personseg.video.temporal import FLOW_LEAST, TemporalSmoother

    rng = np.random.default_rng(0)
    for side in (8, FLOW_LEAST - 1, FLOW_LEAST):
        smoother = TemporalSmoother()
        frames = rng.integers(0, 255, (3, side, side, 3), dtype=np.uint8)
        probs = [rng.random((side, side)).astype(np.float32) for _ in range(3)]
        out = [smoother(rgb, prob) for rgb, prob in zip(frames, probs)]
        assert (out[-1] is probs[-1]) == (side < FLOW_LEAST)
