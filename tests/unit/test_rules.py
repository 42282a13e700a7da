"""The small rules between stages: keeping regions someone vouches for, joining the outline and the selfie
model, the worst cases of an evaluation, timing and matting in the chain."""

from __future__ import annotations

import numpy as np
import pytest

from personseg.errors import PersonsegError
from personseg.evaluate import WorstCases
from personseg.pipeline import check_matting, matted, timed
from personseg.pose import empty_keypoints
from personseg.refine.components import keep_people, keep_subject
from personseg.refine.fusion import (FULL_BODY_WEIGHT, OUTLINE_PRIOR_RANGE, PORTRAIT_WEIGHT, join_outline,
                                     lone_person, outline_prior, own_outline, shows_hips, within_own_frame)

from synthetic import person


def test_keep_people_drops_a_small_region_nobody_vouches_for(two_blobs):
    prob, left, right = two_blobs
    assert keep_people(prob, [left])[45, 160] == 0
    assert keep_people(prob, [left, right])[45, 160] > 0.5
    assert keep_people(prob)[45, 160] == 0   # without keypoints, size decides (0.15 of the largest)
    empty = np.zeros((5, 5), np.float32)
    assert keep_people(empty, [left]) is empty
    assert keep_people(prob, [right], unseen=False)[50, 30] == 0    # only the regions holding a keypoint
    assert keep_people(prob, [right], unseen=False)[45, 160] > 0.5
    assert keep_people(prob, [], unseen=False) is prob              # no keypoint in the mask: nothing to go by


def test_a_subject_on_no_region_keeps_the_largest_alone(two_blobs):
    """Subject main on a photo where nobody is placed, or the one placed stands on no region: the largest region
    (all of them were kept); a subject followed in video and lost: nothing."""
    prob, left, right = two_blobs
    assert keep_subject(prob, right, False)[45, 160] > 0.5 and keep_subject(prob, right, False)[50, 30] == 0
    for nobody in (empty_keypoints(), person(100, 200, 10)):   # nobody; someone below the picture
        kept = keep_subject(prob, nobody, False)
        assert kept[50, 30] == pytest.approx(0.9) and kept[45, 160] == 0
        assert not keep_subject(prob, nobody, True).any()
    empty = np.zeros((5, 5), np.float32)
    assert keep_subject(empty, empty_keypoints(), False) is empty


def test_outside_the_persons_own_frame_only_confirmed_regions_keep_their_probability(two_blobs):
    before, left, _ = two_blobs
    done = before * 0.3   # as if one person's outline had dimmed everything
    asked = []

    def confirm(region, frame):
        asked.append((int(region.sum()), frame))
        return True

    out = within_own_frame(done, before, [left], confirm)
    assert asked and asked[0][0] == 30 * 20 and asked[0][1][2] < 150   # the right blob, beside the left's frame
    assert out[45, 160] == pytest.approx(0.8) and out[50, 30] == pytest.approx(0.27)   # the left stays finished
    assert within_own_frame(done, before, [left], lambda region, frame: False)[45, 160] == pytest.approx(0.24)
    assert within_own_frame(done, before, [left], None) is done
    assert within_own_frame(done, before, [], confirm) is done
    asked.clear()
    kept = np.where(before > 0.7, before, done)   # the finishing left the right blob a person: nothing to ask
    assert within_own_frame(kept, before, [left], confirm) is kept and not asked


def test_a_confirmed_person_reaching_into_the_frame_is_put_back_whole(two_blobs):
    _, left, _ = two_blobs
    before = np.zeros((100, 200), np.float32)
    before[10:90, 10:40] = 0.9    # the person found (their frame ends near x = 56)
    before[20:60, 50:110] = 0.8   # someone else, apart from them, half inside that frame
    out = within_own_frame(before * 0.3, before, [left], lambda region, frame: True)
    assert out[30, 52] == pytest.approx(0.8) and out[30, 100] == pytest.approx(0.8)
    assert out[50, 20] == pytest.approx(0.27)   # the person's own region stays finished


def test_the_outline_is_joined_for_one_person_and_weighs_more_on_a_full_body():
    prob, outline = np.full((4, 4), 0.8, np.float32), np.zeros((4, 4), np.float32)
    assert np.allclose(join_outline(prob, outline, False), 0.8 * (1 - PORTRAIT_WEIGHT))
    assert np.allclose(join_outline(prob, outline, True), 0.8 * (1 - FULL_BODY_WEIGHT))
    one, two = [person(50, 5, 10)], [person(50, 5, 10), person(20, 5, 10)]
    assert own_outline(outline, one) is outline and own_outline(outline, two) is None
    assert lone_person([]) and lone_person(one) and not lone_person(two)


