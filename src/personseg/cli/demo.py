"""`personseg demo`: a bundled photo (scikit-image's astronaut) segmented with the defaults, every output written."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..batch import cannot_write, refuse_file
from ..image import write_image
from ..outputs import OUTPUTS, output_paths, refuse_existing, save_outputs
from .common import add_method_options, segmenter

#: The colour of the demo's replaced background.
BACKGROUND = "#2e7d32"


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="segment a bundled photo (scikit-image's astronaut) with the defaults",
                       description="Segment scikit-image's astronaut photo and write every output.")
    d.add_argument("-o", "--out", type=Path, default=Path("demo-out"), help="output folder (default: demo-out)")
    d.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier demo")
    add_method_options(d)
    d.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from skimage import data   # imported by the demo alone: every command's --help loads this module

    rgb = data.astronaut()
    outputs = tuple(OUTPUTS)
    photo = refuse_file(args.out) / "astronaut.png"
    refuse_existing([photo, *output_paths(args.out, "astronaut", outputs)], args.overwrite)
    try:   # before segmenting: a file where a folder of the path should be is named
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(args.out, args.out, e) from None
    result = segmenter(args, keypoints=True)(rgb)
    write_image(photo, rgb, overwrite=True)
    paths = save_outputs(result, args.out, "astronaut", outputs, background=BACKGROUND, overwrite=True,
                         source="skimage.data.astronaut")
    found = "a person" if result.people else "nobody"
    print(f"found {found}; {len(paths)} outputs written to {args.out}: " + ", ".join(p.name for p in paths))
    return 0
