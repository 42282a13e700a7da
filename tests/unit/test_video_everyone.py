"""Everyone in a clip (video/everyone.py): who counts as another person, and when the whole frame is searched."""

from __future__ import annotations

import numpy as np

from personseg.video.everyone import OthersFinder, tiles

from synthetic import person


class Backend:
    """A pose backend that finds nobody and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        return []


def test_tiles_cover_the_frame_in_overlapping_squares():
    boxes = tiles((480, 854, 3))
    assert len(boxes) == 3 and boxes[0] == (0.0, 0.0, 480.0, 480.0) and boxes[-1] == (374.0, 0.0, 854.0, 480.0)
    assert all(b[2] - b[0] == b[3] - b[1] == 480 for b in boxes)
    tall = tiles((900, 500, 3))
    assert tall[0] == (0.0, 0.0, 500.0, 500.0) and tall[-1] == (0.0, 400.0, 500.0, 900.0)


def test_the_whole_frame_is_searched_on_the_first_call_and_every_search_every_frames(monkeypatch):
    from personseg.video import everyone

    monkeypatch.setattr(everyone, "SEARCH_EVERY", 10)
    backend = Backend()
    finder = OthersFinder(backend, every=5)   # called every 5th frame: a search every 2nd call
    rgb = np.zeros((480, 854, 3), np.uint8)
    calls = []
    for _ in range(5):
        before = backend.calls
        finder(rgb, [], [])
        calls.append(backend.calls - before)
    assert calls == [4, 0, 4, 0, 4]   # the whole frame and three tiles


def test_a_tracked_person_is_confirmed_only_where_found_again_on_their_crop(monkeypatch):
    """Each other person's track is looked for on a crop around where it is heading: a pose found there near it
    confirms them; a track whose crop holds nobody (it drifted onto the background) is not returned, nor is a
    pose on a crop that is the person already found on the whole frame."""
    from personseg.framing import keypoint_box
    from personseg.video import everyone

    runner, walker, drifted = person(200, 50, 100), person(600, 50, 100), person(420, 300, 40)
    standing = [runner, walker]

    def pose_in(rgb, box, pose):   # everyone standing whose box centre lies in the crop
        x0, y0, x1, y1 = box
        return [kp + np.float32([2, 1, 0]) for kp in standing
                if x0 <= np.mean(keypoint_box(kp)[::2]) <= x1 and y0 <= np.mean(keypoint_box(kp)[1::2]) <= y1]

    monkeypatch.setattr(everyone, "pose_in", pose_in)
    finder = OthersFinder(Backend(), every=1)
    finder.calls = 1   # not a search frame
    rgb = np.zeros((480, 854, 3), np.uint8)
    others = finder(rgb, [runner], [runner, walker, drifted])
    assert len(others) == 1 and np.allclose(others[0][:, :2], walker[:, :2] + [2, 1])


def test_a_backend_given_as_an_object_is_called_from_one_thread():
    """``stream`` looks at frames ahead on one thread and searches for everyone on another; a backend given as an
    object serves both, so it is called from one thread only, in frame order, as when called on each frame."""
    import threading

    from personseg.video.stream import VideoSegmenter

    class Recording(Backend):
        def __init__(self) -> None:
            super().__init__()
            self.threads: set[int] = set()

        def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
            self.threads.add(threading.get_ident())
            return super().detect(rgb)

    backend = Recording()
    frames = [np.full((48, 64, 3), 90 + k, np.uint8) for k in range(20)]
    seg = VideoSegmenter("fast", pose=backend, pose_every=1)
    assert len(list(seg.stream(frames, lambda frame: frame))) == 20
    assert backend.calls >= 20 and len(backend.threads) == 1


def test_a_second_thread_calling_a_video_segmenter_meanwhile_is_refused():
    """Two threads sharing one VideoSegmenter broke its tracks with 'dictionary changed size during iteration'."""
    import threading

    import pytest

    from personseg.errors import PersonsegError
    from personseg.video.stream import VideoSegmenter

    inside, go_on = threading.Event(), threading.Event()

    class Waiting(Backend):
        def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
            inside.set()
            go_on.wait(10)
            return super().detect(rgb)

    seg = VideoSegmenter("fast", pose=Waiting(), pose_every=1)
    frame = np.full((48, 64, 3), 90, np.uint8)
    first = threading.Thread(target=seg, args=(frame,))
    first.start()
    assert inside.wait(10)
    with pytest.raises(PersonsegError, match="segmenting frames for another call or stream"):
        seg(frame)
    go_on.set()
    first.join()
    assert seg(frame).mask.shape == (48, 64)   # free again once that call is done
    # a stream holds it too, from its first frame until it ends (a call inside its loop is refused)
    frames = seg.stream([frame] * 3, lambda f: f)
    next(frames)
    with pytest.raises(PersonsegError, match="another call or stream"):
        seg(frame)
    assert len(list(frames)) == 2 and seg(frame).mask.shape == (48, 64)
