import json
import shutil

import cv2
import numpy as np
import pytest

from personseg.cli import main
from personseg.errors import PersonsegError
from personseg.framing import crop, frame_box, mask_box, paste
from personseg.image import IMAGE_SUFFIXES, load_image, load_mask
from personseg.metrics import Flicker, foreground_iou
from personseg.pose import get_backend
from personseg.pose.keypoints import MIN_SCORE, keypoint_distance
from personseg.pose.tracking import PeopleTracker
from personseg.video.io import COLOUR_TAGS, Source, write_clip
from personseg.video.run import run_video
from personseg.video.temporal import TemporalSmoother


@pytest.fixture(scope="module")
def parkour(data_dir):
    """The first 20 frames of the parkour clip and their masks."""
    root = data_dir / "video/parkour"
    stems = sorted(p.stem for p in (root / "images").iterdir())[:20]
    return [(s, load_image(root / "images" / f"{s}.jpg"), load_mask(root / "masks" / f"{s}.png")) for s in stems]


@pytest.fixture(scope="module")
def clip(parkour, tmp_path_factory):
    """The first 12 frames as an H.264 mp4 with an AAC tone."""
    return write_clip(tmp_path_factory.mktemp("clip") / "parkour.mp4", (rgb for _, rgb, _ in parkour[:12]),
                      tone_hz=440)


def test_crop_and_paste_put_a_region_back_where_it_was(parkour):
    rgb = parkour[0][1]
    box = frame_box((100, 50, 300, 400), 0.75)
    patch = crop(rgb, box, (192, 256))
    assert patch.shape == (256, 192, 3)
    back = paste(np.ones((256, 192), np.float32), box, rgb.shape)
    x0, y0, x1, y1 = mask_box(back)
    assert abs(x0 - max(0, box[0])) <= 1 and abs(y0 - max(0, box[1])) <= 1
    assert abs(x1 - min(rgb.shape[1], box[2])) <= 1 and abs(y1 - min(rgb.shape[0], box[3])) <= 1
    # the crop's centre shows what the image has there
    cy, cx = int((box[1] + box[3]) / 2), int((box[0] + box[2]) / 2)
    assert np.abs(patch[128, 96].astype(int) - rgb[cy, cx].astype(int)).max() < 40


def test_tracking_follows_keypoints_between_detections(parkour):
    """Detect on frame 0, follow by optical flow alone for 5 frames: the followed points land nearer the
    detector's own frame-5 points than the frame-0 points do (the runner moves fast)."""
    pose = get_backend()
    first, fifth = pose.detect(parkour[0][1])[0], pose.detect(parkour[5][1])[0]
    tracker = PeopleTracker()
    tracker.update(parkour[0][1], [first])
    for _, rgb, _ in parkour[1:6]:
        people = tracker.update(rgb, None)
    assert list(people) == [1]
    followed = people[1]
    assert (followed[:, 2] >= MIN_SCORE).sum() >= 8    # points are bridged, not dropped
    assert keypoint_distance(followed, fifth) < 0.12
    assert keypoint_distance(followed, fifth) < 0.7 * keypoint_distance(first, fifth)


def test_smoothing_cuts_flicker_without_lagging(parkour):
    rng = np.random.default_rng(0)
    smoother = TemporalSmoother()
    raw, smooth = Flicker(), Flicker()
    raw_iou, smooth_iou = [], []
    for _, rgb, gt in parkour:
        truth = (gt > 0).astype(np.float32)
        # blotchy noise, as a network's frame-to-frame wobble is (not independent per pixel)
        wobble = cv2.resize(rng.normal(0, 0.35, (30, 54)).astype(np.float32), truth.shape[::-1])
        noisy = np.clip(truth + wobble, 0, 1)
        out = smoother(rgb, noisy)
        for flick, ious, prob in ((raw, raw_iou, noisy), (smooth, smooth_iou, out)):
            flick.add(prob >= 0.5, gt)
            ious.append(foreground_iou(prob >= 0.5, gt))
    assert smooth.value < 0.6 * raw.value
    assert np.mean(smooth_iou) >= np.mean(raw_iou) - 0.01


def test_video_file_in_and_out_keeps_frames_and_sound(clip, tmp_path):
    import av

    out = tmp_path / "out.mp4"
    summary = run_video(clip, out, method="fast", save="replace", background="#00ff00", progress=False,
                        keypoints=tmp_path / "kp.jsonl")
    assert summary["frames"] == 12
    times = [json.loads(line)["time"] for line in (tmp_path / "kp.jsonl").read_text().splitlines()]
    assert times == [k / 25 for k in range(12)]   # each frame's time in the file (25 frames/s)
    with av.open(str(out)) as c:
        assert c.streams.video[0].frames == 12
        assert (c.streams.video[0].width, c.streams.video[0].height) == (854, 480)
        tags = c.streams.video[0].codec_context
        assert (tags.color_range, tags.colorspace, tags.color_primaries, tags.color_trc) == COLOUR_TAGS
        assert len(c.streams.audio) == 1
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert (np.abs(frame.astype(int) - (0, 255, 0)) < 40).all(axis=2).mean() > 0.3   # background replaced
    assert not list(tmp_path.glob(".*partial*"))
    with pytest.raises(PersonsegError, match="exists"):
        run_video(clip, out, progress=False)
    with pytest.raises(PersonsegError, match="transparency.*webm.*mov"):
        run_video(clip, tmp_path / "cut.mp4", save="cutout", progress=False)
    with pytest.raises(PersonsegError, match="folder"):
        run_video(clip, tmp_path / "notes.mp4", save="json", progress=False)
    with pytest.raises(PersonsegError, match="write video as"):
        run_video(clip, tmp_path / "out.avi", progress=False)


