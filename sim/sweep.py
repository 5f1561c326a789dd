"""Parameter sweeps: many scenario variants, each run many times, summarised per run.

A sweep file names a base scenario, the scenario values to vary, a design that
places the parameter points, and the few numbers to keep from every run. The
dynamics are never re-implemented here: each chunk of points is compiled with
``load_scenario`` + ``compile_scenario``, stacked with ``stack_points`` and run
as one ensemble by the engine, so a sweep member is bit-identical to a single
run with the same seed and overrides.

Why chunks: one ensemble per chunk keeps the arrays (about 0.25 MB per member
and month-year) bounded while amortising the per-month Python overhead over
many members; chunks are also the unit of parallel work, of writing and of
resuming. The plan of chunks depends only on the sweep (never on the number of
workers), and every run's seed derives from the sweep seed and its
(point, replicate) index, so results are identical whatever the executor.

Layout of a results folder (see docs/sweeps.md)::

    manifest.json            what was run, by whom, with which versions
    runs/part-00012.parquet  one row per run of chunk 12
    series/part-00012.parquet  monthly series (only with keep_series)
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import hashlib
import itertools
import json
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.core.compile import compile_scenario, stack_points
from sim.core.engine import run_ensemble
from sim.errors import UserError
from sim.core.columns import indicator_columns, month_index_values
from sim.scenario import Month, load_scenario, month_index
from sim.yamlio import Origins, format_path, load_yaml, origin_of, validation_error

RESERVED_COLUMNS = ("point", "replicate", "seed", "chunk", "status", "error", "fit_series", "fit_events")
STATS = ("mean", "sum", "final", "min", "max")
MANIFEST = "manifest.json"
RUNS_DIR = "runs"
SERIES_DIR = "series"


# ---------------------------------------------------------------- schema

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSpec(_Strict):
    """One scenario value to vary: a dotted path and either a range or a list of values."""

    path: str = Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$")
    range: tuple[float, float] | None = None
    values: list[float] | None = Field(default=None, min_length=1)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v):
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"range [lo, hi] needs lo < hi, got [{v[0]}, {v[1]}]")
        return v

    @model_validator(mode="after")
    def _one_of(self):
        if (self.range is None) == (self.values is None):
            raise ValueError("give exactly one of 'range: [lo, hi]' or 'values: [...]'")
        return self


class GridDesign(_Strict):
    method: Literal["grid"]
    levels: int = Field(default=3, ge=2, description="evenly spaced values per range parameter, ends included")


class RandomDesign(_Strict):
    method: Literal["random"]
    points: int = Field(ge=1)


class LhsDesign(_Strict):
    method: Literal["lhs"]
    points: int = Field(ge=1)


class SobolDesign(_Strict):
    method: Literal["sobol"]
    samples: int = Field(ge=2, description="base sample N, a power of two")
    second_order: bool = False

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, v):
        if v & (v - 1):
            raise ValueError(f"Saltelli sampling needs a power of two, got {v} "
                             f"(try {1 << (v - 1).bit_length()})")
        return v


class MorrisDesign(_Strict):
    method: Literal["morris"]
    trajectories: int = Field(ge=2)
    levels: int = Field(default=4, ge=2)

    @field_validator("levels")
    @classmethod
    def _even(cls, v):
        if v % 2:
            raise ValueError("Morris levels must be even")
        return v


Design = Annotated[Union[GridDesign, RandomDesign, LhsDesign, SobolDesign, MorrisDesign],
                   Field(discriminator="method")]
DESIGNS = ("grid", "random", "lhs", "sobol", "morris")


class OutputSpec(_Strict):
    """One number kept per run: a statistic of an indicator column over a window of months."""

    name: str | None = None
    column: str
    stat: Literal["mean", "sum", "final", "min", "max"]
    year: int | None = None
    start: Month | None = None
    end: Month | None = None

    @model_validator(mode="after")
    def _window(self):
        if self.year is not None and (self.start or self.end):
            raise ValueError("give either 'year' or 'start'/'end', not both")
        if self.start and self.end and month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} comes before start {self.start}")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        window = f".{self.year}" if self.year is not None else (
            f".{self.start or ''}..{self.end or ''}" if (self.start or self.end) else "")
        return f"{self.column}.{self.stat}{window}"

    def window(self, months: list[str]) -> np.ndarray:
        """Boolean mask of the months this output looks at."""
        idx = np.array([month_index(m) for m in months])
        if self.year is not None:
            lo, hi = self.year * 12, self.year * 12 + 11
        else:
            lo = month_index(self.start) if self.start else idx[0]
            hi = month_index(self.end) if self.end else idx[-1]
        return (idx >= lo) & (idx <= hi)


class SweepFile(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    scenario: str
    parameters: list[ParameterSpec] = Field(min_length=1)
    design: Design
    replicates: int = Field(default=1, ge=1)
    seed: int = Field(ge=0)
    outputs: list[OutputSpec] = Field(min_length=1)
    keep_series: bool = False
    # Fit of every run to the base scenario's record: fit_series, fit_events (see docs/sweeps.md)
    fit: bool = False
    chunk_runs: int = Field(default=1000, ge=1, description="runs per chunk (whole points; at least one point)")


# ---------------------------------------------------------------- loading

@dataclass
class LoadedSweep:
    spec: SweepFile
    path: Path
    base: Path                 # base scenario, resolved against the sweep file's folder
    origins: Origins
    file_hash: str
    base_hash: str = ""
    months: list[str] = field(default_factory=list)

    @property
    def param_paths(self) -> list[str]:
        return [p.path for p in self.spec.parameters]

    @property
    def problem(self) -> dict:
        """The SALib problem: names and bounds (list-valued parameters use their min and max)."""
        bounds = [list(p.range) if p.range else [min(p.values), max(p.values)] for p in self.spec.parameters]
        return {"num_vars": len(bounds), "names": self.param_paths, "bounds": bounds}

    def where(self, loc: tuple) -> dict:
        file, line = origin_of(self.origins, loc)
        return {"file": file or str(self.path), "line": line, "path": format_path(loc)}


def _sweep_message(err, loc, msg):
    """Design errors: drop pydantic's union tag from the path and name the designs."""
    if len(loc) > 1 and loc[0] == "design" and loc[1] in DESIGNS:
        loc = loc[:1] + loc[2:]
    if err["type"] == "union_tag_invalid":
        msg = f"unknown design '{err['input'].get('method')}'; choose one of {', '.join(DESIGNS)}"
    elif err["type"] == "union_tag_not_found":
        msg = f"design needs 'method: <{'|'.join(DESIGNS)}>'"
    return loc, msg


