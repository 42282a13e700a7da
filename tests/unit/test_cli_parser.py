"""The command line reads its choices and defaults from the library, and says what is wrong in one line."""

from __future__ import annotations

import argparse
import socket

import numpy as np
import pytest

from personseg.cli import COMMANDS, Terminated, main, parser
from personseg.image import write_image
from personseg.methods import DEFAULT_COARSE_METHOD, DEFAULT_METHOD, DEFAULT_VIDEO_METHOD, METHODS
from personseg.models.registry import SPECS
from personseg.outputs import DEFAULT_OUTPUTS, OUTPUTS
from personseg.refine.matting import DEFAULT_MATTING, MATTING, MATTING_SIDE
from personseg.train.augment import AUGMENT_PRESETS


def _action(command: str, dest: str) -> argparse.Action:
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return next(a for a in sub.choices[command]._actions if a.dest == dest)


def test_method_choices_and_defaults_come_from_the_registry():
    for command in ("segment", "eval", "demo", "video"):
        assert tuple(_action(command, "method").choices) == tuple(METHODS)
    assert _action("segment", "method").default == DEFAULT_METHOD
    assert _action("video", "method").default == DEFAULT_VIDEO_METHOD
    assert _action("train", "coarse").default == DEFAULT_COARSE_METHOD
    help_text = _action("segment", "method").help
    assert all(m.summary in help_text for m in METHODS.values())


def test_matting_and_output_choices_come_from_the_library():
    assert set(_action("segment", "matting").choices) == set(MATTING) | {"none"}
    assert _action("segment", "matting").default == DEFAULT_MATTING
    assert _action("segment", "matting_side").default == MATTING_SIDE
    assert _action("segment", "save").default == ",".join(DEFAULT_OUTPUTS)
    assert all(name in _action("segment", "save").help for name in OUTPUTS)


def test_train_choices_come_from_the_library():
    # every network that draws masks; the region check is trained by its own script
    assert tuple(_action("train", "model").choices) == tuple(n for n in SPECS if n != "region-check")
    assert tuple(_action("train", "augment").choices) == tuple(AUGMENT_PRESETS)


def test_train_refuses_pyramid_levels_it_cannot_show(tmp_path, capsys):
    # --ipr -1 ended in numpy's "high <= 0" as an internal error
    for levels in ("-1", "5"):
        assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--ipr", levels]) == 2
        assert f"--ipr {levels}: expected 0 (none) to 4" in capsys.readouterr().err


def test_every_subcommand_describes_itself():
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert len({id(p) for p in sub.choices.values()}) == len(COMMANDS)   # aliases share their command's parser
    assert all(p.description for p in sub.choices.values())
    assert sub.choices["evaluate"] is sub.choices["eval"]


