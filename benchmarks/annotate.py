"""`personseg annotate` at scale, and against COCO's own scoring.

    python benchmarks/annotate.py [--images 200] [--method fast]

Speed: images/s and peak memory (RSS of the process and its workers) for the plain loop, 2 worker processes,
Ray with 1 and 2 actors, and a two-node Ray cluster made on this machine (`ray start --head --num-cpus 1` and a
second node joining it with `--num-cpus 1`, in other processes, inside a network namespace with loopback only), on the first N coco_single + coco_people +
pennfudan photos; every run's file is compared with the plain loop's. Accuracy: the default method on coco_people
test, scored by pycocotools' COCOeval (segm and keypoints; keypoints only for people the set gives them, crowd
regions ignored) against the set's annotations. Writes benchmarks/results/annotate.json and a section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_rle
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from personseg.annotate import PERSON, annotate
from personseg.data import data_root, read_ids
from personseg.image import load_mask
from personseg.metrics import InstanceMatch
from report import machine, write_results


def photos(count: int, folder: Path) -> Path:
    """The first ``count`` photos of coco_single, coco_people and pennfudan, copied into ``folder``."""
    root = data_root()
    found = [p for name in ("coco_single", "coco_people", "pennfudan")
             for p in sorted((root / name / "images").iterdir())]
    for p in found[:count]:
        shutil.copy(p, folder / f"{p.parent.parent.name}-{p.name}")
    return folder


def timed_run(folder: Path, out: Path, method: str, extra: list[str]) -> dict:
    """One `personseg annotate` in a fresh process: seconds, images/s, its peak RSS, the file's sha256."""
    code = ("import resource, sys; from personseg.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK', max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "annotate", str(folder), "--out", str(out), "--method",
                           method, "--quiet", *extra], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr[-2000:])
    peak = [line for line in done.stdout.splitlines() if line.startswith("PEAK")]
    images = len(json.loads(out.read_text())["images"])
    return {"seconds": round(seconds, 1), "images_per_s": round(images / seconds, 2),
            "peak_rss_mb": round(int(peak[-1].split()[1]) / 1024, 1) if peak else None,
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest(), "summary": next(line for line in done.stderr.splitlines()[::-1] if "written to" in line)}


def two_nodes(folder: Path, out: Path, method: str) -> dict:
    """The same job on a cluster of two Ray nodes started here, one CPU each, in a network namespace of their own
    where only loopback exists (`unshare -n`, as root), so that no traffic leaves 127.0.0.1; images segmented
    per node."""
    if not Path.home().joinpath(".ray", "auth_token").is_file():
        subprocess.run(["ray", "get-auth-token", "--generate"], capture_output=True, check=True)
    driver = ("import json, time; from personseg.annotate import annotate; t = time.perf_counter(); "
              f"s = annotate([{str(folder)!r}], {str(out)!r}, {{'method': {method!r}, 'keypoints': True}}, "
              "engine='ray', workers=2, address='127.0.0.1:6390'); "
              "print('FACTS', json.dumps({'nodes': s['nodes'], 'seconds': time.perf_counter() - t}))")
    script = ("ip link set lo up && ray start --head --num-cpus 1 --port 6390 --include-dashboard false && "
              "ray start --address 127.0.0.1:6390 --num-cpus 1 && sleep 5 && "
              f"{sys.executable} -c {shlex.quote(driver)}; code=$?; ray stop --force; exit $code")
    done = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True, text=True,
                          env=os.environ | {"RAY_AUTH_MODE": "token"})
    facts = [line for line in done.stdout.splitlines() if line.startswith("FACTS")]
    if done.returncode or not facts:
        raise RuntimeError(done.stderr[-3000:])
    facts = json.loads(facts[-1].split(" ", 1)[1])
    images = len(json.loads(out.read_text())["images"])
    return {"seconds": round(facts["seconds"], 1), "images_per_s": round(images / facts["seconds"], 2),
            "per_node": sorted(facts["nodes"].values(), reverse=True),
            "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}


def ground_truth(ids: list[str], folder: Path) -> Path:
    """coco_people's annotations of ``ids`` as a COCO file (instance masks as RLE, keypoints where given,
    crowd regions as iscrowd), with file names as `annotate` writes them."""
    root = data_root() / "coco_people"
    data = json.loads((root / "annotations.json").read_text())
    wanted = set(ids)
    images, anns = [], []
    for entry in data["images"]:
        if Path(entry["image"]).stem not in wanted:
            continue
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": Path(entry["image"]).name, "width": entry["width"],
                       "height": entry["height"]})
        regions = [(i, 0) for i in entry["instances"]] + [(c, 1) for c in entry.get("crowd_regions", [])]
        for item, crowd in regions:
            m = load_mask(root / item.get("instance_mask", item.get("crowd_mask"))) > 0
            enc = mask_rle.encode(np.asfortranarray(m.astype(np.uint8)))
            kp = item.get("keypoints") if not crowd else None
            anns.append({"id": len(anns) + 1, "image_id": image_id, "category_id": 1, "iscrowd": crowd,
                         "segmentation": {"size": [int(v) for v in enc["size"]], "counts": enc["counts"].decode()},
                         "area": int(m.sum()), "bbox": [float(v) for v in mask_rle.toBbox(enc)],
                         "keypoints": kp or [0] * 51, "num_keypoints": item.get("num_keypoints") or 0})
    path = folder / "truth.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [PERSON]}))
    return path


