"""The plain-text account of a run (``summary.txt``): the focal pair's trade, trust, arms and events.

Every number is a quantile over members of a window total
(:meth:`sim.evidence.ensemble.Ensemble.window_total`), so the same text comes
from a run held in memory and from a streamed run of a million replicates,
whose totals are stored per replicate and read back one at a time.
"""

from __future__ import annotations

import numpy as np

from sim.core.columns import col_dyad, col_trade
from sim.evidence.ensemble import Ensemble


def _band(x: np.ndarray, digits: int = 1) -> str:
    lo, med, hi = np.percentile(x, [5, 50, 95])
    return f"{med:8.{digits}f}  [{lo:7.{digits}f} – {hi:7.{digits}f}]"


def summarise(ens: Ensemble, period: tuple[str, str], wall_time_s: float) -> str:
    """A short account of the ensemble for the focal pair: median [90% band] across replicates."""
    a, b = ens.focal
    years = np.asarray(ens.months.year)
    whole = np.ones(len(years), dtype=bool)
    seed = f"base seed {ens.base_seed}, " if ens.base_seed is not None else ""
    lines = [f"scenario {ens.name} ({period[0]} – {period[1]}), {ens.n_members} replicates, "
             f"{seed}hash {ens.scenario_hash[:12]}, {wall_time_s:.2f} s",
             f"focal pair: {a}–{b}     median  [90% band] across replicates"]
    trade = col_trade(a, b)
    if trade in ens.columns:
        lines.append(f"trade {a}–{b}, bn USD in the year:")
        shown = sorted(set(years))
        for y in dict.fromkeys(shown[:: max(1, len(shown) // 6)] + [years[-1]]):   # the last year once
            lines.append(f"  {y}: {_band(ens.window_total(trade, years == y) / 12.0)}")   # annual rate -> flow
    for d in ((a, b), (b, a)):
        col = col_dyad("trust", *d)
        if col in ens.columns:
            first, last = np.arange(len(years)) == 0, np.arange(len(years)) == len(years) - 1
            lines.append(f"trust {d[0]}>{d[1]}: start {np.median(ens.window_total(col, first)):.2f}, "
                         f"end {_band(ens.window_total(col, last), 2).strip()}")
    for name in sorted(c for c in ens.columns if c.startswith("arms_contracts.")):
        lines.append(f"{name} over the period, bn USD: {_band(ens.window_total(name, whole)).strip()}")
    n_years = len(years) / 12.0
    lines.append(f"events between {a} and {b} per year: "
                 f"{_band(ens.window_total('events.total', whole) / n_years).strip()}")
    per_type = {k.split(".", 1)[1]: np.median(ens.window_total(k, whole)) / n_years
                for k in ens.columns if k.startswith("events.") and k != "events.total"}
    lines.append("  median per year by type: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                           sorted(per_type.items(), key=lambda kv: -kv[1])))
    return "\n".join(lines)
