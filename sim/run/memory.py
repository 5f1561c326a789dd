"""Memory a request will take, estimated before any work starts.

A two-line change to a sweep file (``replicates: 1000000000``) or a flag
(``--replicates``) can ask for terabytes; the process would then die minutes
later, or take the machine down with it. The estimate here is the size of what
the engine records per member (monthly state, flows, event counts) and of the
indicator columns built from it, times the members held at once; it is
compared with the memory the system says is available, and an absurd request
ends in one line before anything runs.
"""

from __future__ import annotations

import os

import numpy as np

from sim.core.columns import indicator_columns
from sim.core.errors import UserError

# Measured on the baseline (216 months, 200 to 3,000 members): a run and its Ensemble
# take 355 kB per member at peak, against 446 kB for recorded arrays plus columns;
# so the plain sum is a (slightly generous) estimate.
OVERHEAD = 1.0
WORKER_BYTES = 300 * 2**20      # a worker process before it holds any chunk (interpreter, numpy, pandas)
SHARE = 0.8                     # of the available memory a request may plan to use


def member_bytes(cp) -> int:
    """Bytes one member of an ensemble holds over the whole period, overhead included."""
    per_month = 4 * len(cp.channels)
    for mech in cp.mechanisms:
        for sv in mech.state_vars:
            if sv.record:
                per_month += 8 * int(np.prod(cp.arrays[sv.init].shape[1:]))
        for fl in mech.flows:
            per_month += 8 * len(cp.index_labels(fl.index))
    per_month += 8 * len(indicator_columns(cp))
    return int(OVERHEAD * per_month * cp.n_months)


def available_bytes() -> int:
    """Memory available to a new allocation (MemAvailable on Linux, else all physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**63


def human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def check_fits(need: float, what: str, advice: str, where: dict | None = None) -> None:
    """Refuse a request whose estimate exceeds the share of available memory it may take."""
    avail = available_bytes()
    if need > SHARE * avail:
        raise UserError(f"{what} would need about {human(need)} of memory, and {human(avail)} is available; "
                        f"{advice}", **(where or {}))
