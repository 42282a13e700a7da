"""The region check (presence.py): its scores on real regions, the probability it keeps, and its training
(gathering regions, a resumable run, the ONNX export)."""

import numpy as np
import pytest
import torch

from personseg.errors import PersonsegError
from personseg.image import load_image, load_mask
from personseg.models.registry import spec
from personseg.pipeline import Segmenter
from personseg.pose.blazepose import BlazePoseBackend
from personseg.pose.hands import HandFinder
from personseg import presence
from personseg.presence import MODEL, checked_probability, looked_over, people_put_back, person_scores
from personseg.train.export import export_onnx
from personseg.train import regions as regions_module
from personseg.train.regions import gather, train_check


def test_a_portraits_true_mask_is_a_person_and_the_doughnuts_are_not(data_dir, portrait, monkeypatch):
    rgb, truth = portrait
    _, _, scores = person_scores(rgb, truth > 0)
    assert len(scores) == 1 and min(scores.values()) > 0.5
    prob = (truth > 0).astype(np.float32)
    kept = checked_probability(rgb, prob)   # the person, less any speck under MIN_REGION
    assert (kept <= prob).all() and kept.sum() > 0.999 * prob.sum()
    doughnuts = load_image(data_dir / "no_people/images/000000024577.jpg")
    marked = np.zeros(doughnuts.shape[:2], np.float32)
    marked[40:-40, 60:-60] = 0.9   # a large block over the doughnuts
    assert not checked_probability(doughnuts, marked).any()
    # where the check says no, a confirming pose backend still keeps the region, unless it scores below the floor
    (score,) = person_scores(doughnuts, marked > 0.5)[2].values()
    monkeypatch.setattr(presence, "CONFIRM_FLOOR", score)
    assert np.array_equal(checked_probability(doughnuts, marked, lambda region, box: True), marked)
    monkeypatch.setattr(presence, "CONFIRM_FLOOR", score + 1e-3)
    assert not checked_probability(doughnuts, marked, lambda region, box: True).any()


def test_a_hand_on_a_dropped_regions_crop_keeps_it_and_only_the_largest_are_shown(data_dir):
    root = data_dir / "coco_single"   # a train photo: an arm on a bed, which the check scores low
    rgb, truth = load_image(root / "images/000000137106.jpg"), load_mask(root / "masks/000000137106.png")
    prob = (truth > 0).astype(np.float32)
    nobody = lambda region, box: False   # noqa: E731 - the pose backend finds no one on the crop
    assert max(person_scores(rgb, truth > 0)[2].values()) < presence.THRESHOLD
    assert not checked_probability(rgb, prob, nobody).any()
    hands = HandFinder()
    assert np.array_equal(checked_probability(rgb, prob, nobody, hand=hands.seen), prob)
    doughnuts = load_image(data_dir / "no_people/images/000000024577.jpg")
    marked = np.zeros(doughnuts.shape[:2], np.float32)
    marked[40:-40, 60:-60] = 0.9
    assert not checked_probability(doughnuts, marked, nobody, hand=hands.seen).any()
    # five blocks, the largest in the top left corner: the hand is asked about the three largest, largest first,
    # each on the check's square crop of it where it lies in the photo (the others' tops cut at the photo's edge)
    blocks = np.zeros(doughnuts.shape[:2], np.float32)
    blocks[:70, :70] = 0.9
    for i, side in enumerate([30, 40, 50, 60]):
        blocks[10:10 + side, 100 + 100 * i:100 + 100 * i + side] = 0.9
    shown = []
    checked_probability(doughnuts, blocks, nobody, threshold=1.01, hand=lambda crop: shown.append(crop.shape) or False)
    grown = (1 + presence.CONTEXT) / 2
    assert len(shown) == presence.HANDS_CHECKED
    assert [h for h, _, _ in shown] == [pytest.approx(v, abs=2) for v in (70 * grown, 10 + 60 * grown, 10 + 50 * grown)]
    assert [w for _, w, _ in shown] == [pytest.approx(v, abs=2) for v in (70 * grown, 60 * presence.CONTEXT,
                                                                           50 * presence.CONTEXT)]


def test_the_default_keeps_an_arm_by_its_hand_unless_the_pose_backend_is_the_callers(data_dir):
    root = data_dir / "coco_single"   # BlazePose places nobody on this arm on a bed; the check scores it low
    rgb, truth = load_image(root / "images/000000137106.jpg"), load_mask(root / "masks/000000137106.png") > 0
    mask = Segmenter(matting=None)(rgb).mask > 0
    assert (mask & truth).sum() > 0.7 * (mask | truth).sum()
    assert not Segmenter(matting=None, pose=BlazePoseBackend(body_mask=True))(rgb).mask.any()
    hands = HandFinder()
    assert not hands.seen(rgb[:0]) and not hands.seen(rgb[:, :0])   # no image, no hand, and the graph still works
    assert hands.seen(rgb)


