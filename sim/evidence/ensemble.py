"""An ensemble of simulated runs as scoring and figures see it: monthly columns and per-member window totals.

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
from sim.core.folder import read_column, verified_manifest
from sim.core.numerics import ordered_sum

Totals = Callable[[str], "np.ndarray | None"]


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

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    @property
    def sampled(self) -> bool:
        """Whether ``columns`` holds only the first ``series_members`` of the members (figures say so)."""
        return self.series_members is not None and self.series_members < self.n_members

    @classmethod
    def from_run(cls, out) -> Ensemble:
        """The ensemble of a finished run (a ``RunOutput``), every indicator column included."""
        cp = out.result.compiled
        cols = {name: np.asarray(fn(out.result), dtype=float) for name, fn in indicator_columns(cp).items()}
        sc = out.loaded.scenario
        emitted = [(e.type, pd.Timestamp(ev.date + "-01")) for ev in sc.timeline for e in ev.emits
                   if set(e.actors) == set(sc.meta.focal)]
        return cls(sc.meta.name, month_index_values(cp), cols, tuple(sc.meta.focal), out.result.seeds,
                   out.loaded.hash, emitted, out.base_seed)

    @classmethod
    def from_result(cls, name: str, result, needed: set[str], columns: dict | None = None) -> Ensemble:
        """The ``needed`` columns of an engine result: what sweeps and calibration measure runs with."""
        cp = result.compiled
        columns = columns or indicator_columns(cp)
        return cls(name, month_index_values(cp), {c: np.asarray(columns[c](result), dtype=float) for c in needed},
                   tuple(cp.states[i] for i in cp.focal), result.seeds)

    @classmethod
    def from_folder(cls, folder: str | Path) -> Ensemble:
        """A run's results folder, checked against its manifest; nothing is loaded until it is asked for."""
        folder = Path(folder)
        return cls.from_manifest(folder, verified_manifest(folder))

    @classmethod
    def from_manifest(cls, folder: Path, manifest: dict) -> Ensemble:
        """A results folder as its manifest describes it (``from_folder`` checks the manifest first)."""
        months = pd.date_range(manifest["period"][0] + "-01", manifest["period"][1] + "-01", freq="MS")
        tables = manifest["tables"]
        columns = FolderColumns(folder, tables["indicators"], manifest["columns"], manifest["series_replicates"],
                                len(months))
        scenario = json.loads((folder / "scenario.resolved.json").read_text())
        focal = tuple(manifest["focal"])
        return cls(manifest["scenario"], months, columns, focal,
                   read_column(folder, tables["replicates"], "seed"), manifest.get("scenario_hash", ""),
                   emitted_events(scenario, focal), manifest.get("base_seed"),
                   FolderTotals(folder, tables["replicates"], manifest["totals"]), manifest["series_replicates"])

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
        return ordered_sum(self.columns[column][:, mask])

    def period_total(self, column: str, start, end, rate: bool) -> np.ndarray | None:
        """Per member: the sum over the period's months (annual rates divided by 12 first)."""
        if column not in self.columns:
            return None
        mask = self._mask(pd.Timestamp(start), pd.Timestamp(end))
        if mask is None or not mask.any():
            return None
        return self.window_total(column, mask) / (12.0 if rate else 1.0)


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
