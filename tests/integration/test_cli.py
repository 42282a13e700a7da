import hashlib
import json
import re
import shutil

import cv2
import numpy as np

from personseg.batch import sole_writer
from personseg.cli import main
from personseg.image import load_image, load_mask


def test_segment_folder_goes_past_bad_files(tmp_path, data_dir, capsys):
    src = tmp_path / "in"
    (src / "nested").mkdir(parents=True)
    shutil.copy(data_dir / "eg1800/images/00002.jpg", src / "a.jpg")
    shutil.copy(data_dir / "eg1800/images/00005.jpg", src / "nested" / "b.jpg")
    (src / "broken.png").write_bytes(b"\x89PNG not really")
    before = (src / "a.jpg").read_bytes()
    out = tmp_path / "out"
    code = main(["segment", str(src), "--out", str(out), "--save", "mask,json", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 of 3 images segmented" in err and "broken.png" in err
    assert (out / "a.mask.png").is_file() and (out / "nested" / "b.mask.png").is_file()
    assert (out / "a.json").is_file() and not (out / "broken.mask.png").exists()
    assert (src / "a.jpg").read_bytes() == before
    # A second run keeps what exists (the image is done) unless asked to overwrite.
    kept = (out / "a.mask.png").stat().st_mtime_ns
    assert main(["segment", str(src / "a.jpg"), "--out", str(out), "--save", "mask", "--quiet"]) == 0
    assert "1 already done" in capsys.readouterr().err and (out / "a.mask.png").stat().st_mtime_ns == kept
    assert main(["segment", str(src / "a.jpg"), "--out", str(out), "--save", "mask", "--overwrite",
                 "--quiet"]) == 0
    assert (out / "a.mask.png").stat().st_mtime_ns != kept


def test_the_summaries_name_the_photos_where_nobody_was_found(tmp_path, data_dir, capsys):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(data_dir / "eg1800/images/00002.jpg", src / "portrait.jpg")
    shutil.copy(data_dir / "no_people/images/000000024577.jpg", src / "doughnuts.jpg")
    assert main(["segment", str(src), "--out", str(tmp_path / "out"), "--save", "mask", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "2 of 2 images segmented" in err and "no person found in 1" in err
    assert f"  no person found: {src / 'doughnuts.jpg'}" in err.splitlines()
    assert main(["annotate", str(src), "--out", str(tmp_path / "people.json"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "no person found in 1" in err and "  no person found: doughnuts.jpg" in err.splitlines()


def test_eval_reports_scores_and_worst_cases(tmp_path, data_dir, capsys, monkeypatch):
    ids = tmp_path / "ids.txt"
    ids.write_text("00002\n00005\n00008\n")
    worst, report = tmp_path / "worst.png", tmp_path / "scores.json"
    code = main(["eval", "--images", str(data_dir / "eg1800/images"), "--masks", str(data_dir / "eg1800/masks"),
                 "--ids", str(ids), "--worst", str(worst), "--json", str(report), "--quiet"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["images"] == 3 and summary["mean_iou"] > 0.8
    assert 0 < summary["boundary_f"] <= 1 and 0 < summary["miou_2class"] <= 1
    assert worst.is_file() and len(json.loads(report.read_text())["per_image"]) == 3
    assert summary["models"] == {}   # the shipped networks; a network of your own is named
    from personseg.models.registry import spec

    mine = str(spec("sinet").onnx_path)
    assert main(["eval", "--images", str(data_dir / "eg1800/images"), "--masks", str(data_dir / "eg1800/masks"),
                 "--ids", str(ids), "--method", "fast", "--model", mine, "--quiet", "--json", "-"]) == 0
    scores = json.loads(capsys.readouterr().out)   # --json -: the whole JSON on stdout (it wrote a file "-")
    assert len(scores["per_image"]) == 3 and not (tmp_path / "-").exists()
    monkeypatch.chdir(tmp_path)   # ./- is a file of that name
    assert main(["eval", "--images", str(data_dir / "eg1800/images"), "--masks", str(data_dir / "eg1800/masks"),
                 "--ids", str(ids), "--method", "fast", "--quiet", "--json", "./-"]) == 0
    assert json.loads((tmp_path / "-").read_text())["per_image"] == scores["per_image"]
    recorded = scores["models"]   # named by its contents too
    assert list(recorded) == ["sinet"] and recorded["sinet"].startswith(f"{mine} (sha256 ")


def test_eval_of_a_clip_scores_what_personseg_video_makes(data_dir, capsys):
    """eval --video takes personseg video's settings: the method's own video matting unless asked (guided for
    fast), --matting and --pose-every as given (they were ignored: every clip was scored without matting,
    BlazePose every five frames)."""
    from personseg.metrics import Scores
    from personseg.video.stream import VideoSegmenter

    clip = data_dir / "video/parkour"
    args = ["eval", "--images", str(clip / "images"), "--masks", str(clip / "masks"), "--video", "--limit", "6",
            "--method", "fast", "--quiet"]
    summaries = []
    for extra in ([], ["--matting", "none"], ["--pose-every", "1"]):
        assert main(args + extra) == 0
        summaries.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert [s["matting"] for s in summaries] == ["guided", None, "guided"]
    # every setting the scores depend on is in the record (--pose-every 1 was not: two runs looked the same)
    assert [(s["video"], s["pose_every"], s["limit"], s["person_check"]) for s in summaries] == [
        (True, None, 6, True), (True, None, 6, True), (True, 1, 6, True)]
    frames = sorted((clip / "images").iterdir())[:6]
    for s, seg in zip(summaries, (VideoSegmenter("fast"), VideoSegmenter("fast", matting=None),
                                  VideoSegmenter("fast", pose_every=1))):
        scores = Scores()
        for f in frames:
            scores.add(seg(load_image(f)).mask > 0, load_mask(clip / "masks" / f"{f.stem}.png") > 0)
        assert s["mean_iou"] == scores.summary()["mean_iou"]
    assert main(args + ["--pose"]) == 2 and "--pose-every 1" in capsys.readouterr().err
    assert main(["0" if a == "6" else a for a in args]) == 2 and "--limit 0" in capsys.readouterr().err


def test_demo_writes_every_output(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert "found a person" in capsys.readouterr().out
    for name in ("mask", "alpha", "cutout", "replace", "blur", "overlay"):
        assert (tmp_path / f"astronaut.{name}.png").is_file()


def test_segment_people_of_a_keypoint_file(tmp_path, data_dir, pose_mini, capsys):
    """`segment --people`: only the images the file lists, exactly its people (one instance each, in order)."""
    src = tmp_path / "in"
    src.mkdir()
    images, anns = [], []
    for entry in pose_mini["images"][1:3]:
        name = entry["image"].rsplit("/", 1)[1]
        shutil.copy(data_dir / "pose_mini" / entry["image"], src / name)
        images.append({"id": len(images) + 1, "file_name": name})
        anns += [{"id": len(anns) + k, "image_id": len(images), "category_id": 1, "keypoints": i["keypoints"]}
                 for k, i in enumerate((i for i in entry["instances"] if i.get("keypoints")), start=1)]
    shutil.copy(data_dir / "eg1800/images/00002.jpg", src / "unlisted.jpg")
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"images": images, "annotations": anns}))
    out = tmp_path / "out"
    assert main(["segment", str(src), "--out", str(out), "--people", str(people), "--instances", "--method", "fast",
                 "--save", "mask", "--quiet"]) == 0
    assert "2 of 2 images segmented" in capsys.readouterr().err and not (out / "unlisted.mask.png").exists()
    for k, image in enumerate(images, start=1):
        found = json.loads((out / image["file_name"].replace(".jpg", ".instances.json")).read_text())["people"]
        mine = [a["keypoints"] for a in anns if a["image_id"] == k]
        assert len(found) == len(mine)
        for person, kp in zip(found, mine):
            assert [p[:2] for p in person["keypoints"]] == [[round(x, 2), round(y, 2)] for x, y in zip(kp[::3], kp[1::3])]


def test_a_rerun_with_a_network_file_replaced_under_the_same_name_is_other_settings(tmp_path, data_dir, capsys):
    import onnx

    from personseg.models.registry import spec

    mine = tmp_path / "mine.onnx"
    shutil.copy(spec("sinet").onnx_path, mine)
    photo = data_dir / "eg1800/images/00002.jpg"
    args = ["segment", str(photo), "--out", str(tmp_path / "out"), "--method", "fast", "--model", str(mine),
            "--save", "mask", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    retrained = onnx.load(mine)   # the same network exported again: other bytes under the same name
    retrained.doc_string = "exported again"
    onnx.save(retrained, mine)
    assert main(args) == 2
    assert "--model sinet=" in capsys.readouterr().err


def test_model_values_that_are_not_network_files_say_what_to_do(tmp_path, data_dir, capsys):
    base = ["segment", str(data_dir / "eg1800/images/00002.jpg"), "--out", str(tmp_path / "out"), "--method", "fast"]
    assert main(base + ["--model", "foo=mine.onnx"]) == 2
    assert "--model foo=mine.onnx: no model 'foo'" in capsys.readouterr().err
    (tmp_path / "best.pt").write_bytes(b"a checkpoint")
    assert main(base + ["--model", str(tmp_path / "best.pt")]) == 2
    assert "is a training checkpoint; export it first: personseg export" in capsys.readouterr().err
    # the person model without --instances never ran, and was recorded as used
    from personseg.models.registry import spec

    person = f"lwpsn-person={spec('lwpsn-person').onnx_path}"
    assert main(base[:-2] + ["--model", person]) == 2
    assert "without them it does not run" in capsys.readouterr().err
    assert main(["eval", "--images", str(data_dir / "eg1800/images"), "--masks", str(data_dir / "eg1800/masks"),
                 "--limit", "1", "--model", person]) == 2
    assert "without them it does not run" in capsys.readouterr().err


def _own_pairs(folder, data_dir) -> None:
    """A user's own training folder: five EG1800 pairs in ``folder``/images and /masks."""
    for sub in ("images", "masks"):
        (folder / sub).mkdir(parents=True)
    for i in ("00002", "00005", "00013", "00019", "00022"):
        shutil.copy(data_dir / f"eg1800/images/{i}.jpg", folder / "images")
        shutil.copy(data_dir / f"eg1800/masks/{i}.png", folder / "masks")


def test_training_starts_from_a_shipped_model_named_and_an_interrupted_first_epoch_says_nothing_was_kept(
        tmp_path, data_dir, capsys, monkeypatch):
    _own_pairs(tmp_path / "mine", data_dir)
    args = ["train", "--data", str(tmp_path / "mine"), "--epochs", "1", "--batch", "2", "--lr", "1e-4"]
    assert main(args + ["--out", str(tmp_path / "run"), "--init", "sinet"]) == 0
    assert "best checkpoint" in capsys.readouterr().out
    held = (tmp_path / "run/validation.txt").read_text().split()   # which to score with eval --ids
    assert len(held) == 1 and held[0].startswith("mine/") and (tmp_path / f"{held[0]}.jpg".replace(
        "mine/", "mine/images/")).is_file()

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("personseg.train.loop.make_batches", stop)
    assert main(args + ["--out", str(tmp_path / "stopped")]) == 130
    assert "nothing of the run in" in capsys.readouterr().err
    assert not (tmp_path / "stopped").exists()   # the folder it made goes with it


def test_a_starting_network_that_no_epoch_beats_is_the_best_checkpoint(tmp_path, data_dir, capsys, monkeypatch):
    """--init: the starting network's validation IoU counts as the first best; where the first epoch scores no
    more, best.pt holds the starting network (epoch -1: the log's epoch 0) until an epoch scores more; the run
    ends saying what best.pt holds."""
    import torch

    from personseg.train.checkpoint import read_checkpoint

    _own_pairs(tmp_path / "mine", data_dir)
    scores = iter([0.9, 0.8, 0.95, 0.9, 0.8, 0.9, 0.5])   # start, epoch 1, epoch 2; then a run that never beats
    # its start; then one whose mean of epochs (--average-from 1) scores less than its start
    monkeypatch.setattr("personseg.train.loop.validate", lambda *a, **k: next(scores))
    args = ["train", "--data", str(tmp_path / "mine"), "--batch", "2", "--lr", "1e-3", "--init", "sinet"]
    assert main(args + ["--epochs", "2", "--out", str(tmp_path / "run"), "--until", "1"]) == 0
    err = capsys.readouterr().err
    assert "epoch 1 scored no more than the starting network: best.pt holds" in err
    assert "best.pt: the starting network, val IoU 0.9000" in err
    best, last = read_checkpoint(tmp_path / "run/best.pt"), read_checkpoint(tmp_path / "run/last.pt")
    assert best["epoch"] == -1 and best["val_iou"] == 0.9
    assert any(not torch.equal(best["model"][k], v) for k, v in last["model"].items())   # not the trained one
    assert main(args + ["--epochs", "2", "--out", str(tmp_path / "run"), "--resume"]) == 0
    assert "best.pt: epoch 2, val IoU 0.9500" in capsys.readouterr().err
    assert main(args + ["--epochs", "1", "--out", str(tmp_path / "again")]) == 0
    assert read_checkpoint(tmp_path / "again/best.pt")["epoch"] == -1
    # the card export writes beside the model says what it holds, the epochs counted as the log counts them
    for run, kept, iou, log in (("run", 2, 0.95, [0.8, 0.95]), ("again", 0, 0.9, [0.8])):
        onnx = tmp_path / f"{run}.onnx"
        assert main(["export", "--checkpoint", str(tmp_path / run / "best.pt"), "-o", str(onnx)]) == 0
        card = json.loads((tmp_path / f"{run}.card.json").read_text())
        training = card["training"]
        assert card["sha256"] == hashlib.sha256(onnx.read_bytes()).hexdigest()
        assert (training["epoch_kept"], training["val_iou"], [h["val_iou"] for h in training["log"]]) == (
            kept, iou, log)
        assert training["options"]["data"] == [str(tmp_path / "mine")]
        assert training["options"]["init"].endswith("sinet.onnx")   # --init sinet: the shipped file
        assert training["data_fingerprint"]["training"]["pairs"] + training["data_fingerprint"]["validation"][
            "pairs"] == len(list((tmp_path / "mine/images").iterdir()))
    assert main(["export", "--checkpoint", str(tmp_path / "run/last.pt"), "-o", str(tmp_path / "run.onnx")]) == 2
    assert f"output exists: {tmp_path / 'run.onnx'}, {tmp_path / 'run.card.json'}" in capsys.readouterr().err
    shutil.copy(tmp_path / "run/best.pt", tmp_path / "again/copied.pt")   # beside another run's last.pt
    assert main(["export", "--checkpoint", str(tmp_path / "again/copied.pt"), "-o", str(tmp_path / "c.onnx")]) == 0
    training = json.loads((tmp_path / "c.card.json").read_text())["training"]
    assert (training["epoch_kept"], training["val_iou"]) == (2, 0.95) and "log" not in training
    assert "no last.pt of this run beside copied.pt" in training["run"]
    capsys.readouterr()
    assert main(args + ["--epochs", "1", "--average-from", "1", "--out", str(tmp_path / "mean")]) == 0
    assert ("epoch 1: best.pt holds the mean of the epochs from here on, as --average-from asks, though what it held "
            "scored more (val IoU 0.9000)") in capsys.readouterr().err


def test_a_run_stopped_by_until_says_how_to_go_on(tmp_path, data_dir, capsys, monkeypatch):
    _own_pairs(tmp_path / "mine", data_dir)
    monkeypatch.setattr("personseg.train.loop.validate", lambda *a, **k: 0.5)
    args = ["train", "--data", str(tmp_path / "mine"), "--epochs", "3", "--batch", "4", "--init", "sinet",
            "--out", str(tmp_path / "run"), "--until"]
    assert main(args + ["2"]) == 0
    assert "stopped after epoch 2 of 3 as --until asked: the same command with --resume" in capsys.readouterr().err
    assert main(args + ["1", "--resume"]) == 0   # it said "stopped after epoch 1"
    assert "finished epoch 2 already, past --until 1: nothing was trained" in capsys.readouterr().err
    alone = ["train", "--out", str(tmp_path / "run"), "--resume"]   # the options the run started with
    assert main(alone + ["--batch", "2"]) == 2
    assert "other settings (batch 2, was 4)" in capsys.readouterr().err
    assert main(alone) == 0
    err = capsys.readouterr().err
    assert f"the run's own options: --data {tmp_path / 'mine'} --epochs 3 --batch 4 --init " in err
    assert "epoch 3/3" in err
    assert main(["train", "--out", str(tmp_path / "new"), "--batch", "4"]) == 2
    assert "--data: give the folders to train on" in capsys.readouterr().err


def test_a_run_resumes_from_another_folder_with_its_own_options(tmp_path, data_dir, capsys, monkeypatch):
    _own_pairs(tmp_path / "mine", data_dir)
    monkeypatch.setattr("personseg.train.loop.validate", lambda *a, **k: 0.5)
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    args = ["train", "--data", "../mine", "--batch", "4", "--epochs"]
    assert main(args + ["1", "--init", "sinet", "--out", "../first"]) == 0
    assert main(args + ["2", "--init", "../first/best.pt", "--out", "../run", "--until", "1"]) == 0
    monkeypatch.chdir(tmp_path)   # the relative paths it was started with now lead elsewhere
    capsys.readouterr()
    assert main(["train", "--out", "run", "--resume", "--coarse", "classical"]) == 2
    assert "was made with --coarse fast; resume with the same one" in capsys.readouterr().err
    assert main(["train", "--out", "run", "--resume", "--init", "first/best.pt"]) == 0   # the same file, from here
    assert "epoch 2/2" in capsys.readouterr().err


def test_training_refuses_to_replace_a_run_or_share_its_folder_and_says_what_is_wrong_with_the_data(
        tmp_path, data_dir, capsys, monkeypatch):
    _own_pairs(tmp_path / "mine", data_dir)
    args = ["train", "--data", str(tmp_path / "mine"), "--epochs", "1", "--batch", "2", "--init", "sinet"]
    monkeypatch.setattr("personseg.train.loop.validate", lambda *a, **k: 0.0)   # as if it had learnt nothing
    assert main(args + ["--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "note: validation IoU stayed 0 on 1 pair:" in err and "--init sinet" not in err   # it started there
    (tmp_path / "m.tmp.onnx").write_text("precious")   # export's temporary file took this name
    assert main(["export", "--checkpoint", str(tmp_path / "run/best.pt"), "-o", str(tmp_path / "m.onnx")]) == 0
    assert f"to use it: personseg segment PHOTO --out OUT --method fast --model {tmp_path / 'm.onnx'}" in \
        capsys.readouterr().err
    assert (tmp_path / "m.tmp.onnx").read_text() == "precious"
    assert main(["export", "--checkpoint", str(tmp_path / "run"), "-o", str(tmp_path / "n.onnx")]) == 2
    assert "is a folder; a run's checkpoints are" in capsys.readouterr().err
    assert main(args[:-1] + [str(tmp_path / "m.onnx"), "--model", "lwpsn", "--out", str(tmp_path / "l")]) == 2
    assert "m.onnx is a sinet network; --model sinet trains it (this run: --model lwpsn)" in capsys.readouterr().err
    assert main(args[:-1] + [str(tmp_path / "run/best.pt"), "--model", "lwpsn", "--out", str(tmp_path / "l")]) == 2
    assert "best.pt is a sinet network" in capsys.readouterr().err and not (tmp_path / "l").exists()
    (tmp_path / "run/last.pt").unlink()   # best.pt, log.csv and curves.png stay: a new run would replace them
    assert main(args + ["--out", str(tmp_path / "run")]) == 2
    assert "already holds a run (best.pt, log.csv, curves.png, validation.txt)" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    with sole_writer(tmp_path / "busy"):   # another run writing there (in its first epoch: no last.pt yet)
        assert main(args + ["--out", str(tmp_path / "busy")]) == 2
        assert "another personseg run" in capsys.readouterr().err and not (tmp_path / "busy/last.pt").exists()
        assert main(args + ["--out", str(tmp_path / "busy"), "--resume"]) == 2   # "nothing to resume" before
        assert "another personseg run" in capsys.readouterr().err
    assert main(args + ["--out", str(tmp_path / "mine/masks/run")]) == 2
    assert "is the training data" in capsys.readouterr().err and not (tmp_path / "mine/masks/run").exists()
    assert main(args + ["--out", str(tmp_path / "x"), "--split", "train"]) == 2
    assert "train.txt: id list not found (--split train reads one in each folder; leave --split out" in \
        capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "none"), "--split", "train", "--out", str(tmp_path / "x")]) == 2
    assert "none: no such folder" in capsys.readouterr().err
    shutil.copy(data_dir / "eg1800/images/00005.jpg", tmp_path / "mine/images/00002.png")
    assert main(args + ["--out", str(tmp_path / "x")]) == 2
    assert "two files of one name, which pair is meant is not known: 00002.jpg, 00002.png" in capsys.readouterr().err
    (tmp_path / "mine/images/00002.png").unlink()
    for m in (tmp_path / "mine/masks").iterdir():
        cv2.imwrite(str(m), np.zeros((800, 600), np.uint8))
    assert main(args + ["--out", str(tmp_path / "x")]) == 2
    assert "is empty: nothing to learn" in capsys.readouterr().err and not (tmp_path / "x").exists()
    assert main(args[:-2] + ["--model", "lwpsn", "--out", str(tmp_path / "new/x")]) == 2   # before any keypoints
    err = capsys.readouterr().err
    assert "is empty: nothing to learn" in err and "keypoints" not in err and not (tmp_path / "new").exists()


def test_given_people_who_cannot_be_placed_are_noted_in_one_line(tmp_path, data_dir, capfd):
    placed = [[100 + 12 * k, 50 + 26 * k, 2] for k in range(17)]
    one_point = [[10, 10, 2]] + [[0, 0, 0]] * 16
    shutil.copy(data_dir / "eg1800/images/00002.jpg", tmp_path / "a.jpg")
    (tmp_path / "given.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg"}], "categories": [{"id": 1}],
        "annotations": [{"id": k + 1, "image_id": 1, "category_id": 1, "keypoints": sum(kp, [])}
                        for k, kp in enumerate((placed, one_point))]}))
    assert main(["segment", str(tmp_path / "a.jpg"), "--people", str(tmp_path / "given.json"), "--out",
                 str(tmp_path / "out"), "--method", "fast", "--save", "mask", "--quiet"]) == 0
    assert ("1 of the 2 people given cannot be placed on the 600x800 photo (fewer than two sure "
            "keypoints inside it, or all on one point): their masks are empty (person 2)") in capfd.readouterr().err
    # named, and from worker processes as one line too
    assert main(["annotate", str(tmp_path), "--people", str(tmp_path / "given.json"), "--out",
                 str(tmp_path / "masks.json"), "--method", "fast", "--workers", "1", "--quiet"]) == 0
    err = capfd.readouterr().err
    assert f"personseg: note: {tmp_path / 'a.jpg'}: 1 of the 2 people given" in err and "Warning" not in err
    assert "1 of the people given got an empty mask" in err and "their keypoints are kept): a.jpg (annotation 2)\n" in err


def test_annotate_says_what_it_left_out_and_what_was_not_there(tmp_path, data_dir, capfd):
    shutil.copy(data_dir / "pennfudan/images/FudanPed00001.jpg", tmp_path / "a.jpg")
    assert main(["annotate", str(tmp_path / "a.jpg"), "--out", str(tmp_path / "all.json"), "--method", "fast",
                 "--quiet", "--min-area", "10000000"]) == 0
    err = capfd.readouterr().err
    assert re.search(r"\d+ people under --min-area 10000000 left out", err)
    assert "no person kept (none found, or all under --min-area 10000000) in 1" in err
    placed = [[100 + 12 * k, 50 + 26 * k, 2] for k in range(17)]
    (tmp_path / "given.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}], "categories": [{"id": 1}],
        "annotations": [{"id": k, "image_id": k, "category_id": 1, "keypoints": sum(placed, [])} for k in (1, 2)]}))
    assert main(["annotate", str(tmp_path), "--people", str(tmp_path / "given.json"), "--out",
                 str(tmp_path / "masks.json"), "--method", "fast", "--quiet"]) == 1
    err = capfd.readouterr().err
    assert "1 not found (listed in --people)" in err and "  not found: b.jpg" in err and "retry" not in err
    many = json.loads((tmp_path / "given.json").read_text())   # a dozen not there: ten named (all were)
    many["images"] += [{"id": k, "file_name": f"gone{k}.jpg"} for k in range(3, 14)]
    (tmp_path / "many.json").write_text(json.dumps(many))
    assert main(["annotate", str(tmp_path), "--people", str(tmp_path / "many.json"), "--out",
                 str(tmp_path / "more.json"), "--method", "fast", "--quiet"]) == 1
    err = capfd.readouterr().err
    assert "12 not found" in err and err.count("  not found: ") == 11 and "  not found: 2 more" in err
