"""glibc's allocator, set once for the engine's pattern of memory use.

Each month of an ensemble allocates and frees a few hundred temporary arrays
of 0.1–1 MB (a thousand members times a few dozen columns). With glibc's
defaults the heap is handed back to the kernel whenever its free top passes a
threshold that starts small, and taken again the next month, one page fault
per 4 KiB: measured on the baseline at 1,000 replicates, the first run in a
process took 2.6–2.7 s against 1.9 s for the same run once the thresholds had
adapted, and every process (a sweep's worker, a calibration) starts cold.
Keeping 64 MiB of slack at the top of the heap and serving requests under
32 MiB from it brings the first run to 1.9–2.0 s and later ones from 1.9 to
1.75 s (benchmarks/bench.py --engine-only). The numbers a run produces do not
depend on it.

Only glibc has ``mallopt``; elsewhere this does nothing. Setting
``DYADSIM_MALLOC=default``, or either of glibc's own ``MALLOC_TOP_PAD_`` and
``MALLOC_MMAP_THRESHOLD_``, leaves the allocator as it is.
"""

from __future__ import annotations

import ctypes
import os

M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
TOP_PAD = 64 * 2**20
MMAP_THRESHOLD = 32 * 2**20

_done = False


def tune_allocator() -> bool:
    """Set the heap's top pad and mmap threshold once per process; True if glibc took them."""
    global _done
    if _done:
        return False
    _done = True
    if (os.environ.get("DYADSIM_MALLOC") == "default"
            or "MALLOC_TOP_PAD_" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_TOP_PAD, TOP_PAD)) and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
