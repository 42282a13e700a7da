"""Export a trained checkpoint into src/personseg/weights/ with its model card, scored on EG1800 test.

    python scripts/ship_model.py --checkpoint runs/sinet/best.pt --run-command "personseg train ..."
    python scripts/ship_model.py --rescore refine    # a shipped card's scores again, after the models it follows changed

The card records the data, schedule, epochs, hardware, time, validation and test scores (EG1800 test, CCP
test, pose_mini, the parkour frames, and the union of everyone on pennfudan, coco_people and coco_single test),
size and sha256. Test images are only scored here, after training;
nothing is chosen on them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np

from personseg.data import data_root, read_ids
from personseg.image import load_image, load_mask
from personseg.metrics import Scores
from personseg.models.registry import spec
from personseg.train.export import export_onnx, model_card, run_record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--rescore", metavar="MODEL", help="only score shipped MODEL again and update its card")
    ap.add_argument("--run-command", help="the command that trained the checkpoint")
    ap.add_argument("--hardware", default=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores")
    ap.add_argument("--data-note", help="what the run trained and validated on")
    ap.add_argument("--init-note", help="where the starting weights came from, for a run started with --init")
    args = ap.parse_args()
    if args.rescore:
        rescore(args.rescore)
        return
    if not (args.checkpoint and args.run_command and args.data_note):
        ap.error("--checkpoint, --run-command and --data-note are needed to ship a model")

    record = run_record(args.checkpoint)
    if "log" not in record:
        ap.error(f"--checkpoint: {record['run']}; a shipped model's card records its run")
    del record["options"]   # this machine's paths: --run-command says how it was run
    model = spec(record["config"]["model"])
    card = model_card(record, model.onnx_path, export_onnx(args.checkpoint, model.onnx_path))
    training = card["training"]
    training |= {"command": args.run_command, "data": args.data_note,
                 "starting_weights": args.init_note or "random (seeded)",
                 "optimizer": _optimizer(training["config"], training["epoch_kept"]), "hardware": args.hardware}
    card |= {
        "scores": {name: _score(model.name, root, ids) for name, (root, ids) in _test_sets().items()},
        "scored_as": _SCORED_AS[bool(model.priors), bool(model.guides)],
    }
    model.card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps(card["scores"]))


def _optimizer(config: dict, kept_epoch: int) -> str:
    """How the run optimised, in words (``kept_epoch``: the epoch whose weights, or mean of weights, were kept)."""
    text = ("AdamW, one-cycle learning rate (5% warm-up), loss: cross-entropy + 2x boundary-band cross-entropy + "
            "0.5 soft IoU, aux loss on the 1/8-scale output")
    if config.get("average_from"):
        text += (f"; weights averaged over the ends of epochs {config['average_from']} to {kept_epoch} "
                 "(stochastic weight averaging; the mean was validated after each epoch and the best kept)")
    return text


def rescore(name: str) -> None:
    """Score shipped model ``name`` again (its scores depend on other shipped models, e.g. refine on the coarse
    networks) and record in its card how and with which files the scores were made."""
    model = spec(name)
    card = model.card()
    card["scores"] = {k: _score(name, root, ids) for k, (root, ids) in _test_sets().items()}
    card["scored_as"] = _SCORED_AS[bool(model.priors), bool(model.guides)]
    if model.guides:   # scored through method 'accurate': its scores depend on the other shipped networks
        card["scored_with"] = {m: spec(m).card()["sha256"] for m in ("sinet", "lwpsn", "refine")}
    model.card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps(card["scores"]))


def _test_sets() -> dict[str, tuple[Path, list[str] | None]]:
    root = data_root()
    return {"eg1800_test": (root / "eg1800", read_ids(root / "eg1800" / "test.txt")),
            "ccp_test": (root / "ccp", read_ids(root / "ccp" / "test.txt")),
            "pose_mini_union": (root / "pose_mini", None),
            "parkour_frames": (root / "video" / "parkour", None),
            **{f"{name}_test_union": (root / name, read_ids(root / name / "test.txt"))
               for name in ("pennfudan", "coco_people", "coco_single")}}


_SCORED_AS = {
    (False, False): "the network without matting: whole image letterboxed, then a zoomed pass when the people found "
                    "fill less than half of it (runtime.network_probability)",
    (True, False): "the network without matting, fed the prior maps of everyone BlazePose finds and framed on them "
                   "(runtime.network_probability with keypoints, as its method runs it)",
    (False, True): "method 'accurate' without its last matting (Segmenter('accurate', matting=None)): the mean "
                   "of its shipped coarse networks (methods.METHODS['accurate'].networks) framed on BlazePose's "
                   "keypoints, joined with MediaPipe's selfie segmentation model where one person at most is "
                   "found (refine/fusion.py with_selfie), then with BlazePose's own outline of the person "
                   "(refine/fusion.py), then this "
                   "network refining the matte of its mask (skipped on one person seen down to the hips: "
                   "methods/network.py finished_probability)",
}


def _score(model: str, root: Path, ids: list[str] | None) -> dict:
    from personseg.evaluate import find_pairs
    from personseg.framing import people_box
    from personseg.pipeline import Segmenter
    from personseg.runtime import network_probability
    from personseg.pose import get_backend

    accurate = Segmenter("accurate", matting=None) if spec(model).guides else None
    pose = get_backend("blazepose") if spec(model).priors else None
    scores = Scores()
    for _, image, mask in find_pairs(root / "images", root / "masks", ids):
        rgb = load_image(image)
        if accurate is not None:
            prob = accurate(rgb).alpha
        else:
            people = pose.detect(rgb) if pose else []
            prob = network_probability(rgb, model, box=people_box(people, rgb.shape[0]), people=people)
        scores.add((prob >= 0.5).astype(np.uint8) * 255, load_mask(mask))
    return scores.summary()


if __name__ == "__main__":
    main()
