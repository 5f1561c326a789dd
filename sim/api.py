"""The notebook face of dyadsim: load, run, compare and plot in a few calls, with pandas tables out.

::

    import dyadsim as ds                      # or: import sim.api as ds
    base = ds.run("baseline", replicates=100, seed=1)       # a bundled example, or a path to a YAML file
    cf = ds.run("no_2014_sanctions", replicates=100, seed=1)
    base.quantiles("trade.russia.china")      # month, q05, q50, q95 (either state order)
    base.plot("trade.china.russia")           # a matplotlib Figure against the record
    ds.compare(base, cf)                      # one row of scores per scenario
    ds.difference(base, cf, "trade.china.russia").plot()   # paired by seed

It adds nothing to the model: every call goes through the same functions the
command line uses, so a notebook and ``dyadsim run`` give identical numbers.
Figures are detached ``Figure`` objects; the notebook's backend is never changed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.bundle import example_scenario, example_scenarios
from sim.core.errors import UserError
from sim.core.loading import LoadedScenario, load_scenario
from sim.evidence.record import Record, load_record
from sim.evidence.scoring import Ensemble, Scorecard, score
from sim.report import figures
from sim.run.runner import RunOutput
from sim.run.runner import run as _run

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class UnknownColumn(UserError, KeyError):
    """A column name that is not an indicator; a KeyError too, so ``except KeyError`` still works."""


def examples() -> list[str]:
    """Names of the bundled example scenarios (``load("baseline")`` etc.)."""
    return list(example_scenarios())


def load(scenario: str | Path | LoadedScenario = "baseline", **overrides: Any) -> LoadedScenario:
    """A validated scenario from a YAML path or a bundled example's name, with dotted-path overrides.

    ``load("baseline", **{"coefficients.trade_diversion": 0.3})`` changes one
    coefficient; the override is recorded in the run's manifest.
    """
    if isinstance(scenario, LoadedScenario):
        return scenario if not overrides else load_scenario(scenario.path, {**scenario.overrides, **overrides})
    path = Path(scenario)
    if not path.exists() and path.suffix == "" and path.parent == Path("."):
        path = example_scenario(str(scenario))
    return load_scenario(path, overrides or None)


def run(scenario: str | Path | LoadedScenario = "baseline", replicates: int | None = None, seed: int | None = None,
        *, progress: bool = False, **overrides: Any) -> Results:
    """Run a scenario's replicates (default: its ``meta.replicates`` and ``meta.seed``)."""
    loaded = load(scenario, **overrides)
    return Results(_run(loaded, replicates=replicates, seed=seed, progress=progress))


def resolve_column(name: str, columns, what: str = "indicator column") -> str:
    """``name`` as one of ``columns``; a pair column in either state order; else a helpful error."""
    if name in columns:
        return name
    parts = name.split(".")
    if len(parts) == 3:
        swapped = ".".join([parts[0], parts[2], parts[1]])
        if swapped in columns:          # only one order exists: the pair's order does not matter
            return swapped
    family = [c for c in columns if c.split(".")[0] == parts[0]]
    near = difflib.get_close_matches(name, list(columns), n=5, cutoff=0.6)
    hint = (f"columns of '{parts[0]}': {', '.join(family)}" if family
            else f"families: {', '.join(sorted({c.split('.')[0] for c in columns}))}")
    raise UnknownColumn(f"unknown {what} '{name}'" + (f"; did you mean {', '.join(near)}?" if near else "")
                        + f" ({hint}; all: Results.columns)")


