import warnings

import numpy as np
import pytest

from personseg.evaluate import evaluate
from personseg.image import write_image
from personseg.metrics import Flicker, InstanceMatch, Scores, boundary_f, foreground_iou


def _square(shape=(100, 100), y=20, x=20, size=40):
    m = np.zeros(shape, np.uint8)
    m[y:y + size, x:x + size] = 255
    return m


def test_iou_cases():
    a = _square()
    assert foreground_iou(a, a) == 1
    assert foreground_iou(a, np.zeros_like(a)) == 0
    assert foreground_iou(np.zeros_like(a), np.zeros_like(a)) == 1
    b = _square(x=40)  # overlaps half
    assert foreground_iou(a, b) == pytest.approx(800 / 2400)


def test_boundary_f_tolerance():
    a = _square()
    assert boundary_f(a, _square(x=21)) == 1  # 1 px shift is inside 1% of the diagonal (1.41 px)
    assert boundary_f(a, _square(x=30)) < 0.6
    assert boundary_f(a, np.zeros_like(a)) == 0


def test_two_class_miou_pools_pixels():
    s = Scores()
    a = _square()
    s.add(a, a)
    s.add(np.zeros_like(a), a)
    # fg: tp=1600, fn=1600 -> 0.5; bg: tp=8400+8400, fp=1600 -> 16800/18400
    assert s.miou_2class == pytest.approx((0.5 + 16800 / 18400) / 2)
    assert s.mean_iou == pytest.approx(0.5)
    with pytest.raises(ValueError):
        s.add(a, a[:50])


def test_pixels_nobody_is_scored_on_are_left_out():
    # VOC's masks mark a void band round each object: a prediction differing there only is perfect
    truth = _square()
    band = (_square(y=17, x=17, size=46) > 0) & (_square(y=23, x=23, size=34) == 0)
    pred = _square(y=18, x=18, size=44)   # the person's edge drawn 2 px out, inside the band
    s = Scores()
    assert s.add(pred, truth) < 0.85 and boundary_f(pred, truth) < 1   # counted against it without the band
    assert s.add(pred, truth, band) == 1 and boundary_f(pred, truth, ignore=band) == 1
    assert s.confusion.sum() == 2 * truth.size - band.sum()


def test_photos_of_nobody_are_counted_as_marked_or_not():
    # on no_people eval gave only IoU (1 or 0 a photo) and a 2-class mIoU held under 0.5
    s = Scores()
    empty = np.zeros((10, 10), bool)
    s.add(empty, empty)
    marked = empty.copy()
    marked[:2] = True
    s.add(marked, empty)
    summary = s.summary()
    assert (summary["images_of_nobody"], summary["of_nobody_marked"], summary["of_nobody_share_marked"]) == (2, 1, 0.1)
    person = marked.copy()
    s2 = Scores()
    s2.add(person, person)
    assert "images_of_nobody" not in s2.summary()


def test_flicker_counts_changes_the_truth_does_not_make():
    f = Flicker()
    a, b = _square(), _square(x=21)   # the prediction moves by one column
    f.add(a, a)
    f.add(b, a)                       # truth still: 40 + 40 changed pixels of 10000 stable
    assert f.value == pytest.approx(80 / 10000)
    g = Flicker()
    g.add(a, a)
    g.add(b, b)                       # truth moves the same way: no flicker
    assert g.value == 0


def test_instance_matching_is_one_to_one():
    left, right = _square(x=0, size=30), _square(x=60, size=30)
    m = InstanceMatch()
    m.add([right, left, _square(y=70, x=0, size=20)], [left, right])
    s = m.summary()
    assert (s["found"], s["missed"], s["spurious"]) == (2, 0, 1)
    assert s["matched_iou"] == 1
    m.add([left], [left, right])          # the second image: one person missed
    assert m.summary()["missed"] == 1
    assert m.summary()["mean_iou_all"] == pytest.approx(3 / 4)
    m.add([np.maximum(left, right)], [left, right])   # one mask over two people matches one of them at most
    assert (m.summary()["found"], m.summary()["missed"]) == (4, 2)


def test_a_person_found_in_an_ignored_crowd_is_not_spurious():
    left, crowd_person, stray = _square(x=0, size=30), _square(x=60, size=20), _square(y=70, x=0, size=20)
    crowd = _square(x=55, size=35)
    m = InstanceMatch()
    m.add([left, crowd_person, stray], [left], ignore=crowd)
    assert (m.summary()["found"], m.summary()["spurious"]) == (1, 1)   # the stray counts, the crowd's does not
    m.add([crowd_person], [left])
    assert m.summary()["spurious"] == 2                                # without the crowd mask it counts


def test_masks_drawn_inverted_are_pointed_out(tmp_path):
    # a folder of masks drawn person black scored near 0 without a word
    person = _square()
    for folder in ("images", "masks"):
        (tmp_path / folder).mkdir()
    for i in range(3):
        write_image(tmp_path / f"images/{i}.png", np.zeros((100, 100, 3), np.uint8))
        write_image(tmp_path / f"masks/{i}.png", 255 - person)
    pairs = [(str(i), tmp_path / f"images/{i}.png", tmp_path / f"masks/{i}.png") for i in range(3)]
    with pytest.warns(UserWarning, match="the masks may be inverted"):
        assert evaluate(lambda rgb: person, pairs).scores.mean_iou < 0.2
    for i in range(3):
        write_image(tmp_path / f"masks/{i}.png", person, overwrite=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate(lambda rgb: person, pairs).scores.mean_iou == 1
    write_image(tmp_path / "masks/1.png", 255 - person, overwrite=True)   # one of many: it was unsaid
    with pytest.warns(UserWarning, match=r"^1 mask may be inverted .*: 1 \(0.00; inverted 1.00\)$"):
        evaluate(lambda rgb: person, pairs)
    write_image(tmp_path / "masks/1.png", person, overwrite=True)   # a method marking everything: not the mask's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate(lambda rgb: np.full_like(person, 255), pairs)