@pytest.mark.parametrize("suffix, decoder", [(".webm", "libvpx-vp9"), (".mov", "prores")])
def test_cut_outs_go_into_video_files_that_hold_transparency(clip, parkour, tmp_path, suffix, decoder):
    import av

    out = tmp_path / f"cut{suffix}"
    assert run_video(clip, out, method="fast", save="cutout", progress=False)["frames"] == 12
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1
        alpha_reader = av.codec.CodecContext.create(decoder, "r")   # FFmpeg's own VP9 decoder drops the alpha
        frame = next(f for packet in c.demux(c.streams.video[0]) for f in alpha_reader.decode(packet))
        rgba = frame.to_ndarray(format="rgba")
        edges = [f.to_ndarray(format="rgba")[:, :8, 3] for packet in c.demux(c.streams.video[0])
                 for f in alpha_reader.decode(packet)]
    seen, truth = rgba[..., 3] > 128, parkour[0][2] > 0
    assert (rgba[..., 3] == 0).mean() > 0.5 and (seen & truth).sum() > 0.7 * truth.sum()
    solid = rgba[..., 3] == 255   # the frame's own colours where the runner is opaque
    assert np.abs(rgba[solid][:, :3].astype(int) - parkour[0][1][solid]).mean() < 12
    if suffix == ".mov":   # ProRes on several threads wrote half-transparent pixels at the left edge of some rows
        assert max(int(e.max()) for e in edges) == 0


def test_opus_sound_goes_into_a_mov_as_aac_and_into_an_mp4_with_a_note(parkour, tmp_path):
    import av

    clip = write_clip(tmp_path / "clip.webm", (rgb for _, rgb, _ in parkour[:4]), tone_hz=440)
    summary = run_video(clip, tmp_path / "out.mov", method="fast", save="cutout", progress=False)
    assert any("(opus) was re-encoded as AAC" in note for note in summary["notes"])
    with av.open(str(tmp_path / "out.mov")) as c:
        assert [s.codec_context.name for s in c.streams] == ["prores", "aac"]
        sound = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    # mono stays mono, as loud as it was (the tone's amplitude 0.2; made stereo each side was 3 dB quieter: 0.14)
    assert sound.shape[0] == 1 and abs(np.abs(sound).max() - 0.2) < 0.02
    six = write_clip(tmp_path / "six.mp4", (rgb for _, rgb, _ in parkour[:4]), tone_hz=440, layout="5.1")
    summary = run_video(six, tmp_path / "six.webm", method="fast", progress=False)   # AAC 5.1 into Opus: stereo
    assert any("(aac) was mixed down from 6 channels to two, re-encoded as Opus" in n for n in summary["notes"])
    with av.open(str(tmp_path / "six.webm")) as c:
        assert c.streams.audio[0].codec_context.layout.nb_channels == 2
    summary = run_video(clip, tmp_path / "out.mp4", method="fast", progress=False)   # held, but not played by all
    assert any("(opus) was copied as it is; some players" in note for note in summary["notes"])
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert [s.codec_context.name for s in c.streams] == ["h264", "opus"]


def test_cut_out_frames_take_estimated_colours_at_their_soft_edges(parkour, tmp_path, data_dir):
    from PIL import Image

    frames = tmp_path / "frames"
    frames.mkdir()
    shutil.copy(data_dir / "video/parkour/images" / f"{parkour[0][0]}.jpg", frames)
    run_video(frames, tmp_path / "out", method="fast", save="cutout,blur", progress=False)
    rgba = np.asarray(Image.open(tmp_path / "out" / f"{parkour[0][0]}.cutout.png"))
    soft, solid = (rgba[..., 3] > 0) & (rgba[..., 3] < 255), rgba[..., 3] == 255
    own = parkour[0][1]
    assert soft.sum() > 100 and np.array_equal(rgba[solid][:, :3], own[solid])
    assert (np.abs(rgba[soft][:, :3].astype(int) - own[soft]).max(axis=1) > 2).mean() > 0.5   # the halo taken out


