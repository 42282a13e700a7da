"""One table of output kinds serves photos and video frames (synthetic results; no network runs)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from personseg.errors import PersonsegError
from personseg.outputs import (OUTPUTS, VIDEO_OUTPUTS, background_image, check_outputs, instances_json,
                               person_files, render, save_outputs)
from personseg.result import Instance, Result


@pytest.fixture
def result() -> Result:
    rgb = np.zeros((60, 40, 3), np.uint8)
    rgb[..., 0] = 200
    alpha = np.zeros((60, 40), np.float32)
    alpha[10:50, 10:30] = 1.0
    alpha[10:50, 9] = 0.5
    kp = np.zeros((17, 3), np.float32)
    kp[:, :2] = (20, 30)
    kp[:, 2] = 0.9
    return Result(mask=np.where(alpha >= 0.5, 255, 0).astype(np.uint8), alpha=alpha, keypoints=kp, people=[kp],
                  rgb=rgb, estimate_foreground=False)


def test_every_picture_output_renders_at_the_image_size(result):
    bg = background_image("#00ff00", result.mask.shape)
    shapes = {name: render(result, name, bg if name == "replace" else None).shape
              for name, kind in OUTPUTS.items() if kind.picture is not None}
    assert shapes == {"mask": (60, 40), "alpha": (60, 40), "cutout": (60, 40, 4), "replace": (60, 40, 3),
                      "blur": (60, 40, 3), "overlay": (60, 40, 3)}


def test_the_cutout_is_black_where_fully_transparent_and_the_colours_elsewhere(result):
    rgba = render(result, "cutout")
    seen = rgba[..., 3] > 0
    assert seen.any() and (~seen).any()
    assert (rgba[~seen] == 0).all() and np.array_equal(rgba[seen][:, :3], result.foreground[seen])


def test_replace_puts_the_person_over_the_background(result):
    green = background_image("#00ff00", result.mask.shape)
    assert green.strides[:2] == (0, 0)   # one pixel seen everywhere: no full-size copy (72 MB at 24 MP)
    out = render(result, "replace", green)
    assert tuple(out[30, 20]) == (200, 0, 0) and tuple(out[2, 2]) == (0, 255, 0)
    assert 0 < out[30, 9, 1] < 255   # the soft edge mixes both
    with pytest.raises(PersonsegError, match="needs a background"):
        render(result, "replace")
    assert np.array_equal(render(result, "replace", "#00ff00"), out)   # a colour as the CLI takes it
    for same in ("00ff00", "0f0", "#0F0", "lime", (0, 255, 0), [0, 255, 0]):   # as the service takes it; Python's
        assert np.array_equal(render(result, "replace", same), out), same


def test_a_background_image_of_any_size_or_form_covers_the_photo_and_bad_ones_are_refused_in_words(result):
    green = render(result, "replace", (0, 255, 0))
    wide = np.zeros((30, 400, 3), np.uint8)   # scaled to cover the 40x60 photo, centred: its middle third green
    wide[:, 150:250, 1] = 255
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, format="PNG")
    for same in (wide, Image.fromarray(wide), buffer.getvalue(), wide.astype(np.float32) / 255,
                 np.dstack([wide, np.full(wide.shape[:2], 255, np.uint8)])):   # as photos are given
        assert np.array_equal(render(result, "replace", same), green)
    grey = render(result, "replace", np.full((8, 8), 128, np.uint8))   # a grey array, scaled up
    assert tuple(grey[2, 2]) == (128, 128, 128)
    for bad, words in ((b"#00ff00", "the background: .*cannot be read"), ((300, 0, 0), r"\(300, 0, 0\): a colour"),
                       ((1, 2, 3, 4), "three whole numbers"), ("no-such-colour-or-file", "neither a colour"),
                       (np.zeros((60, 40, 3), np.float32) + 7, "the background: ")):
        with pytest.raises(PersonsegError, match=words):
            render(result, "replace", bad)


def test_json_is_not_a_picture_and_video_shows_every_picture(result):
    with pytest.raises(PersonsegError, match="not a picture output"):
        render(result, "json")
    assert "cutout" in VIDEO_OUTPUTS and "json" not in VIDEO_OUTPUTS
    assert all(OUTPUTS[name].picture is not None for name in VIDEO_OUTPUTS)


def test_unknown_outputs_and_a_missing_background_are_refused():
    with pytest.raises(PersonsegError, match="sparkles"):
        check_outputs(("mask", "sparkles"), None)
    with pytest.raises(PersonsegError, match="needs a background"):
        check_outputs(("replace",), None)
    with pytest.raises(PersonsegError, match="no such image file"):   # a path that is not there says so
        background_image("no-such-file.png", (4, 4))
    with pytest.raises(PersonsegError, match="neither a colour"):
        background_image("no-such-colour", (4, 4))


def test_saved_pictures_are_the_rendered_ones_channel_for_channel(result, tmp_path):
    from PIL import Image

    pictures = ("cutout", "replace", "blur", "overlay")
    save_outputs(result, tmp_path, "x", pictures, background="#0000ff")   # written by reordering in place
    rgb = result.rgb.copy()
    for name in pictures:
        drawn = render(result, name, "#0000ff" if name == "replace" else None)
        assert np.array_equal(np.asarray(Image.open(tmp_path / f"x.{name}.png")), drawn)
    assert np.array_equal(result.rgb, rgb)


def test_save_outputs_names_files_and_never_overwrites(result, tmp_path):
    paths = save_outputs(result, tmp_path, "x", ("mask", "alpha", "json"))
    assert sorted(p.name for p in paths) == ["x.alpha.png", "x.json", "x.mask.png"]
    with pytest.raises(PersonsegError, match="output exists"):
        save_outputs(result, tmp_path, "x", ("mask",))
    assert save_outputs(result, tmp_path, "x", ("mask",), overwrite=True)


def test_video_results_composite_with_the_frames_own_colours(result):
    assert result.foreground is result.rgb


def test_regions_holding_nobodys_keypoints_are_counted():
    from synthetic import person

    mask = np.zeros((200, 300), np.uint8)
    mask[20:180, 20:80] = 255      # the placed person
    mask[50:150, 200:240] = 255    # someone the pose backend did not place
    mask[5:7, 290:292] = 255       # a speck, under presence.MIN_REGION
    placed = person(50, 25, 40)
    rgb = np.zeros((200, 300, 3), np.uint8)
    assert Result(mask=mask, alpha=mask / 255.0, keypoints=placed, people=[placed], rgb=rgb).unplaced == 1
    assert Result(mask=mask, alpha=mask / 255.0, keypoints=placed, people=[], rgb=rgb).unplaced == 2
    assert Result(mask=mask * 0, alpha=mask * 0.0, keypoints=placed, people=[], rgb=rgb).unplaced == 0
    # with instances, those without a pose, as an edit numbers them (a piece of a posed person's mask is theirs:
    # the service's JSON gave 1 beside three posed people, and dropping region 0 was refused)
    whole = Instance(mask, placed, 0.9)
    assert Result(mask=mask, alpha=mask / 255.0, keypoints=placed, people=[placed], rgb=rgb,
                  instances=[whole]).unplaced == 0
    assert Result(mask=mask, alpha=mask / 255.0, keypoints=placed, people=[placed], rgb=rgb,
                  instances=[whole, Instance(mask * 0, placed * 0, 0.5)]).unplaced == 1


def test_keypoints_in_json_have_no_float32_tails():
    from personseg.pose.keypoints import rounded_keypoints

    assert rounded_keypoints(np.array([[278.12, 1.0049, 0.91]], np.float32)) == [[278.12, 1.0, 0.91]]


def test_the_overlay_tints_each_person_of_instances_in_their_colour(result):
    from dataclasses import replace

    from personseg.result import Instance

    left, right = np.zeros_like(result.mask), np.zeros_like(result.mask)
    left[10:50, 10:20], right[10:50, 20:30] = 255, 255
    none = np.zeros((17, 3), np.float32)
    apart = render(replace(result, instances=[Instance(left, none, 0.5), Instance(right, none, 0.5)]), "overlay")
    one = render(result, "overlay")
    assert tuple(apart[30, 14]) != tuple(apart[30, 26])   # two people, two colours
    assert tuple(one[30, 14]) == tuple(one[30, 26])       # one mask, one tint


def test_the_overlays_keypoints_are_sized_by_the_photos_short_side():
    """A panorama 300 px high and 6000 wide: its dots were 40 px across (by the long side), hiding its people."""
    kp = np.zeros((17, 3), np.float32)
    kp[:, :2], kp[:, 2] = (3000, 150), 0.9
    shape = (300, 6000)
    wide = Result(mask=np.zeros(shape, np.uint8), alpha=np.zeros(shape, np.float32), keypoints=kp, people=[kp],
                  rgb=np.zeros((*shape, 3), np.uint8), estimate_foreground=False)
    dot = (render(wide, "overlay") == (255, 60, 60)).all(axis=2)
    assert 0 < dot.sum() <= 13 and dot[150, 3000]   # a disc of radius 2


def test_one_person_of_several_is_a_result_of_their_own_with_their_soft_edge(result, tmp_path):
    from dataclasses import replace

    from personseg.result import Instance

    left, right = np.zeros_like(result.mask), np.zeros_like(result.mask)
    left[10:50, 9:20], right[10:50, 20:30] = 255, 255
    alpha = result.alpha.copy()
    alpha[10:50, 8] = 0.3   # a soft edge outside the masks, beside the left one
    kp = result.keypoints
    both = replace(result, alpha=alpha, instances=[Instance(left, kp, 0.9), Instance(right, kp * 0, 0.5)])
    first, second = both.person(0), both.person(1)
    assert first.alpha[30, 8] == np.float32(0.3) and second.alpha[30, 8] == 0   # the soft edge is the nearest's
    assert np.array_equal(first.alpha + second.alpha, both.alpha)   # the alpha shared out, nothing lost
    assert np.array_equal(first.mask, left) and np.array_equal(first.alpha >= 0.5, left > 0)
    assert len(first.people) == 1 and second.people == [] and first.instances is None
    cut = render(second, "cutout")
    assert cut[30, 25, 3] == 255 and cut[30, 15, 3] == 0   # one person cut out
    with pytest.raises(PersonsegError, match="holds 2 .0 to 1, or -1 for the last"):
        both.person(2)
    assert np.array_equal(both.person(-1).mask, right)   # counted from the end, as a list is
    with pytest.raises(PersonsegError, match="holds 2"):
        both.person(-3)
    from PIL import Image
    from personseg.batch import _output_stem

    written = sorted(p.name for p in save_outputs(both, tmp_path, "x", ("mask", "cutout", "json")))
    assert written == ["x.cutout.png", "x.instances.json", "x.json", "x.mask.png", "x.person-1.cutout.png",
                       "x.person-1.mask.png", "x.person-2.cutout.png", "x.person-2.mask.png"]   # each alone too
    alpha = np.asarray(Image.open(tmp_path / "x.person-2.cutout.png"))[..., 3]
    assert alpha[30, 25] == 255 and alpha[30, 15] == 0 and alpha[30, 8] == 0
    assert {_output_stem(name) for name in written} == {"x"}
    (tmp_path / "x.person-2.cutout.png").unlink()   # an interrupted run: a rerun completes the person's files
    (tmp_path / "x.person-1.cutout.mask.png").write_bytes(b"another photo's")   # x.person-1.cutout.jpg's mask
    assert [p.name for p in save_outputs(both, tmp_path, "x", ("mask", "cutout", "replace"), background="red",
                                         keep_existing=True)] == ["x.replace.png", "x.person-1.replace.png",
                                                                  "x.person-2.cutout.png", "x.person-2.replace.png"]
    assert [k for k, _ in person_files(tmp_path, "x")] == [1, 1, 1, 2, 2, 2]   # not the other photo's file
    one = replace(both, instances=both.instances[:1])   # the photo again, one person in it now
    save_outputs(one, tmp_path, "x", ("mask", "cutout"), overwrite=True)
    assert [k for k, _ in person_files(tmp_path, "x")] == [1, 1, 1]   # the second's files gone with them
    with pytest.raises(PersonsegError, match="needs a Result with instances"):
        result.person(0)
    with pytest.raises(PersonsegError, match="instances_json needs a Result with instances"):
        instances_json(result)   # it gave "people": [] for a Result that found someone


@pytest.mark.parametrize("blur", [-1.0, 0.0, float("nan"), 5.0, "0.03", True])
def test_a_blur_outside_its_range_is_refused_by_the_api_as_by_the_cli(result, blur, tmp_path):
    with pytest.raises(PersonsegError, match="a share of the image diagonal above 0 and at most 0.5"):
        render(result, "blur", blur=blur)
    with pytest.raises(PersonsegError, match="at most 0.5"):
        save_outputs(result, tmp_path, "x", ("blur",), blur=blur)
    assert render(result, "mask", blur=None).shape == (60, 40)   # outputs that draw no blur take none


def test_a_setting_for_another_output_is_refused_by_the_api_as_by_the_cli(result):
    # render(result, "cutout", background="red") gave a cut-out and said nothing
    with pytest.raises(PersonsegError, match="background is for the 'replace' output, not 'cutout'"):
        render(result, "cutout", background="red")
    with pytest.raises(PersonsegError, match="blur is for the 'blur' output, not 'mask'"):
        render(result, "mask", blur=0.1)


def test_a_video_frames_json_gives_each_persons_track_id(result):
    # the per-frame json of `personseg video --save json` had no id: only --keypoints' file told people apart
    from dataclasses import replace

    from personseg.outputs import keypoints_json

    photo = result
    assert [set(p) for p in keypoints_json(photo, "a.jpg")["people"]] == [{"keypoints"}]
    frame = replace(photo, people=[photo.people[0], photo.people[0]], ids=[3, 7])
    assert [p["id"] for p in keypoints_json(frame, "f")["people"]] == [3, 7]


def test_a_result_prints_as_a_summary_not_its_arrays(result):
    assert repr(result) == "Result(40x60, people=1, marked=35.0%)"
    result.instances = [Instance(result.mask, result.keypoints, 0.9)]
    assert repr(result).endswith(", instances=1)") and repr(result.instances) == (
        "[Instance(box=(9, 10, 21, 40), area=840, score=0.900, posed=True)]")