def test_no_images_and_unknown_outputs_are_one_line_errors(tmp_path, capsys):
    assert main(["segment", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == "personseg: error: no image files found in the given paths"
    for command, out in (("segment", "o"), ("annotate", "o.json")):   # a mistyped folder is named
        assert main([command, str(tmp_path / "phtos"), "--out", str(tmp_path / out)]) == 2
        assert capsys.readouterr().err.strip() == ("personseg: error: no image files found in the given paths: "
                                                   f"{tmp_path / 'phtos'}: no such file or folder")
    assert main(["segment", str(tmp_path), "--out", str(tmp_path / "o"), "--save", "mask,sparkles"]) == 2
    assert "sparkles" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_is_refused_in_words(tmp_path, capsys):
    (tmp_path / "afile").write_text("mine")
    photo = tmp_path / "a.png"
    write_image(photo, np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "nowhere").symlink_to(tmp_path / "gone")
    for args in (["demo"], ["segment", str(photo)]):   # the demo said only "File exists"
        for out in ("afile", "nowhere"):   # a file; a link to nothing
            assert main([*args, "--out", str(tmp_path / out)]) == 2
            said = capsys.readouterr().err.strip()
            assert said == f"personseg: error: --out {tmp_path / out}: exists and is not a folder"
    assert main(["demo", "--out", str(tmp_path / "afile/sub")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"{tmp_path / 'afile'} is a file, not a folder")
    assert (tmp_path / "afile").read_text() == "mine"


def test_negative_matting_side_is_refused(tmp_path, capsys):
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    assert main(["segment", str(tmp_path), "--out", str(tmp_path / "o"), "--matting-side", "-5", "--quiet"]) == 2
    assert "matting side -5" in capsys.readouterr().err


def test_ray_options_without_ray_are_refused(tmp_path, capsys):
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    for extra in (["--workers", "3"], ["--address", "ray://x:1"]):
        assert main(["segment", str(tmp_path), "--out", str(tmp_path / "o"), *extra]) == 2
        assert f"{extra[0]} is for --engine ray" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_eval_needs_images_and_masks(capsys):
    assert main(["eval", "--quiet"]) == 2
    assert "give --images and --masks" in capsys.readouterr().err


def test_eval_says_what_is_wrong_with_an_id_list(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "binary.txt").write_bytes(b"\xec\x00\xff")
    for ids, said in (("/dev/null", "lists no ids"), (str(tmp_path), "a folder, not an id list"),
                      (str(tmp_path / "binary.txt"), "cannot read the id list"),
                      (str(tmp_path / "none.txt"), "id list not found")):
        assert main(["eval", "--images", str(tmp_path / "images"), "--masks", str(tmp_path / "masks"), "--ids", ids,
                     "--quiet"]) == 2
        assert said in capsys.readouterr().err, ids


def test_eval_refuses_counts_below_one(tmp_path, capsys):
    # a negative --limit scored all but the last N images; --worst-count 0 wrote no picture, silently
    for extra, said in ((["--limit", "-3"], "--limit -3"), (["--limit", "0"], "--limit 0"),
                        (["--worst-count", "0", "--worst", str(tmp_path / "w.png")], "--worst-count 0"),
                        (["--worst-count", "3"], "give --worst FILE too"),   # it was ignored
                        (["--worst", "-"], "the picture needs a file")):
        assert main(["eval", "--images", str(tmp_path), "--masks", str(tmp_path), *extra]) == 2
        assert said in capsys.readouterr().err
    same = str(tmp_path / "scores.out")   # the picture was written over the scores
    for extra, said in ((["--worst", same, "--json", same], "--worst and --json are both"),
                        (["--json", str(tmp_path)], "is a folder; name a file")):
        assert main(["eval", "--images", str(tmp_path), "--masks", str(tmp_path), *extra]) == 2
        assert said in capsys.readouterr().err


def test_eval_names_every_unusable_pair_before_segmenting_any(tmp_path, capsys):
    # a mask of another size was found when the run reached it, after minutes of segmenting, and lost the scores
    import numpy as np

    from personseg.image import write_image

    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    for stem in ("a", "b", "c"):
        write_image(tmp_path / "i" / f"{stem}.png", np.zeros((16, 16, 3), np.uint8))
    write_image(tmp_path / "m/a.png", np.zeros((16, 16), np.uint8))
    write_image(tmp_path / "m/b.png", np.zeros((8, 8), np.uint8))
    (tmp_path / "m/c.png").write_bytes(b"not a png")
    assert main(["eval", "--images", str(tmp_path / "i"), "--masks", str(tmp_path / "m"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "2 of the 3 pairs in" in err and "b.png: mask is 8x8, image" in err and "c.png: not a readable mask" in err


def test_an_option_of_one_value_given_twice_is_refused(capsys):
    # argparse kept the last: eval --images a --images b scored b, train --data a --data b trained on b alone
    for argv, said in ((["eval", "--images", "a", "--images", "b"], "argument --images: given twice"),
                       (["train", "--data", "a", "--data", "b"], "several values go after one flag")):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2 and said in capsys.readouterr().err
    args = parser().parse_args(["segment", "--model", "a=x", "--model", "b=y", "-o", "o", "p.jpg"])   # repeats
    assert args.model == ["a=x", "b=y"] and not [k for k in vars(args) if k.startswith("_")]


def test_a_mistyped_option_gets_the_commands_usage_and_a_guess(capsys):
    # the top level's usage said only "unrecognized arguments: --models m.onnx"
    with pytest.raises(SystemExit) as stop:
        main(["segment", "x.jpg", "--out", "o", "--models", "m.onnx"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "usage: personseg segment" in err and "(did you mean --model?)" in err


def test_serve_refuses_a_port_it_cannot_have_before_loading_anything(capsys):
    # it printed "serving", loaded the models, then ended in a server's traceback
    assert main(["serve", "--port", "80000"]) == 2 and "--port 80000" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "another --port" in err and "serving" not in err
    assert main(["serve", "--host", "nosuch.invalid", "--api-key", "k"]) == 2
    assert "give --host an address of this machine" in capsys.readouterr().err


def test_people_evaluation_refuses_what_its_file_already_says(tmp_path, capsys):
    # --ids and --worst were ignored: every image scored, no picture, exit 0
    for extra in (["--ids", "ids.txt"], ["--worst", "w.png"], ["--masks", str(tmp_path)]):
        assert main(["eval", "--people", "annotations.json", *extra]) == 2
        assert f"{extra[0]}: not with --people" in capsys.readouterr().err
    assert main(["eval", "--images", str(tmp_path), "--masks", str(tmp_path), "--min-area", "50"]) == 2
    assert "--min-area is for scoring people: it goes with --people" in capsys.readouterr().err
    # a folder of images goes with a COCO file only: pose_mini's layout names its images itself
    (tmp_path / "own.json").write_text('{"images": []}')
    assert main(["eval", "--people", str(tmp_path / "own.json"), "--images", str(tmp_path)]) == 2
    assert "names its images and crowds itself" in capsys.readouterr().err


def test_video_refuses_keypoints_it_would_never_detect(tmp_path, capsys):
    # every frame's "people" was an empty list, silently
    for extra in (["--keypoints", str(tmp_path / "k.jsonl")], ["--save", "mask,json"]):
        assert main(["video", str(tmp_path), "--out", str(tmp_path / "o"), "--method", "fast", "--pose-every", "0",
                     *extra]) == 2
        assert "with --pose-every 0, which detects none" in capsys.readouterr().err


def test_video_refuses_a_keypoint_file_that_is_a_folder_before_segmenting(tmp_path, capsys):
    # with --overwrite the whole clip was segmented, then ".kpd.partial: Is a directory" (exit 2, a file left over)
    (tmp_path / "frames").mkdir()
    (tmp_path / "kpd").mkdir()
    assert main(["video", str(tmp_path / "frames"), "--out", str(tmp_path / "o/"), "--keypoints",
                 str(tmp_path / "kpd"), "--overwrite"]) == 2
    assert "kpd: is a folder; name a file" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_video_evaluation_refuses_a_choice_of_frames(tmp_path, capsys):
    # the frames listed were segmented as one clip: flicker between frames five apart, IoU 0.72 against 0.88
    assert main(["eval", "--images", str(tmp_path), "--masks", str(tmp_path), "--video", "--ids", "ids.txt"]) == 2
    assert "--ids with --video" in capsys.readouterr().err


def test_every_command_that_mattes_takes_the_mattings_side():
    # video had none: eval --video scored a setting personseg video could not make
    for command in ("segment", "annotate", "eval", "demo", "video"):
        assert _action(command, "matting_side").default == MATTING_SIDE, command


def test_every_command_that_writes_takes_o_for_out():
    for command in ("segment", "annotate", "video", "train", "export", "demo"):
        assert _action(command, "out").option_strings == ["-o", "--out"], command


def test_bad_choice_exits_with_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["segment", "x.jpg", "--out", "o", "--method", "magic"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_every_segmenting_command_can_leave_mediapipes_masks_out():
    for command in ("segment", "annotate", "eval", "demo", "video"):
        flag = _action(command, "no_mediapipe_masks")
        assert flag.default is False and "MediaPipe" in flag.help


def test_every_photo_command_can_require_a_person_or_leave_the_person_check_out():
    for command in ("segment", "annotate", "eval", "demo"):
        flag = _action(command, "require_person")
        assert flag.default is False and "person check" in flag.help
        flag = _action(command, "no_person_check")
        assert flag.default is False and "no_people" in flag.help


def test_video_evaluation_refuses_photo_only_options(capsys):
    assert main(["eval", "--video", "--require-person", "--quiet"]) == 2
    assert "--require-person is for photos" in capsys.readouterr().err


def test_video_can_leave_the_person_check_out():
    flag = _action("video", "no_person_check")
    assert flag.default is False and "region check" in flag.help


def test_people_evaluation_refuses_a_main_subject(capsys):
    assert main(["eval", "--people", "annotations.json", "--subject", "main", "--quiet"]) == 2
    assert "--people scores everyone's masks" in capsys.readouterr().err


def test_every_segmenting_command_chooses_its_subject():
    for command in ("segment", "eval", "demo", "video"):
        flag = _action(command, "subject")
        assert flag.default == "all" and tuple(flag.choices) == ("all", "main")


def test_annotate_offers_no_subject(capsys):
    """Everyone annotated gets a mask of their own: --subject main was offered and always refused, naming
    --instances, which annotate has not."""
    with pytest.raises(SystemExit):
        main(["annotate", "photos", "--out", "a.json", "--subject", "main"])
    assert "unrecognized arguments: --subject" in capsys.readouterr().err


def test_an_interrupted_annotation_says_how_to_go_on(tmp_path, monkeypatch, capsys):
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("personseg.cli.annotate.annotate", stopped)
    assert main(["annotate", str(tmp_path), "--out", str(tmp_path / "people.json")]) == 130
    assert "the same command goes on where this one stopped" in capsys.readouterr().err


def test_export_writes_only_onnx_files(tmp_path, capsys):
    assert main(["export", "--checkpoint", str(tmp_path / "last.pt"), "--out", str(tmp_path / "model.txt")]) == 2
    assert "name the file .onnx" in capsys.readouterr().err and not (tmp_path / "model.txt").exists()


def test_eval_refuses_the_images_given_as_their_masks(tmp_path, capsys):
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    assert main(["eval", "--images", str(tmp_path), "--masks", str(tmp_path), "--method", "fast", "--quiet"]) == 2
    assert "is the --images folder" in capsys.readouterr().err


@pytest.mark.parametrize("stop, status, said", [(KeyboardInterrupt, 130, "interrupted"),
                                                (Terminated, 143, "stopped (SIGTERM)")])
def test_an_interrupt_inside_a_library_ends_a_video_as_itself(monkeypatch, tmp_path, capsys, stop, status, said):
    def run_video(*args, **kwargs):   # numba's compiled code turns a signal's exception into a SystemError
        try:
            raise stop
        except KeyboardInterrupt as e:
            raise SystemError("returned a result with an exception set") from e

    monkeypatch.setattr("personseg.cli.video.run_video", run_video)
    assert main(["video", str(tmp_path), "--out", str(tmp_path / "o")]) == status
    err = capsys.readouterr().err
    assert "any frames written are kept; rerun the same command" in err and f"personseg: {said}" in err


def test_progress_without_a_terminal_is_a_line_now_and_then(capsys, monkeypatch):
    from personseg import progress

    monkeypatch.setattr(progress, "PROGRESS_LINE_SECONDS", 0.0)   # a line after every image
    assert list(progress.progress(iter("abc"), 3)) == ["a", "b", "c"]
    said = capsys.readouterr().err.splitlines()   # none after the last: the summary follows
    assert len(said) == 2 and said[-1].startswith("2 of 3 images, ")
    assert list(progress.progress(["a", "b"])) == ["a", "b"]   # a list's length is the total
    assert capsys.readouterr().err.startswith("1 of 2 images, ")
    assert list(progress.progress(iter("ab"), 2, quiet=True)) == ["a", "b"] and not capsys.readouterr().err
    frames = progress.Progress(None, "frames")   # a video's count not known
    frames.update()
    frames.close()
    assert capsys.readouterr().err.startswith("1 frames, ")
