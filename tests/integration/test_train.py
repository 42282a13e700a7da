import numpy as np
import onnx
import pytest
import torch

from personseg import Segmenter
from personseg.data import read_ids
from personseg.errors import PersonsegError
from personseg.models.registry import spec
from personseg.runtime import MODEL_KEY
from personseg.models.sinet import SINet
from personseg.train.augment import AugmentConfig, augment
from personseg.train.checkpoint import read_checkpoint
from personseg.train.data import PairSet, load_pairs
from personseg.train.export import export_onnx
from personseg.train.loop import TrainConfig, make_batches, train
from personseg.train.losses import segmentation_loss


@pytest.fixture(scope="module")
def pairs(data_dir, tmp_path_factory):
    """The first 8 EG1800 train pairs (read from links to them: reading all 1290 took 16 s)."""
    folder = tmp_path_factory.mktemp("eg1800")
    for part in ("images", "masks"):
        (folder / part).mkdir()
    for ident in read_ids(data_dir / "eg1800/train.txt")[:8]:
        for part, suffix in (("images", ".jpg"), ("masks", ".png")):
            (folder / part / f"{ident}{suffix}").symlink_to(data_dir / "eg1800" / part / f"{ident}{suffix}")
    return load_pairs(folder, max_side=160)


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(size=(64, 96), batch=4, epochs=2, lr=1e-2, **kw)


def test_sinet_is_small_and_shaped():
    m = SINet()
    assert sum(p.numel() for p in m.parameters()) < 100_000
    m.eval()
    assert m(torch.zeros(1, 3, 256, 192)).shape == (1, 2, 128, 96)   # half the input size; upsampled by its users


def test_augment_keeps_image_and_mask_aligned(pairs):
    rgb, mask = pairs.images[0], pairs.masks[0]
    rng = np.random.default_rng(3)
    img, m = augment(rng, rgb, mask, (96, 128), AugmentConfig(rotate=0, scale=(1, 1), shift=0, flip=0,
                                                                 brightness=0, contrast=0, saturation=0, blur=0,
                                                                 noise=0, composite=0))
    assert img.shape == (128, 96, 3) and m.shape == (128, 96) and set(np.unique(m)) <= {0, 1}
    # With no random change the warp is a plain resize: the mask matches the resized mask.
    import cv2

    ref = cv2.resize(mask, (96, 128), interpolation=cv2.INTER_LINEAR) > 127
    assert (ref == (m > 0)).mean() > 0.97


def test_batches_are_reproducible(pairs):
    a = next(make_batches(pairs, None, _cfg(), epoch=1))
    b = next(make_batches(pairs, None, _cfg(), epoch=1))
    c = next(make_batches(pairs, None, _cfg(), epoch=2))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


