"""The numbers a sweep keeps from every run.

A sweep may run millions of members; it keeps a handful of numbers per run
(a statistic of a column over a window, and optionally the run's distance to
the record) rather than the monthly series, which can be asked for with
``keep_series``.
"""

from __future__ import annotations

import numpy as np

from sim.core.columns import indicator_columns, month_index_values
from sim.core.compile import compile_scenario
from sim.core.errors import UserError
from sim.core.loading import load_scenario
from sim.core.numerics import ordered_sum, row_mean
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble
from sim.evidence.targets import build_targets, statistics
from sim.run.sweep.spec import LoadedSweep


def output_values(result, outputs, columns: dict | None = None) -> dict[str, np.ndarray]:
    """Per-member summary numbers of an ensemble result, one array (M,) per output."""
    cp = result.compiled
    columns = columns or indicator_columns(cp)
    out = {}
    for o in outputs:
        arr = np.asarray(columns[o.column](result), dtype=float)[:, o.window(cp.months)]
        if o.stat == "final":
            out[o.label] = arr[:, -1].copy()
        elif o.stat in ("min", "max"):
            out[o.label] = getattr(np, o.stat)(arr, axis=1)
        else:
            # in order, not np.sum: a member's numbers must not depend on how many ran beside it
            out[o.label] = ordered_sum(arr) if o.stat == "sum" else row_mean(arr)
    return out


def fit_values(result, targets, columns: dict) -> dict[str, np.ndarray]:
    """Per run: root mean square distance to the record, for money series (log) and event counts (sqrt).

    The same statistics the calibration uses (:func:`sim.evidence.targets.statistics`), unscaled:
    fit_series 0.1 means the run's figures are off by about 10% on average.
    """
    ens = Ensemble.from_result("sweep", result, {t.column for t in targets}, columns)
    stats = statistics(ens, list(targets))
    obs = np.array([t.observed for t in targets])
    out = {}
    for name, kinds in (("fit_series", ("series",)), ("fit_events", ("events",))):
        k = np.array([t.kind in kinds for t in targets])
        out[name] = np.sqrt(row_mean((stats[:, k] - obs[k]) ** 2)) if k.any() else np.full(len(stats), np.nan)
    return out


def fit_targets(sw: LoadedSweep) -> tuple:
    """The record's evidence the base scenario can be compared with (whole period)."""
    base = load_scenario(sw.base)
    if base.record_path is None:
        raise UserError("fit: true needs a base scenario with meta.record", **sw.where(("fit",)))
    cp = compile_scenario(base)
    record = load_record(base.record_path)
    return tuple(build_targets(record, month_index_values(cp), tuple(base.scenario.meta.focal),
                               set(indicator_columns(cp)), None))
