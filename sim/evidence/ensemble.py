"""An ensemble of simulated months as the scores read it: columns, seeds, and what the scenario scheduled.

A scenario schedules some of the events it produces: bilateral calendars
(an annual summit), organisation summit calendars, and timeline entries that
emit an event. Those are inputs, not predictions, so the scores must not
credit the model for reproducing them. The ensemble therefore keeps, per
event type, the counts of the focal pair's *scheduled* channels (origins in
:data:`SCHEDULED_ORIGINS`) apart, and the set of types the model also produces
from channels that nothing schedules (ad hoc Poisson events, sideline meetings
that depend on trust, arms contracts and deliveries that depend on state).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.columns import indicator_columns, month_index_values
from sim.core.errors import UserError
from sim.core.numerics import ordered_sum
from sim.core.results import read_manifest

#: Channel origins (``sim.core.mechanisms.base.Channel.origin``) whose events the scenario schedules:
#: bilateral calendars, timeline entries that emit an event, organisation summit calendars.
SCHEDULED_ORIGINS = frozenset({"calendar", "timeline", "summit"})


def channel_split(channels, focal, counts: np.ndarray | None) -> tuple[dict[str, np.ndarray], frozenset[str]]:
    """(scheduled counts per type, (members, months); the types an unscheduled channel produces) of the
    focal pair's channels. ``channels``: (type, actors, origin) triples; ``counts``: (members, months, channels)."""
    sched: dict[str, list[int]] = {}
    predicted = set()
    for c, (typ, actors, origin) in enumerate(channels):
        if set(actors) != set(focal):
            continue
        if origin in SCHEDULED_ORIGINS:
            sched.setdefault(typ, []).append(c)
        else:
            predicted.add(typ)
    if counts is None:
        return {}, frozenset(predicted)
    return {t: counts[:, :, idx].sum(axis=2).astype(float) for t, idx in sched.items()}, frozenset(predicted)


def _channels_of(cp) -> list[tuple[str, tuple[str, ...], str]]:
    return [(ch.type, tuple(ch.actors), ch.origin) for ch in cp.channels]


