"""The method registry and the protocol every method follows (no network is scored here)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from personseg.errors import PersonsegError
from personseg.methods import (DEFAULT_COARSE_METHOD, DEFAULT_METHOD, DEFAULT_VIDEO_METHOD, METHODS, Method,
                               NetworkMethod, Scene, get_method)
from personseg.models.registry import SPECS
from personseg.pose import empty_keypoints


def _scene(prob_shape, people, vouched=None, main=None, everyone=False) -> Scene:
    rgb = np.zeros((*prob_shape, 3), np.uint8)
    return Scene(rgb, people, people if vouched is None else vouched, people[0] if main is None else main, None,
                 None, everyone)


def test_registry_keys_are_the_methods_names_and_defaults_are_registered():
    assert METHODS and all(name == m.name and isinstance(m, Method) for name, m in METHODS.items())
    assert {DEFAULT_METHOD, DEFAULT_VIDEO_METHOD, DEFAULT_COARSE_METHOD} <= set(METHODS)
    assert all(m.summary for m in METHODS.values())


def test_unknown_method_names_the_choices():
    with pytest.raises(PersonsegError, match="unknown method 'magic'; choose one of classical"):
        get_method("magic")


def test_every_network_method_runs_shipped_models():
    for method in METHODS.values():
        for model in method.models:
            assert model in SPECS and SPECS[model].onnx_path.is_file(), (method.name, model)


def test_methods_are_immutable_and_scenes_too():
    method = next(iter(METHODS.values()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        method.name = "other"
    scene = _scene((4, 4), [empty_keypoints()])
    with pytest.raises(dataclasses.FrozenInstanceError):
        scene.box = (0, 0, 1, 1)


def test_a_method_that_needs_keypoints_refuses_to_run_without():
    from personseg import Segmenter

    needing = [name for name, m in METHODS.items() if m.needs_keypoints]
    assert needing
    for name in needing:
        with pytest.raises(PersonsegError, match="needs keypoints"):
            Segmenter(name, keypoints=False)


def test_a_cut_of_one_person_keeps_that_persons_region_until_widened(two_blobs):
    prob, left, right = two_blobs
    cutters = [m for m in METHODS.values() if not m.models]   # network-free: cuts the main person
    assert cutters
    for method in cutters:
        kept = method.finish(_scene(prob.shape, [left, right], main=left), prob)
        assert kept[45, 160] == 0 and kept[50, 30] > 0.5
        kept = method.finish(_scene(prob.shape, [left, right], main=left, everyone=True), prob)
        assert kept[45, 160] > 0.5 and kept[50, 30] > 0.5


def test_network_finish_keeps_what_the_vouched_people_hold(two_blobs):
    prob, left, right = two_blobs
    plain = NetworkMethod("plain", "test", networks=("sinet",))   # no selfie model, outline nor refinement
    assert plain.finish(_scene(prob.shape, [left, right]), prob)[45, 160] > 0.5
    assert plain.finish(_scene(prob.shape, [left, right], vouched=[left]), prob)[45, 160] == 0


def test_models_lists_the_refinement_network_where_it_runs():
    assert NetworkMethod("a", "t", networks=("sinet", "lwpsn"), refine=True).models == ("sinet", "lwpsn", "refine")
    assert NetworkMethod("b", "t", networks=("sinet",)).models == ("sinet",)


def test_a_new_network_method_is_one_registry_entry(monkeypatch):
    """The architecture page's example: an entry in METHODS is all a network method with the usual chain needs
    (here on a shipped model, so its output must equal the method it copies)."""
    from personseg import Segmenter
    from skimage import data

    entry = dataclasses.replace(METHODS["fast"], name="copy", summary="fast under another name")
    monkeypatch.setitem(METHODS, "copy", entry)
    rgb = data.astronaut()[::2, ::2]
    a, b = Segmenter("copy", matting=None)(rgb), Segmenter("fast", matting=None)(rgb)
    assert np.array_equal(a.alpha, b.alpha)


def test_without_mediapipe_masks_drops_the_selfie_model_and_the_outline_only():
    for method in METHODS.values():
        ours = method.without_mediapipe_masks()
        assert not ours.uses_outline and not getattr(ours, "selfie", False)
        assert (ours.name, ours.needs_keypoints, ours.models) == (method.name, method.needs_keypoints, method.models)
    accurate = get_method("accurate").without_mediapipe_masks()
    assert accurate.refine and accurate.networks == get_method("accurate").networks


def test_options_that_choose_among_people_found_play_no_part_when_people_are_given():
    """A Segmenter kept with them segments given people as given (it refused every such call); a command line or
    a request asking for both is refused (check_given)."""
    from personseg import Segmenter
    from personseg.pipeline import check_given

    kp = np.column_stack([np.linspace(10, 40, 17), np.linspace(5, 60, 17), np.ones(17)])
    rgb = np.random.default_rng(0).integers(0, 255, (64, 48, 3), dtype=np.uint8)
    plain = Segmenter("fast", matting=None)(rgb, people=[kp]).mask
    for options in ({"person_check": False}, {"require_person": True}, {"subject": "main"}):
        assert np.array_equal(Segmenter("fast", matting=None, **options)(rgb, people=[kp]).mask, plain), options
    with pytest.raises(PersonsegError, match="with people given exactly those are segmented"):
        check_given("main", False, True)


@pytest.mark.parametrize("pose", [None, 3])
def test_a_pose_backend_that_is_not_one_is_refused_when_the_segmenter_is_made(pose):
    from personseg import Segmenter

    with pytest.raises(PersonsegError, match="give a backend's name"):
        Segmenter(pose=pose)


def test_a_result_keeps_its_own_image_when_the_callers_buffer_is_filled_again():
    from personseg import Segmenter, VideoSegmenter

    for seg in (Segmenter("fast"), VideoSegmenter("fast")):
        buf = np.full((64, 48, 3), 200, np.uint8)   # a camera's or a decoder's buffer, filled again for the next
        result = seg(buf)
        buf[:] = 0
        assert result.rgb.min() == 200   # what its cut-outs and composites are drawn from
    grey = np.full((64, 48), 200, np.uint8)   # converted, so already its own
    assert not np.may_share_memory(Segmenter("fast")(grey).rgb, grey)


def test_results_compare_by_identity_so_lists_sets_and_dicts_take_them():
    from personseg import Segmenter

    seg = Segmenter("fast")
    a, b = seg(np.zeros((64, 48, 3), np.uint8)), seg(np.zeros((64, 48, 3), np.uint8))
    kept = [b, a]
    kept.remove(a)   # == on arrays raised "the truth value of an array ... is ambiguous"
    assert kept == [b] and a != b and len({a, b}) == 2