@dataclass
class Results:
    """One scenario's replicates: tables, quantiles, scores and figures against its record."""

    output: RunOutput
    _record: Record | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.output.loaded.scenario.meta.name

    @property
    def scenario(self) -> LoadedScenario:
        return self.output.loaded

    @cached_property
    def ensemble(self) -> Ensemble:
        return Ensemble.from_run(self.output)

    @property
    def columns(self) -> list[str]:
        """Every indicator column (``trade.A.B`` has its states in sorted order; either order is accepted)."""
        return list(self.ensemble.columns)

    @cached_property
    def indicators(self) -> pd.DataFrame:
        """One row per replicate and month: replicate, seed, month, then every indicator."""
        return self.output.indicators

    @cached_property
    def events(self) -> pd.DataFrame:
        """One row per simulated event (replicate, seed, date, type, ...)."""
        return self.output.events

    @property
    def record(self) -> Record:
        if self._record is None:
            if self.scenario.record_path is None:
                raise UserError(f"scenario '{self.name}' names no record (meta.record)", file=str(self.scenario.path))
            self._record = load_record(self.scenario.record_path)
        return self._record

    def series(self, column: str) -> pd.DataFrame:
        """One column as a table: a month column and one column per replicate seed."""
        col = resolve_column(column, self.ensemble.columns)
        vals = self.ensemble.columns[col]
        table = pd.DataFrame(vals.T, columns=[int(s) for s in self.ensemble.seeds])
        table.insert(0, "month", self.ensemble.months)
        return table

    def quantiles(self, column: str, q=QUANTILES) -> pd.DataFrame:
        """Month by month quantiles across replicates: month, q05, q25, q50, q75, q95."""
        col = resolve_column(column, self.ensemble.columns)
        return quantile_frame(self.ensemble.months, self.ensemble.columns[col], q)

    def score(self, since: str | None = None, until: str | None = None) -> Scorecard:
        """The scorecard against the record (``.series``, ``.events``, ``.milestones`` are DataFrames)."""
        return score(self.ensemble, self.record, _period(since, until))

    def plot(self, column: str | None = None):
        """A fan chart of one column (default: the focal pair's trade) over the recorded figures."""
        col = resolve_column(column, self.ensemble.columns) if column else figures.default_columns(self.ensemble)[0]
        return figures.fan_chart(self.ensemble, col, self._record_or_none())

    def plot_events(self):
        """Simulated events per month beside the recorded chronology."""
        return figures.event_timeline(self.ensemble, self.record)

    def save(self, folder: str | Path) -> dict[str, Path]:
        """The same files as ``dyadsim run --no-plots --no-compare`` writes."""
        return self.output.save(folder)

    def _record_or_none(self) -> Record | None:
        return self.record if self.scenario.record_path is not None else None

    def _repr_html_(self) -> str:
        return (f"<b>{self.name}</b>: {self.ensemble.n_members} replicates, {len(self.ensemble.months)} months, "
                f"base seed {self.output.base_seed}; <code>.indicators</code>, <code>.quantiles(col)</code>, "
                f"<code>.plot(col)</code>, <code>.score()</code>")


def quantile_frame(months: pd.DatetimeIndex, values: np.ndarray, q=QUANTILES) -> pd.DataFrame:
    table = pd.DataFrame(np.quantile(values, q, axis=0).T, columns=[f"q{round(100 * x):02d}" for x in q])
    table.insert(0, "month", months)
    return table


def _period(since: str | None, until: str | None):
    if not (since or until):
        return None
    return (pd.Timestamp(since or "1000-01-01"), pd.Timestamp(until or "9999-12-31"))


def compare(*results: Results, since: str | None = None, until: str | None = None) -> pd.DataFrame:
    """One row per scenario: the scorecard's overall numbers (lower CRPS and ignorance are better)."""
    rows = [{"scenario": r.name, **r.score(since, until).overall()} for r in results]
    return pd.DataFrame(rows).set_index("scenario")


@dataclass
class Difference:
    """``other`` minus ``base``, replicate by replicate (their seeds pair up)."""

    base: Results
    other: Results
    column: str

    @cached_property
    def table(self) -> pd.DataFrame:
        a, b = self.base.ensemble, self.other.ensemble
        return quantile_frame(a.months, b.columns[self.column] - a.columns[self.column])

    def plot(self):
        return figures.difference_chart(self.base.ensemble, self.other.ensemble, [self.column])

    def _repr_html_(self) -> str:
        return self.table._repr_html_()


def difference(base: Results, other: Results, column: str) -> Difference:
    """The counterfactual's effect on ``column``; both runs must share seeds (same seed and replicates)."""
    if not np.array_equal(base.ensemble.seeds, other.ensemble.seeds):
        raise UserError("the two runs do not share seeds: run both with the same seed and replicates")
    return Difference(base, other, resolve_column(column, base.ensemble.columns))


__all__ = ["Results", "Difference", "UnknownColumn", "examples", "load", "run", "compare", "difference",
           "resolve_column"]
