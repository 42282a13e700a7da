"""A folder of frames (video/io.py Source): the order frames are read in."""

from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np

from personseg.video.io import Frame, Source, VideoWriter
from personseg.video.run import video_file


def _pictures(out, times, size: tuple[int, int] = (64, 48), time_base: Fraction = Fraction(1, 25),
              aspect: Fraction | None = None) -> None:
    """A picture stream of ``out`` (H.264): one flat grey picture of ``size`` at each of ``times`` (in
    ``time_base``), its pixels ``aspect`` wide where given."""
    w, h = size
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    stream.codec_context.time_base = time_base
    if aspect is not None:
        stream.codec_context.sample_aspect_ratio = aspect
    for i, t in enumerate(times):
        frame = av.VideoFrame.from_ndarray(np.full((h, w, 3), (5 * i) % 256, np.uint8), format="rgb24")
        frame.pts, frame.time_base = t, time_base
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def _rewritten(path, out, size: tuple[int, int], overwrite: bool = False) -> VideoWriter:
    """The clip ``path`` through Source and VideoWriter into ``out`` as `personseg video` passes them (the pictures
    as read, the sound packets as they come); the writer, closed (its ``source`` too)."""
    source = Source(path)
    writer = VideoWriter(out, source, size, overwrite=overwrite)
    for item in source:
        if isinstance(item, Frame):
            writer.write(lambda rgb=item.rgb: rgb, item.pts, item.index, item.duration)
        else:
            writer.write_audio(item)
    writer.close()
    source.close()
    return writer


def _bursts(path) -> tuple[list[float], int]:
    """Where each loud burst (over half scale, 50 ms or more apart) of the sound of ``path`` starts (seconds), and
    the sound's rate."""
    with av.open(str(path)) as clip:
        frames = list(clip.decode(audio=0))
    rate = frames[0].sample_rate
    loud = np.flatnonzero(np.abs(np.concatenate([f.to_ndarray()[0] for f in frames])) > 0.5) / rate + frames[0].time
    return [float(loud[0])] + [float(t) for a, t in zip(loud[:-1], loud[1:]) if t - a > 0.05], rate


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


BARS = np.array([(200, 40, 30), (40, 180, 60), (30, 60, 200), (220, 170, 140), (128, 128, 128)], np.uint8)