def load_sweep(path: str | Path, check: bool = True) -> LoadedSweep:
    """Read and validate a sweep file; with ``check``, also try every parameter on the base scenario.

    Checking up front turns a typo in a path, or a range the scenario forbids
    (a trust of 1.2), into one error at the sweep file's line instead of a
    sweep full of failed runs.
    """
    path = Path(path)
    data, origins = load_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("design"), str):
        raise UserError("design is a mapping, e.g. 'design: {method: sobol, samples: 64}'",
                        file=str(path), line=origins[("design",)][1], path="design")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, origins, str(path), _sweep_message) from None
    _check_names(spec, origins, str(path))
    base = Path(os.path.normpath(path.parent / spec.scenario))
    loaded = LoadedSweep(spec, path, base, origins, hashlib.sha256(path.read_bytes()).hexdigest())
    if check:
        _check_against_scenario(loaded)
    return loaded


def _check_names(spec: SweepFile, origins: Origins, file: str) -> None:
    """Cross-field rules, raised at the offending entry's line (pydantic would report the top level)."""

    def fail(loc: tuple, msg: str):
        f, line = origin_of(origins, loc)
        raise UserError(msg, file=f or file, line=line, path=format_path(loc))

    paths = [p.path for p in spec.parameters]
    for i, p in enumerate(paths):
        if p in paths[:i]:
            fail(("parameters", i, "path"), f"parameter '{p}' is listed twice")
    labels = [o.label for o in spec.outputs]
    for i, lab in enumerate(labels):
        if lab in labels[:i] or lab in paths or lab in RESERVED_COLUMNS:
            fail(("outputs", i), f"output name '{lab}' is used twice or clashes with a column; give it a 'name'")
    if spec.design.method in ("lhs", "sobol", "morris"):
        for i, p in enumerate(spec.parameters):
            if p.range is None:
                fail(("parameters", i, "values"), f"the {spec.design.method} design needs 'range: [lo, hi]', "
                                                  "not a list of values")


