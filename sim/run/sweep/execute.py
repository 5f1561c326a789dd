"""Running a sweep: chunks of points as ensembles, written as they finish, resumable.

A chunk is the unit of work, of writing and of resuming. A chunk that fails
as a whole is rerun point by point, so that only the bad points fail; a
results folder remembers what it holds (``manifest.json``), so that a second
run with the same command finishes the first instead of mixing two sweeps.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.columns import indicator_columns, month_index_values
from sim.core.errors import UserError
from sim.core.files import atomic_write, remove_stale
from sim.core.provenance import package_versions
from sim.run.execution import Progress, completed, open_executor, resolve_workers
from sim.run.memory import WORKER_BYTES, check_fits, member_bytes
from sim.run.points import compile_points, run_points
from sim.run.sweep.designs import Plan, design_size, make_plan
from sim.run.sweep.outputs import fit_targets, fit_values, output_values
from sim.run.sweep.results import MANIFEST, RUNS_DIR, SERIES_DIR, part_name, read_manifest, read_part
from sim.run.sweep.spec import FIT_COLUMNS, LoadedSweep, OutputSpec, check_against_scenario

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
    fit_targets: tuple = ()   # sim.evidence.targets.Target: the record's evidence, when the sweep asks for fit


def _run_points(task: ChunkTask, idx: list[int]) -> tuple[dict, pd.DataFrame | None]:
    cp, _ = compile_points(task.base, task.paths, task.values[idx])
    result = run_points(cp, task.seeds[idx])
    cols = indicator_columns(cp)
    values = output_values(result, task.outputs, cols)
    if task.fit_targets:
        values.update(fit_values(result, task.fit_targets, cols))
    series = _series(task, idx, result, cols) if task.keep_series else None
    return values, series


def _series(task: ChunkTask, idx: list[int], result, cols: dict) -> pd.DataFrame:
    """The monthly series of the columns the outputs read, one row per run and month."""
    cp = result.compiled
    R, T = task.seeds.shape[1], cp.n_months
    data = {"point": np.repeat(np.asarray(task.point_ids)[idx], R * T),
            "replicate": np.tile(np.repeat(np.arange(R), T), len(idx)),
            "month": np.tile(month_index_values(cp).values, len(idx) * R)}
    for name in dict.fromkeys(o.column for o in task.outputs):
        data[name] = np.asarray(cols[name](result), dtype=float).reshape(-1)
    return pd.DataFrame(data)


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


# ---------------------------------------------------------------- the results folder

def _identity(sw: LoadedSweep, plan: Plan, seed: int) -> dict:
    return {"sweep_hash": sw.file_hash, "base_scenario_hash": sw.base_hash, "seed": seed,
            "replicates": plan.replicates, "n_points": plan.n_points, "n_chunks": len(plan.chunks)}


def _check_resume(out: Path, identity: dict) -> None:
    old = read_manifest(out)
    before = old["identity"]
    if before.get("sweep_hash") != identity["sweep_hash"]:
        raise UserError(f"{out} holds results of a different sweep file (hash {str(before.get('sweep_hash'))[:12]}, "
                        f"this file {identity['sweep_hash'][:12]}); use another --out or remove that folder")
    for key, what in (("base_scenario_hash", "the base scenario has changed since"),
                      ("seed", "--seed differs from"), ("replicates", "--replicates differs from"),
                      ("n_points", "the design differs from"), ("n_chunks", "the chunking differs from")):
        if before.get(key) != identity[key]:
            raise UserError(f"{out}: cannot resume, {what} the first run ({key}: {before.get(key)} then, "
                            f"{identity[key]} now); use another --out or remove that folder")


def _prepare_folder(out: Path, identity: dict, keep_series: bool) -> None:
    """Create the folder, or check that what it holds is this sweep's; clear what a killed writer left."""
    (out / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    if keep_series:
        (out / SERIES_DIR).mkdir(exist_ok=True)
    if (out / MANIFEST).exists():
        _check_resume(out, identity)
    elif any((out / RUNS_DIR).glob("part-*.parquet")):
        raise UserError(f"{out} holds chunk files but no {MANIFEST}; use another --out or remove that folder")
    for d in (out, out / RUNS_DIR, out / SERIES_DIR):
        remove_stale(d)


def _write_manifest(manifest: dict, out: Path) -> None:
    atomic_write(out / MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n"))


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


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
        "versions": package_versions(),
        "started": _now(),
        "complete": False,
        "command": " ".join(sys.argv),
    }


# ---------------------------------------------------------------- running a sweep

ROW_BYTES = 120   # a run's row in the parent: ids, seed, status and error text, parameters and outputs beside


def check_sweep_memory(sw: LoadedSweep, replicates: int, workers: int) -> None:
    """Refuse, before the design is even built, a sweep whose points, seeds and chunks cannot fit in memory."""
    from sim.core.compile import compile_scenario
    from sim.core.loading import load_scenario
    n = design_size(sw.spec)
    runs = n * replicates
    chunk = max(sw.spec.chunk_runs // replicates, 1) * replicates
    per_member = member_bytes(compile_scenario(load_scenario(sw.base)))
    cols = len(sw.spec.parameters) + len(sw.spec.outputs)
    need = (runs * (2 * 8 + ROW_BYTES + 8 * cols) + n * 8 * len(sw.spec.parameters)
            + workers * (WORKER_BYTES + chunk * per_member))
    check_fits(need, f"{n:,} design points x {replicates:,} replicates ({runs:,} runs, chunks of {chunk:,} runs "
                     f"on {workers} worker(s))", "use fewer points, replicates, workers or a smaller chunk_runs",
               {"file": str(sw.path)})


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


def _tasks(sw: LoadedSweep, plan: Plan, done: set[int]) -> list[ChunkTask]:
    targets = fit_targets(sw) if sw.spec.fit else ()
    return [ChunkTask(c, str(sw.base.resolve()), tuple(sw.param_paths), tuple(range(a, b)), plan.values[a:b],
                      plan.seeds[a:b], tuple(sw.spec.outputs), sw.spec.keep_series, targets)
            for c, (a, b) in enumerate(plan.chunks) if c not in done]


def _run_tasks(tasks: list[ChunkTask], out: Path, bar: Progress, workers: int, scheduler: str | None,
               client) -> None:
    """Run the chunks, writing each as it finishes (runs last: its file marks the chunk done)."""
    with open_executor(workers, scheduler, client, needed=bool(tasks)) as executor:
        try:
            for chunk, runs, series in completed(executor, run_chunk, tasks):
                if series is not None:
                    atomic_write(out / SERIES_DIR / part_name(chunk), lambda p, s=series: s.to_parquet(p, index=False))
                atomic_write(out / RUNS_DIR / part_name(chunk), lambda p, r=runs: r.to_parquet(p, index=False))
                bar.update(len(runs))
        finally:
            bar.close()


def run_sweep(sw: LoadedSweep, out: str | Path, *, workers: int | None = None, scheduler: str | None = None,
              client=None, seed: int | None = None, replicates: int | None = None,
              progress: bool = True) -> SweepOutcome:
    """Run (or finish) a sweep into ``out``; chunks already written there are kept, not rerun."""
    t0 = time.perf_counter()
    if not sw.base_hash:
        check_against_scenario(sw)
    seed = sw.spec.seed if seed is None else seed
    check_sweep_memory(sw, sw.spec.replicates if replicates is None else replicates,
                       1 if (client or scheduler) else resolve_workers(workers))
    plan = make_plan(sw, seed, replicates)
    out = Path(out)
    identity = _identity(sw, plan, seed)
    _prepare_folder(out, identity, sw.spec.keep_series)
    manifest = _manifest(sw, plan, seed, identity)
    _write_manifest(manifest, out)
    done = {int(read_part(p, manifest)["chunk"].iloc[0]) for p in sorted((out / RUNS_DIR).glob("part-*.parquet"))}
    tasks = _tasks(sw, plan, done)
    total = plan.n_points * plan.replicates
    bar = Progress(total, total - sum(len(t.point_ids) for t in tasks) * plan.replicates, enabled=progress)
    workers = resolve_workers(workers)
    _run_tasks(tasks, out, bar, workers, scheduler, client)
    parts = sorted((out / RUNS_DIR).glob("part-*.parquet"))
    status = pd.concat([pd.read_parquet(p, columns=["status"]) for p in parts])
    ok = int((status["status"] == "ok").sum())
    outcome = SweepOutcome(out, len(status), ok, len(status) - ok, len(tasks), len(done), time.perf_counter() - t0)
    manifest.update(complete=True, finished=_now(), counts={"runs": outcome.n_runs, "ok": ok, "failed": outcome.failed},
                    last_session={"chunks_run": len(tasks), "chunks_already_done": len(done),
                                  "wall_time_s": round(outcome.wall_time_s, 3),
                                  "executor": "dask" if (client or scheduler) else f"processes:{workers}"})
    _write_manifest(manifest, out)
    return outcome