def _bars_clip(path, size: tuple[int, int], matrix: str, tag: int, full: bool) -> None:
    """Two frames of colour bars, their YUV made with ``matrix`` (FFmpeg's scaler's name) in full or limited range,
    the stream tagged with the matrix number ``tag`` (2: untagged), losslessly coded."""
    w, h = size
    rgb = np.repeat(np.repeat(BARS[None], h, axis=0), w // len(BARS), axis=1)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"qp": "0"})
        stream.width, stream.height, stream.pix_fmt = rgb.shape[1], h, "yuv420p"
        stream.codec_context.colorspace = tag
        stream.codec_context.color_range = 2 if full else 1
        for _ in range(2):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
                format="yuv420p", dst_colorspace=matrix, dst_color_range="JPEG" if full else "MPEG")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_a_clips_colours_are_read_with_the_matrix_and_range_it_is_in(tmp_path):
    """A phone's HD clip is BT.709 (read as BT.601 its green came out 24 levels brighter); untagged HD video is
    BT.709 as players show it, untagged SD BT.601; full range is read as full range."""
    cases = {"hd709": ((1280, 720), "ITU709", 1, False), "hd-untagged": ((1280, 720), "ITU709", 2, False),
             "sd601": ((640, 360), "ITU601", 6, False), "sd-untagged": ((640, 360), "ITU601", 2, False),
             "full709": ((640, 360), "ITU709", 1, True)}
    for name, (size, matrix, tag, full) in cases.items():
        _bars_clip(tmp_path / f"{name}.mp4", size, matrix, tag, full)
        frames = [f for f in Source(tmp_path / f"{name}.mp4") if isinstance(f, Frame)]
        assert len(frames) == 2
        step = size[0] // len(BARS)
        centres = frames[0].rgb[size[1] // 2, step // 2::step][:len(BARS)]
        assert np.abs(centres.astype(int) - BARS).max() <= 3, (name, centres.tolist())


def test_a_variable_rate_clips_last_picture_lasts_as_long_as_it_did(tmp_path):
    """A GIF whose last frame is shown for a second: 1.8 s long in, 1.1 s out before (the encoders time a
    picture by the next one's start, and the last has none)."""
    from PIL import Image


    pictures = [Image.fromarray(np.full((64, 96, 3), 40 * i, np.uint8)) for i in range(6)]
    pictures[0].save(tmp_path / "in.gif", save_all=True, append_images=pictures[1:],
                     duration=[100, 200, 100, 300, 100, 1000], loop=0)
    for suffix in (".mp4", ".webm"):
        _rewritten(tmp_path / "in.gif", tmp_path / f"out{suffix}", (96, 64))
        with av.open(str(tmp_path / f"out{suffix}")) as clip:
            assert abs(clip.duration / 1e6 - 1.8) < 0.02, suffix


def _hdr_clip(path, light: np.ndarray, transfer: int) -> None:
    """Two frames of ``light`` (HxWx3, BT.709 display light, SDR white = 1) as a phone records HDR: BT.2020 colours,
    SDR white at the transfer's reference white (BT.2408), HLG (18) with BT.2100's inverse system gamma or PQ (16);
    or as a camera records SDR in BT.2020's colours (14); 10-bit, losslessly coded."""
    wide = light @ np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]]).T
    if transfer == 18:   # scene light, reference white at HLG's 75%
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        scene = np.clip(wide, 0, None) ** (1 / 1.2) * ((np.exp((0.75 - c) / a) + b) / 12)
        signal = np.where(scene <= 1 / 12, np.sqrt(3 * scene), a * np.log(np.maximum(12 * scene - b, 1e-9)) + c)
    elif transfer == 14:   # SDR in BT.2020's colours (bt2020-10): for a BT.1886 display
        signal = np.clip(wide, 0, 1) ** (1 / 2.4)
    else:   # white at 203 nits
        y = np.clip(wide, 0, None) * 203 / 10000
        m1, m2, c1, c2, c3 = 2610 / 16384, 2523 / 32, 3424 / 4096, 2413 / 128, 2392 / 128
        signal = ((c1 + c2 * y ** m1) / (1 + c3 * y ** m1)) ** m2
    frame16 = np.round(np.clip(signal, 0, 1) * 65535).astype(np.uint16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"qp": "0"})
        stream.width, stream.height, stream.pix_fmt = light.shape[1], light.shape[0], "yuv420p10le"
        context = stream.codec_context
        context.colorspace, context.color_primaries, context.color_trc, context.color_range = 9, 9, transfer, 1
        for _ in range(2):
            frame = av.VideoFrame.from_ndarray(frame16, format="rgb48le").reformat(
                format="yuv420p10le", dst_colorspace="BT2020", dst_color_range="MPEG")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_an_hdr_clip_is_made_sdr_with_its_colours(tmp_path):
    """An iPhone's default video is HDR (HLG, BT.2020): read as SDR it came out grey and dim (the patches below
    were up to 65 levels off); both HDR transfers are turned into the SDR colours they stand for, and said: what a
    BT.1886 display (gamma 2.4) shows as the same light, reference white just under 255 and a highlight twice as
    bright above it."""
    patches = np.concatenate([BARS, [(20, 20, 20), (230, 230, 230), (90, 60, 40)]]).astype(np.float64)
    light = np.concatenate([(patches / 255.0) ** 2.4, [(1.0, 1.0, 1.0), (2.0, 2.0, 2.0)]])
    picture = np.repeat(np.repeat(light[None], 16, axis=0), 16, axis=1)
    for transfer, name in ((18, "HLG"), (16, "PQ")):
        _hdr_clip(tmp_path / f"{name}.mp4", picture, transfer)
        source = Source(tmp_path / f"{name}.mp4")
        frames = [f for f in source if isinstance(f, Frame)]
        assert len(frames) == 2
        centres = frames[1].rgb[8, 8::16].astype(int)
        assert np.abs(centres[:len(patches)] - patches).max() <= 4, (name, centres.tolist())   # 10-bit, 4:2:0
        white, highlight = centres[len(patches):, 0]
        assert 247 <= white <= 252 and white < highlight < 255, (name, centres.tolist())
        assert source.notes == [f"{tmp_path / name}.mp4: HDR video ({name}): its pictures are made SDR to be "
                                "segmented and written"]