def _check_against_scenario(sw: LoadedSweep) -> None:
    if not sw.base.exists():
        raise UserError(f"base scenario '{sw.spec.scenario}' not found (looked at {sw.base})", **sw.where(("scenario",)))
    base = load_scenario(sw.base)
    sw.base_hash = base.hash
    cp = compile_scenario(base)
    sw.months = list(cp.months)
    for i, p in enumerate(sw.spec.parameters):
        tried = list(p.range) if p.range else list(p.values)
        for n, v in enumerate(tried):
            try:
                load_scenario(sw.base, {p.path: float(v)})
            except UserError as exc:
                if exc.message.startswith(f"override '{p.path}'"):
                    raise UserError(f"unknown scenario path '{p.path}' (not in {sw.base.name})",
                                    **sw.where(("parameters", i, "path"))) from None
                loc = ("parameters", i, "range" if p.range else "values", n)
                raise UserError(f"{p.path} = {v} is not a valid scenario value: {exc}", **sw.where(loc)) from None
    columns = indicator_columns(cp)
    first, last = month_index(cp.months[0]), month_index(cp.months[-1])
    for i, o in enumerate(sw.spec.outputs):
        if o.column not in columns:
            import difflib
            close = difflib.get_close_matches(o.column, list(columns), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(columns))}"
            raise UserError(f"unknown indicator column '{o.column}'{hint}", **sw.where(("outputs", i, "column")))
        for key in ("start", "end"):
            m = getattr(o, key)
            if m and not first <= month_index(m) <= last:
                raise UserError(f"{m} lies outside the scenario's period {cp.months[0]}..{cp.months[-1]}",
                                **sw.where(("outputs", i, key)))
        if o.year is not None and not first // 12 <= o.year <= last // 12:
            raise UserError(f"year {o.year} lies outside the scenario's period {cp.months[0]}..{cp.months[-1]}",
                            **sw.where(("outputs", i, "year")))


# ---------------------------------------------------------------- designs

def design_points(spec: SweepFile, seed: int | None = None) -> np.ndarray:
    """The (N, D) matrix of parameter values, in point-id order.

    Point counts (D parameters): grid = product over parameters of ``levels``
    (range) or the number of ``values``; random and lhs = ``points``; sobol =
    ``samples * (D + 2)``, or ``samples * (2D + 2)`` with ``second_order``;
    morris = ``trajectories * (D + 1)``.
    """
    seed = spec.seed if seed is None else seed
    d = spec.design
    params = spec.parameters
    problem = {"num_vars": len(params), "names": [p.path for p in params],
               "bounds": [list(p.range) if p.range else [0.0, 1.0] for p in params]}
    if d.method == "grid":
        axes = [np.linspace(p.range[0], p.range[1], d.levels) if p.range else np.asarray(p.values, float)
                for p in params]
        return np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(params))
    if d.method == "random":
        rng = np.random.default_rng(seed)
        cols = [rng.uniform(p.range[0], p.range[1], d.points) if p.range
                else rng.choice(np.asarray(p.values, float), d.points) for p in params]
        return np.column_stack(cols)
    if d.method == "lhs":
        from SALib.sample import latin
        return np.asarray(latin.sample(problem, d.points, seed=seed), dtype=float)
    if d.method == "sobol":
        from SALib.sample import sobol
        return np.asarray(sobol.sample(problem, d.samples, calc_second_order=d.second_order, seed=seed), float)
    if d.method == "morris":
        from SALib.sample import morris
        return np.asarray(morris.sample(problem, d.trajectories, num_levels=d.levels, seed=seed), dtype=float)
    raise AssertionError(d.method)


