"""Run a scenario's replicates and keep everything needed to reproduce them.

This is the Python API behind ``run.py run``; in a notebook::

    from sim import load_scenario, run
    out = run(load_scenario("scenarios/baseline.yaml"), replicates=20)
    out.indicators.head(); out.save("results/baseline")

``run`` holds every replicate in memory; ``run.py run`` streams them into the
results folder in chunks instead (:mod:`sim.run.stream`), so that its memory
does not grow with the number of replicates.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.columns import events_frame, indicator_columns, indicators_frame
from sim.core.compile import compile_scenario
from sim.core.engine import Engine, EnsembleResult
from sim.core.errors import UserError
from sim.core.loading import LoadedScenario, load_scenario
from sim.core.results import MANIFEST, FolderWriter
from sim.core.seeds import load_samples, replicate_seeds, sample_index
from sim.evidence.ensemble import Ensemble
from sim.run.execution import Progress, progress_enabled
from sim.run.memory import check_fits, member_bytes
from sim.run.points import compile_points
from sim.run.results import EVENTS, INDICATORS, REPLICATES, RunTables, run_manifest
from sim.run.summary import summarise


@dataclass
class RunOutput:
    loaded: LoadedScenario
    result: EnsembleResult
    base_seed: int
    wall_time_s: float
    sample_rows: np.ndarray | None = None    # the parameter-sample row each replicate drew, if any

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.result.seeds]

    @property
    def indicators(self) -> pd.DataFrame:
        return indicators_frame(self.result)

    @property
    def events(self) -> pd.DataFrame:
        return events_frame(self.result)

    def manifest(self, folder: str | Path = ".") -> dict[str, Any]:
        """What ``save`` records about the run (paths relative to ``folder``, and absolute)."""
        cols = list(indicator_columns(self.result.compiled))
        return run_manifest(self.loaded, Path(folder), base_seed=self.base_seed, seeds=self.result.seeds,
                            series=len(self.seeds), columns=cols,
                            channels=self.result.compiled.channels, totals=[], tables={}, chunk=len(self.seeds),
                            wall_time_s=self.wall_time_s, sample=_sample_name(self.loaded, self.sample_rows))

    def save(self, out_dir: str | Path, force: bool = False) -> dict[str, Path]:
        """Write the results folder (docs/results.md) as one step (see sim.core.results): a folder already
        there is replaced whole, or kept whole if this is interrupted; ``force`` replaces one that is not a run's."""
        with FolderWriter(out_dir, force=force) as w:
            tables = RunTables(w.tmp, len(self.seeds), [])
            tables.add(self.result, 0, self.sample_rows)
            (w.tmp / "summary.txt").write_text(self.summary() + "\n")
            write_resolved_scenario(self.loaded, w.tmp)
            w.commit({**self.manifest(w.target), "tables": tables.close()})
        target = w.target
        return {"indicators": target / INDICATORS, "events": target / EVENTS, "replicates": target / REPLICATES,
                "manifest": target / MANIFEST, "summary": target / "summary.txt",
                "scenario": target / "scenario.resolved.json"}

    def summary(self) -> str:
        sc = self.loaded.scenario
        return summarise(Ensemble.from_run(self), (sc.meta.start, sc.meta.end), self.wall_time_s)


def write_resolved_scenario(loaded: LoadedScenario, folder: Path) -> None:
    """The scenario exactly as run (after extends and overrides): what the run's numbers came from."""
    (Path(folder) / "scenario.resolved.json").write_text(
        json.dumps(loaded.scenario.model_dump(mode="json"), indent=1) + "\n")


def _sample_name(loaded: LoadedScenario, sample_rows) -> str | None:
    return str(loaded.posterior_path) if sample_rows is not None and loaded.posterior_path else (
        "given to run()" if sample_rows is not None else None)


def record_of_results(folder: str | Path, manifest: dict) -> Path | None:
    """The record a results folder was scored against: absolute path, else relative to the folder."""
    if not manifest.get("record"):
        return None
    folder, recorded = Path(folder), Path(manifest["record"])
    candidates = [recorded] if recorded.is_absolute() else [folder / recorded, recorded]
    if manifest.get("record_relative"):
        candidates.append(folder / manifest["record_relative"])
    found = next((c for c in candidates if c.is_dir()), None)
    if found is None:
        raise UserError(f"the record this folder was run against is not at {manifest['record']} nor beside it "
                        f"({manifest.get('record_relative', '-')}): pass --record DIR",
                        file=str(folder / "manifest.json"))
    return Path(os.path.normpath(found))


def compile_members(loaded: LoadedScenario, seeds, samples: pd.DataFrame | None = None):
    """(compiled points, each member's point, each member's sample row); without a sample, one point.

    With a sample, each member draws its parameters from a row picked by its own seed.
    """
    if samples is None and loaded.posterior_path is not None:
        samples = load_samples(loaded.posterior_path)
    if samples is None:
        return compile_scenario(loaded), None, None
    idx = np.array([sample_index(samples, s) for s in seeds], dtype=np.int64)
    rows = np.unique(idx)
    params = [c for c in samples.columns if c != "weight"]
    values = samples[params].to_numpy(dtype=float)[rows].reshape(len(rows), -1)
    cp, where = compile_points(loaded.path, params, values, base_overrides=loaded.overrides).single()
    return cp, where[np.searchsorted(rows, idx)], idx


def run(scenario: LoadedScenario | str | Path, replicates: int | None = None, seed: int | None = None,
        overrides: dict[str, Any] | None = None, samples: pd.DataFrame | None = None,
        progress: bool | None = None) -> RunOutput:
    """Run ``replicates`` members of a scenario in memory; replicate seeds derive from ``seed``.

    With ``samples`` (or a scenario whose ``meta.posterior`` names one) each
    replicate draws its parameter values from that weighted sample. ``progress``
    reports the months simulated (default: on in the CLI, off elsewhere). Every
    replicate's arrays are held at once (about 0.33 MB each): for tens of
    thousands of replicates, stream them into a folder with
    :func:`sim.run.stream.stream_run` instead.
    """
    loaded = resolve(scenario, overrides)
    n = loaded.scenario.meta.replicates if replicates is None else replicates
    base = loaded.scenario.meta.seed if seed is None else seed
    t0 = time.perf_counter()
    seeds = replicate_seeds(base, n)
    cp, points, rows = compile_members(loaded, seeds, samples)
    check_fits(n * member_bytes(cp), f"{n:,} replicates of {len(cp.months)} months",
               "ask for fewer replicates (--replicates, or meta.replicates)")
    engine = Engine(cp, seeds, points)
    with Progress(cp.n_months, enabled=progress_enabled(progress), unit="month",
                  label=f"{loaded.scenario.meta.name}: {n} replicates") as bar:
        while not engine.done:       # Engine.run(), one month at a time so that progress can be shown
            engine.step()
            bar.update()
    return RunOutput(loaded, engine.result(), base, time.perf_counter() - t0, rows)


def resolve(scenario: LoadedScenario | str | Path, overrides: dict[str, Any] | None = None) -> LoadedScenario:
    """A loaded scenario, with ``overrides`` applied over any it already has."""
    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario, overrides)
    if isinstance(scenario, LoadedScenario) and overrides:
        loaded = load_scenario(scenario.path, {**scenario.overrides, **overrides})
    return loaded
