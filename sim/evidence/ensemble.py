"""An ensemble of simulated runs as scoring and figures see it: monthly columns, per-member window totals,
and what the scenario scheduled.

Scores need, per member, totals of a column over the months of a recorded
period (:meth:`Ensemble.period_total`); figures need quantiles of the monthly
series. An ensemble held in memory (a run, a sweep's chunk) computes both
from its arrays. An ensemble read from a results folder never loads its
tables whole: a column is read from the Parquet parts when asked for, and the
window totals a run computed for every replicate (``replicates.parquet``) are
read one at a time. A run of a million replicates keeps the monthly series of
its first ``series_replicates`` only (a fixed subsample: replicate seeds are
independent draws, so the first N are a simple random sample); figures show
quantiles over that subsample and say so, while every score is computed from
every replicate's stored totals. See docs/results.md.

A scenario schedules some of the events it produces: bilateral calendars
(an annual summit), organisation summit calendars, and timeline entries that
emit an event. Those are inputs, not predictions, so the scores must not
credit the model for reproducing them. The ensemble therefore keeps, per
event type, the counts of the focal pair's *scheduled* channels (origins in
:data:`SCHEDULED_ORIGINS`) apart, as the series ``scheduled.TYPE`` (window
totals of which a streamed run stores like any column's), and the set of
types the model also produces from channels that nothing schedules (ad hoc
Poisson events, sideline meetings that depend on trust, arms contracts and
deliveries that depend on state).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.columns import indicator_columns, month_index_values
from sim.core.errors import UserError
from sim.core.numerics import ordered_sum
from sim.core.results import read_column, read_manifest

#: Channel origins (``sim.core.mechanisms.base.Channel.origin``) whose events the scenario schedules:
#: bilateral calendars, timeline entries that emit an event, organisation summit calendars.
SCHEDULED_ORIGINS = frozenset({"calendar", "timeline", "summit"})
SCHEDULED = "scheduled."   # prefix of the series of a type's scheduled events

Totals = Callable[[str], "np.ndarray | None"]


def channel_split(channels, focal) -> tuple[dict[str, list[int]], frozenset[str]]:
    """(type -> indices of the focal pair's scheduled channels; the types an unscheduled channel of the pair
    produces). ``channels``: (type, actors, origin) triples."""
    sched: dict[str, list[int]] = {}
    predicted = set()
    for c, (typ, actors, origin) in enumerate(channels):
        if set(actors) != set(focal):
            continue
        if origin in SCHEDULED_ORIGINS:
            sched.setdefault(typ, []).append(c)
        else:
            predicted.add(typ)
    return sched, frozenset(predicted)


def scheduled_columns(cp) -> dict[str, Callable]:
    """``scheduled.TYPE`` -> function of an engine result: (members, months) scheduled events of the focal pair."""
    focal = tuple(cp.states[i] for i in cp.focal)
    sched, _ = channel_split(_channels_of(cp), focal)

    def series(idx):
        return lambda result: result.records["counts"][:, :, idx].sum(axis=2).astype(float)
    return {SCHEDULED + t: series(idx) for t, idx in sched.items()}


def _channels_of(cp) -> list[tuple[str, tuple[str, ...], str]]:
    return [(ch.type, tuple(ch.actors), ch.origin) for ch in cp.channels]


def _scheduled_of(cp, result) -> tuple[dict[str, np.ndarray], frozenset[str]]:
    focal = tuple(cp.states[i] for i in cp.focal)
    arrays = {name[len(SCHEDULED):]: fn(result) for name, fn in scheduled_columns(cp).items()}
    return arrays, channel_split(_channels_of(cp), focal)[1]


def total_key(column: str, months: pd.DatetimeIndex, mask: np.ndarray) -> str:
    """Name of a member's sum of ``column`` over the (contiguous) months in ``mask``: ``col@2014-01..2014-12``."""
    idx = np.flatnonzero(mask)
    return f"{column}@{months[idx[0]]:%Y-%m}..{months[idx[-1]]:%Y-%m}"