def run_seed(seed: int, point: int, replicate: int) -> int:
    """Seed of one run: independent streams per (point, replicate), fixed by the sweep seed alone."""
    ss = np.random.SeedSequence(seed, spawn_key=(point, replicate))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))  # fits Parquet's int64


def seed_matrix(seed: int, n_points: int, replicates: int) -> np.ndarray:
    return np.array([[run_seed(seed, p, r) for r in range(replicates)] for p in range(n_points)], dtype=np.int64)


# ---------------------------------------------------------------- one chunk

@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs for one chunk; small and picklable (also for Dask)."""

    chunk: int
    base: str
    paths: tuple[str, ...]
    point_ids: tuple[int, ...]
    values: np.ndarray        # (n, D)
    seeds: np.ndarray         # (n, R)
    outputs: tuple[OutputSpec, ...]
    keep_series: bool
    fit_targets: tuple = ()   # calibrate.Target: the record's evidence, when the sweep asks for fit


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
            # Month by month, not np.sum(axis=1): numpy's pairwise summation groups
            # terms differently for one row than for many, and a member's numbers
            # must not depend on how many members ran beside it.
            total = np.zeros(arr.shape[0])
            for t in range(arr.shape[1]):
                total += arr[:, t]
            out[o.label] = total if o.stat == "sum" else total / arr.shape[1]
    return out


def _run_points(task: ChunkTask, idx: list[int]) -> tuple[dict, pd.DataFrame | None]:
    parts = []
    for i in idx:
        overrides = {p: float(v) for p, v in zip(task.paths, task.values[i])}
        parts.append(compile_scenario(load_scenario(task.base, overrides)))
    cp = stack_points(parts)
    R = task.seeds.shape[1]
    seeds = task.seeds[idx].ravel()
    result = run_ensemble(cp, seeds.astype(np.uint64), np.repeat(np.arange(len(idx)), R))
    cols = indicator_columns(cp)
    values = output_values(result, task.outputs, cols)
    if task.fit_targets:
        values.update(fit_values(result, task.fit_targets, cols))
    series = None
    if task.keep_series:
        T = cp.n_months
        data = {"point": np.repeat(np.asarray(task.point_ids)[idx], R * T),
                "replicate": np.tile(np.repeat(np.arange(R), T), len(idx)),
                "month": np.tile(month_index_values(cp).values, len(idx) * R)}
        for name in dict.fromkeys(o.column for o in task.outputs):
            data[name] = np.asarray(cols[name](result), dtype=float).reshape(-1)
        series = pd.DataFrame(data)
    return values, series


FIT_COLUMNS = ("fit_series", "fit_events")


def fit_values(result, targets, columns: dict) -> dict[str, np.ndarray]:
    """Per run: root mean square distance to the record, for money series (log) and event counts (sqrt).

    The same statistics the calibration uses (``sim.calibrate.statistics``), unscaled:
    fit_series 0.1 means the run's figures are off by about 10% on average.
    """
    from sim.calibrate import row_mean, statistics
    from sim.compare import Ensemble
    needed = {t.column for t in targets}
    ens = Ensemble("sweep", month_index_values(result.compiled),
                   {c: np.asarray(columns[c](result), dtype=float) for c in needed},
                   tuple(result.compiled.states[i] for i in result.compiled.focal), result.seeds)
    stats = statistics(ens, list(targets))
    obs = np.array([t.observed for t in targets])
    out = {}
    for name, kinds in (("fit_series", ("series",)), ("fit_events", ("events",))):
        k = np.array([t.kind in kinds for t in targets])
        out[name] = np.sqrt(row_mean((stats[:, k] - obs[k]) ** 2)) if k.any() else np.full(len(stats), np.nan)
    return out


def fit_targets(sw: "LoadedSweep") -> tuple:
    """The record's evidence the base scenario can be compared with (whole period)."""
    from sim.calibrate import build_targets
    from sim.record import load_record
    base = load_scenario(sw.base)
    if base.record_path is None:
        raise UserError("fit: true needs a base scenario with meta.record", **sw.where(("fit",)))
    cp = compile_scenario(base)
    record = load_record(base.record_path)
    return tuple(build_targets(record, month_index_values(cp), tuple(base.scenario.meta.focal),
                               set(indicator_columns(cp)), None))