def people_matched(truth: COCO, found: dict) -> dict:
    """Found / missed / spurious people, recall by size and matched IoU (metrics.InstanceMatch; crowd regions
    are not people, and a person found mostly on one is not spurious) of ``found`` (an `annotate` file) against
    ``truth``."""
    match = InstanceMatch()
    ours = {im["file_name"]: im["id"] for im in found["images"]}
    for image in truth.dataset["images"]:
        gts = [truth.annToMask(a) * 255 for a in truth.loadAnns(truth.getAnnIds(imgIds=image["id"], iscrowd=False))]
        preds = [mask_rle.decode(a["segmentation"]) * 255 for a in found["annotations"]   # masks are 0/255
                 if a["image_id"] == ours.get(image["file_name"])]
        crowds = [truth.annToMask(a) for a in truth.loadAnns(truth.getAnnIds(imgIds=image["id"], iscrowd=True))]
        match.add(preds, gts, ignore=np.maximum.reduce(crowds) if crowds else None)
    return match.summary()


def coco_scores(method: str | None) -> dict:
    """COCOeval of `annotate` (the default method unless ``method``) on coco_people test."""
    root = data_root() / "coco_people"
    ids = read_ids(root / "test.txt")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        for ident in ids:
            shutil.copy(root / "images" / f"{ident}.jpg", folder)
        truth = COCO(str(ground_truth(ids, Path(tmp))))
        out = Path(tmp) / "found.json"
        t = time.perf_counter()
        annotate([folder], out, {"keypoints": True} | ({"method": method} if method else {}))
        seconds = time.perf_counter() - t
        found = json.loads(out.read_text())
        by_name = {im["file_name"]: im["id"] for im in truth.dataset["images"]}
        ours = {im["id"]: by_name[im["file_name"]] for im in found["images"]}
        results = [a | {"image_id": ours[a["image_id"]]} for a in found["annotations"]]
        scores = {"images": len(ids), "people_found": len(results), "seconds_per_image": round(seconds / len(ids), 2)}
        scores["people"] = people_matched(truth, found)
        if not results:
            return scores
        dets = truth.loadRes(results)
        for kind in ("segm", "keypoints"):
            ev = COCOeval(truth, dets, kind)
            if kind == "keypoints":   # only people whose keypoints the set gives are scored for keypoints
                ev.params.imgIds = sorted({a["image_id"] for a in truth.dataset["annotations"]
                                           if a["num_keypoints"]})
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            scores[kind] = {"AP": round(float(ev.stats[0]), 4), "AP50": round(float(ev.stats[1]), 4),
                            "AR": round(float(ev.stats[6 if kind == "segm" else 5]), 4)}
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--method", default="fast", help="method for the speed runs (default fast)")
    ap.add_argument("--scores-only", action="store_true", help="rerun the COCOeval part only, keeping the speed runs")
    args = ap.parse_args()
    if args.scores_only:
        results = json.loads((Path(__file__).parent / "results/annotate.json").read_text())
        results["coco_people test"] = coco_scores(None)
        write(results)
        return
    results = {"machine": machine(), "method": args.method, "speed": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        photos(args.images, folder)
        results["images"] = len(list(folder.iterdir()))
        runs = {"plain loop": [], "--workers 2": ["--workers", "2"], "Ray, 1 actor": ["--engine", "ray", "--workers", "1"],
                "Ray, 2 actors": ["--engine", "ray", "--workers", "2"]}
        for name, extra in runs.items():
            results["speed"][name] = timed_run(folder, Path(tmp) / f"{len(results['speed'])}.json", args.method, extra)
            print(name, results["speed"][name], flush=True)
        results["speed"]["Ray, two nodes of 1 CPU"] = two_nodes(folder, Path(tmp) / "nodes.json", args.method)
        print(results["speed"]["Ray, two nodes of 1 CPU"], flush=True)
    results["coco_people test"] = coco_scores(None)
    print(results["coco_people test"], flush=True)
    write(results)


def write(results: dict) -> None:
    speed = results["speed"]
    plain = speed["plain loop"]["sha256"]
    lines = [f"## Annotating folders ({results['images']} photos, method {results['method']}), {results['machine']}", "",
             "Made by `python benchmarks/annotate.py`: the first coco_single, coco_people and pennfudan photos; peak RSS: "
             "the largest of the command's process and each worker process (Ray's actors not counted); 'same file' "
             "compares each run's COCO file with the plain loop's, byte for byte.", "",
             "| run | seconds | images/s | peak RSS MB | same file |", "|---|---|---|---|---|"]
    for name, r in speed.items():
        lines.append(f"| {name} | {r['seconds']} | {r['images_per_s']} | {r.get('peak_rss_mb', '')} | "
                     f"{'yes' if r['sha256'] == plain else 'no'} |")
    nodes = speed["Ray, two nodes of 1 CPU"]["per_node"]
    c = results["coco_people test"]
    lines += ["", f"Two nodes: images segmented per node {nodes}.", "",
              f"COCOeval on coco_people test ({c['images']} photos, the default method, {c['seconds_per_image']} s a "
              f"photo, {c['people_found']} people found): segm AP {c['segm']['AP']}, AP50 {c['segm']['AP50']}, "
              f"AR {c['segm']['AR']}; keypoints AP {c['keypoints']['AP']}, AP50 {c['keypoints']['AP50']}, "
              f"AR {c['keypoints']['AR']}.", "",
              f"The same file's people matched one to one with the true ones (IoU >= 0.5, crowds left out): found "
              f"{c['people']['found']} of {c['people']['people']}, {c['people']['spurious']} spurious, matched IoU "
              f"{c['people']['matched_iou']}; recall by share of the image: "
              + ", ".join(f"{k} {v}" for k, v in c['people']['recall_by_size'].items()) + "."]
    write_results("annotate", results, "## Annotating folders", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