def test_a_folder_of_frames_gets_a_mask_per_frame_and_keypoints(parkour, tmp_path, data_dir, capsys, monkeypatch):
    frames = tmp_path / "frames"
    frames.mkdir()
    for stem, _, _ in parkour[:4]:
        shutil.copy(data_dir / "video/parkour/images" / f"{stem}.jpg", frames)
    out = tmp_path / "out"
    code = main(["video", str(frames), "--out", str(out), "--save", "mask", "--keypoints", str(tmp_path / "kp.jsonl"),
                 "--quiet"])
    assert code == 0
    made = json.loads((out / ".personseg-video.json").read_text())["settings"]   # the default, as for photos
    assert (made["method"], made["pose_every"], made["matting"]) == ("accurate", 1, None)
    for stem, _, _ in parkour[:4]:
        m = load_mask(out / f"{stem}.mask.png")
        assert m.shape == (480, 854) and set(np.unique(m)) <= {0, 255}
    lines = [json.loads(s) for s in (tmp_path / "kp.jsonl").read_text().splitlines()]
    assert [d["stem"] for d in lines] == [s for s, _, _ in parkour[:4]]
    assert all(d["people"] and d["people"][0]["id"] == 1 for d in lines)   # one person, one identity
    # a rerun into the same folder with the same settings completes it and writes its keypoint file anew; a
    # keypoint file no run into it wrote is not replaced
    (out / f"{parkour[3][0]}.mask.png").unlink()
    (tmp_path / "kp.jsonl").write_text("")
    assert main(["video", str(frames), "--out", str(out), "--save", "mask", "--keypoints", str(tmp_path / "kp.jsonl"),
                 "--quiet"]) == 0
    assert (out / f"{parkour[3][0]}.mask.png").is_file()
    rewritten = [json.loads(s)["stem"] for s in (tmp_path / "kp.jsonl").read_text().splitlines()]
    assert rewritten == [s for s, _, _ in parkour[:4]]
    # a run adding an output, no keypoints asked for, leaves the keypoint file this folder's: the first command
    # again has nothing to do; its progress, into no terminal, is a line now and then (here after every frame)
    monkeypatch.setattr("personseg.progress.PROGRESS_LINE_SECONDS", 0.0)
    capsys.readouterr()
    assert main(["video", str(frames), "--out", str(out), "--save", "alpha"]) == 0
    assert "\n3 of 4 frames, " in capsys.readouterr().err
    assert main(["video", str(frames), "--out", str(out), "--save", "mask", "--keypoints", str(tmp_path / "kp.jsonl"),
                 "--quiet"]) == 0
    (tmp_path / "other.jsonl").write_text("mine")
    with pytest.raises(PersonsegError, match="exists"):
        run_video(frames, out, save="mask", keypoints=tmp_path / "other.jsonl", progress=False)
    assert (tmp_path / "other.jsonl").read_text() == "mine"