def test_sdr_in_bt2020s_colours_is_read_in_bt709s(tmp_path):
    """Some cameras record SDR in BT.2020's colours: read as they are, the red patch came out 199,28,29 for 200,40,30
    (a player that reads the tags shows about 247,0,0); now moved into BT.709's, with no note (it is not HDR)."""
    patches = np.concatenate([BARS, [(20, 20, 20), (250, 250, 250)]]).astype(np.float64)
    _hdr_clip(tmp_path / "wide.mp4", np.repeat(np.repeat(((patches / 255.0) ** 2.4)[None], 16, axis=0), 16, axis=1),
              14)
    source = Source(tmp_path / "wide.mp4")
    frames = [f for f in source if isinstance(f, Frame)]
    assert np.abs(frames[1].rgb[8, 8::16].astype(int) - patches).max() <= 4 and source.notes == []


def test_sound_made_again_for_another_container_keeps_its_time_and_the_clip_its_title_and_date(tmp_path):
    """PCM sound starting half a second into a .mov, re-encoded as Opus for a .webm: its click came out half a
    second early (the encoder timed the sound from 0); the 44.1 kHz sound resampled to Opus's 48 kHz on the way."""

    rate = 44100
    with av.open(str(tmp_path / "in.mov"), "w") as out:
        out.metadata.update({"title": "holiday", "creation_time": "2024-05-01T10:00:00.000000Z"})
        sound = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        _pictures(out, range(40))
        samples = np.zeros(rate, np.int16)   # one second from 0.5 s, a click at 1.0 s
        samples[rate // 2: rate // 2 + 200] = 30000
        for start in range(0, rate, 1024):
            chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="s16", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = rate, rate // 2 + start, Fraction(1, rate)
            for packet in sound.encode(chunk):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    _rewritten(tmp_path / "in.mov", tmp_path / "out.webm", (64, 48))
    with av.open(str(tmp_path / "out.webm")) as clip:   # the clip's title and date kept, as FFmpeg keeps them
        assert clip.metadata["title"] == "holiday" and clip.metadata["creation_time"].startswith("2024-05-01T10:00")
    clicks, rate = _bursts(tmp_path / "out.webm")
    assert rate == 48000 and abs(clicks[0] - 1.0) < 0.01, clicks


def test_anamorphic_video_is_written_as_wide_as_it_is_shown(tmp_path):
    """720x480 pixels shown 853x480 (DV's 32:27): written with square pixels it played 16% too narrow; where the
    output cannot say so (WebM, per-frame PNGs) a note does."""
    from pathlib import Path

    from personseg.video.run import _aspect_note

    with av.open(str(tmp_path / "dv.mp4"), "w") as out:
        _pictures(out, range(3), (720, 480), aspect=Fraction(32, 27))
    for suffix in (".mp4", ".mov"):
        source = _rewritten(tmp_path / "dv.mp4", tmp_path / f"out{suffix}", (720, 480)).source
        with av.open(str(tmp_path / f"out{suffix}")) as clip:
            assert clip.streams.video[0].sample_aspect_ratio == Fraction(32, 27), suffix
        assert _aspect_note(source, Path(f"out{suffix}"), True) == []
    assert _aspect_note(source, Path("out.webm"), True) == [
        "out.webm: the input's pixels are not square (32:27), shown as 853x480; 720x480 pixels are written as they "
        "were (a .webm cannot say how to show them; .mp4, .mov and .mkv do)"]
    assert "the per-frame PNGs: the input's pixels are not square" in _aspect_note(source, Path("o"), False)[0]
    # a background photo covers the picture as shown, squeezed into its pixels: cropped to the stored 720 pixels,
    # as before, it lost its sides and played stretched
    from PIL import Image

    from personseg.video.run import _background

    backdrop = np.zeros((480, 853, 3), np.uint8)
    backdrop[:, :20] = (255, 0, 0)   # a red band at the left edge
    Image.fromarray(backdrop).save(tmp_path / "backdrop.png")
    squeezed = _background(str(tmp_path / "backdrop.png"), (480, 720), Fraction(32, 27))
    assert squeezed.shape == (480, 720, 3) and (squeezed[:, :10, 2] == 0).all() and (squeezed[:, :10, 0] > 200).all()
    assert _background("#00ff00", (480, 720), Fraction(32, 27)).shape == (480, 720, 3)


def test_ntsc_frame_rates_given_as_decimals_are_their_true_rates():
    from personseg.video.io import frame_rate

    assert [frame_rate(f) for f in (23.976, 23.98, 29.97, 59.94)] == [
        Fraction(24000, 1001), Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)]
    assert [frame_rate(f) for f in (25, 24, 12.5, 0.5)] == [25, 24, Fraction(25, 2), Fraction(1, 2)]