@dataclass
class Ensemble:
    """Simulated monthly indicators of one scenario: column -> (members, months)."""

    name: str
    months: pd.DatetimeIndex
    columns: dict[str, np.ndarray]
    focal: tuple[str, str]
    seeds: np.ndarray
    scenario_hash: str = ""
    emitted: list[tuple[str, pd.Timestamp]] = field(default_factory=list)  # (type, month) scheduled by the scenario
    base_seed: int | None = None   # the seed the replicate seeds derive from, where known
    scheduled: dict[str, np.ndarray] = field(default_factory=dict)   # type -> (members, months) scheduled events
    predicted: frozenset[str] | None = None   # types an unscheduled channel produces; None: every events.* type

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def event_types(self) -> set[str]:
        """Types the model produces at all (an ``events.TYPE`` column)."""
        return {c.split(".", 1)[1] for c in self.columns if c.startswith("events.") and c != "events.total"}

    def predicted_types(self) -> set[str]:
        """Types the model produces from channels the scenario does not schedule."""
        types = self.event_types()
        return types if self.predicted is None else types & set(self.predicted)

    def scheduled_count(self, typ: str, mask: np.ndarray) -> np.ndarray:
        """Per member: scheduled events of a type over the masked months (zeros when none)."""
        arr = self.scheduled.get(typ)
        return np.zeros(self.n_members) if arr is None else arr[:, mask].sum(axis=1)

    def predicted_count(self, typ: str, mask: np.ndarray) -> np.ndarray:
        """Per member: events of a type over the masked months that no schedule put there."""
        return self.columns[f"events.{typ}"][:, mask].sum(axis=1) - self.scheduled_count(typ, mask)

    @classmethod
    def from_run(cls, out) -> Ensemble:
        """The ensemble of a finished run (a ``RunOutput``), every indicator column included."""
        cp = out.result.compiled
        cols = {name: np.asarray(fn(out.result), dtype=float) for name, fn in indicator_columns(cp).items()}
        sc = out.loaded.scenario
        emitted = [(e.type, pd.Timestamp(ev.date + "-01")) for ev in sc.timeline for e in ev.emits
                   if set(e.actors) == set(sc.meta.focal)]
        sched, predicted = channel_split(_channels_of(cp), sc.meta.focal, out.result.records.get("counts"))
        return cls(sc.meta.name, month_index_values(cp), cols, tuple(sc.meta.focal), out.result.seeds,
                   out.loaded.hash, emitted, out.base_seed, sched, predicted)

    @classmethod
    def from_result(cls, name: str, result, needed: set[str], columns: dict | None = None) -> Ensemble:
        """The ``needed`` columns of an engine result: what sweeps and calibration measure runs with."""
        cp = result.compiled
        columns = columns or indicator_columns(cp)
        focal = tuple(cp.states[i] for i in cp.focal)
        sched, predicted = channel_split(_channels_of(cp), focal, result.records.get("counts"))
        return cls(name, month_index_values(cp), {c: np.asarray(columns[c](result), dtype=float) for c in needed},
                   focal, result.seeds, scheduled=sched, predicted=predicted)

    @classmethod
    def from_folder(cls, folder: str | Path) -> Ensemble:
        """A run's results folder, its files first checked against the manifest's hashes (sim.core.results)."""
        folder = Path(folder)
        manifest = read_manifest(folder)
        try:
            return cls._read_folder(folder, manifest)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError, OSError) as exc:
            # the hashes match, so the manifest itself was edited to fit: still one line, never a traceback
            raise UserError(f"not a readable results folder of 'run' ({type(exc).__name__}: {exc})",
                            file=str(folder)) from None

    @classmethod
    def _read_folder(cls, folder: Path, manifest: dict) -> Ensemble:
        table = pd.read_parquet(folder / "indicators.parquet")
        scenario = json.loads((folder / "scenario.resolved.json").read_text())
        table = table.sort_values(["replicate", "month"])
        months = pd.DatetimeIndex(sorted(table["month"].unique()))
        reps = table["replicate"].unique()
        M, T = len(reps), len(months)
        value_cols = [c for c in table.columns if c not in ("replicate", "seed", "month", "point")]
        cols = {c: table[c].to_numpy(dtype=float).reshape(M, T) for c in value_cols}
        focal = tuple(manifest["focal"])
        emitted = [(e["type"], pd.Timestamp(ev["date"] + "-01")) for ev in scenario.get("timeline", [])
                   for e in ev.get("emits", []) if set(e["actors"]) == set(focal)]
        seeds = table.groupby("replicate")["seed"].first().to_numpy()
        sched, predicted = _folder_schedule(folder, manifest, focal, reps, months)
        return cls(manifest["scenario"], months, cols, focal, seeds, manifest.get("scenario_hash", ""), emitted,
                   manifest.get("base_seed"), sched, predicted)

    def _mask(self, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray | None:
        """Months overlapping [start, end]; None unless the whole period lies inside the run."""
        first, last = self.months[0], self.months[-1] + pd.offsets.MonthEnd(0)
        if start < first or end > last:
            return None
        m_end = self.months + pd.offsets.MonthEnd(0)
        return np.asarray((m_end >= start) & (self.months <= end))

    def period_total(self, column: str, start, end, rate: bool) -> np.ndarray | None:
        """Per member: the sum over the period's months (annual rates divided by 12 first)."""
        if column not in self.columns:
            return None
        mask = self._mask(pd.Timestamp(start), pd.Timestamp(end))
        if mask is None or not mask.any():
            return None
        # added month by month in order, so a member's total does not depend on what ran beside it
        return ordered_sum(self.columns[column][:, mask]) / (12.0 if rate else 1.0)


def _folder_schedule(folder: Path, manifest: dict, focal, reps, months) -> tuple[dict, frozenset | None]:
    """Scheduled counts from a results folder's events.parquet; the channel list from its manifest
    (results written before the manifest listed channels: the types seen with an unscheduled origin)."""
    path = folder / "events.parquet"
    if not path.exists():
        return {}, None
    ev = pd.read_parquet(path, columns=["replicate", "date", "type", "actors", "origin"])
    ev = ev[ev["actors"].astype(str).map(lambda a: set(a.split(";")) == set(focal))]
    row_of = {r: i for i, r in enumerate(reps)}
    col_of = {m: j for j, m in enumerate(months)}
    sched: dict[str, np.ndarray] = {}
    for (typ, origin), g in ev.groupby(["type", "origin"], observed=True):
        if origin not in SCHEDULED_ORIGINS:
            continue
        arr = sched.setdefault(str(typ), np.zeros((len(reps), len(months))))
        np.add.at(arr, (g["replicate"].map(row_of).to_numpy(), g["date"].map(col_of).to_numpy()), 1.0)
    if "channels" in manifest:
        predicted = channel_split([(t, a.split(";"), o) for t, a, o in manifest["channels"]], focal, None)[1]
    else:
        predicted = frozenset(str(t) for t in ev.loc[~ev["origin"].isin(SCHEDULED_ORIGINS), "type"].unique())
    return sched, predicted