def test_bad_video_input_is_refused(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(PersonsegError, match="not a video"):
        Source(bad)
    with pytest.raises(PersonsegError, match="no such"):
        Source(tmp_path / "missing.mp4")
    assert main(["video", str(bad), "--out", str(tmp_path / "o.mp4"), "--quiet"]) == 2
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    with pytest.raises(PersonsegError, match="no image files in this folder .1 of other types, such as notes.txt"):
        Source(folder)
    (folder / "f1.jpg").write_bytes(b"")
    (folder / ".hidden").write_text("x")
    (folder / "f1.png").write_bytes(b"")   # one name, two types: shown twice over, their per-frame files one
    for out in (tmp_path / "o2", tmp_path / "o3.mp4"):
        with pytest.raises(PersonsegError, match="frames f1.jpg and f1.png have one name in two types: both would"):
            run_video(folder, out, progress=False)
    (folder / "f1.png").unlink()
    assert Source(folder).notes == [f"{folder}: not frames, left out: notes.txt (frames are "
                                    f"{', '.join(IMAGE_SUFFIXES)})"]


def test_fast_video_segments_the_runner(parkour):
    """The whole video path on real frames: far above calling everything (or nothing) the person."""
    from personseg.video.stream import VideoSegmenter

    seg = VideoSegmenter("fast")
    ious = [foreground_iou(seg(rgb).mask, gt) for _, rgb, gt in parkour[:10]]
    assert np.mean(ious) > 0.6


def test_keypoints_listed_in_fast_video_lie_on_the_runner(data_dir):
    """fast follows keypoints by optical flow between detections; as the camera pans it dragged the runner's face
    and arms onto the background (a third of the sure keypoints listed lay off him by frame 45) and a stale
    second track of him stayed listed. Points off the mask are unseen now, and a track without two is dropped."""
    from personseg.video.stream import VideoSegmenter

    root = data_dir / "video/parkour"
    stems = sorted(p.stem for p in (root / "images").iterdir())[:45]
    seg, off, sure, two = VideoSegmenter("fast"), 0, 0, 0
    for s in stems:
        r = seg(load_image(root / "images" / f"{s}.jpg"))
        near = cv2.dilate(load_mask(root / "masks" / f"{s}.png"), np.ones((15, 15), np.uint8)) > 0
        two += len(r.people) > 1
        for kp in r.people:
            for x, y in np.round(kp[kp[:, 2] >= MIN_SCORE, :2]).astype(int):
                sure += 1
                off += not (0 <= x < near.shape[1] and 0 <= y < near.shape[0] and near[y, x])
    assert sure > 300 and off / sure < 0.1 and two < 15, (off, sure, two)   # before: 240 of 852, 20 frames


@pytest.mark.parametrize("method", ["fast", "accurate"])
def test_a_clip_starting_mid_vault_marks_the_runner_from_its_first_frame(data_dir, method):
    """Parkour frames 30-35 alone: BlazePose finds the runner on every frame, but the region check scores his
    region 0.05-0.5 there, so he stayed doubted and every mask was empty; its sure outline vouches for him."""
    from personseg.video.stream import VideoSegmenter

    root = data_dir / "video/parkour"
    stems = sorted(p.stem for p in (root / "images").iterdir())[30:36]
    seg = VideoSegmenter(method)
    for s in stems:
        r = seg(load_image(root / "images" / f"{s}.jpg"))
        assert foreground_iou(r.mask, load_mask(root / "masks" / f"{s}.png")) > 0.6 and len(r.people) == 1, s


def test_accurate_cut_outs_of_video_frames_are_opaque_inside_the_person(parkour):
    """`accurate` mattes no video frame by default, and its probability stays near 0.8 inside the runner on many
    frames: a cut-out showed the background through him (a user's trial: 0-67% of him above 250 of 255)."""
    from personseg.video.stream import VideoSegmenter

    seg = VideoSegmenter("accurate")
    for _, rgb, gt in parkour[:6]:
        alpha = seg(rgb).alpha
        assert (alpha[gt > 0] >= 250 / 255).mean() > 0.85 and alpha.max() <= 1.0


def test_the_outline_only_vouches_and_not_without_mediapipes_masks(data_dir, monkeypatch):
    """fast has BlazePose draw its outline to vouch with, never to join into its masks (joined on each fifth frame
    only, it would flicker); without MediaPipe's masks nothing MediaPipe draws has a say, so the runner mid-vault
    stays doubted there."""
    import personseg.video.stream as stream
    from personseg.methods import Scene

    root = data_dir / "video/parkour"
    vault = [load_image(p) for p in sorted((root / "images").iterdir())[30:36]]
    bare = stream.VideoSegmenter("fast", mediapipe_masks=False)
    assert not any(bare(f).mask.any() for f in vault)
    scenes = []

    def spy(*args, **kwargs):
        scenes.append(Scene(*args, **kwargs))
        return scenes[-1]

    monkeypatch.setattr(stream, "Scene", spy)
    seg = stream.VideoSegmenter("fast")
    assert all(seg(f).mask.any() for f in vault)   # vouched for by the outline
    assert len(scenes) == len(vault) and all(scene.outline is None for scene in scenes)


def test_fast_video_keeps_no_haze_over_the_background(data_dir):
    """Frames 30-31 of parkour: the runner's stale track once framed a pass on the whole frame, whose faint
    probability over the background (alpha up to 0.5, median 0.1) kept the background sharp in a blur."""
    from personseg.refine.components import NEAR_SHRINK, SUBJECT_EDGE
    from personseg.video.stream import VideoSegmenter

    root = data_dir / "video/parkour"
    frames = [load_image(p) for p in sorted((root / "images").iterdir())[:32]]
    seg = VideoSegmenter("fast")
    for k, (_, r) in enumerate(seg.stream(frames, lambda rgb: rgb)):
        r_px = round(SUBJECT_EDGE * np.hypot(*r.mask.shape)) + 2 * NEAR_SHRINK   # the band is drawn coarsely
        near = cv2.dilate(r.mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r_px + 1, 2 * r_px + 1)))
        assert r.alpha[near == 0].max(initial=0.0) == 0.0, k
        assert np.median(r.alpha[r.mask == 0]) == 0.0, k


def test_accurate_video_joins_the_outline_on_each_frame(parkour):
    """accurate's pose step hands each frame's outline to its segmenting step, also when it runs ahead on its
    own thread; on the runner (a full body) the masks are good."""
    from personseg.video.stream import VideoSegmenter

    frames = [rgb for _, rgb, _ in parkour[:8]]
    found = [VideoSegmenter("accurate").follow(rgb) for rgb in frames[:2]]
    assert all(f.outline is not None and f.outline.shape == frames[0].shape[:2] for f in found)
    one = VideoSegmenter("accurate")
    expected = [one(rgb) for rgb in frames]
    streamed = [r for _, r in VideoSegmenter("accurate").stream(frames, lambda item: item)]
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(expected, streamed))
    ious = [foreground_iou(r.mask, gt) for r, (_, _, gt) in zip(streamed, parkour)]
    assert np.mean(ious) > 0.88   # measured 0.935 (fast: 0.800)


