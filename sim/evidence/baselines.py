"""Naive forecasts the model's scores are set against.

A skill score is only as honest as its baseline. Two for recorded series,
fitted leave-one-out on the *other* figures of the same series (annualised):

* **straight line**: linear interpolation between the neighbouring figures.
  Outside the range of the other figures it is held flat at the nearest one,
  never extended along the end segment: a line extended backwards can fall
  below zero, and a flow cannot (clipping it to a tiny positive number once
  cost this baseline 14 units of log-CRPS on a single early year, and made
  the model's "skill" an artefact of that row).
* **constant growth**: a log-linear fit, which is its definition everywhere;
  it needs two positive figures.

Either one predicting a figure outside the period the other figures span is
marked ``baseline_extrapolated``; the scorecard says how many of its rows are.
A series with fewer than three figures has no baseline (a line needs two other
points), and the row says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def decimal_year(ts: pd.Timestamp) -> float:
    return ts.year + (ts.day_of_year - 0.5) / 365.25


def n_months(start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Length of a period in months: exact for whole calendar months, by days otherwise."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start.day == 1 and end == end + pd.offsets.MonthEnd(0):
        return float((end.year - start.year) * 12 + end.month - start.month + 1)
    return max(1.0, ((end - start).days + 1) / 30.4375)


def straight_line(x: np.ndarray, y: np.ndarray, at: float) -> tuple[float, bool]:
    """Interpolated value at ``at`` from points (x, y) sorted by x; flat outside their range.
    Returns (value, extrapolated)."""
    if x[0] <= at <= x[-1]:
        return float(np.interp(at, x, y)), False
    return float(y[0] if at < x[0] else y[-1]), True


def constant_growth(x: np.ndarray, y: np.ndarray, at: float) -> float:
    """Log-linear fit through (x, y) evaluated at ``at``; NaN unless every y is positive."""
    if (y <= 0).any():
        return float("nan")
    b, a = np.polyfit(x, np.log(y), 1)
    return float(np.exp(a + b * at))


def series_baselines(group: pd.DataFrame) -> pd.DataFrame:
    """Leave-one-out point forecasts of each figure of one series from the others (level series only)."""
    mid = np.array([(decimal_year(s) + decimal_year(e)) / 2 for s, e in zip(group["start"], group["end"], strict=True)])
    months = np.array([n_months(s, e) for s, e in zip(group["start"], group["end"], strict=True)])
    rate = group["value"].to_numpy(dtype=float) * 12.0 / months
    interp, growth, extrapolated = [], [], []
    for k in range(len(group)):
        others = np.array([j for j in range(len(group)) if j != k and mid[j] != mid[k]], dtype=int)
        if len(others) < 2:
            interp.append(np.nan)
            growth.append(np.nan)
            extrapolated.append(False)
            continue
        order = np.argsort(mid[others])
        x, y = mid[others][order], rate[others][order]
        line, outside = straight_line(x, y, mid[k])
        interp.append(line * months[k] / 12.0)
        growth.append(constant_growth(x, y, mid[k]) * months[k] / 12.0)
        extrapolated.append(outside)
    out = group.copy()
    out["baseline_interp"] = interp
    out["baseline_growth"] = growth
    out["baseline_extrapolated"] = extrapolated
    return out


def poisson_rate(counts: pd.Series, months: dict[str, float], window: str) -> float:
    """Events per window from a constant rate fitted on the *other* windows (half an event added, so a
    type they never saw does not get rate zero); NaN when the record has no other window."""
    others = [w for w in counts.index if w != window]
    if not others:
        return float("nan")
    return (float(counts.loc[others].sum()) + 0.5) / sum(months[o] for o in others) * months[window]
