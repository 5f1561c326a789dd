"""Run a scenario's replicates and keep everything needed to reproduce them.

This is the Python API behind ``run.py run``; in a notebook::

    from sim import load_scenario, run
    out = run(load_scenario("scenarios/baseline.yaml"), replicates=20)
    out.indicators.head(); out.save("results/baseline")
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.columns import col_dyad, col_trade, events_frame, indicator_columns, indicators_frame
from sim.core.compile import compile_scenario
from sim.core.engine import Engine, EnsembleResult
from sim.core.errors import UserError
from sim.core.loading import LoadedScenario, load_scenario
from sim.core.provenance import package_versions
from sim.core.results import MANIFEST, FolderWriter
from sim.core.seeds import load_samples, replicate_seeds, sample_index
from sim.run.execution import Progress, progress_enabled
from sim.run.memory import check_fits, member_bytes
from sim.run.points import compile_points

FILES = {"indicators": "indicators.parquet", "events": "events.parquet", "summary": "summary.txt",
         "scenario": "scenario.resolved.json"}


@dataclass
class RunOutput:
    loaded: LoadedScenario
    result: EnsembleResult
    base_seed: int
    wall_time_s: float

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.result.seeds]

    @property
    def indicators(self) -> pd.DataFrame:
        return indicators_frame(self.result)

    @property
    def events(self) -> pd.DataFrame:
        return events_frame(self.result)

    def manifest(self, folder: str | Path | None = None) -> dict[str, Any]:
        """Provenance of the run; with the results ``folder``, the record also relative to it (so that a
        folder moved together with its record still finds it)."""
        sc = self.loaded.scenario
        manifest = {
            "scenario": sc.meta.name,
            "scenario_path": str(Path(self.loaded.path).resolve()),
            "scenario_hash": self.loaded.hash,
            "overrides": {k: v for k, v in self.loaded.overrides.items()},
            "period": [sc.meta.start, sc.meta.end],
            "focal": list(sc.meta.focal),
            "record": str(self.loaded.record_path.resolve()) if self.loaded.record_path else None,
            "base_seed": self.base_seed,
            "replicates": len(self.seeds),
            "seeds": self.seeds,
            # every event channel as (type, actors, origin): which events the scenario schedules (scoring)
            "channels": [[ch.type, ";".join(ch.actors), ch.origin] for ch in self.result.compiled.channels],
            "versions": package_versions(),
            "wall_time_s": round(self.wall_time_s, 4),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
        if folder is not None and manifest["record"]:
            manifest["record_relative"] = os.path.relpath(manifest["record"], Path(folder).absolute())
        return manifest

    def write_files(self, folder: str | Path) -> dict[str, Path]:
        """Write indicators.parquet, events.parquet, summary.txt and the resolved scenario (no manifest)."""
        out = Path(folder)
        paths = {name: out / f for name, f in FILES.items()}
        self.indicators.to_parquet(paths["indicators"], index=False)
        self.events.to_parquet(paths["events"], index=False)
        paths["summary"].write_text(self.summary() + "\n")
        paths["scenario"].write_text(json.dumps(self.loaded.scenario.model_dump(mode="json"), indent=1) + "\n")
        return paths

    def save(self, out_dir: str | Path, force: bool = False) -> dict[str, Path]:
        """Write the files and manifest.json into ``out_dir`` as one step (see sim.core.results): a folder
        already there is replaced whole, or kept whole if this is interrupted."""
        with FolderWriter(out_dir, force=force) as w:
            self.write_files(w.tmp)
            w.commit(self.manifest(out_dir))
        out = Path(out_dir)
        return {**{name: out / f for name, f in FILES.items()}, "manifest": out / MANIFEST}

    def summary(self) -> str:
        return summarise(self)


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
    """Compiled points and each member's point; with a sample, members draw their parameters from it."""
    if samples is None and loaded.posterior_path is not None:
        samples = load_samples(loaded.posterior_path)
    if samples is None:
        return compile_scenario(loaded), None
    idx = [sample_index(samples, s) for s in seeds]
    rows = sorted(set(idx))
    params = [c for c in samples.columns if c != "weight"]
    values = np.array([[float(samples.iloc[r][p]) for p in params] for r in rows], dtype=float).reshape(len(rows), -1)
    cp, _ = compile_points(loaded.path, params, values, base_overrides=loaded.overrides)
    where = {r: k for k, r in enumerate(rows)}
    return cp, np.array([where[i] for i in idx], dtype=int)