def test_a_stream_left_early_leaves_its_two_pose_threads_in_step(parkour):
    """The look thread runs a few frames ahead of the follow thread; a stream left early (the caller stops
    reading) counts the frames only looked at as not seen, so later calls detect on the frames they would have."""
    from personseg.video.stream import VideoSegmenter

    seg = VideoSegmenter("fast")
    stream = seg.stream([rgb for _, rgb, _ in parkour], lambda item: item)
    for _ in range(3):
        next(stream)
    stream.close()
    assert seg._followed >= 3 and seg._looked == seg._followed


def test_video_matting_moves_edges_onto_the_frame(parkour, monkeypatch):
    from personseg.framing import binary_mask
    from personseg.refine.components import near_regions
    from personseg.refine.matting import guided_matte
    from personseg import pipeline
    from personseg.video.stream import VideoSegmenter

    monkeypatch.setattr(pipeline, "opaque", lambda prob: prob)   # the plain one's alpha: the probability itself
    plain, matted = VideoSegmenter("fast", matting=None), VideoSegmenter("fast")   # guided: fast's own default
    assert matted.matting == "guided" and plain.matting is None and VideoSegmenter("accurate").matting is None
    scores = []
    for _, rgb, gt in parkour:
        a, b = plain(rgb), matted(rgb)
        assert b.alpha.dtype == np.float32 and np.array_equal(b.mask > 0, b.alpha >= 0.5)
        # the matte is made from each frame's smoothed probability and feeds nothing back (the haze far from the
        # people, which a.alpha lacks, moves a few pixels at the mask's edge at most: 27 in 100 parkour frames);
        # its own haze there is cut after it
        assert np.mean(b.mask != binary_mask(guided_matte(rgb, a.alpha))) < 1e-4
        assert np.array_equal(b.alpha, near_regions(b.alpha))
        scores.append([foreground_iou(r.mask, gt) for r in (a, b)])
    iou_before, iou_after = np.mean(scores, axis=0)
    assert iou_after > iou_before + 0.004   # measured +0.008 (boundary F: benchmarks/people_video.py)
    with pytest.raises(PersonsegError, match="unknown matting"):
        VideoSegmenter("fast", matting="magic")


def test_stream_matches_frame_by_frame_calls(parkour):
    """The pose step running ahead on its own thread gives exactly what calling frame by frame gives; items
    that are not frames pass through in their place."""
    from personseg.video.stream import VideoSegmenter

    frames = [rgb for _, rgb, _ in parkour[:12]]
    one = VideoSegmenter("fast", pose_every=3)
    expected = [one(rgb) for rgb in frames]
    items = [None] + frames[:6] + [None] + frames[6:]   # None stands for an audio packet
    got = list(VideoSegmenter("fast", pose_every=3).stream(items, lambda item: item))
    assert [r is None for _, r in got] == [item is None for item in items]
    results = [r for _, r in got if r is not None]
    assert len(results) == len(expected)
    for want, r in zip(expected, results):
        assert np.array_equal(want.mask, r.mask) and want.ids == r.ids
        assert all(np.allclose(a, b) for a, b in zip(want.people, r.people))


def test_a_segmenter_reset_for_a_new_clip_gives_what_a_fresh_one_gives(parkour, data_dir):
    """reset() forgets the clip before (its people, smoothing, size and the video-mode pose backend's last
    person), so the next clip, of another size, comes out as from a new VideoSegmenter."""
    from personseg.video.stream import VideoSegmenter

    root = data_dir / "video/tennis/images"
    tennis = [np.ascontiguousarray(load_image(p)[:, 100:740]) for p in sorted(root.iterdir())[:8]]   # 640x480
    reused = VideoSegmenter("fast", pose_every=2)
    for _, rgb, _ in parkour[:8]:
        reused(rgb)
    with pytest.raises(PersonsegError, match="size"):
        reused(tennis[0])
    reused.reset()
    one = VideoSegmenter("fast", pose_every=2)
    fresh = [one(rgb) for rgb in tennis]
    for want, got in zip(fresh, (reused(rgb) for rgb in tennis)):
        assert np.array_equal(want.mask, got.mask) and want.ids == got.ids
        assert all(np.allclose(a, b) for a, b in zip(want.people, got.people))


def test_prefetch_chain_stops_when_the_consumer_does():
    """Stopping early ends every stage's thread, also those of prefetched stages feeding prefetched stages."""
    import threading
    import time

    from personseg.video.io import prefetched

    before = threading.active_count()
    chain = prefetched(prefetched(iter(range(1000))))
    assert next(chain) == 0
    chain.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == before


