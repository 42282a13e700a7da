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
                blue: tuple[float, float, float], gamma: float, name: str = "test RGB") -> bytes:
    """An ICC v2 display profile (matrix and gamma): the colorants' XYZ (D50-adapted) and one gamma for all three
    channels, as cameras' Adobe RGB profiles are made."""
    import struct

    def fixed(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(v: tuple[float, float, float]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(fixed(c) for c in v)

    text = name.encode("ascii") + b"\0"
    tags = [(b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)),
            (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green)),
            (b"bXYZ", xyz(blue)), (b"cprt", b"text\0\0\0\0no copyright\0")]
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    tags += [(b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + bytes(-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + fixed(0.9642) + fixed(1.0) + fixed(0.8249) + bytes(4 + 16 + 28))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body
