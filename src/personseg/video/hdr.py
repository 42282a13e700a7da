"""HDR video (HLG or PQ, BT.2020: phones record it by default) seen as SDR: the pictures an SDR clip of the scene
would hold (BT.709 colours, 8 bits, for a BT.1886 display), which the networks see and the outputs are written in
(tagged SDR). Read as SDR without this, an HLG clip came out grey and dim."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

#: FFmpeg's numbers (AVColorTransferCharacteristic) of the HDR transfers converted.
PQ, HLG = 16, 18
#: FFmpeg's number of BT.2020 primaries.
BT2020_PRIMARIES = 9
#: BT.2020 to BT.709 primaries, for linear light (ITU-R BT.2087).
BT2020_TO_BT709 = np.array([[1.6605, -0.5876, -0.0728],
                            [-0.1246, 1.1329, -0.0083],
                            [-0.0182, -0.1006, 1.1187]], np.float32)
#: HLG's OETF constants (ITU-R BT.2100).
HLG_A, HLG_B, HLG_C = 0.17883277, 0.28466892, 0.55991073
#: HLG's system gamma at a 1000-nit display (BT.2100), applied per channel.
HLG_GAMMA = 1.2
#: HLG's reference white, as a signal (ITU-R BT.2408): SDR's white.
HLG_WHITE = 0.75
#: PQ's reference white in nits (ITU-R BT.2408): SDR's white.
PQ_WHITE = 203.0
#: Light (SDR white = 1) up to this is kept as it is; above it highlights are compressed into what is left up to 1
#: (the reference white itself to 0.95 of it: 250 of 255).
KNEE = 0.9
#: The SDR display's gamma (ITU-R BT.1886), whose inverse encodes the light.
DISPLAY_GAMMA = 2.4
#: The brightest light told apart (SDR white = 1): PQ's 10000 nits.
PEAK = 10000.0 / PQ_WHITE
#: Steps of the table from light to 8-bit SDR, over the square root of light (fine in the shadows).
STEPS = 4096


def is_hdr(transfer: int) -> bool:
    """True for the HDR transfers converted here (FFmpeg's number)."""
    return transfer in (PQ, HLG)


def converted(transfer: int, primaries: int) -> bool:
    """True for pictures ``sdr_picture`` makes: HDR ones, and SDR ones in BT.2020's colours (some cameras record
    them; read as they are, their colours came out dull)."""
    return is_hdr(transfer) or primaries == BT2020_PRIMARIES


def sdr_picture(signal: np.ndarray, transfer: int, primaries: int) -> np.ndarray:
    """8-bit RGB of ``signal`` (HxWx3 uint16: R'G'B' from 0 to 65535, the YUV matrix undone) with ``transfer`` and
    ``primaries`` (FFmpeg's numbers): its light (HDR: the reference white (BT.2408) as SDR's white; SDR: a BT.1886
    display's), BT.2020's colours moved into BT.709 (those outside clipped), HDR's highlights above KNEE compressed,
    encoded for a BT.1886 display."""
    hdr = is_hdr(transfer)
    light = _light(transfer if hdr else 0)[signal]
    if primaries == BT2020_PRIMARIES:
        light = cv2.transform(light, BT2020_TO_BT709)
    index = cv2.sqrt(np.clip(light, 0.0, PEAK) * (1.0 / PEAK)) * (STEPS - 1) + 0.5
    return _sdr(KNEE if hdr else 1.0)[index.astype(np.uint16)]


@cache
def _light(transfer: int) -> np.ndarray:
    """float32 table: a 16-bit signal -> light, SDR white = 1 (HLG, PQ, or 0: SDR on a BT.1886 display)."""
    e = np.arange(65536, dtype=np.float64) / 65535.0
    if transfer == HLG:
        def scene(v: np.ndarray) -> np.ndarray:
            return np.where(v <= 0.5, v * v / 3.0, (np.exp((v - HLG_C) / HLG_A) + HLG_B) / 12.0)
        light = (scene(e) / scene(np.array(HLG_WHITE))) ** HLG_GAMMA
    elif transfer == PQ:
        m1, m2 = 2610 / 16384, 2523 / 4096 * 128
        c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        p = e ** (1 / m2)
        light = 10000.0 * (np.maximum(p - c1, 0.0) / (c2 - c3 * p)) ** (1 / m1) / PQ_WHITE
    else:
        light = e ** DISPLAY_GAMMA
    return light.astype(np.float32)


@cache
def _sdr(knee: float) -> np.ndarray:
    """uint8 table (STEPS, over the square root of light up to PEAK) -> SDR: light above ``knee`` compressed into
    what is left below white (1: none, the rest clipped), BT.1886's inverse."""
    x = (np.arange(STEPS) / (STEPS - 1)) ** 2 * PEAK
    over = np.maximum(x - knee, 0.0)
    y = np.minimum(x, knee) + (1.0 - knee) * over / (over + (1.0 - knee)) if knee < 1.0 else np.minimum(x, 1.0)
    return np.clip(np.round(y ** (1 / DISPLAY_GAMMA) * 255.0), 0, 255).astype(np.uint8)