def with_pedestrian(parkour, data_dir, crossing: bool) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The parkour frames with a Penn-Fudan train pedestrian as tall as the runner, walking across in front of
    him (``crossing``) or standing a body width left of where he starts: (rgb, the runner's visible pixels, the
    pedestrian's pixels) per frame."""
    root = data_dir / "pennfudan"
    rgb, mask = load_image(root / "images/FudanPed00001.jpg"), load_mask(root / "instance_masks/FudanPed00001_1.png")
    ys, xs = np.nonzero(mask)
    person = rgb[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    alpha = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1] > 0
    start = np.nonzero(parkour[0][2])[1].min()
    out = []
    for i, (_, frame, gt) in enumerate(parkour):
        ys, xs = np.nonzero(gt)
        tall = ys.max() - ys.min()
        scale = tall / person.shape[0]
        size = (max(1, round(person.shape[1] * scale)), tall)
        body = cv2.resize(person, size, interpolation=cv2.INTER_AREA)
        shape = cv2.resize(alpha.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        # crossing: from a body width right of the runner to a body width left of him, feet on his lowest point
        t = i / (len(parkour) - 1)
        x0 = (round(xs.max() + size[0] - t * (xs.max() - xs.min() + 3 * size[0])) if crossing
              else start - 2 * size[0])
        y0 = ys.max() - tall
        pasted, by = frame.copy(), np.zeros(gt.shape, bool)
        cx0, cx1 = max(0, x0), min(frame.shape[1], x0 + size[0])
        if cx1 > cx0:
            region = shape[:, cx0 - x0:cx1 - x0]
            pasted[y0:y0 + tall, cx0:cx1][region] = body[:, cx0 - x0:cx1 - x0][region]
            by[y0:y0 + tall, cx0:cx1] = region
        out.append((pasted, (gt > 127) & ~by, by))
    return out


@pytest.fixture(scope="module")
def crossed(parkour, data_dir):
    return with_pedestrian(parkour, data_dir, crossing=True)


@pytest.fixture(scope="module")
def beside(parkour, data_dir):
    return with_pedestrian(parkour, data_dir, crossing=False)


@pytest.mark.parametrize("method", [None, "fast"])   # None: the default method (accurate)
def test_everyone_is_kept_in_video_by_default(parkour, beside, method):
    """With subject "all" (the default) a pedestrian standing beside the runner is found and kept in the mask
    with him, each framed on their own (before, only the person BlazePose picked on each frame was kept: none of
    the pedestrian); with subject "main" the pedestrian stays out. Streamed, the search for him (on a thread of
    its own, beside the pose backend's) gives what calling on each frame gives."""
    from personseg.video.stream import VideoSegmenter

    def made(**options) -> VideoSegmenter:
        return VideoSegmenter(**options) if method is None else VideoSegmenter(method, **options)

    frames = [rgb for rgb, _, _ in beside]
    everyone = [r for _, r in made().stream(frames, lambda item: item)]
    one = made()
    called = [one(rgb) for rgb in frames]
    assert all(np.array_equal(a.mask, b.mask) and a.ids == b.ids for a, b in zip(called, everyone))
    marked = [(r.mask > 0)[by].mean() for r, (_, _, by) in zip(everyone, beside)]
    runner = [(r.mask > 0)[subject].mean() for r, (_, subject, _) in zip(everyone, beside)]
    # on the first frame the person check may not yet take the pedestrian's region for a person (fast: none of
    # him there); from then on, measured, at least 0.86 of him and 0.80 of the runner (accurate), 0.78 and 0.72 (fast)
    assert min(marked[1:]) > 0.5 and min(runner) > 0.6, (marked, runner)
    if method is not None:
        return
    main = made(subject="main")
    assert max((main(rgb).mask > 0)[by].mean() for rgb, _, by in beside) < 0.02
    classical = VideoSegmenter("classical")   # each other person gets a cut of their own too
    assert min((classical(rgb).mask > 0)[by].mean() for rgb, _, by in beside[:3]) > 0.3   # 0.45; none before


def test_main_subject_is_followed_past_a_bystander_crossing_in_front(parkour, crossed):
    """With subject "main" the runner stays the one person followed while a pedestrian walks across him: one
    track id throughout, the pedestrian left out while apart from him, and on those frames the runner's masks as
    good as without the pedestrian; running the pose step ahead on its own thread changes nothing."""
    from personseg.video.stream import VideoSegmenter

    frames = [rgb for rgb, _, _ in crossed]
    one = VideoSegmenter("accurate", subject="main")
    expected = [one(rgb) for rgb in frames]
    streamed = [r for _, r in VideoSegmenter("accurate", subject="main").stream(frames, lambda item: item)]
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(expected, streamed))
    assert {tuple(r.ids) for r in streamed} == {(1,)}
    alone = VideoSegmenter("accurate", subject="main")
    clean = [foreground_iou(alone(rgb).mask, gt) for _, rgb, gt in parkour]
    apart = [i for i, (_, subject, by) in enumerate(crossed)
             if not (cv2.dilate(subject.astype(np.uint8), np.ones((31, 31), np.uint8)) & by).any()]
    assert len(apart) >= 8
    ious = [foreground_iou(streamed[i].mask, crossed[i][1].astype(np.uint8) * 255) for i in apart]
    assert np.mean(ious) > np.mean([clean[i] for i in apart]) - 0.05   # measured 0.859 with, 0.893 without
    assert max((streamed[i].mask > 0)[crossed[i][2]].mean() for i in apart) < 0.02
    with pytest.raises(PersonsegError, match="unknown subject"):
        VideoSegmenter("fast", subject="everyone")


def test_fast_main_subject_is_found_again_once_a_crossing_pedestrian_has_carried_his_track_off(crossed):
    """``fast`` runs the pose step on every 5th frame; in between, optical flow can carry the runner's track onto
    the pedestrian crossing in front of him. The next pose step then also looks where the runner was last
    found, so he is back once the pedestrian has passed (before: lost from frame 15 on, the pedestrian's instead
    on frame 19)."""
    from personseg.video.stream import VideoSegmenter

    seg = VideoSegmenter("fast", subject="main")
    results = [seg(rgb) for rgb, _, _ in crossed]
    runner = [(r.mask > 0)[subject].mean() for r, (_, subject, _) in zip(results, crossed)]
    pedestrian = [(r.mask > 0)[by].mean() for r, (_, _, by) in zip(results, crossed)]
    assert sum(v < 0.5 for v in runner) <= 1, runner          # measured: frame 14 only
    assert min(runner[15:]) > 0.6 and max(pedestrian[15:]) < 0.02, (runner, pedestrian)


def test_main_subject_lost_leaves_the_mask_empty_and_is_taken_back(parkour):
    """The runner, then 40 frames of noise (nobody), then the runner again: while he is gone the mask is empty
    (not whatever else the network marks), and once his track has died he is found again by the whole-frame
    search, within REFRESH frames of his return."""
    from personseg.video.stream import REFRESH, VideoSegmenter

    noise = np.random.default_rng(0).integers(0, 256, parkour[0][1].shape, dtype=np.uint8)
    frames = [rgb for _, rgb, _ in parkour[:8]] + [noise] * 40 + [rgb for _, rgb, _ in parkour[8:]]
    seg = VideoSegmenter("fast", subject="main")
    results = [seg(rgb) for rgb in frames]
    assert not any(r.mask.any() for r in results[8 + 5:48])
    back = [foreground_iou(r.mask, gt) for r, (_, _, gt) in zip(results[48:], parkour[8:])]
    first = next(i for i, iou in enumerate(back) if iou > 0.5)
    assert first <= REFRESH and min(back[first:]) > 0.5, back   # measured: found 2 frames after his return
    assert all(r.ids == [1] and len(r.people) == 1 for r in results[48 + first:])   # the same id, a new track
    with pytest.raises(PersonsegError, match="pose_every 0"):
        VideoSegmenter("fast", subject="main", pose_every=0)
    with pytest.raises(PersonsegError, match="pose_every 3: method 'classical' needs keypoints on every frame"):
        VideoSegmenter("classical", pose_every=3)


def test_main_subject_walking_into_an_empty_clip_is_found_at_the_next_pose_step(parkour):
    """Three frames of noise, then the runner: the subject is looked for on every pose step until first found
    (the whole-frame search ran every REFRESH frames: he appeared up to 15 frames late)."""
    from personseg.video.stream import VideoSegmenter

    noise = np.random.default_rng(1).integers(0, 256, parkour[0][1].shape, dtype=np.uint8)
    frames = [noise] * 3 + [rgb for _, rgb, _ in parkour[3:13]]
    seg = VideoSegmenter("fast", subject="main")   # the pose step on every 5th frame: 0, 5, 10
    results = [seg(rgb) for rgb in frames]
    assert not any(r.mask.any() for r in results[:3])
    ious = [foreground_iou(r.mask, gt) for r, (_, _, gt) in zip(results[3:], parkour[3:13])]
    first = next((3 + i for i, iou in enumerate(ious) if iou > 0.5), None)
    assert first is not None and first <= 6, ious   # measured: from frame 5


def test_main_subject_placed_on_the_background_once_is_forgotten(data_dir):
    """A street with nobody, on which the search places a pose once (a phantom the check keeps out of the mask),
    then the tennis player walks in: the phantom, not found again, is forgotten and the player becomes the subject
    (he was never followed: only someone who looks like a lost subject is taken back), at once (the search for a
    first subject passes over a pose placed where the phantom was: it waited its turn before, 10 frames)."""
    from personseg.video.stream import VideoSegmenter

    root = data_dir / "video/tennis"
    stems = sorted(p.stem for p in (root / "images").iterdir())[10:40]
    frames = [load_image(root / "images" / f"{s}.jpg") for s in stems]
    truth = [load_mask(root / "masks" / f"{s}.png") for s in stems]
    h, w = frames[0].shape[:2]
    street = cv2.resize(load_image(data_dir / "no_people/images/000000037777.jpg"), (w, h))
    seg = VideoSegmenter("fast", subject="main")
    results = [seg(rgb) for rgb in [street] * 10 + frames]
    assert not any(r.mask.any() for r in results[:10])
    ious = [foreground_iou(r.mask, gt) for r, gt in zip(results[10:], truth)]
    first = next((k for k, iou in enumerate(ious) if iou > 0.5), None)
    assert first is not None and first <= 3 and np.mean(ious[first:]) > 0.6, ious   # measured: from frame 10 of 40


def test_a_clip_of_nobody_gets_empty_masks_and_says_so(data_dir, tmp_path, capsys):
    """A slow pan over a photo with nobody in it (a doughnut sandwich): fast's network marks over half of each frame and
    the pose backend places poses there; the person check leaves every mask empty and the summary
    counts them. (A muffin in its paper, this test's photo before, BlazePose now outlines as surely as a person on
    one frame of the six: docs/ARCHITECTURE.md, "No one where there is nobody".)"""
    rgb = load_image(data_dir / "no_people/images/000000024577.jpg")
    frames = tmp_path / "frames"
    frames.mkdir()
    h, w = rgb.shape[:2]
    for i in range(6):
        cv2.imwrite(str(frames / f"{i:03d}.png"), cv2.cvtColor(rgb[4 * i:h - 24 + 4 * i, 4 * i:w - 24 + 4 * i],
                                                                cv2.COLOR_RGB2BGR))
    marked = {}
    for name, extra in (("checked", []), ("unchecked", ["--no-person-check"])):
        out = tmp_path / name
        assert main(["video", str(frames), "--out", str(out), "--save", "mask", "--quiet", "--method", "fast",
                     "--keypoints", str(tmp_path / f"{name}.jsonl"), *extra]) == 0
        marked[name] = [load_mask(out / f"{i:03d}.mask.png").mean() / 255 for i in range(6)]
        people = [len(json.loads(s)["people"]) for s in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
        err = capsys.readouterr().err
        if name == "checked":
            assert people == [0] * 6 and "no person found in 6 of 6 frames" in err and "--no-person-check keeps" in err
        else:
            assert "--no-person-check keeps" not in err
    assert max(marked["checked"]) == 0 and min(marked["unchecked"]) > 0.05


def test_video_frames_are_read_as_photos_are_and_keep_the_clips_size(parkour):
    """Grey, RGBA and float frames, as Segmenter takes them; a frame of another size is refused in words."""
    from personseg.video.stream import VideoSegmenter

    rgb = parkour[0][1]
    seg = VideoSegmenter("fast")
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    for frame in (rgb, grey, np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), rgb / 255.0):
        assert seg(frame).mask.shape == rgb.shape[:2]
    with pytest.raises(PersonsegError, match="every frame must have the first one's size"):
        seg(rgb[:-2])
    results = VideoSegmenter("fast").stream([rgb, rgb / 255.0], lambda f: f)
    assert [r.mask.shape for _, r in results] == [rgb.shape[:2]] * 2


def test_odd_sized_frames_in_a_video_file_are_said_to_lose_a_row_and_column(parkour, tmp_path):
    frames = tmp_path / "odd"
    frames.mkdir()
    for k, (_, rgb, _) in enumerate(parkour[:2]):
        cv2.imwrite(str(frames / f"{k}.png"), cv2.cvtColor(rgb[:479, :853], cv2.COLOR_RGB2BGR))
    summary = run_video(frames, tmp_path / "odd.mp4", progress=False)
    assert any("853x479 frames written as 852x478" in note for note in summary["notes"])
    import av

    summary = run_video(frames, tmp_path / "odd.webm", save="cutout", progress=False)   # FFmpeg converts cut-outs
    assert not summary["notes"]
    with av.open(str(tmp_path / "odd.webm")) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (853, 479)


def test_a_second_sound_track_is_said_to_be_left_out_and_the_first_keeps_its_language(parkour, tmp_path):
    import av

    one = write_clip(tmp_path / "one.mkv", (rgb for _, rgb, _ in parkour[:4]), tone_hz=440)
    with av.open(str(one)) as src, av.open(str(tmp_path / "two.mkv"), "w") as out:
        video = out.add_stream_from_template(src.streams.video[0])
        tracks = [out.add_stream_from_template(src.streams.audio[0]) for _ in range(2)]
        for track, language in zip(tracks, ("eng", "fra")):
            track.metadata["language"] = language
        for packet in src.demux():
            if not packet.size:   # the end of a stream
                continue
            copies = [packet] if packet.stream.type == "video" else [packet, av.Packet(bytes(packet))]
            for copy, stream in zip(copies, [video] if packet.stream.type == "video" else tracks):
                copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
                copy.stream = stream
                out.mux(copy)
    summary = run_video(tmp_path / "two.mkv", tmp_path / "out.mkv", method="fast", save="mask", progress=False)
    assert any("1 more (other languages, commentary) left out" in note for note in summary["notes"])
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert [a.language for a in c.streams.audio] == ["eng"]   # before: no note, and no language
