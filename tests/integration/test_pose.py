import numpy as np
import pytest

from personseg.image import load_image
from personseg.pose import JOINT14_NAMES, get_backend, head_point, to_joints14
from personseg.pose.keypoints import K, body_scale, neck


@pytest.fixture(scope="module")
def backend():
    return get_backend("blazepose")


def test_blazepose_finds_the_annotated_keypoints(backend, single_person):
    rgb, _, truth = single_person
    people = backend.detect(rgb)
    assert len(people) == 1
    kp = people[0]
    assert kp.shape == (17, 3) and kp.dtype == np.float32
    seen = (truth[:, 2] > 0) & (kp[:, 2] > 0.5)
    assert seen.sum() >= 12
    err = np.linalg.norm(kp[seen, :2] - truth[seen, :2], axis=1)
    size = np.ptp(truth[:, 1])  # person height in pixels
    assert np.median(err) < 0.05 * size


def test_nobody_in_a_photo_without_people(backend):
    from skimage import data

    assert backend.detect(data.coffee()) == []


def test_face_only_fallback_for_close_ups(backend, data_dir):
    # A close-up where BlazePose finds no body: the face detector's points stand in.
    people = backend.detect(load_image(data_dir / "eg1800/images/00013.jpg"))
    assert people, "expected at least a face"
    kp = people[0]
    assert kp[[0, 1, 2], 2].min() > 0.5 and kp[5:, 2].max() == 0
    assert kp[1, 0] > kp[2, 0]  # the person's left eye is on the image's right


def test_unknown_backend():
    from personseg import PersonsegError, Segmenter, VideoSegmenter

    with pytest.raises(PersonsegError, match="unknown pose backend"):
        get_backend("openpose")
    for make in (Segmenter, VideoSegmenter):   # refused when made, whether the method needs keypoints or not
        for method in ("fast", "accurate"):
            with pytest.raises(PersonsegError, match="unknown pose backend 'openpose'"):
                make(method, pose="openpose")


def test_head_point_and_joints14(single_person):
    _, _, kp = single_person
    head = head_point(kp)
    assert head[1] < kp[K["nose"], 1]  # above the nose
    j = to_joints14(kp)
    assert j.shape == (14, 3) and len(JOINT14_NAMES) == 14
    assert np.allclose(j[1, :2], neck(kp))
    assert np.allclose(j[JOINT14_NAMES.index("left_knee"), :2], kp[K["left_knee"], :2])
    missing = kp.copy()
    missing[K["left_knee"], 2] = 0
    assert to_joints14(missing)[JOINT14_NAMES.index("left_knee"), 2] == 0


def test_body_scale_resists_foreshortening(single_person):
    _, _, kp = single_person
    shoulders = float(np.linalg.norm(kp[5, :2] - kp[6, :2]))
    assert body_scale(kp) >= shoulders  # the widest of shoulder, hip and face estimates
    only_shoulders = kp.copy()
    only_shoulders[[0, 1, 2, 3, 4, 11, 12], 2] = 0
    assert body_scale(only_shoulders) == pytest.approx(shoulders)
    assert body_scale(np.zeros((17, 3), np.float32)) == 0
    with pytest.raises(ValueError):
        to_joints14(np.zeros((14, 3)))


def test_video_mode_follows_the_person_like_single_images(backend, data_dir):
    """On consecutive parkour frames the video-mode backend (person found once, then followed) puts the
    confident keypoints where the single-image backend does."""
    video = get_backend("blazepose", video=True)
    frames = sorted((data_dir / "video/parkour/images").iterdir())[:6]
    for path in frames:
        rgb = load_image(path)
        followed, single = video.detect(rgb), backend.detect(rgb)
        assert len(followed) == len(single) == 1
        sure = (followed[0][:, 2] > 0.8) & (single[0][:, 2] > 0.8)
        assert sure.sum() >= 8
        gap = np.linalg.norm(followed[0][sure, :2] - single[0][sure, :2], axis=1)
        assert np.median(gap) < 0.03 * np.ptp(single[0][:, 1])   # 3% of the person's height


def test_mediapipe_starts_without_its_start_up_lines(capfd, single_person):
    from personseg._mediapipe import solution, started

    selfie = solution("selfie_segmentation")
    with selfie.SelfieSegmentation(model_selection=0) as raw:   # the lines this guards against
        raw.process(single_person[0])
        expected = raw.process(single_person[0]).segmentation_mask
    assert "Feedback manager" in capfd.readouterr().err
    with started(lambda: selfie.SelfieSegmentation(model_selection=0)) as quiet:
        assert np.array_equal(quiet.process(single_person[0]).segmentation_mask, expected)
    assert "Feedback manager" not in capfd.readouterr().err


def test_a_backend_dropped_closes_its_graphs():
    """mediapipe's graphs hold about 115 MB each until closed: a program that made a VideoSegmenter per clip grew
    by 230 MB a clip until the kernel killed it."""
    import gc

    from personseg.video.stream import VideoSegmenter

    get_backend()   # the first one made imports mediapipe's modules, and the import keeps the frames that made it
    seg = VideoSegmenter("fast")   # its pose step's backend and a second one to search for everyone
    closed = [seg.pose._closed, seg._others.pose._closed]
    seg(np.zeros((64, 64, 3), np.uint8))
    del seg
    gc.collect()
    assert not any(c.alive for c in closed)


def test_a_process_forked_after_mediapipe_started_is_told_not_left_hanging(single_person):
    """mediapipe's graphs, and new ones, wait forever in a process forked after it started (a Segmenter made
    before a 'fork' process pool): there a call raises PersonsegError naming the start methods that work."""
    import os
    import signal
    import time

    from personseg import Segmenter

    seg = Segmenter()
    seg(single_person[0])
    read, write = os.pipe()
    child = os.fork()
    if child == 0:   # pragma: no cover - the child reports through the pipe
        try:
            for call in (lambda: seg(single_person[0]), lambda: Segmenter()(single_person[0])):
                try:
                    call()
                    os.write(write, b"ran;")
                except Exception as e:   # noqa: BLE001 - the child reports what it got
                    os.write(write, f"{type(e).__name__}: {e};".encode())
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 60
    while os.waitpid(child, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.2)
    hung = time.monotonic() >= deadline
    if hung:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    said = os.read(read, 4096).decode()
    os.close(read)
    assert not hung, f"the forked process hung: {said!r}"
    assert said.count("PersonsegError") == 2 and "'spawn'" in said, said
