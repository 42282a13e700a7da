"""The C allocator's settings for image work: glibc hands every freed block over 128 KB straight back to the
system, so each call's image-sized arrays (a 600x800 float map is 1.9 MB) are fresh pages that fault in and
are zeroed again. Measured on 600x800 photos (benchmarks/latency.py, docs/speed.md): `fast` with guided
matting 10.8 -> 9.2 ms, a cut-out's extra 28 -> 20 ms."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: Blocks up to this size come from the reused heap instead of fresh pages (frames and photos up to a few
#: megapixels); larger ones (a 24 MP map is 96 MB) still go straight back to the system.
MMAP_THRESHOLD = 16 << 20
#: Free memory at the heap's top kept for the next call instead of handed back.
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters
_tuned = False


def tune_allocator() -> None:
    """Raise glibc's mmap and trim thresholds for this process (once; a no-op elsewhere than glibc on Linux,
    and where the process was started with MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ set)."""
    global _tuned
    if _tuned or not sys.platform.startswith("linux"):
        return
    _tuned = True
    if any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):   # musl and others: their allocator, their settings
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
