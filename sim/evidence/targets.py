"""Summary statistics: the record's evidence as numbers a run can be measured against.

Calibration fits to them and a sweep's ``fit`` columns report them, so both
read a run the same way. Statistics: log of each recorded money figure (log1p
where a period can have none), growth rates and meeting counts in tenths, and
the square root of each recorded event count per chronology window and type
(a variance-stabilised Poisson count). Only evidence that ends by ``until``
enters, so that what comes after can be kept for a hindcast; a split after the
last chronology window simply has no event statistics after it.

Event statistics compare all the model's events with all recorded ones,
scheduled meetings included on both sides: a distance is not a skill score,
and the scheduled part, the same in every run, does not pull the fitted rates
either way (the scorecard, by contrast, leaves schedules out of both sides:
see :mod:`sim.evidence.scoring`). A figure at or below zero on a log scale has
no statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core.numerics import row_mean
from sim.core.schema import Strict
from sim.evidence.scoring import Ensemble, series_observations, simulated_value
from sim.evidence.transforms import transform

# The scale a statistic uses for a recorded series of the given scoring scale.
_STATISTIC_SCALE = {"linear": "tenths"}


class Targets(Strict):
    """Which kinds of evidence to use (the ``targets:`` section of a calibration file)."""

    series: bool = True
    events: bool = True


@dataclass(frozen=True)
class Target:
    """One summary statistic: how to read it off a run and what the record says."""

    name: str
    kind: str            # series | growth | events
    column: str
    start: pd.Timestamp
    end: pd.Timestamp
    rate: bool
    scale: str           # a name in sim.evidence.transforms.TRANSFORMS
    observed: float      # already transformed
    spans: tuple = ()    # several windows summed (events per type over the windows)


def build_targets(record, months: pd.DatetimeIndex, focal: tuple[str, str], columns: set[str],
                  until: pd.Timestamp | None, targets: Targets | None = None) -> list[Target]:
    """The record's evidence the model can reproduce, ending no later than ``until`` (all kinds by default)."""
    targets = targets or Targets()
    first, last = months[0], months[-1] + pd.offsets.MonthEnd(0)

    def usable(start, end) -> bool:
        return start >= first and end <= last and (until is None or end <= until)

    out: list[Target] = []
    if targets.series:
        out += _series_targets(record, columns, first, usable)
    if targets.events:
        out += _event_targets(record, focal, columns, usable)
    return out


def _series_targets(record, columns: set[str], first: pd.Timestamp, usable) -> list[Target]:
    out = []
    for _, r in series_observations(record).iterrows():
        if r["column"] not in columns or not usable(r["start"], r["end"]):
            continue
        if r["scale"] == "log" and r["value"] <= 0:
            continue
        growth = r["quantity"].endswith("_growth_yoy")
        if growth and r["start"] - pd.DateOffset(years=1) < first:
            continue
        scale = _STATISTIC_SCALE.get(r["scale"], r["scale"])
        out.append(Target(str(r["id"]), "growth" if growth else "series", r["column"], r["start"], r["end"],
                          bool(r["rate"]), scale, float(transform(scale, np.float64(r["value"])))))
    return out


def _event_targets(record, focal: tuple[str, str], columns: set[str], usable) -> list[Target]:
    """Per window the total, per type the sum over the windows: single window-type cells hold
    0-3 events and their noise would drown what the parameters change."""
    counts = record.event_counts(focal)
    wins = record.windows.set_index("id")
    used = [w for w in counts.index if usable(wins.loc[w, "start"], wins.loc[w, "end"])]
    types = [t for t in counts.columns if f"events.{t}" in columns]
    out = [Target(f"{w}:total", "events", "events.total", wins.loc[w, "start"], wins.loc[w, "end"],
                  False, "sqrt", float(np.sqrt(counts.loc[w, types].sum()))) for w in used]
    if len(used) > 1:
        spans = tuple((wins.loc[w, "start"], wins.loc[w, "end"]) for w in used)
        for t in types:
            out.append(Target(f"windows:{t}", "events", f"events.{t}", spans[0][0], spans[-1][1], False,
                              "sqrt", float(np.sqrt(counts.loc[used, t].sum())), spans))
    return out


def months_read(targets: list[Target], months: pd.DatetimeIndex) -> int:
    """How many leading months of a run the targets' statistics read: none reads a month that starts after
    the last target ends (columns are month by month, and growth looks back), so a run may stop there."""
    ends = [t.end for t in targets] + [b for t in targets for _, b in t.spans]
    return int(np.searchsorted(months, max(ends), side="right")) if ends else len(months)


def statistics(ens: Ensemble, targets: list[Target]) -> np.ndarray:
    """(members, statistics) for an Ensemble, transformed like the targets."""
    out = np.empty((ens.n_members, len(targets)))
    for k, t in enumerate(targets):
        if t.kind == "growth":
            row = {"quantity": "x_growth_yoy", "column": t.column, "start": t.start, "end": t.end, "rate": t.rate}
            v = simulated_value(ens, row)
        elif t.spans:
            v = sum(ens.period_total(t.column, a, b, t.rate) for a, b in t.spans)
        else:
            v = ens.period_total(t.column, t.start, t.end, t.rate)
        out[:, k] = transform(t.scale, v)
    return out


def distance(stats: np.ndarray, observed: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.sqrt(row_mean(((stats - observed) / scales) ** 2))