def test_a_dropped_person_is_put_back_and_a_dropped_patch_of_wall_is_not(data_dir):
    root = data_dir / "pennfudan"
    rgb, truth = load_image(root / "images/FudanPed00001.jpg"), load_mask(root / "masks/FudanPed00001.png")
    prob = (truth > 0).astype(np.float32) * 0.9   # two pedestrians, apart: the left one in columns 159-301
    prob[20:120, 20:140] = 0.8                     # and a block of the wall above them
    kept = prob.copy()
    kept[:, :400] = 0                              # all but the right pedestrian dropped, as keep_people may
    back = people_put_back(rgb, prob, kept)
    assert np.array_equal(back[:, 159:302], prob[:, 159:302]) and back[:, 159:302].any()
    assert not back[20:120, 20:140].any()
    assert np.array_equal(back[:, 400:], kept[:, 400:])
    assert people_put_back(rgb, prob, kept, threshold=1.01) is kept   # nothing taken: nothing put back


def _standing_at(x: float, y: float) -> np.ndarray:
    """Keypoints all at (x, y), confident."""
    return np.tile(np.array([[x, y, 1.0]], np.float32), (17, 1))


def test_people_not_yet_trusted_keep_their_regions_only_where_the_check_takes_them_for_people(data_dir):
    root = data_dir / "pennfudan"
    rgb, truth = load_image(root / "images/FudanPed00001.jpg"), load_mask(root / "masks/FudanPed00001.png")
    prob = (truth > 0).astype(np.float32) * 0.9   # two pedestrians, apart: the left one in columns 159-301
    prob[20:120, 20:140] = 0.8                     # a block of the wall above them
    prob[200:260, 20:80] = 0.8                     # and another, where nobody stands
    ys, xs = np.nonzero(truth[:, :400])
    left = _standing_at(xs.mean(), ys.mean())
    ys, xs = np.nonzero(truth[:, 400:])
    right = _standing_at(xs.mean() + 400, ys.mean())
    phantom = _standing_at(80, 70)
    # nobody trusted: every region must pass; the left pedestrian stands on one it takes, the phantom does not
    kept, taken = looked_over(rgb, prob, [], {1: left, 2: phantom})
    assert taken == {1}
    assert np.array_equal(kept[:, 159:302], prob[:, 159:302]) and kept[:, 400:].any()
    assert not kept[20:120, 20:140].any() and not kept[200:260, 20:80].any()
    # someone trusted: only the regions of those not yet trusted are looked at; the block nobody stands on stays
    kept, taken = looked_over(rgb, prob, [right], {2: phantom})
    assert taken == set() and not kept[20:120, 20:140].any()
    assert np.array_equal(kept[200:260, 20:80], prob[200:260, 20:80]) and kept[:, 159:302].any()
    assert looked_over(rgb, prob, [right], {})[0] is prob   # nobody in doubt: nothing looked at


def test_regions_gathered_from_real_photos_train_resume_and_export(data_dir, tmp_path, monkeypatch):
    made = []
    real = regions_module.Segmenter
    monkeypatch.setattr(regions_module, "Segmenter", lambda *a, **k: made.append(k) or real(*a, **k))
    root = data_dir / "pennfudan"
    pairs = [(f"pennfudan/{s}", root / "images" / f"{s}.jpg", root / "masks" / f"{s}.png")
             for s in ("FudanPed00001", "FudanPed00002", "PennPed00010")]
    data = gather(pairs, log=lambda s: None)
    assert made and all(k["person_check"] is False for k in made)   # the regions before any check of them
    n = len(data["y"])
    assert n >= 3 and data["x"].shape == (n, 4, 64, 64) and data["y"].sum() >= 1
    assert ((data["share"] >= 0.5) == (data["y"] > 0.5)).all() and set(data["name"]) <= {p[0] for p in pairs}
    assert set(data["view"]) == {0, 1}   # the photos and their person-free strips
    data["val"][:] = np.arange(n) % 3 == 0   # some of each in both
    best = train_check(data, tmp_path, epochs=1, log=lambda s: None)
    again = train_check(data, tmp_path, epochs=2, log=lambda s: None)   # resumes at epoch 2
    history = torch.load(tmp_path / "last.pt", map_location="cpu", weights_only=False)["history"]
    assert best == again and [h["epoch"] for h in history] == [1, 2]
    info = export_onnx(best, tmp_path / "check.onnx", data["x"][:2].astype(np.float32))
    with pytest.raises(PersonsegError, match="validation regions need both"):
        train_check({**data, "val": np.zeros(n, bool)}, tmp_path / "none", epochs=1, log=lambda s: None)
    assert info["max_abs_diff"] < 1e-3 and info["params"] > 10_000
    assert spec(MODEL).channels == 4
