"""Who counts as another person when the pose backend is asked again and again (instances.new_person), on photos
(find_people) and in video alike."""

from __future__ import annotations

import numpy as np

from personseg.framing import keypoint_extent
from personseg.instances import ERASE_GREY, PROMINENT, find_people, most_prominent, new_person
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


class Painted:
    """A pose backend that finds ``then`` on the image where the first person was painted out (its pixel under
    their neck grey), and nobody elsewhere."""

    def __init__(self, first: np.ndarray, then: list[np.ndarray]) -> None:
        self.neck = tuple(int(v) for v in first[[5, 6], :2].mean(axis=0))
        self.then, self.calls = then, 0

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        self.calls += 1
        return self.then if rgb[self.neck[1], self.neck[0], 0] == ERASE_GREY else []


def test_subject_main_takes_someone_twice_as_prominent_found_with_the_first_painted_out():
    rgb = np.zeros((600, 800, 3), np.uint8)
    side, front = person(100, 100, 40), person(450, 50, 100)   # front's box: 2.5 x 2.5 side's
    assert most_prominent(rgb, Painted(side, [front]), [side], None) == ([front], None)
    near = person(450, 50, 55)   # 1.4 x 1.4: about twice the box, short of PROMINENT
    assert keypoint_extent(near) < PROMINENT * keypoint_extent(side) < keypoint_extent(front)
    assert most_prominent(rgb, Painted(side, [near]), [side], None)[0] == [side]
    assert most_prominent(rgb, Painted(side, []), [side], None)[0] == [side]
    for found in ([], [side, front]):   # nobody, or several already ranked: the backend is not asked again
        backend = Painted(side, [front])
        assert most_prominent(rgb, backend, found, None)[0] == found and backend.calls == 0
    panorama = np.zeros((300, 1500, 3), np.uint8)
    assert most_prominent(panorama, Painted(side, [front]), [side], None)[0] == [side]


def test_find_people_does_not_take_a_pose_inside_someone_found_for_another_person():
    walker = person(400, 100, 100)
    upper = person(380, 90, 40)   # a pose at another scale, its box inside the walker's
    assert keypoint_distance(upper, walker) > 0.25   # far apart by the distance alone
    rgb = np.zeros((600, 800, 3), np.uint8)
    people = find_people(rgb, np.zeros((600, 800), bool), Twice(walker, upper))
    assert len(people) == 1 and people[0] is walker


def test_find_people_takes_a_walker_side_by_side_with_someone_found():
    """Two walkers shoulder to shoulder are about 0.2 apart by keypoint_distance: on photos that is two people
    (SAME_PHOTO_PERSON), where video's SAME_PERSON (0.25) took them for one (Penn-Fudan pairs)."""
    from personseg.instances import SAME_PERSON, SAME_PHOTO_PERSON

    walker, beside = person(400, 100, 100), person(445, 100, 100)
    assert SAME_PHOTO_PERSON < keypoint_distance(beside, walker) < SAME_PERSON
    assert not new_person(beside, [walker]) and new_person(beside, [walker], SAME_PHOTO_PERSON)
    people = find_people(np.zeros((600, 800, 3), np.uint8), np.zeros((600, 800), bool), Twice(walker, beside))
    assert len(people) == 2 and people[1] is beside


def test_a_small_person_given_keeps_their_pixels_and_a_sliver_beside_someone_joins_them():
    """group_pixels with maps: a person under MIN_REGION of the image, standing apart, keeps their pixels when
    given (a page edit of a far cyclist left them an empty mask); found ones and a small part touching someone
    else's still join a neighbour."""
    from personseg.instances import MIN_REGION, group_pixels

    h, w = 400, 1200
    rgb = np.zeros((h, w, 3), np.uint8)
    big, small = person(300, 50, 100), person(1000, 300, 10)
    mask = np.zeros((h, w), np.uint8)
    mask[40:360, 220:380] = 255
    mask[300:335, 995:1005] = 255          # the small person: 350 px, under MIN_REGION of the image
    assert 0 < (mask[:, 900:] > 0).sum() < MIN_REGION * mask.size
    maps = [np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)]
    maps[0][:, :700] = 1.0
    maps[1][:, 700:] = 1.0
    given = group_pixels(rgb, mask, [big, small], maps=maps, given=True)
    assert (given[1] > 0).sum() == (mask[:, 900:] > 0).sum() and not given[0][:, 900:].any()
    found = group_pixels(rgb, mask, [big, small], maps=maps)
    assert not found[1].any() and (found[0] > 0).sum() == (mask > 0).sum()
    maps[1][40:60, 370:700] = 2.0           # the small person's map takes a bit of the big one's edge: a sliver
    beside = group_pixels(rgb, mask, [big, small], maps=maps, given=True)
    assert not beside[1][:, :700].any() and (beside[0][:, :700] > 0).sum() == (mask[:, :700] > 0).sum()
    assert (beside[1] > 0).sum() == (mask[:, 900:] > 0).sum()


def test_two_small_people_given_side_by_side_keep_their_own_pixels():
    """Each small given person touches only the other, who keeps their pixels too: neither joins the large person
    far away (the side-by-side far cyclists)."""
    from personseg.instances import group_pixels

    h, w = 400, 1200
    rgb = np.zeros((h, w, 3), np.uint8)
    big, left, right = person(300, 50, 100), person(990, 300, 10), person(1010, 300, 10)
    mask = np.zeros((h, w), np.uint8)
    mask[40:360, 220:380] = 255
    mask[300:335, 985:1015] = 255          # two people of 525 px each, side by side, under MIN_REGION each
    maps = [np.zeros((h, w), np.float32) for _ in range(3)]
    maps[0][:, :700] = 1.0
    maps[1][:, 700:1000] = 1.0
    maps[2][:, 1000:] = 1.0
    masks = group_pixels(rgb, mask, [big, left, right], maps=maps, given=True)
    sizes = [int((m > 0).sum()) for m in masks]   # split where their maps meet, at the grouping's working size
    assert sizes[0] == (mask[:, :700] > 0).sum() and min(sizes[1:]) > 300 and sum(sizes[1:]) == 1050


def test_a_person_the_person_model_draws_faintly_keeps_their_own_frame():
    """Two walkers side by side in one region of the mask, the person model's map of the second under 0.5
    everywhere (real pedestrians it draws faintly): the second still gets their own pixels, not the first the
    whole region (Penn-Fudan pairs came out as one instance)."""
    from personseg.instances import group_pixels

    h, w = 400, 600
    rgb = np.zeros((h, w, 3), np.uint8)
    first, second = person(200, 50, 100), person(400, 50, 100)
    mask = np.zeros((h, w), np.uint8)
    mask[40:360, 140:460] = 255           # one region holding both
    maps = [np.zeros((h, w), np.float32), np.full((h, w), 0.3, np.float32)]
    maps[0][:, 140:300] = 1.0
    a, b = group_pixels(rgb, mask, [first, second], maps=maps)
    assert (b[40:360, 360:460] > 0).mean() > 0.9 and not b[:, :300].any()   # the rest goes to the nearest one
    assert (a[40:360, 140:300] > 0).all() and (a[:, 360:] > 0).mean() < 0.01
