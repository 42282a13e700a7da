"""Synthetic inputs for the unit tier."""

from __future__ import annotations

import numpy as np


def person(cx: float, top: float, scale: float, score: float = 0.9) -> np.ndarray:
    """COCO-17 keypoints (17, 3) of an upright person centred at ``cx``, head at ``top``, ``scale`` pixels from
    shoulders to hips."""
    s = scale
    pts = [(0, 0.15), (-0.05, 0.1), (0.05, 0.1), (-0.1, 0.12), (0.1, 0.12),     # nose, eyes, ears
           (-0.25, 0.4), (0.25, 0.4), (-0.35, 0.8), (0.35, 0.8), (-0.4, 1.15), (0.4, 1.15),   # arms
           (-0.15, 1.4), (0.15, 1.4), (-0.15, 1.9), (0.15, 1.9), (-0.15, 2.4), (0.15, 2.4)]   # hips, knees, ankles
    return np.array([(cx + dx * s, top + dy * s, score) for dx, dy in pts], np.float32)


def rgb_profile(red: tuple[float, float, float], green: tuple[float, float, float],
                blue: tuple[float, float, float], gamma: float | None, name: str = "test RGB") -> bytes:
    """An ICC v2 display profile (matrix and curves): the colorants' XYZ (D50-adapted) and one gamma for all three
    channels, as cameras' Adobe RGB profiles are made; ``gamma`` None: sRGB's own curve."""
    import struct

    if gamma is None:   # sRGB's curve as a table of 1024 points, as the sRGB IEC61966-2.1 profile cameras embed has it
        v = [i / 1023 for i in range(1024)]
        points = [round(65535 * (x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4)) for x in v]
        curve = b"curv\0\0\0\0" + struct.pack(f">I{len(points)}H", len(points), *points)
    else:
        curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    return _icc(b"RGB ", name, [(b"rXYZ", _xyz(red)), (b"gXYZ", _xyz(green)), (b"bXYZ", _xyz(blue)),
                                (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)])


def grey_profile(gamma: float, name: str = "test grey") -> bytes:
    """An ICC v2 grey display profile of one gamma."""
    import struct

    return _icc(b"GRAY", name, [(b"kTRC", b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0")])


def _fixed(v: float) -> bytes:
    import struct

    return struct.pack(">i", round(v * 65536))


def _xyz(v: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_fixed(c) for c in v)


def _icc(space: bytes, name: str, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2 display profile of colour ``space`` (PCS XYZ, D50) holding ``tags``, a description and a white."""
    import struct

    text = name.encode("ascii") + b"\0"
    tags = [(b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)),
            (b"wtpt", _xyz((0.9642, 1.0, 0.8249))), (b"cprt", b"text\0\0\0\0no copyright\0")] + tags
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntr" + space + b"XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + _fixed(0.9642) + _fixed(1.0) + _fixed(0.8249) + bytes(4 + 16 + 28))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body
