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


def test_a_pose_mostly_inside_someone_known_is_not_another_person():
    from personseg.pose.keypoints import keypoint_distance
    from personseg.video.everyone import _new

    runner = person(300, 50, 100)
    upside_down = runner.copy()
    upside_down[:, 1] = 50 + 290 - runner[:, 1]   # BlazePose's pose of what painting him out left: his own box
    assert min(keypoint_distance(upside_down, runner), keypoint_distance(runner, upside_down)) > 0.5
    assert not _new(upside_down, [runner])
    assert not _new(runner + np.float32([5, 5, 0]), [runner])
    assert _new(person(600, 50, 100), [runner])