def test_a_full_body_shows_a_hip_inside_the_picture():
    kp = person(50, 5, 10)
    assert shows_hips([kp], (100, 100)) and not shows_hips([kp], (10, 100))   # hips below a 10-pixel-high image
    assert not shows_hips([kp, kp], (100, 100))


def test_the_outline_prior_leaves_colour_a_say():
    prior = outline_prior(np.array([[0.0, 1.0]], np.float32))
    assert tuple(prior[0]) == OUTLINE_PRIOR_RANGE


def test_worst_cases_keeps_the_lowest_scores_worst_first():
    worst = WorstCases(2)
    truth = np.zeros((10, 10), np.uint8)
    truth[:, :5] = 255
    for ident, cols in (("good", 5), ("bad", 1), ("mid", 3)):
        pred = np.zeros_like(truth)
        pred[:, :cols] = 255
        worst.keep(ident, np.zeros((10, 10, 3), np.uint8), pred, truth)
    assert [(i, round(iou, 2)) for i, iou, *_ in worst.cases()] == [("bad", 0.2), ("mid", 0.6)]
    assert worst.picture().shape == (24 + 240, 480, 3)   # a legend strip, then the tiles
    assert WorstCases().picture() is None


def test_matted_without_matting_is_the_probability_made_opaque_and_timed_adds_up():
    timings: dict[str, float] = {}
    prob = np.array([[0.2, 0.45, 0.7, 0.9]], np.float32)
    mask, alpha = matted(np.zeros((1, 4, 3), np.uint8), prob, None, 400, timings)
    assert mask.tolist() == [[0, 0, 255, 255]] and timings == {}
    assert np.allclose(alpha, [[0.0, 0.35, 1.0, 1.0]])   # steepened 3x about 0.5: its own edges, opaque inside
    assert timed(timings, "x", sum, [1, 2]) == 3 and timed(timings, "x", sum, [3]) == 3
    assert set(timings) == {"x"} and timings["x"] >= 0
    with pytest.raises(PersonsegError, match="unknown matting 'magic'"):
        check_matting("magic")


def test_a_half_length_persons_visibility_leaves_out_legs_below_the_picture():
    from personseg.instances import seen_visibility

    kp = person(50, 10, 30)               # ankles at y = 82
    kp[11:, 2] = 0.05                      # hips and legs unseen
    assert seen_visibility(kp, (200, 100)) == pytest.approx((11 * 0.9 + 6 * 0.05) / 17)
    assert seen_visibility(kp, (50, 100)) == pytest.approx(0.9)   # cut at y = 50: the legs lie below it
    assert seen_visibility(kp, (5, 5)) == 0.0                     # too few points inside to judge


def test_the_selfie_model_marks_others_where_much_of_its_mask_lies_away_from_the_persons_own_map():
    from personseg.refine.fusion import marks_others

    selfie = np.zeros((200, 300), np.float32)
    selfie[50:150, 40:100] = 1.0   # the person given
    own = selfie.copy()
    assert not marks_others(selfie, own)
    selfie[50:150, 200:260] = 1.0  # someone else as large
    assert marks_others(selfie, own)
    selfie[50:150, 200:260] = 0.0   # the disc grown round the person's map: 0.1 of 300 px across, 15 px out
    selfie[50:150, 100:115] = 1.0   # a strip within it: theirs
    assert not marks_others(selfie, own)
    selfie[50:150, 117:160] = 1.0   # beyond it, and as much as a third of the mask
    assert marks_others(selfie, own)


def test_an_outline_vouches_for_its_person_only_where_it_is_sure_of_them():
    from personseg.presence import OUTLINE_SURE, sure_outline

    outline = np.zeros((40, 30), np.float32)
    outline[10:30, 8:20] = 0.99
    outline[10:30, 20:21] = 0.9   # a softer edge: the mean above 0.5 stays sure
    outline[10:30, 21:23] = 0.3
    sure = sure_outline(outline)
    assert sure is not None and sure.sum() == 20 * 13 and not sure[:10].any()
    outline[10:30, 8:20] = OUTLINE_SURE - 0.02   # a phantom's hesitant outline
    assert sure_outline(outline) is None
    assert sure_outline(np.zeros((40, 30), np.float32)) is None and sure_outline(None) is None