def test_sound_changing_its_rate_midway_is_made_again_in_time(tmp_path):
    """MP2 sound at 44.1 kHz for a second, then 48 kHz (broadcast recordings switch), into a .webm: the run stopped
    ("Frame does not match AudioResampler setup"); now both seconds are resampled, their clicks in place."""

    with av.open(str(tmp_path / "in.mkv"), "w") as out:
        sound = out.add_stream("mp2", rate=44100, layout="mono")
        _pictures(out, range(50))
        for second, rate in enumerate((44100, 48000)):
            coder = av.CodecContext.create("mp2", "w")
            coder.sample_rate, coder.layout, coder.format = rate, "mono", "s16"
            coder.time_base = Fraction(1, rate)
            coder.open()
            samples = np.zeros(rate, np.int16)
            samples[rate // 2: rate // 2 + 200] = 30000   # a click half a second into each second
            for start in range(0, rate - 1151, 1152):   # MP2 frames of 1152 samples
                chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1152], format="s16", layout="mono")
                chunk.sample_rate, chunk.pts, chunk.time_base = rate, start, Fraction(1, rate)
                for packet in coder.encode(chunk):
                    packet.stream = sound
                    packet.pts = packet.dts = round((second + packet.pts / rate) * 1000)
                    packet.time_base = Fraction(1, 1000)
                    out.mux(packet)
    _rewritten(tmp_path / "in.mkv", tmp_path / "out.webm", (64, 48))
    clicks, _ = _bursts(tmp_path / "out.webm")
    assert len(clicks) == 2 and abs(clicks[0] - 0.5) < 0.02 and abs(clicks[1] - 1.5) < 0.02, clicks


def test_a_clip_timed_from_minutes_in_starts_at_0_and_repeated_times_do_not_stop_it(tmp_path):
    """A .ts whose clock starts 600 s in (camcorders' and broadcast files) came out as an .mp4 of 600 s of nothing
    before the clip; a clip whose frame times repeat (rounding to milliseconds) stopped the muxer ("non
    monotonically increasing dts") with an internal error."""

    def clip(path, times):
        with av.open(str(path), "w") as out:
            _pictures(out, times, time_base=Fraction(1, 1000))

    def through(path):
        writer = _rewritten(path, tmp_path / "out.mp4", (64, 48), overwrite=True)
        with av.open(str(tmp_path / "out.mp4")) as made:
            return made.start_time, made.duration / 1e6, len(list(made.decode(video=0))), writer.repeated

    clip(tmp_path / "late.ts", [600_000 + 40 * i for i in range(12)])
    start, seconds, frames, _ = through(tmp_path / "late.ts")
    assert start == 0 and seconds < 1 and frames == 12
    clip(tmp_path / "repeats.mkv", [0, 40, 80, 80, 120, 160, 160, 200])   # encoded as given, read back as stored
    with av.open(str(tmp_path / "repeats.mkv")) as given:
        assert len({f.pts for f in given.decode(video=0)}) < 8
    _, _, frames, repeated = through(tmp_path / "repeats.mkv")
    assert frames == 8 and repeated == 2


def test_a_gap_in_sound_made_again_is_kept_as_silence(tmp_path):
    """Sound whose timestamps jump 0.3 s forward (a recorder that dropped some), re-encoded for a .webm: timed by
    the samples sent, the click after the gap played 0.3 s early."""

    rate = 48000
    with av.open(str(tmp_path / "in.mkv"), "w") as out:
        sound = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        _pictures(out, range(25))
        samples = np.zeros(rate // 2, np.int16)   # half a second, a click 0.1 s after the gap
        samples[rate // 4 + rate // 10: rate // 4 + rate // 10 + 200] = 30000
        for start in range(0, rate // 2, 960):
            chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 960], format="s16", layout="mono")
            late = round(0.3 * rate) if start >= rate // 4 else 0   # the clock jumps 0.3 s a quarter second in
            chunk.sample_rate, chunk.pts, chunk.time_base = rate, start + late, Fraction(1, rate)
            for packet in sound.encode(chunk):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    _rewritten(tmp_path / "in.mkv", tmp_path / "out.webm", (64, 48))
    clicks, _ = _bursts(tmp_path / "out.webm")
    assert abs(clicks[0] - 0.65) < 0.01, clicks
