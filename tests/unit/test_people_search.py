"""Who counts as another person when the pose backend is asked again and again (instances.new_person), on photos
(find_people) and in video alike."""

from __future__ import annotations

import numpy as np

from personseg.instances import find_people, new_person
from personseg.pose.keypoints import keypoint_distance

from synthetic import person


def test_a_pose_mostly_inside_someone_known_is_not_another_person():
    runner = person(300, 50, 100)
    upside_down = runner.copy()
    upside_down[:, 1] = 50 + 290 - runner[:, 1]   # BlazePose's pose of what painting him out left: his own box
    assert min(keypoint_distance(upside_down, runner), keypoint_distance(runner, upside_down)) > 0.5
    assert not new_person(upside_down, [runner])
    assert not new_person(runner + np.float32([5, 5, 0]), [runner])
    assert new_person(person(600, 50, 100), [runner])


class Twice:
    """A pose backend that finds the walker on the whole image, then (he painted out) a smaller pose on his upper
    body, then nobody; and nobody on crops."""

    def __init__(self, walker: np.ndarray, upper: np.ndarray) -> None:
        self.found = [[walker], [upper]]

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        return self.found.pop(0) if self.found and rgb.shape[:2] == (600, 800) else []


def test_find_people_does_not_take_a_pose_inside_someone_found_for_another_person():
    walker = person(400, 100, 100)
    upper = person(380, 90, 40)   # a pose at another scale, its box inside the walker's
    assert keypoint_distance(upper, walker) > 0.25   # far apart by the distance alone
    rgb = np.zeros((600, 800, 3), np.uint8)
    people = find_people(rgb, np.zeros((600, 800), bool), Twice(walker, upper))
    assert len(people) == 1 and people[0] is walker