def run(scenario: LoadedScenario | str | Path, replicates: int | None = None, seed: int | None = None,
        overrides: dict[str, Any] | None = None, samples: pd.DataFrame | None = None,
        progress: bool | None = None) -> RunOutput:
    """Run ``replicates`` members of a scenario; replicate seeds derive from ``seed``.

    With ``samples`` (or a scenario whose ``meta.posterior`` names one) each
    replicate draws its parameter values from that weighted sample. ``progress``
    reports the months simulated (default: on in the CLI, off elsewhere).
    """
    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario, overrides)
    if isinstance(scenario, LoadedScenario) and overrides:
        loaded = load_scenario(scenario.path, {**scenario.overrides, **overrides})
    n = loaded.scenario.meta.replicates if replicates is None else replicates
    base = loaded.scenario.meta.seed if seed is None else seed
    t0 = time.perf_counter()
    seeds = replicate_seeds(base, n)
    cp, points = compile_members(loaded, seeds, samples)
    check_fits(n * member_bytes(cp), f"{n:,} replicates of {len(cp.months)} months",
               "ask for fewer replicates (--replicates, or meta.replicates)")
    engine = Engine(cp, seeds, points)
    with Progress(cp.n_months, enabled=progress_enabled(progress), unit="month",
                  label=f"{loaded.scenario.meta.name}: {n} replicates") as bar:
        while not engine.done:       # Engine.run(), one month at a time so that progress can be shown
            engine.step()
            bar.update()
    return RunOutput(loaded, engine.result(), base, time.perf_counter() - t0)


def _band(x: np.ndarray, digits: int = 1) -> str:
    lo, med, hi = np.percentile(x, [5, 50, 95])
    return f"{med:8.{digits}f}  [{lo:7.{digits}f} – {hi:7.{digits}f}]"


def summarise(out: RunOutput) -> str:
    """A short, plain-text account of the ensemble for the focal pair."""
    res, cp = out.result, out.result.compiled
    sc = out.loaded.scenario
    a, b = sc.meta.focal
    cols = indicator_columns(cp)
    years = np.array([int(m[:4]) for m in cp.months])
    lines = [f"scenario {sc.meta.name} ({sc.meta.start} – {sc.meta.end}), {res.n_members} replicates, "
             f"base seed {out.base_seed}, hash {out.loaded.hash[:12]}, {out.wall_time_s:.2f} s",
             f"focal pair: {a}–{b}     median  [90% band] across replicates"]
    trade = cols.get(col_trade(a, b))
    if trade is not None:
        series = trade(res) / 12.0   # annual rate -> flow in the month
        lines.append(f"trade {a}–{b}, bn USD in the year:")
        every = sorted(set(years))[:: max(1, len(set(years)) // 6)]
        for y in dict.fromkeys(every + [years[-1]]):        # the last year once, even when the step lands on it
            lines.append(f"  {y}: {_band(series[:, years == y].sum(axis=1))}")
    for d in ((a, b), (b, a)):
        fn = cols.get(col_dyad("trust", *d))
        if fn is not None:
            tr = fn(res)
            lines.append(f"trust {d[0]}>{d[1]}: start {np.median(tr[:, 0]):.2f}, end {_band(tr[:, -1], 2).strip()}")
    for name in sorted(c for c in cols if c.startswith("arms_contracts.")):
        total = cols[name](res).sum(axis=1)
        lines.append(f"{name} over the period, bn USD: {_band(total).strip()}")
    ev = cols["events.total"](res)
    n_years = len(cp.months) / 12.0
    lines.append(f"events between {a} and {b} per year: {_band(ev.sum(axis=1) / n_years).strip()}")
    per_type = {k.split('.', 1)[1]: np.median(fn(res).sum(axis=1)) / n_years
                for k, fn in cols.items() if k.startswith("events.") and k != "events.total"}
    lines.append("  median per year by type: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                           sorted(per_type.items(), key=lambda kv: -kv[1])))
    return "\n".join(lines)