def _rows(task: ChunkTask, idx: list[int], values: dict | None, error: str = "") -> pd.DataFrame:
    R = task.seeds.shape[1]
    n = len(idx) * R
    data = {"point": np.repeat(np.asarray(task.point_ids, dtype=np.int64)[idx], R),
            "replicate": np.tile(np.arange(R, dtype=np.int64), len(idx)),
            "seed": task.seeds[idx].ravel().astype(np.int64),
            "chunk": np.full(n, task.chunk, dtype=np.int64)}
    for j, p in enumerate(task.paths):
        data[p] = np.repeat(task.values[idx, j], R)
    for o in task.outputs:
        data[o.label] = values[o.label] if values is not None else np.full(n, np.nan)
    if task.fit_targets:
        for name in FIT_COLUMNS:
            data[name] = values[name] if values is not None else np.full(n, np.nan)
    data["status"] = np.full(n, "ok" if values is not None else "failed", dtype=object)
    data["error"] = np.full(n, error, dtype=object)
    return pd.DataFrame(data)


def run_chunk(task: ChunkTask) -> tuple[int, pd.DataFrame, pd.DataFrame | None]:
    """Run a chunk as one ensemble; if that fails, run its points one by one so only bad points fail."""
    idx = list(range(len(task.point_ids)))
    try:
        values, series = _run_points(task, idx)
        return task.chunk, _rows(task, idx, values), series
    except Exception as exc:  # noqa: BLE001 - a bad point must not stop the sweep
        if len(idx) == 1:
            return task.chunk, _rows(task, idx, None, _describe(exc)), None
    frames, series_parts = [], []
    for i in idx:
        try:
            values, series = _run_points(task, [i])
            frames.append(_rows(task, [i], values))
            if series is not None:
                series_parts.append(series)
        except Exception as exc:  # noqa: BLE001
            frames.append(_rows(task, [i], None, _describe(exc)))
    series = pd.concat(series_parts, ignore_index=True) if series_parts else None
    return task.chunk, pd.concat(frames, ignore_index=True), series


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- plan and results folder

@dataclass
class Plan:
    values: np.ndarray                 # (N, D)
    seeds: np.ndarray                  # (N, R)
    chunks: list[tuple[int, int]]      # [start, stop) point ranges

    @property
    def n_points(self) -> int:
        return len(self.values)

    @property
    def replicates(self) -> int:
        return self.seeds.shape[1]