@dataclass
class Ensemble:
    """Simulated monthly indicators of one scenario: column -> (members, months), and per-member totals."""

    name: str
    months: pd.DatetimeIndex
    columns: Mapping[str, np.ndarray]
    focal: tuple[str, str]
    seeds: np.ndarray
    scenario_hash: str = ""
    emitted: list[tuple[str, pd.Timestamp]] = field(default_factory=list)  # (type, month) scheduled by the scenario
    base_seed: int | None = None   # the seed the replicate seeds derive from, where known
    totals: Totals | None = None   # window totals stored for every member (a results folder), by total_key
    series_members: int | None = None   # members whose monthly series ``columns`` holds (None: all of them)
    scheduled: Mapping[str, np.ndarray] = field(default_factory=dict)   # type -> (members, months) scheduled events
    predicted: frozenset[str] | None = None   # types an unscheduled channel produces; None: every events.* type

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    @property
    def sampled(self) -> bool:
        """Whether ``columns`` holds only the first ``series_members`` of the members (figures say so)."""
        return self.series_members is not None and self.series_members < self.n_members

    def event_types(self) -> set[str]:
        """Types the model produces at all (an ``events.TYPE`` column)."""
        return {c.split(".", 1)[1] for c in self.columns if c.startswith("events.") and c != "events.total"}

    def predicted_types(self) -> set[str]:
        """Types the model produces from channels the scenario does not schedule."""
        types = self.event_types()
        return types if self.predicted is None else types & set(self.predicted)

    def scheduled_count(self, typ: str, mask: np.ndarray) -> np.ndarray:
        """Per member: scheduled events of a type over the masked months (zeros when none)."""
        if typ not in self.scheduled:
            return np.zeros(self.n_members)
        return self.window_total(SCHEDULED + typ, mask)

    def predicted_count(self, typ: str, mask: np.ndarray) -> np.ndarray:
        """Per member: events of a type over the masked months that no schedule put there."""
        return self.window_total(f"events.{typ}", mask) - self.scheduled_count(typ, mask)

    @classmethod
    def from_run(cls, out) -> Ensemble:
        """The ensemble of a finished run (a ``RunOutput``), every indicator column included."""
        cp = out.result.compiled
        cols = {name: np.asarray(fn(out.result), dtype=float) for name, fn in indicator_columns(cp).items()}
        sc = out.loaded.scenario
        emitted = [(e.type, pd.Timestamp(ev.date + "-01")) for ev in sc.timeline for e in ev.emits
                   if set(e.actors) == set(sc.meta.focal)]
        sched, predicted = _scheduled_of(cp, out.result)
        return cls(sc.meta.name, month_index_values(cp), cols, tuple(sc.meta.focal), out.result.seeds,
                   out.loaded.hash, emitted, out.base_seed, scheduled=sched, predicted=predicted)

    @classmethod
    def from_result(cls, name: str, result, needed: set[str], columns: dict | None = None) -> Ensemble:
        """The ``needed`` columns of an engine result: what sweeps and calibration measure runs with."""
        cp = result.compiled
        columns = columns or indicator_columns(cp)
        sched, predicted = _scheduled_of(cp, result)
        # a run stopped early (a calibration's particles) ends where it stopped: what asks for a later month
        # finds it outside the run rather than reading zeros
        n = result.months_run or cp.n_months
        return cls(name, month_index_values(cp)[:n],
                   {c: np.asarray(columns[c](result), dtype=float)[:, :n] for c in needed},
                   tuple(cp.states[i] for i in cp.focal), result.seeds,
                   scheduled={t: a[:, :n] for t, a in sched.items()}, predicted=predicted)

    @classmethod
    def from_folder(cls, folder: str | Path) -> Ensemble:
        """A run's results folder, its files first checked against the manifest's hashes (sim.core.results);
        nothing is loaded until it is asked for."""
        folder = Path(folder)
        manifest = read_manifest(folder)
        try:
            if "tables" not in manifest:
                manifest = _single_file_layout(folder, manifest)
            return cls.from_manifest(folder, manifest)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError, OSError) as exc:
            # the hashes match, so the manifest itself was edited to fit: still one line, never a traceback
            raise UserError(f"not a readable results folder of 'run' ({type(exc).__name__}: {exc})",
                            file=str(folder)) from None

    @classmethod
    def from_manifest(cls, folder: Path, manifest: dict) -> Ensemble:
        """A results folder as its manifest describes it (``from_folder`` checks the manifest first)."""
        months = pd.date_range(manifest["period"][0] + "-01", manifest["period"][1] + "-01", freq="MS")
        tables = manifest["tables"]
        columns = FolderColumns(folder, tables["indicators"], manifest["columns"], manifest["series_replicates"],
                                len(months))
        scenario = json.loads((folder / "scenario.resolved.json").read_text())
        focal = tuple(manifest["focal"])
        sched, predicted = channel_split([(t, a.split(";"), o) for t, a, o in manifest["channels"]], focal)
        return cls(manifest["scenario"], months, columns, focal,
                   _seeds(folder, manifest), manifest.get("scenario_hash", ""),
                   emitted_events(scenario, focal), manifest.get("base_seed"),
                   FolderTotals(folder, tables["replicates"], manifest["totals"]), manifest["series_replicates"],
                   FolderScheduled(folder, tables["events"], sorted(sched), focal, manifest["series_replicates"],
                                   months), predicted)

    def _mask(self, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray | None:
        """Months overlapping [start, end]; None unless the whole period lies inside the run."""
        first, last = self.months[0], self.months[-1] + pd.offsets.MonthEnd(0)
        if start < first or end > last:
            return None
        m_end = self.months + pd.offsets.MonthEnd(0)
        return np.asarray((m_end >= start) & (self.months <= end))

    def window_total(self, column: str, mask: np.ndarray) -> np.ndarray:
        """Per member: the sum of ``column`` over the months in ``mask``, added in order from the first.

        Added month by month in order, so a member's total does not depend on
        what ran beside it; a results folder's stored total is this same sum.
        """
        key = total_key(column, self.months, mask)
        stored = self.totals(key) if self.totals is not None else None
        if stored is not None:
            return stored
        if self.sampled:
            raise UserError(f"{self.name}: the run stored the monthly series of {self.series_members} of its "
                            f"{self.n_members} replicates and no total {key} for all of them (it was scored "
                            "against another record); rerun it with this record, or with --series all")
        series = self.scheduled[column[len(SCHEDULED):]] if column.startswith(SCHEDULED) else self.columns[column]
        return ordered_sum(series[:, mask])

    def period_total(self, column: str, start, end, rate: bool) -> np.ndarray | None:
        """Per member: the sum over the period's months (annual rates divided by 12 first)."""
        if column not in self.columns:
            return None
        mask = self._mask(pd.Timestamp(start), pd.Timestamp(end))
        if mask is None or not mask.any():
            return None
        return self.window_total(column, mask) / (12.0 if rate else 1.0)


def _seeds(folder: Path, manifest: dict) -> np.ndarray:
    parts = manifest["tables"]["replicates"]
    return read_column(folder, parts, "seed") if parts else np.asarray(manifest["seeds"], dtype=np.int64)


def _single_file_layout(folder: Path, manifest: dict) -> dict:
    """A folder of the earlier layout (one indicators.parquet and one events.parquet, every replicate's series,
    seeds in the manifest) described as the parts of the streamed layout, so that one reader reads both."""
    import pyarrow.parquet as pq
    names = pq.read_schema(folder / "indicators.parquet").names
    return {**manifest, "tables": {"indicators": ["indicators.parquet"], "events": ["events.parquet"],
                                   "replicates": []},
            "columns": [c for c in names if c not in ("replicate", "seed", "month", "point")],
            "series_replicates": len(manifest["seeds"]), "totals": []}


def emitted_events(scenario: dict, focal) -> list[tuple[str, pd.Timestamp]]:
    """(type, month) of the focal pair's events the scenario itself schedules (inputs, not predictions)."""
    return [(e["type"], pd.Timestamp(ev["date"] + "-01")) for ev in scenario.get("timeline", [])
            for e in ev.get("emits", []) if set(e["actors"]) == set(focal)]


class FolderColumns(Mapping):
    """The monthly indicator table of a results folder, one column at a time: name -> (members, months).

    A column is read from the Parquet parts when it is asked for; the last few
    are kept, so a figure that reads one column twice reads it once.
    """

    KEEP = 4

    def __init__(self, folder: Path, parts: list[str], names: list[str], members: int, n_months: int):
        self.folder, self.parts, self.names = Path(folder), list(parts), list(names)
        self.members, self.n_months = members, n_months
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.names:
            raise KeyError(name)
        if name not in self._cache:
            if len(self._cache) >= self.KEEP:
                self._cache.pop(next(iter(self._cache)))
            values = read_column(self.folder, self.parts, name).astype(float, copy=False)
            self._cache[name] = values.reshape(self.members, self.n_months)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name) -> bool:
        return name in self.names


