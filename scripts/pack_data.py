"""Write a small copy of training data sets for a machine that cannot read ../shared/data (a rented GPU):
each pair shrunk as training reads it (longest side --max-side), images as JPEG, masks as PNG, with the id
list, in the layout `personseg train --data` reads.

    python scripts/pack_data.py ../shared/data/eg1800 ../shared/data/ccp --split train --out .pack
    # there: personseg train --data .pack/eg1800 .pack/ccp --split train ...

--split fit packs the ids a network trained on every set fits (train less the choice groups: train/data.py
fit_ids); --keypoints also caches BlazePose's keypoints of every packed image in OUT/cache, for models fed
prior maps on a machine without MediaPipe (there: personseg train ... --split fit --cache .pack/cache).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from personseg.errors import PersonsegError
from personseg.train.data import PairSet, fit_ids, load_pairs, pose_keypoints


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+", type=Path, help="folders with images/ and masks/ (and SPLIT.txt)")
    ap.add_argument("--split", help="id list in each folder to pack (default: all pairs); 'fit': train less the "
                                    "choice groups")
    ap.add_argument("--keypoints", action="store_true", help="cache BlazePose's keypoints in OUT/cache")
    ap.add_argument("--out", type=Path, required=True, help="new folder (must not exist yet)")
    ap.add_argument("--max-side", type=int, default=320)
    ap.add_argument("--quality", type=int, default=90, help="JPEG quality of the images")
    args = ap.parse_args()
    if args.out.exists():
        raise PersonsegError(f"{args.out} exists; choose a new folder")
    total = 0
    for root in args.data:
        if args.split == "fit":
            keep = set(fit_ids(root))
            loaded = load_pairs(root, "train", max_side=args.max_side)
            taken = [k for k, ident in enumerate(loaded.ids) if ident in keep]
            pairs = PairSet([loaded.ids[k] for k in taken], [loaded.images[k] for k in taken],
                            [loaded.masks[k] for k in taken])
        else:
            pairs = load_pairs(root, args.split, max_side=args.max_side)
        dest = args.out / root.resolve().name
        (dest / "images").mkdir(parents=True)
        (dest / "masks").mkdir()
        for ident, rgb, mask in zip(pairs.ids, pairs.images, pairs.masks):
            ok_image, jpg = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, args.quality])
            ok_mask, png = cv2.imencode(".png", mask)
            if not (ok_image and ok_mask):
                raise PersonsegError(f"{root}/{ident}: could not encode")
            (dest / "images" / f"{ident}.jpg").write_bytes(jpg.tobytes())
            (dest / "masks" / f"{ident}.png").write_bytes(png.tobytes())
            total += len(jpg) + len(png)
        (dest / f"{args.split or 'all'}.txt").write_text("\n".join(pairs.ids) + "\n")
        if args.keypoints:
            pose_keypoints(pairs, args.out / "cache" / f"keypoints-{dest.name}-{args.split or 'all'}.json")
        print(f"{root}: {len(pairs)} pairs -> {dest}")
    print(f"{total / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
