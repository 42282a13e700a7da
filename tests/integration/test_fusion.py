"""The pose backend's outline of the person and MediaPipe's selfie segmentation model, and how `accurate` joins
them to its networks' probability."""

import numpy as np
import pytest

from personseg.framing import people_box
from personseg.image import load_image, load_mask
from personseg.methods import METHODS, Scene
from personseg.methods.network import finished_probability
from personseg.metrics import foreground_iou
from personseg.pose import detect_people, get_backend
from personseg.refine.components import keep_people
from personseg.refine.fusion import (FULL_BODY_WEIGHT, PORTRAIT_WEIGHT, SELFIE_WEIGHT, join_outline, join_selfie,
                                     shows_hips, with_selfie)
from personseg.runtime import coarse_probability
from personseg.selfie import selfie_probability


@pytest.fixture(scope="module")
def outlining():
    return get_backend("blazepose", body_mask=True)


@pytest.fixture(scope="module")
def parkour_frame(data_dir):
    return (load_image(data_dir / "video/parkour/images/00010.jpg"),
            load_mask(data_dir / "video/parkour/masks/00010.png"))


def test_blazepose_outlines_the_person(outlining, parkour_frame):
    rgb, truth = parkour_frame
    people, outline = outlining.detect_with_mask(rgb)
    assert len(people) == 1
    assert outline.shape == truth.shape and outline.dtype == np.float32
    assert 0.0 <= outline.min() and outline.max() <= 1.0
    assert foreground_iou(np.where(outline >= 0.5, 255, 0), truth) > 0.8


def test_outline_only_when_asked(outlining, parkour_frame):
    rgb, _ = parkour_frame
    people, outline = detect_people(get_backend("blazepose"), rgb, outline=True)   # made without masks
    assert len(people) == 1 and outline is None
    assert detect_people(outlining, rgb, outline=False)[1] is None

    class KeypointsOnly:
        name = "keypoints-only"

        def detect(self, rgb):
            return people

    assert detect_people(KeypointsOnly(), rgb, outline=True) == (people, None)


def test_nobody_no_outline(outlining):
    from skimage import data

    assert outlining.detect_with_mask(data.coffee()) == ([], None)


def test_full_body_means_one_person_with_a_hip_in_the_picture(outlining, parkour_frame, portrait):
    rgb, _ = parkour_frame
    people, _ = outlining.detect_with_mask(rgb)
    assert shows_hips(people, rgb.shape)
    assert not shows_hips(people + people, rgb.shape)          # several people: not one full body
    outside = people[0].copy()
    outside[[11, 12], 1] = rgb.shape[0] + 10                    # hips below the picture
    assert not shows_hips([outside], rgb.shape)
    assert not shows_hips(outlining.detect(portrait[0]), portrait[0].shape)


def test_finished_probability_refines_portraits_not_full_bodies(outlining, parkour_frame, portrait):
    rgb, _ = parkour_frame
    people, outline = outlining.detect_with_mask(rgb)
    coarse = coarse_probability(rgb, ("sinet", "lwpsn"), people_box(people, rgb.shape[0]), people)
    assert np.array_equal(finished_probability(rgb, coarse, people, outline), join_outline(coarse, outline, True))
    rgb, _ = portrait
    people, outline = outlining.detect_with_mask(rgb)
    coarse = coarse_probability(rgb, ("sinet", "lwpsn"), people_box(people, rgb.shape[0]), people)
    finished = finished_probability(rgb, coarse, people, outline)
    assert finished.shape == coarse.shape
    assert not np.array_equal(finished, join_outline(coarse, outline, False))   # the refinement network ran


def test_no_outline_joined_for_several_people(outlining, portrait):
    rgb, _ = portrait
    people, outline = outlining.detect_with_mask(rgb)
    prob = np.full(rgb.shape[:2], 0.3, np.float32)   # below 0.5 everywhere: nothing to refine
    assert np.array_equal(finished_probability(rgb, prob, people + people, outline), prob)
    assert not np.array_equal(finished_probability(rgb, prob, people, outline), prob)


def test_classical_takes_the_outline_as_its_prior(outlining, parkour_frame):
    from personseg.refine.graphcut import classical_probability
    from personseg.refine.fusion import OUTLINE_PRIOR_RANGE, outline_prior

    rgb, truth = parkour_frame
    people, outline = outlining.detect_with_mask(rgb)
    prior = outline_prior(outline)
    assert prior.min() >= OUTLINE_PRIOR_RANGE[0] and prior.max() <= OUTLINE_PRIOR_RANGE[1]
    with_outline = classical_probability(rgb, people[0], crf=False, outline=outline)
    without = classical_probability(rgb, people[0], crf=False)

    def iou(prob):
        return foreground_iou(np.where(prob >= 0.5, 255, 0), truth)

    assert iou(with_outline) > iou(without) + 0.02 and iou(with_outline) > 0.75   # 0.78 and 0.73 when written


def test_fast_joins_the_outline_only_when_asked_for_keypoints(parkour_frame):
    from personseg import Segmenter

    rgb, truth = parkour_frame
    plain, posed = Segmenter("fast", matting=None), Segmenter("fast", matting=None, keypoints=True)
    assert plain.pose is None
    iou_plain, iou_posed = (foreground_iou(s(rgb).mask, truth) for s in (plain, posed))
    assert iou_posed > iou_plain + 0.05 and iou_posed > 0.85


def test_selfie_model_segments_a_portrait(portrait):
    rgb, truth = portrait
    prob = selfie_probability(rgb)
    assert prob.shape == truth.shape and prob.dtype == np.float32
    assert 0.0 <= prob.min() and prob.max() <= 1.0
    assert foreground_iou(np.where(prob >= 0.5, 255, 0), truth) > 0.85


def test_accurate_joins_the_selfie_model_with_its_networks(outlining, portrait):
    rgb, _ = portrait
    people = outlining.detect(rgb)
    box = people_box(people, rgb.shape[0])
    scene = Scene(rgb, people, people, people[0], None, box)
    ours = METHODS["accurate"].coarse(scene, crf=False)
    assert np.array_equal(ours, coarse_probability(rgb, ("sinet", "lwpsn"), box, people))
    joined = with_selfie(rgb, ours, people)
    assert np.allclose(joined, join_selfie(ours, selfie_probability(rgb)))
    assert np.allclose(join_selfie(np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)), 1 - SELFIE_WEIGHT)
    fast = METHODS["fast"]   # no selfie model: its finish without an outline only drops stray regions
    assert np.array_equal(fast.finish(scene, ours), keep_people(ours, people))
    two = people + [people[0].copy()]   # several people: the selfie model, which would merge them, stays out
    assert np.array_equal(with_selfie(rgb, ours, two), ours)


def test_without_mediapipe_masks_only_our_networks_make_the_mask(portrait, monkeypatch):
    from personseg import Segmenter
    from personseg.refine import fusion

    def refuse(*_):
        raise AssertionError("MediaPipe's selfie model ran")

    rgb, truth = portrait
    seg = Segmenter(mediapipe_masks=False)
    monkeypatch.setattr(fusion, "selfie_probability", refuse)
    assert seg.pose.detect_with_mask(rgb)[1] is None   # BlazePose gives keypoints, no outline
    result = seg(rgb)
    assert len(result.people) == 1 and foreground_iou(result.mask, truth) > 0.9
