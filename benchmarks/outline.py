"""How `accurate`, `classical` and `fast` use BlazePose's outline of the person, and how much `accurate` weighs
MediaPipe's selfie segmentation model: chosen on held-out images only.

    python benchmarks/outline.py [--limit N]

Held-out images: EG1800's 51 unlisted portraits (portraitnet_train.txt less the train and test ids) and the
209 validation pairs every training run held out (10% of EG1800 + CCP train, seed 0), none of which any
shipped model trained on. For each image: the coarse probability (the mean of SINet and LWPSN + SSM, joined
with the selfie model's, refine/fusion.py with_selfie), BlazePose's outline joined at several weights, with and
without seed 003's refinement network, then the default guided matting; the shipped rule (refine/fusion.py,
methods/network.py finished_probability) on coarse probabilities with the selfie model at several shares. For
`classical`: the graph cut with its saliency prior and with the outline as its prior. For `fast` with
keypoints (`--pose`): SINet framed on them, with and without the outline joined by the same rule. Writes
benchmarks/results/outline.json and a section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse

import numpy as np

from personseg.train.data import heldout_groups
from personseg.image import load_image, load_mask
from personseg.metrics import boundary_f, foreground_iou
from personseg.framing import people_box
from personseg.methods import METHODS
from personseg.methods.network import finished_probability
from personseg.refine.graphcut import classical_probability
from personseg.refine.network import refined_probability
from personseg.runtime import coarse_probability, network_probability
from personseg.selfie import selfie_probability
from personseg.pose import empty_keypoints, get_backend
from personseg.refine.components import keep_people
from personseg.refine.fusion import SELFIE_WEIGHT, own_outline, shows_hips, with_selfie
from personseg.refine.matting import guided_matte
from report import machine, write_results

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
SELFIE_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def settings(rgb: np.ndarray, pose) -> tuple[dict[str, np.ndarray], bool]:
    """Every way compared of making ``rgb``'s alpha, by name; whether the shipped rule counts it a full body."""
    people, outline = pose.detect_with_mask(rgb)
    box = people_box(people, rgb.shape[0])
    ours, selfie = coarse_probability(rgb, METHODS["accurate"].networks, box, people), selfie_probability(rgb)
    coarse = keep_people(with_selfie(rgb, ours, people), people)
    out = {"shipped rule": finished_probability(rgb, coarse, people, outline)}
    out["selfie model alone"] = selfie
    for share in SELFIE_SHARES:
        joined = keep_people(((1 - share) * ours + share * selfie).astype(np.float32), people)
        out[f"selfie share {share:.2f}, shipped rule"] = finished_probability(rgb, joined, people, outline)
    kp = people[0] if people else empty_keypoints()
    out["classical, saliency prior"] = keep_people(classical_probability(rgb, kp), people)
    out["classical, outline prior (shipped)"] = keep_people(
        classical_probability(rgb, kp, outline=own_outline(outline, people)), people)
    sinet = keep_people(network_probability(rgb, "sinet", people_box(people, rgb.shape[0]), people), people)
    out["fast --pose, no outline"] = sinet
    out["fast --pose, outline joined (shipped)"] = finished_probability(rgb, sinet, people, outline, refine=False)
    if outline is None:
        outline = np.zeros_like(coarse)   # nobody's body found: no outline (the shipped rule skips joining)
    for w in WEIGHTS:
        joined = ((1 - w) * coarse + w * outline).astype(np.float32)
        out[f"outline {w:.2f}, no refinement"] = joined
        out[f"outline {w:.2f}, refined"] = keep_people(refined_probability(rgb, joined), people)
    return {name: guided_matte(rgb, prob) for name, prob in out.items()}, shows_hips(people, rgb.shape)


def run(limit: int | None) -> dict:
    pose = get_backend("blazepose", body_mask=True)
    results = {}
    for group, items in heldout_groups().items():
        scores: dict[str, list[tuple[float, float]]] = {}
        full_bodies = 0
        for n, (ip, mp) in enumerate(items[:limit]):
            rgb, truth = load_image(ip), load_mask(mp)
            alphas, full_body = settings(rgb, pose)
            full_bodies += full_body
            for name, alpha in alphas.items():
                mask = np.where(alpha >= 0.5, 255, 0).astype(np.uint8)
                scores.setdefault(name, []).append((foreground_iou(mask, truth), boundary_f(mask, truth)))
            print(f"{group}: {n + 1}/{len(items[:limit])}", end="\r", flush=True)
        print()
        results[group] = {"images": len(items[:limit]), "full_bodies": full_bodies, "scores": {
            name: {"iou": float(np.mean([s[0] for s in v])), "boundary_f": float(np.mean([s[1] for s in v]))}
            for name, v in scores.items()}}
    return results


def section(results: dict) -> str:
    groups = list(results)
    names = list(results[groups[0]]["scores"])
    lines = [f"## BlazePose's outline in `accurate`, `classical` and `fast`, the selfie model in `accurate` "
             f"(held-out images, never the test sets), {machine()}",
             "",
             "`python benchmarks/outline.py`. Coarse = mean of SINet and LWPSN + SSM joined with MediaPipe's selfie "
             f"segmentation model (share {SELFIE_WEIGHT}; `selfie share` rows: other shares, then the shipped rule); "
             "the outline joined as "
             "(1 - w) coarse + w outline; then the refinement network or not; guided matting. IoU / boundary F. "
             "The shipped rule: w = 0.25 and refined, except on one person seen down to the hips (w = 0.75, not "
             "refined). Images counted as full bodies: " + ", ".join(
                 f"{g} {results[g]['full_bodies']}/{results[g]['images']}" for g in groups)
             + ". Classical: the graph cut's spatial prior is the seed 000 saliency or the outline (clipped to "
               "0.05-0.95). Fast --pose: SINet framed on the keypoints, the outline joined by the same rule "
               "without refinement.", "",
             "| setting | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(
            f"{results[g]['scores'][name]['iou']:.4f} / {results[g]['scores'][name]['boundary_f']:.3f}" for g in groups)
            + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="only the first N images of each group")
    args = ap.parse_args()
    results = run(args.limit)
    write_results("outline", results, "## BlazePose's outline in", section(results))


if __name__ == "__main__":
    main()