class FolderScheduled(Mapping):
    """type -> (members, months) scheduled events of the focal pair, counted from a results folder's events
    (of the members whose series it keeps) when first asked for."""

    def __init__(self, folder: Path, parts: list[str], types: list[str], focal, members: int,
                 months: pd.DatetimeIndex):
        self.folder, self.parts, self.types, self.focal = Path(folder), list(parts), list(types), set(focal)
        self.members, self.months = members, months
        self._arrays: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        arrays = {t: np.zeros((self.members, len(self.months))) for t in self.types}
        for part in self.parts:
            # scheduled events are a few of the millions a sample holds: select them before reading actors
            ev = pd.read_parquet(self.folder / part, columns=["replicate", "date", "type", "actors", "origin"],
                                 filters=[("origin", "in", list(SCHEDULED_ORIGINS))])
            codes, actors = pd.factorize(ev["actors"].astype(str))    # a handful of distinct pairs
            ev = ev[np.array([set(a.split(";")) == self.focal for a in actors], dtype=bool)[codes]]
            for typ, g in ev.groupby("type", observed=True):
                if str(typ) in arrays:
                    rows = g["replicate"].to_numpy()
                    cols = self.months.get_indexer(pd.to_datetime(g["date"]))
                    if (cols < 0).any():
                        raise KeyError("an event dated outside the run's months")
                    np.add.at(arrays[str(typ)], (rows, cols), 1.0)
        return arrays

    def __getitem__(self, typ: str) -> np.ndarray:
        if typ not in self.types:
            raise KeyError(typ)
        if self._arrays is None:
            self._arrays = self._load()
        return self._arrays[typ]

    def __iter__(self) -> Iterator[str]:
        return iter(self.types)

    def __len__(self) -> int:
        return len(self.types)


class FolderTotals:
    """Per-member window totals a run stored for every replicate, read one at a time by key."""

    def __init__(self, folder: Path, parts: list[str], keys: list[str]):
        self.folder, self.parts, self.keys = Path(folder), list(parts), set(keys)

    def __call__(self, key: str) -> np.ndarray | None:
        return read_column(self.folder, self.parts, key) if key in self.keys else None


class ColumnNames(Mapping):
    """Column names without data: an ensemble for a dry run of the scorer, which may ask only for totals."""

    def __init__(self, names):
        self.names = list(names)

    def __getitem__(self, name):
        raise RuntimeError(f"a dry run read the data of column {name}; read it through window_total")

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)

    def __contains__(self, name) -> bool:
        return name in self.names