def make_plan(sw: LoadedSweep, seed: int | None = None, replicates: int | None = None) -> Plan:
    seed = sw.spec.seed if seed is None else seed
    reps = sw.spec.replicates if replicates is None else replicates
    values = design_points(sw.spec, seed)
    per_chunk = max(1, sw.spec.chunk_runs // reps)
    n = len(values)
    chunks = [(s, min(n, s + per_chunk)) for s in range(0, n, per_chunk)]
    return Plan(values, seed_matrix(seed, n, reps), chunks)


def part_name(chunk: int) -> str:
    return f"part-{chunk:05d}.parquet"


def _write_atomic(df: pd.DataFrame, target: Path) -> None:
    """Temp file + os.replace: a chunk file is either complete or absent, even after SIGKILL."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, target)


def _write_json_atomic(obj: dict, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, target)


def _versions() -> dict[str, str]:
    from importlib import metadata

    from sim.runner import package_versions
    out = package_versions()
    for name in ("salib", "dask", "distributed", "tqdm"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _identity(sw: LoadedSweep, plan: Plan, seed: int) -> dict:
    return {"sweep_hash": sw.file_hash, "base_scenario_hash": sw.base_hash, "seed": seed,
            "replicates": plan.replicates, "n_points": plan.n_points, "n_chunks": len(plan.chunks)}


def _check_resume(out: Path, identity: dict) -> None:
    old = json.loads((out / MANIFEST).read_text())
    before = old.get("identity", {})
    if before.get("sweep_hash") != identity["sweep_hash"]:
        raise UserError(f"{out} holds results of a different sweep file (hash {str(before.get('sweep_hash'))[:12]}, "
                        f"this file {identity['sweep_hash'][:12]}); use another --out or remove that folder")
    for key, what in (("base_scenario_hash", "the base scenario has changed since"),
                      ("seed", "--seed differs from"), ("replicates", "--replicates differs from"),
                      ("n_points", "the design differs from"), ("n_chunks", "the chunking differs from")):
        if before.get(key) != identity[key]:
            raise UserError(f"{out}: cannot resume, {what} the first run ({key}: {before.get(key)} then, "
                            f"{identity[key]} now); use another --out or remove that folder")


# ---------------------------------------------------------------- progress

class Progress:
    """Runs done, rate and ETA: a live bar on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, total: int, done: int, enabled: bool = True, every_s: float = 5.0, stream=None):
        self.total, self.done, self.start_done = total, done, done
        self.stream = stream or sys.stderr
        self.t0 = self.last = time.perf_counter()
        self.every_s = every_s
        self.enabled = enabled
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, initial=done, unit="run", file=self.stream, smoothing=0.1)
            except ImportError:
                self.bar = None

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        if self.enabled and (now - self.last >= self.every_s or self.done >= self.total):
            self.last = now
            print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float | None = None) -> str:
        now = now or time.perf_counter()
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        left = self.total - self.done
        eta = f"{left / rate:.0f} s" if rate > 0 else "?"
        return (f"sweep: {self.done}/{self.total} runs ({100.0 * self.done / max(self.total, 1):.0f}%), "
                f"{rate:.0f} runs/s, ETA {eta}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------- running a sweep

@dataclass
class SweepOutcome:
    out: Path
    n_runs: int
    ok: int
    failed: int
    chunks_run: int
    chunks_skipped: int
    wall_time_s: float

    def summary(self) -> str:
        resumed = f", {self.chunks_skipped} chunks already done" if self.chunks_skipped else ""
        return (f"{self.n_runs} runs: {self.ok} ok, {self.failed} failed; {self.chunks_run} chunks run in "
                f"{self.wall_time_s:.1f} s{resumed}; results in {self.out}")


def _ignore_sigint() -> None:
    # The parent handles Ctrl-C (stops submitting, keeps finished chunks); workers just stop with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _executor(workers: int, scheduler: str | None, client):
    if client is not None:
        return client.get_executor(), None
    if scheduler is not None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise UserError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
        try:
            cl = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        return cl.get_executor(), cl
    if workers <= 1:
        return None, None
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_sigint), None