def test_batches_do_not_depend_on_workers(pairs):
    cfg = _cfg()
    alone = list(make_batches(pairs, None, cfg, epoch=3))
    helped = list(make_batches(pairs, None, cfg, epoch=3, workers=2))
    assert len(alone) == len(helped) == 2
    for (xa, ya), (xb, yb) in zip(alone, helped):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_a_few_steps_lower_the_loss(pairs):
    torch.manual_seed(0)
    model = SINet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = next(make_batches(pairs, None, _cfg(), epoch=0))
    losses = []
    for _ in range(15):
        model.train()
        logits, coarse = model(x)
        loss = segmentation_loss(logits, y) + 0.4 * segmentation_loss(coarse, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # identical arithmetic in both runs
    yield
    torch.set_num_threads(before)


def test_resume_matches_an_uninterrupted_run(pairs, tmp_path, one_thread):
    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    straight = tmp_path / "straight"
    train(_cfg(), pairs, val, straight, log=lambda s: None)
    broken = tmp_path / "broken"
    train(_cfg(), pairs, val, broken, log=lambda s: None, until=1)
    assert len(torch.load(broken / "last.pt", weights_only=False)["history"]) == 1
    other = PairSet(pairs.ids[2:4], pairs.images[2:4], pairs.masks[2:4])
    with pytest.raises(PersonsegError, match=r"other data \(other validation pairs, as many\)"):
        train(_cfg(), pairs, other, broken, resume=True, log=lambda s: None)
    fewer = PairSet(pairs.ids[:5], pairs.images[:5], pairs.masks[:5])
    with pytest.raises(PersonsegError, match=r"other data \(training pairs 5, was 8\)"):
        train(_cfg(), fewer, val, broken, resume=True, log=lambda s: None)
    older = torch.load(broken / "last.pt", weights_only=False)   # as written before average_from, grey and data
    del older["config"]["average_from"], older["config"]["augment"]["grey"], older["data"]
    torch.save(older, broken / "last.pt")
    with pytest.raises(PersonsegError, match=r"other settings \(epochs 3, was 2\).*start a new run with --init"):
        train(TrainConfig(size=(64, 96), batch=4, epochs=3, lr=1e-2), pairs, val, broken, resume=True,
              log=lambda s: None)
    with pytest.raises(PersonsegError, match=r"other settings \(seed 1, was 0\)"):
        train(_cfg(seed=1), pairs, val, broken, resume=True, log=lambda s: None)
    with pytest.raises(PersonsegError, match=r"other settings \(augment.grey 0.5, was 0.0\)"):
        train(_cfg(augment=AugmentConfig(grey=0.5)), pairs, val, broken, resume=True, log=lambda s: None)
    train(_cfg(), pairs, val, broken, resume=True, log=lambda s: None)
    a = torch.load(straight / "last.pt", weights_only=False)
    b = torch.load(broken / "last.pt", weights_only=False)
    assert a["history"][1]["loss"] == b["history"][1]["loss"]
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_weight_average_is_the_mean_of_the_epochs_and_resumes(pairs, tmp_path, one_thread):
    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    cfg = _cfg(average_from=1)
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    train(cfg, pairs, val, straight, log=lambda s: None)
    train(cfg, pairs, val, broken, log=lambda s: None, until=1)
    first = torch.load(broken / "last.pt", weights_only=False)["model"]
    train(cfg, pairs, val, broken, resume=True, log=lambda s: None)
    a = torch.load(straight / "last.pt", weights_only=False)
    b = torch.load(broken / "last.pt", weights_only=False)
    assert int(a["average"]["n_averaged"]) == 2 and a["history"][1]["averaged"] == 2
    for k, w in a["average"].items():
        assert torch.equal(w, b["average"][k]), k
    name, weight = next((k, w) for k, w in a["model"].items() if w.ndim == 4)
    assert not torch.equal(first[name], weight)
    assert torch.allclose(a["average"]["module." + name], (first[name] + weight) / 2, atol=1e-6)


def test_best_checkpoint_of_a_weight_average_is_a_mean_even_where_a_single_epoch_scored_more(pairs, tmp_path,
                                                                                               monkeypatch):
    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    scores = iter([0.9, 0.5, 0.6])   # the single first epoch validates best
    monkeypatch.setattr("personseg.train.loop.validate", lambda *args: next(scores))
    train(TrainConfig(size=(64, 96), batch=4, epochs=3, lr=1e-2, average_from=2), pairs, val, tmp_path / "run",
          log=lambda s: None)
    best = torch.load(tmp_path / "run" / "best.pt", weights_only=False)
    mean = torch.load(tmp_path / "run" / "last.pt", weights_only=False)["average"]
    assert best["epoch"] == 2 and best["val_iou"] == 0.6
    for k, w in best["model"].items():
        assert torch.equal(w, mean["module." + k]), k


@pytest.mark.parametrize("settings, message", [({"epochs": 0}, "--epochs 0: expected 1 or more"),
                                               ({"batch": 0}, "--batch 0: expected 1 or more"),
                                               ({"lr": -1.0}, "--lr -1.0: expected more than 0"),
                                               ({"seed": -1}, "--seed -1: expected 0 to 4294967295"),
                                               ({"average_from": 3},
                                                "--average-from 3: expected an epoch from 1 to 2")])
def test_settings_that_cannot_train_are_refused(settings, message):
    with pytest.raises(PersonsegError, match=message):
        TrainConfig(**({"epochs": 2} | settings))


def test_a_run_that_diverges_stops_and_keeps_nothing_of_it(pairs, tmp_path, one_thread):
    """A learning rate far too high: the run stops at the first loss that is not a number, saying so (it ran
    every epoch on nan weights and exited 0, its best.pt the starting network)."""
    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    with pytest.raises(PersonsegError, match=r"training diverged: the loss became -?(nan|inf) at step \d+ of epoch 1 .*"
                                             r"smaller --lr than 1e\+30.*nothing of this run was saved"):
        train(TrainConfig(size=(64, 96), batch=4, epochs=2, lr=1e30), pairs, val, tmp_path / "run",
              log=lambda s: None)
    assert not (tmp_path / "run" / "last.pt").exists()


def test_nothing_to_resume_or_no_gpu_is_refused_before_the_run_folder_is_made(pairs, tmp_path):
    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    with pytest.raises(PersonsegError, match="nothing to resume"):
        train(_cfg(), pairs, val, tmp_path / "new", resume=True, log=lambda s: None)
    with pytest.raises(PersonsegError, match="device 'gpu'"):
        train(_cfg(), pairs, val, tmp_path / "new", device="gpu", log=lambda s: None)
    assert not (tmp_path / "new").exists()


def test_export_matches_torch(pairs, tmp_path):
    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    train(TrainConfig(size=(64, 96), batch=4, epochs=1), pairs, val, tmp_path / "run", log=lambda s: None)
    info = export_onnx(tmp_path / "run" / "best.pt", tmp_path / "m.onnx")
    assert info["max_abs_diff"] < 1e-3 and info["params"] < 100_000 and (tmp_path / "m.onnx").is_file()
    assert {p.key: p.value for p in onnx.load(tmp_path / "m.onnx").metadata_props} == {MODEL_KEY: "sinet"}


def test_an_exported_network_runs_only_in_its_own_models_place(tmp_path):
    # an lwpsn-rgb file takes SINet's input: run as SINet it gave empty masks without a word
    proto = onnx.load(spec("sinet").onnx_path)
    onnx.helper.set_model_props(proto, {MODEL_KEY: "lwpsn-rgb"})
    onnx.save(proto, tmp_path / "other.onnx")
    with pytest.raises(PersonsegError, match="other.onnx is a lwpsn-rgb network .*; it cannot run as sinet"):
        Segmenter("fast", models=tmp_path / "other.onnx")
    onnx.helper.set_model_props(proto, {MODEL_KEY: "sinet"})
    onnx.save(proto, tmp_path / "mine.onnx")
    assert Segmenter("fast", models=tmp_path / "mine.onnx").models == {"sinet": tmp_path / "mine.onnx"}


def test_shipped_onnx_reads_back_as_the_same_torch_model(pairs):
    import onnxruntime as ort

    from personseg.models.registry import spec, torch_model
    from personseg.train.loop import to_tensor
    from personseg.train.onnx_weights import weights_from_onnx

    import cv2

    for name in ("sinet", "lwpsn"):
        model = torch_model(name)
        model.load_state_dict(weights_from_onnx(torch_model(name), spec(name).onnx_path, spec(name).channels))
        model.eval()
        rgb = cv2.resize(pairs.images[0], (192, 256))
        planes = np.dstack([rgb] + [np.full((256, 192, 1), 128, np.uint8)] * (spec(name).channels - 3))
        x = to_tensor(planes[None], spec(name))
        expected = ort.InferenceSession(str(spec(name).onnx_path)).run(None, {"image": x.numpy()})[0]
        with torch.no_grad():
            got = model(x).numpy()
        assert np.abs(got - expected).max() < 1e-3, name
        assert (got[0, 1] > got[0, 0]).mean() > 0.2   # a portrait: a real share of person pixels


def test_onnx_of_another_model_is_refused():
    from personseg.errors import PersonsegError
    from personseg.models.registry import spec
    from personseg.train.onnx_weights import weights_from_onnx

    with pytest.raises(PersonsegError, match="another architecture"):
        weights_from_onnx(SINet(), spec("lwpsn").onnx_path, 3)


def test_fine_tuning_the_shipped_onnx_keeps_its_batch_norm_statistics(pairs, tmp_path):
    from personseg.models.registry import spec

    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    cfg = TrainConfig(size=(96, 128), batch=4, epochs=1, lr=1e-4, init=str(spec("sinet").onnx_path), freeze_bn=True)
    train(cfg, pairs, val, tmp_path / "run", log=lambda s: None)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert state["history"][0]["val_iou"] > 0.8   # starts from the trained model, not from scratch
    folded = state["model"]["level1.1.running_var"]   # level1's batch norm was folded into its convolution
    assert torch.allclose(folded, torch.full_like(folded, 1 - 1e-5))
    # a further run started from that run's checkpoint keeps them fixed too, unasked
    again = TrainConfig(size=(96, 128), batch=4, epochs=1, lr=1e-4, init=str(tmp_path / "run" / "last.pt"))
    assert again.freeze_bn
    train(again, pairs, val, tmp_path / "again", log=lambda s: None)
    folded = torch.load(tmp_path / "again" / "last.pt", weights_only=False)["model"]["level1.1.running_var"]
    assert torch.allclose(folded, torch.full_like(folded, 1 - 1e-5))


def test_overlapping_people_are_synthesised_with_their_own_masks_and_priors(pairs):
    from personseg.pose import get_backend
    from personseg.train.overlaps import overlap_pairs

    pose = get_backend("blazepose")
    people = [pose.detect(img) for img in pairs.images]
    made = overlap_pairs(pairs, people, 3, ("ssm",), seed=0)
    assert len(made) == 6
    for k in range(0, 6, 2):   # a scene: the person behind, then the one in front
        behind, front = made.masks[k] > 0, made.masks[k + 1] > 0
        assert behind.any() and front.any() and not (behind & front).any()
        assert np.array_equal(made.images[k][..., :3], made.images[k + 1][..., :3])   # the same picture
        for i, own in ((k, behind), (k + 1, front)):
            ssm = made.images[i][..., 3].astype(float)
            assert made.images[i].shape[2] == 4 and ssm[own].mean() > ssm[~own].mean()   # the prior marks whom to cut


def test_a_long_epoch_says_how_far_it_is_and_the_log_gives_the_rate_its_last_step_used(pairs, tmp_path,
                                                                                        monkeypatch):
    monkeypatch.setattr("personseg.train.loop.PROGRESS_SECONDS", 0.0)
    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    lines = []
    train(_cfg(), pairs, val, tmp_path / "run", log=lines.append)
    said = [line for line in lines if " of 8 pairs" in line]
    assert "epoch 1/2: 4 of 8 pairs, loss" in said[0] and "epoch 2/2: 8 of 8 pairs" in said[3]
    assert "s of training left in it)" in said[0]   # half the epoch done: about as long again
    ends = [line for line in lines if line.startswith("epoch ") and " val IoU " in line]
    assert "to go)" in ends[0] and "to go" not in ends[1]   # the epochs left of this run
    history = torch.load(tmp_path / "run" / "last.pt", weights_only=False)["history"]
    assert history[0]["lr"] > history[1]["lr"] > 0   # one-cycle: its last step's rate is its lowest


def test_a_run_stopped_between_its_checkpoints_keeps_the_best_epoch(pairs, tmp_path, monkeypatch):
    """Epoch 2 scores best, and the run stops between writing its two checkpoints: resumed, best.pt holds epoch 2
    (last.pt was written first and recorded it as the best, so no resumed run wrote it to best.pt)."""
    from personseg.train import loop

    val = PairSet(pairs.ids[:2], pairs.images[:2], pairs.masks[:2])
    scores = iter([0.5, 0.9, 0.9])   # epoch 1, epoch 2 (stopped), epoch 2 again where it is trained again
    monkeypatch.setattr(loop, "validate", lambda *a, **k: next(scores))
    saves, save = [], loop._atomic_save

    def stopping(obj, path):
        saves.append(path.name)
        if len(saves) == 4:   # epoch 2's second checkpoint
            raise KeyboardInterrupt
        save(obj, path)

    monkeypatch.setattr(loop, "_atomic_save", stopping)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(), pairs, val, tmp_path, log=lambda s: None)
    train(_cfg(), pairs, val, tmp_path, resume=True, log=lambda s: None)
    assert read_checkpoint(tmp_path / "best.pt")["epoch"] == 1
