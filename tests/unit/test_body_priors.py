"""The body the priors draw from keypoints: its scale and torso, for people seen from the front and side-on."""

from __future__ import annotations

import numpy as np
import pytest

from personseg.pose.keypoints import K, TORSO_SCALE, body_scale
from personseg.priors import frame_map

from synthetic import person


def side_on(kp: np.ndarray) -> np.ndarray:
    """``kp`` turned side-on: each pair of eyes, ears, shoulders, elbows, wrists, hips, knees and ankles 3 px apart."""
    out = kp.copy()
    for a, b in ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)):
        mid = (kp[a, :2] + kp[b, :2]) / 2
        out[a, :2], out[b, :2] = mid - (1.5, 0), mid + (1.5, 0)
    return out


def test_a_person_seen_side_on_keeps_a_body_sized_scale_and_a_filled_torso():
    front = person(100, 20, 100)
    side = side_on(front)
    torso = float(np.linalg.norm(side[K["left_shoulder"], :2] - side[K["left_hip"], :2]))
    assert body_scale(front) == 50.0   # the shoulders' distance, as before
    assert body_scale(side) == TORSO_SCALE * torso
    # the torso is drawn half the scale wide or more, not as a line between points 3 px apart (the arms beside it
    # are 0.24 of the scale wide)
    row = frame_map(side, (300, 200))[int(side[K["left_shoulder"], 1] + 0.5 * torso)]
    assert row.sum() >= 0.5 * body_scale(side)


def test_a_frontal_torso_is_drawn_between_its_shoulders_and_hips():
    front = person(100, 20, 100)
    row = frame_map(front, (300, 200))[int(front[K["left_shoulder"], 1] + 50)]
    # shoulders 50 px apart and hips 30: halfway down, the torso between the arms and apart from them
    assert row[80:121].all() and not row[70:73].any() and not row[128:130].any()


@pytest.mark.parametrize("swapped", [(11, 12), (5, 6)])
def test_a_side_on_torso_does_not_cross_itself_whichever_way_a_pair_lies(swapped):
    """Side-on, the left and right points of a pair lie either way round by a pixel or two: the pair moved apart
    goes the way the other pair lies (each going its own way drew a torso crossed at its waist, 15 px wide)."""
    side = side_on(person(100, 20, 100))
    a, b = swapped
    side[[a, b], :2] = side[[b, a], :2]
    torso = float(np.linalg.norm(side[K["left_shoulder"], :2] - side[K["left_hip"], :2]))
    row = frame_map(side, (300, 200))[int(side[K["left_shoulder"], 1] + 0.5 * torso)]
    assert row.sum() >= 0.5 * body_scale(side)