def run_sweep(sw: LoadedSweep, out: str | Path, *, workers: int | None = None, scheduler: str | None = None,
              client=None, seed: int | None = None, replicates: int | None = None,
              progress: bool = True) -> SweepOutcome:
    """Run (or finish) a sweep into ``out``; chunks already written there are kept, not rerun."""
    t0 = time.perf_counter()
    if not sw.base_hash:
        _check_against_scenario(sw)
    seed = sw.spec.seed if seed is None else seed
    plan = make_plan(sw, seed, replicates)
    out = Path(out)
    identity = _identity(sw, plan, seed)
    (out / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    if sw.spec.keep_series:
        (out / SERIES_DIR).mkdir(exist_ok=True)
    if (out / MANIFEST).exists():
        _check_resume(out, identity)
    elif any((out / RUNS_DIR).glob("part-*.parquet")):
        raise UserError(f"{out} holds chunk files but no {MANIFEST}; use another --out or remove that folder")
    for d in (out, out / RUNS_DIR, out / SERIES_DIR):
        for stale in d.glob(".*.tmp-*") if d.exists() else []:
            stale.unlink()
    manifest = _manifest(sw, plan, seed, identity)
    _write_json_atomic(manifest, out / MANIFEST)

    done = {c for c in range(len(plan.chunks)) if (out / RUNS_DIR / part_name(c)).exists()}
    targets = fit_targets(sw) if sw.spec.fit else ()
    tasks = []
    for c, (a, b) in enumerate(plan.chunks):
        if c not in done:
            tasks.append(ChunkTask(c, str(sw.base.resolve()), tuple(sw.param_paths), tuple(range(a, b)),
                                   plan.values[a:b], plan.seeds[a:b], tuple(sw.spec.outputs), sw.spec.keep_series,
                                   targets))
    R = plan.replicates
    total = plan.n_points * R
    bar = Progress(total, total - sum(len(t.point_ids) for t in tasks) * R, enabled=progress)

    def save(result) -> None:
        chunk, runs, series = result
        if series is not None:
            _write_atomic(series, out / SERIES_DIR / part_name(chunk))
        _write_atomic(runs, out / RUNS_DIR / part_name(chunk))   # written last: it marks the chunk done
        bar.update(len(runs))

    workers = (os.cpu_count() or 1) if workers is None else workers
    executor, own_client = _executor(workers, scheduler, client) if tasks else (None, None)
    try:
        if executor is None:
            for task in tasks:
                save(run_chunk(task))
        else:
            futures = [executor.submit(run_chunk, t) for t in tasks]
            try:
                for fut in cf.as_completed(futures):
                    save(fut.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        bar.close()
        if isinstance(executor, cf.ProcessPoolExecutor):
            executor.shutdown(wait=False, cancel_futures=True)
        elif executor is not None and client is None:
            executor.shutdown(wait=False)
        if own_client is not None:
            own_client.close()

    status = pd.concat([pd.read_parquet(p, columns=["status"]) for p in sorted((out / RUNS_DIR).glob("part-*.parquet"))])
    ok = int((status["status"] == "ok").sum())
    outcome = SweepOutcome(out, len(status), ok, len(status) - ok, len(tasks), len(done), time.perf_counter() - t0)
    manifest.update(complete=True, finished=_now(), counts={"runs": outcome.n_runs, "ok": ok, "failed": outcome.failed},
                    last_session={"chunks_run": len(tasks), "chunks_already_done": len(done),
                                  "wall_time_s": round(outcome.wall_time_s, 3),
                                  "executor": "dask" if (client or scheduler) else f"processes:{workers}"})
    _write_json_atomic(manifest, out / MANIFEST)
    return outcome


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _manifest(sw: LoadedSweep, plan: Plan, seed: int, identity: dict) -> dict:
    return {
        "sweep": sw.spec.name,
        "description": sw.spec.description,
        "sweep_file": str(sw.path),
        "base_scenario": str(sw.base),
        "identity": identity,
        "design": sw.spec.design.model_dump(),
        "parameters": [p.model_dump(exclude_none=True) for p in sw.spec.parameters],
        "problem": sw.problem,
        "outputs": [dict(o.model_dump(exclude_none=True), label=o.label) for o in sw.spec.outputs],
        "keep_series": sw.spec.keep_series,
        "seeds": {"sweep_seed": seed, "replicates": plan.replicates,
                  "rule": "SeedSequence(sweep_seed, spawn_key=(point, replicate)).generate_state(1, uint64) >> 1; "
                          "the design is sampled with sweep_seed"},
        "points": plan.n_points,
        "chunks": {"count": len(plan.chunks),
                   "points_per_chunk": plan.chunks[0][1] - plan.chunks[0][0] if plan.chunks else 0},
        "versions": _versions(),
        "started": _now(),
        "complete": False,
        "command": " ".join(sys.argv),
    }


# ---------------------------------------------------------------- reading results

def read_results(folder: str | Path) -> tuple[dict, pd.DataFrame]:
    """Manifest and the runs table of a results folder (rows sorted by point and replicate)."""
    folder = Path(folder)
    if not (folder / MANIFEST).exists():
        raise UserError(f"{folder} is not a sweep results folder (no {MANIFEST})")
    manifest = json.loads((folder / MANIFEST).read_text())
    parts = sorted((folder / RUNS_DIR).glob("part-*.parquet"))
    if not parts:
        raise UserError(f"{folder} has no finished chunks yet")
    runs = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return manifest, runs.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)


def point_means(manifest: dict, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per design point (all of them, in id order): parameter values and outputs averaged
    over the successful replicates; NaN where a point has no successful run."""
    names = manifest["problem"]["names"]
    labels = [o["label"] for o in manifest["outputs"]]
    params = runs.groupby("point")[names].first()
    ok = runs[runs["status"] == "ok"]
    means = ok.groupby("point")[labels].mean()
    table = params.join(means, how="left")
    return table.reindex(pd.RangeIndex(manifest["points"], name="point"))


# ---------------------------------------------------------------- sensitivity

def sensitivity_indices(design: dict, problem: dict, X: np.ndarray, Y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Sobol (S1, ST and their confidence intervals) or Morris (mu*, sigma) indices of one output.

    Takes the design, the points and the outputs directly so that the same
    code can be checked against a function with known indices (Ishigami).
    """
    Y = np.asarray(Y, dtype=float)
    if np.isnan(Y).any():
        raise UserError(f"{int(np.isnan(Y).sum())} of {len(Y)} points have no successful run "
                        "(failed, or the sweep is unfinished); Sobol and Morris indices need every point")
    method = design["method"]
    names = problem["names"]
    if method == "sobol":
        from SALib.analyze import sobol
        res = sobol.analyze(problem, Y, calc_second_order=design.get("second_order", False), seed=seed)
        return pd.DataFrame({"parameter": names, "S1": res["S1"], "S1_conf": res["S1_conf"],
                             "ST": res["ST"], "ST_conf": res["ST_conf"]})
    if method == "morris":
        from SALib.analyze import morris
        res = morris.analyze(problem, np.asarray(X, float), Y, num_levels=design.get("levels", 4), seed=seed)
        return pd.DataFrame({"parameter": names, "mu_star": np.asarray(res["mu_star"]),
                             "mu_star_conf": np.asarray(res["mu_star_conf"]), "mu": np.asarray(res["mu"]),
                             "sigma": np.asarray(res["sigma"])})
    raise UserError(f"sensitivity indices need a sobol or morris sweep; this one used the {method} design "
                    "(use plot-sweep to look at it)")


def sweep_sensitivity(folder: str | Path, outputs: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """Indices for each requested output of a finished sobol/morris sweep (replicates averaged per point)."""
    manifest, runs = read_results(folder)
    labels = [o["label"] for o in manifest["outputs"]]
    for name in outputs or []:
        if name not in labels:
            raise UserError(f"no output '{name}' in this sweep; outputs: {', '.join(labels)}")
    table = point_means(manifest, runs)
    X = table[manifest["problem"]["names"]].to_numpy()
    frames = []
    for name in outputs or labels:
        df = sensitivity_indices(manifest["design"], manifest["problem"], X, table[name].to_numpy(), seed)
        df.insert(0, "output", name)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def ishigami(X: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Test function with known Sobol indices (S1 ~ 0.31, 0.44, 0; ST ~ 0.56, 0.44, 0.24)."""
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


__all__ = ["load_sweep", "run_sweep", "design_points", "run_seed", "read_results", "point_means",
           "sensitivity_indices", "sweep_sensitivity", "output_values", "run_chunk"]
