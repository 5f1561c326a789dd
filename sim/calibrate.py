"""Calibration against history: ABC-SMC over the ensemble engine, with a hindcast split.

Why our own sampler rather than pyabc: pyabc hands particles to the model one
at a time through its samplers (its docs suggest Dask only for simulations
slower than ~100 ms), while the engine here runs a thousand members of the
model in about a second when they come as one array. So proposals are drawn
in batches, each batch is cut into fixed chunks, and each chunk runs as one
ensemble through the same chunk machinery and executors as sweeps (local
processes or a Dask cluster). The algorithm is the standard population Monte
Carlo ABC of Beaumont et al. (2009) / Toni et al. (2009):

* generation 0: sample the prior, simulate, keep the ``particles`` closest;
* generation t: the tolerance is the ``quantile`` of the previous accepted
  distances; propose by resampling the previous population by weight and
  perturbing with a Gaussian kernel of twice its weighted covariance (in the
  priors' working space: log for log-uniform and log-normal priors); accept a
  proposal within the tolerance; weight = prior / mixture of kernels.

Distance: each summary statistic is scaled by its median absolute deviation
under the prior predictive (generation 0, kept fixed afterwards so that
tolerances of different generations are comparable), then the root mean
square over statistics. Statistics: log of each recorded money figure
(log1p where a period can have none), the growth rates in percent / 10, and
the square root of each recorded event count per chronology window and type
(a variance-stabilised Poisson count). Only evidence inside the calibration
period enters; everything after it is kept for the hindcast.

Reproducibility and resume: proposal randomness and every simulation seed
derive from the calibration seed and (generation, batch, index), chunks never
depend on the number of workers, and each finished generation is written
atomically, so a stopped calibration resumes from its last generation and
produces the same result as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import UserError
from sim.scenario import Month, load_scenario
from sim.yamlio import Origins, format_path, load_yaml, origin_of, validation_error

# ---------------------------------------------------------------- priors


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prior(_Strict):
    """A prior over one parameter. Log priors are handled in log space (the working space)."""

    path: str
    dist: Literal["uniform", "loguniform", "normal", "lognormal"]
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _shape(self):
        need = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "normal": ("mean", "sd"),
                "lognormal": ("mean", "sd")}[self.dist]
        for k in need:
            if getattr(self, k) is None:
                raise ValueError(f"a {self.dist} prior needs '{k}'")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        return self

    @property
    def log(self) -> bool:
        return self.dist in ("loguniform", "lognormal")

    def bounds_z(self) -> tuple[float, float]:
        lo = -np.inf if self.low is None else (math.log(self.low) if self.log else self.low)
        hi = np.inf if self.high is None else (math.log(self.high) if self.log else self.high)
        if self.log and self.low is not None and self.low <= 0:
            lo = -np.inf
        return lo, hi

    def sample_z(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lo, hi = self.bounds_z()
        if self.dist in ("uniform", "loguniform"):
            return rng.uniform(lo, hi, n)
        out = np.empty(0)
        while len(out) < n:             # truncated normal by rejection (bounds are optional)
            z = rng.normal(self.mean, self.sd, 2 * n)
            out = np.concatenate([out, z[(z >= lo) & (z <= hi)]])
        return out[:n]

    def logpdf_z(self, z: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds_z()
        inside = (z >= lo) & (z <= hi)
        if self.dist in ("uniform", "loguniform"):
            val = np.full(z.shape, -math.log(hi - lo))
        else:
            val = -0.5 * ((z - self.mean) / self.sd) ** 2     # normalising constant cancels in weights
        return np.where(inside, val, -np.inf)

    def to_x(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.log else z


class Targets(_Strict):
    series: bool = True
    events: bool = True


class Split(_Strict):
    calibrate_until: Month | None = None   # evidence that ends after this month is held out


class Budget(_Strict):
    particles: int = Field(default=200, ge=10)
    generations: int = Field(default=5, ge=1)
    quantile: float = Field(default=0.5, gt=0.0, lt=1.0)
    initial_factor: int = Field(default=3, ge=1, description="prior draws in generation 0 per particle")
    max_simulations: int = Field(default=50_000, ge=100)
    replicates: int = Field(default=1, ge=1, description="runs per particle, distance averaged")


class CalibrationFile(_Strict):
    name: str
    description: str = ""
    scenario: str
    record: str | None = None
    parameters: list[Prior] = Field(min_length=1)
    targets: Targets = Targets()
    split: Split = Split()
    budget: Budget = Budget()
    seed: int = Field(default=0, ge=0)
    chunk_runs: int = Field(default=500, ge=1)


@dataclass
class LoadedCalibration:
    spec: CalibrationFile
    path: Path
    base: Path
    record_path: Path
    origins: Origins
    file_hash: str

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.spec.parameters]

    @property
    def until(self) -> pd.Timestamp | None:
        u = self.spec.split.calibrate_until
        return None if u is None else pd.Timestamp(u + "-01") + pd.offsets.MonthEnd(0)


def load_calibration(path: str | Path) -> LoadedCalibration:
    path = Path(path)
    data, origins = load_yaml(path)
    try:
        spec = CalibrationFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, origins, str(path)) from None
    base = Path(os.path.normpath(path.parent / spec.scenario))
    if not base.exists():
        f, line = origin_of(origins, ("scenario",))
        raise UserError(f"scenario '{spec.scenario}' not found (looked at {base})", file=f, line=line,
                        path="scenario")
    loaded_base = load_scenario(base)
    if spec.record:
        record_path = Path(os.path.normpath(path.parent / spec.record))
    elif loaded_base.record_path is not None:
        record_path = loaded_base.record_path
    else:
        raise UserError("no record: set 'record:' here or meta.record in the scenario", file=str(path))
    seen = set()
    for i, prior in enumerate(spec.parameters):
        loc = ("parameters", i, "path")
        f, line = origin_of(origins, loc)
        if prior.path in seen:
            raise UserError(f"'{prior.path}' listed twice", file=f, line=line, path=format_path(loc))
        seen.add(prior.path)
        if any(part.isdigit() for part in prior.path.split(".")):
            raise UserError("calibrated parameters must be mapping paths (no list indices), so that the "
                            "calibrated scenario can override them with 'extends'", file=f, line=line,
                            path=format_path(loc))
        lo, hi = prior.bounds_z()
        probe = [prior.to_x(np.array([v]))[0] for v in (lo, hi) if np.isfinite(v)] or \
                [prior.to_x(np.array([prior.mean]))[0]]
        for v in probe:
            try:
                load_scenario(base, {prior.path: float(v)})
            except UserError as exc:
                raise UserError(f"prior for '{prior.path}' reaches a value the scenario rejects: {exc.message}",
                                file=f, line=line, path=format_path(loc)) from None
    return LoadedCalibration(spec, path, base, record_path, origins, hashlib.sha256(path.read_bytes()).hexdigest())


# ---------------------------------------------------------------- summary statistics


@dataclass(frozen=True)
class Target:
    """One summary statistic: how to read it off a run and what the record says."""

    name: str
    kind: str            # series | growth | events
    column: str
    start: pd.Timestamp
    end: pd.Timestamp
    rate: bool
    scale: str           # log | log1p | linear | sqrt
    observed: float      # already transformed
    spans: tuple = ()    # several windows summed (events per type over the windows)


_TRANSFORM: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "log": lambda v: np.log(np.maximum(v, 1e-9)), "log1p": np.log1p, "linear": lambda v: v / 10.0,
    "sqrt": np.sqrt,
}


def build_targets(record, months: pd.DatetimeIndex, focal: tuple[str, str], columns: set[str],
                  until: pd.Timestamp | None, targets: Targets = Targets()) -> list[Target]:
    """The record's evidence the model can reproduce, ending no later than ``until``."""
    from sim.compare import series_observations
    first, last = months[0], months[-1] + pd.offsets.MonthEnd(0)
    out: list[Target] = []

    def usable(start, end) -> bool:
        return start >= first and end <= last and (until is None or end <= until)

    if targets.series:
        obs = series_observations(record)
        for _, r in obs.iterrows():
            if r["column"] not in columns or not usable(r["start"], r["end"]):
                continue
            growth = r["quantity"].endswith("_growth_yoy")
            if growth and r["start"] - pd.DateOffset(years=1) < first:
                continue
            scale = "linear" if growth else r["scale"]
            out.append(Target(str(r["id"]), "growth" if growth else "series", r["column"], r["start"], r["end"],
                              bool(r["rate"]), scale, float(_TRANSFORM[scale](np.float64(r["value"])))))
    if targets.events:
        # Per window the total, per type the sum over the windows: single window-type cells hold
        # 0-3 events and their noise would drown what the parameters change.
        counts = record.event_counts(focal)
        wins = record.windows.set_index("id")
        used = [w for w in counts.index if usable(wins.loc[w, "start"], wins.loc[w, "end"])]
        types = [t for t in counts.columns if f"events.{t}" in columns]
        for w in used:
            out.append(Target(f"{w}:total", "events", "events.total", wins.loc[w, "start"], wins.loc[w, "end"],
                              False, "sqrt", float(np.sqrt(counts.loc[w, types].sum()))))
        if len(used) > 1:
            spans = tuple((wins.loc[w, "start"], wins.loc[w, "end"]) for w in used)
            for t in types:
                out.append(Target(f"windows:{t}", "events", f"events.{t}", spans[0][0], spans[-1][1], False,
                                  "sqrt", float(np.sqrt(counts.loc[used, t].sum())), spans))
    return out


def statistics(ens, targets: list[Target]) -> np.ndarray:
    """(members, statistics) for an Ensemble, transformed like the targets."""
    from sim.compare import simulated_value
    out = np.empty((ens.n_members, len(targets)))
    for k, t in enumerate(targets):
        if t.kind == "growth":
            row = {"quantity": "x_growth_yoy", "column": t.column, "start": t.start, "end": t.end, "rate": t.rate}
            v = simulated_value(ens, row)
        elif t.spans:
            v = sum(ens.period_total(t.column, a, b, t.rate) for a, b in t.spans)
        else:
            v = ens.period_total(t.column, t.start, t.end, t.rate)
        out[:, k] = _TRANSFORM[t.scale](v)
    return out


def row_mean(a: np.ndarray) -> np.ndarray:
    """Mean over the last axis, added in order: the same bits for a member whatever its neighbours
    (np.mean's pairwise summation groups terms differently for one row than for many)."""
    return np.cumsum(a, axis=-1)[..., -1] / a.shape[-1]


def distance(stats: np.ndarray, observed: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return np.sqrt(row_mean(((stats - observed) / scales) ** 2))


# ---------------------------------------------------------------- simulation of particles


@dataclass(frozen=True)
class ParticleChunk:
    """Picklable unit of work: a few particles, their seeds, and what to measure."""

    index: int
    base: str
    paths: tuple[str, ...]
    values: np.ndarray       # (n, D) in natural units
    seeds: np.ndarray        # (n, R)
    targets: tuple[Target, ...]
    focal: tuple[str, str]


def run_particle_chunk(task: ParticleChunk) -> tuple[int, np.ndarray]:
    """Statistics (n, R, K) of a chunk; a particle whose scenario fails gets NaN (never accepted)."""
    from sim.compare import Ensemble
    from sim.core.compile import compile_scenario, stack_points
    from sim.core.engine import run_ensemble
    from sim.core.columns import indicator_columns, month_index_values

    n, R = task.seeds.shape
    K = len(task.targets)
    out = np.full((n, R, K), np.nan)
    parts, ok = [], []
    for i in range(n):
        try:
            overrides = {p: float(v) for p, v in zip(task.paths, task.values[i])}
            parts.append(compile_scenario(load_scenario(task.base, overrides)))
            ok.append(i)
        except (UserError, ValueError):
            continue
    if not parts:
        return task.index, out
    cp = stack_points(parts)
    seeds = task.seeds[ok].ravel()
    res = run_ensemble(cp, seeds.astype(np.uint64), np.repeat(np.arange(len(ok)), R))
    needed = {t.column for t in task.targets}
    cols = {name: np.asarray(fn(res), dtype=float) for name, fn in indicator_columns(cp).items() if name in needed}
    ens = Ensemble("particles", month_index_values(cp), cols, task.focal, seeds)
    out[ok] = statistics(ens, list(task.targets)).reshape(len(ok), R, K)
    return task.index, out


def particle_seed(seed: int, generation: int, batch: int, i: int, r: int) -> int:
    ss = np.random.SeedSequence(seed, spawn_key=(generation, batch, i, r))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


# ---------------------------------------------------------------- ABC-SMC core

Simulator = Callable[[np.ndarray, int, int], np.ndarray]   # (values (n,D), generation, batch) -> stats (n,R,K)


@dataclass
class Generation:
    t: int
    z: np.ndarray             # (N, D) working space
    weights: np.ndarray       # (N,)
    distances: np.ndarray     # (N,)
    epsilon: float
    simulations: int
    accepted: int
    wall_time_s: float

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / max(self.simulations, 1)

    @property
    def ess(self) -> float:
        return float(1.0 / np.sum(self.weights ** 2))


@dataclass
class ABCState:
    generations: list[Generation] = field(default_factory=list)
    scales: np.ndarray | None = None
    simulations: int = 0


def _log_prior(priors: list[Prior], z: np.ndarray) -> np.ndarray:
    return sum(p.logpdf_z(z[:, j]) for j, p in enumerate(priors))


def abc_smc(priors: list[Prior], simulate: Simulator, observed: np.ndarray, budget: Budget, seed: int,
            state: ABCState | None = None, on_generation: Callable[[Generation, ABCState], None] | None = None,
            log: Callable[[str], None] = lambda s: None) -> ABCState:
    """Run (or continue) ABC-SMC; returns every generation's population."""
    state = state or ABCState()
    N, D = budget.particles, len(priors)
    to_x = lambda z: np.column_stack([p.to_x(z[:, j]) for j, p in enumerate(priors)])  # noqa: E731

    def dist_of(stats: np.ndarray) -> np.ndarray:
        d = distance(stats, observed, state.scales)              # (n, R)
        return np.where(np.isnan(d).any(axis=1), np.inf, d.mean(axis=1))

    while len(state.generations) < budget.generations and state.simulations < budget.max_simulations:
        t = len(state.generations)
        t0 = time.perf_counter()
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(t, 10**6)))
        if t == 0:
            n0 = N * budget.initial_factor
            z = np.column_stack([p.sample_z(rng, n0) for p in priors])
            stats = simulate(to_x(z), 0, 0)
            flat = stats.reshape(-1, stats.shape[-1])
            good = ~np.isnan(flat).any(axis=1)
            mad = np.median(np.abs(flat[good] - np.median(flat[good], axis=0)), axis=0) * 1.4826
            state.scales = np.where(mad > 1e-9, mad, 1.0)
            d = dist_of(stats)
            order = np.argsort(d, kind="stable")[:N]
            eps = float(d[order[-1]])
            gen = Generation(0, z[order], np.full(N, 1.0 / N), d[order], eps, n0, N, time.perf_counter() - t0)
            state.simulations += n0
        else:
            prev = state.generations[-1]
            eps = float(np.quantile(prev.distances, budget.quantile))
            cov = 2.0 * np.atleast_2d(np.cov(prev.z, rowvar=False, aweights=prev.weights))
            cov += np.eye(D) * 1e-12
            chol = np.linalg.cholesky(cov)
            inv = np.linalg.inv(cov)
            acc_z, acc_d, sims, batch = [], [], 0, 0
            rate = max(prev.acceptance_rate, 0.02)
            while sum(len(a) for a in acc_z) < N and state.simulations + sims < budget.max_simulations:
                want = N - sum(len(a) for a in acc_z)
                n = int(min(max(want / rate * 1.3, 50), budget.max_simulations - state.simulations - sims, 20 * N))
                brng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(t, batch)))
                z = _propose(prev, chol, priors, brng, n)
                if len(z):
                    stats = simulate(to_x(z), t, batch)
                    d = dist_of(stats)
                    keep = d <= eps
                    acc_z.append(z[keep])
                    acc_d.append(d[keep])
                    rate = max((sum(len(a) for a in acc_z)) / max(sims + len(z), 1), 0.01)
                sims += n
                batch += 1
                log(f"generation {t}: batch {batch}, {sum(len(a) for a in acc_z)}/{N} accepted after {sims} "
                    f"simulations (tolerance {eps:.4f})")
            z_acc = np.concatenate(acc_z)[:N] if acc_z else np.empty((0, D))
            d_acc = np.concatenate(acc_d)[:N] if acc_d else np.empty(0)
            state.simulations += sims
            if len(z_acc) < max(10, N // 5):
                log(f"generation {t}: only {len(z_acc)} particles accepted within the budget; stopping")
                break
            diff = z_acc[:, None, :] - prev.z[None, :, :]
            kern = np.exp(-0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff))
            denom = kern @ prev.weights
            w = np.exp(_log_prior(priors, z_acc)) / np.maximum(denom, 1e-300)
            w = w / w.sum()
            gen = Generation(t, z_acc, w, d_acc, eps, sims, len(z_acc), time.perf_counter() - t0)
        state.generations.append(gen)
        if on_generation:
            on_generation(gen, state)
    return state


def _propose(prev: Generation, chol: np.ndarray, priors: list[Prior], rng: np.random.Generator, n: int,
             max_rounds: int = 200) -> np.ndarray:
    """Perturbed resamples of the previous population, redrawn until they lie inside the prior's support."""
    D = prev.z.shape[1]
    out = np.empty((0, D))
    for _ in range(max_rounds):
        m = n - len(out)
        pick = rng.choice(len(prev.z), size=m, p=prev.weights)
        z = prev.z[pick] + rng.standard_normal((m, D)) @ chol.T
        out = np.concatenate([out, z[np.isfinite(_log_prior(priors, z))]])
        if len(out) >= n:
            break
    return out[:n]


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(np.interp(q * cw[-1], cw, x[order]))


# ---------------------------------------------------------------- running a calibration file


GEN_FILE = "generation-{:02d}.parquet"
STATE_FILE = "state.json"


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, target)


@dataclass
class CalibrationOutcome:
    out: Path
    state: ABCState
    targets: list[Target]
    priors: list[Prior]
    summary: dict


def run_calibration(cal: LoadedCalibration, out: str | Path, *, workers: int | None = None,
                    scheduler: str | None = None, client=None, seed: int | None = None,
                    log: Callable[[str], None] = print) -> CalibrationOutcome:
    """Calibrate, writing each finished generation into ``out``; an interrupted run resumes from there."""
    import concurrent.futures as cf

    from sim.record import load_record
    from sim.core.columns import indicator_columns, month_index_values
    from sim.core.compile import compile_scenario
    from sim.sweep import _executor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = cal.spec
    seed = spec.seed if seed is None else seed
    base = load_scenario(cal.base)
    cp = compile_scenario(base)
    record = load_record(cal.record_path)
    targets = build_targets(record, month_index_values(cp), tuple(base.scenario.meta.focal),
                            set(indicator_columns(cp)), cal.until, spec.targets)
    if not targets:
        raise UserError("no evidence of the record falls inside the calibration period", file=str(cal.path))
    observed = np.array([t.observed for t in targets])
    identity = {"calibration_hash": cal.file_hash, "scenario_hash": base.hash, "seed": seed}
    state = _resume(out, identity, spec.parameters)
    if state.generations:
        log(f"resuming after generation {state.generations[-1].t} ({state.simulations} simulations done)")

    workers = (os.cpu_count() or 1) if workers is None else workers
    executor, own_client = _executor(workers, scheduler, client)
    R = spec.budget.replicates

    def simulate(values: np.ndarray, generation: int, batch: int) -> np.ndarray:
        n = len(values)
        seeds = np.array([[particle_seed(seed, generation, batch, i, r) for r in range(R)] for i in range(n)],
                         dtype=np.int64)
        per = max(1, spec.chunk_runs // R)
        tasks = [ParticleChunk(k, str(cal.base), tuple(cal.paths), values[a:a + per], seeds[a:a + per],
                               tuple(targets), tuple(base.scenario.meta.focal))
                 for k, a in enumerate(range(0, n, per))]
        results = dict(map(run_particle_chunk, tasks)) if executor is None else \
            dict(f.result() for f in cf.as_completed([executor.submit(run_particle_chunk, t) for t in tasks]))
        return np.concatenate([results[k] for k in range(len(tasks))], axis=0)

    def save(gen: Generation, st: ABCState) -> None:
        df = pd.DataFrame(np.column_stack([p.to_x(gen.z[:, j]) for j, p in enumerate(spec.parameters)]),
                          columns=cal.paths)
        df.insert(0, "generation", gen.t)
        df["weight"] = gen.weights
        df["distance"] = gen.distances
        _atomic_write(out / GEN_FILE.format(gen.t), lambda p: df.to_parquet(p, index=False))
        payload = {**identity, "scales": st.scales.tolist(), "simulations": st.simulations,
                   "generations": [_gen_meta(g) for g in st.generations]}
        _atomic_write(out / STATE_FILE, lambda p: p.write_text(json.dumps(payload, indent=1)))
        log(f"generation {gen.t}: tolerance {gen.epsilon:.4f}, acceptance {gen.acceptance_rate:.1%}, "
            f"ESS {gen.ess:.0f}, {gen.simulations} simulations, {gen.wall_time_s:.1f} s")

    try:
        state = abc_smc(list(spec.parameters), simulate, observed, spec.budget, seed, state, save, log)
    finally:
        if isinstance(executor, cf.ProcessPoolExecutor):
            executor.shutdown(wait=False, cancel_futures=True)
        if own_client is not None:
            own_client.close()
    summary = summarise(cal, state, targets)
    _atomic_write(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=1) + "\n"))
    post = posterior_frame(cal, state)
    _atomic_write(out / "posterior.parquet", lambda p: post.to_parquet(p, index=False))
    return CalibrationOutcome(out, state, targets, list(spec.parameters), summary)


def _gen_meta(g: Generation) -> dict:
    return {"generation": g.t, "epsilon": g.epsilon, "simulations": g.simulations, "accepted": g.accepted,
            "acceptance_rate": g.acceptance_rate, "ess": g.ess, "wall_time_s": round(g.wall_time_s, 3)}


def _resume(out: Path, identity: dict, priors: list[Prior]) -> ABCState:
    f = out / STATE_FILE
    if not f.exists():
        return ABCState()
    data = json.loads(f.read_text())
    if any(data.get(k) != v for k, v in identity.items()):
        raise UserError(f"{out} holds a calibration of a different file, scenario or seed; "
                        "use another --out or remove that folder")
    state = ABCState(scales=np.array(data["scales"]), simulations=data["simulations"])
    for meta in data["generations"]:
        df = pd.read_parquet(out / GEN_FILE.format(meta["generation"]))
        x = df[[p.path for p in priors]].to_numpy()
        z = np.column_stack([np.log(x[:, j]) if p.log else x[:, j] for j, p in enumerate(priors)])
        state.generations.append(Generation(meta["generation"], z, df["weight"].to_numpy(),
                                            df["distance"].to_numpy(), meta["epsilon"], meta["simulations"],
                                            meta["accepted"], meta["wall_time_s"]))
    return state


def posterior_frame(cal: LoadedCalibration, state: ABCState) -> pd.DataFrame:
    last = state.generations[-1]
    df = pd.DataFrame(np.column_stack([p.to_x(last.z[:, j]) for j, p in enumerate(cal.spec.parameters)]),
                      columns=cal.paths)
    df["weight"] = last.weights
    df["distance"] = last.distances
    return df


def summarise(cal: LoadedCalibration, state: ABCState, targets: list[Target]) -> dict:
    last = state.generations[-1]
    params = {}
    for j, p in enumerate(cal.spec.parameters):
        x = p.to_x(last.z[:, j])
        params[p.path] = {"mean": float(np.sum(x * last.weights)),
                          "median": weighted_quantile(x, last.weights, 0.5),
                          "q05": weighted_quantile(x, last.weights, 0.05),
                          "q95": weighted_quantile(x, last.weights, 0.95),
                          "prior": p.model_dump(exclude_none=True)}
    from sim.record import load_record
    from sim.runner import package_versions
    return {"name": cal.spec.name, "calibration_file": str(cal.path), "calibration_hash": cal.file_hash,
            "scenario_hash": load_scenario(cal.base).hash, "record_hash": load_record(cal.record_path).content_hash,
            "seed": cal.spec.seed, "versions": package_versions(),
            "scenario": str(cal.base), "record": str(cal.record_path),
            "calibrate_until": cal.spec.split.calibrate_until, "targets": [t.name for t in targets],
            "simulations": state.simulations, "parameters": params,
            "generations": [_gen_meta(g) for g in state.generations]}


def write_calibrated_scenario(cal: LoadedCalibration, summary: dict, target: Path, posterior: Path) -> Path:
    """A scenario that extends the base with the posterior medians and carries the posterior sample."""
    import yaml
    target = Path(target)
    rel_base = os.path.relpath(cal.base, target.parent)
    rel_post = os.path.relpath(posterior, target.parent)
    base_name = load_scenario(cal.base).scenario.meta.name
    name = f"{base_name}_{cal.spec.name}" if target.name == "calibrated.yaml" else target.stem
    doc: dict = {"extends": rel_base,
                 "meta": {"name": name,
                          "description": f"{load_scenario(cal.base).scenario.meta.description} Calibrated by "
                                         f"{cal.spec.name} (ABC-SMC); replicates draw parameters from the posterior.",
                          "question": "What does the model say once its free parameters are fitted to the record?",
                          "posterior": rel_post}}
    for path, s in summary["parameters"].items():
        node = doc
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = {"value": round(s["median"], 6),
                           "assumption": f"posterior median of calibration {cal.spec.name} "
                                         f"(90% interval {s['q05']:.4g} to {s['q95']:.4g})"}
    header = (f"# Written by `run.py calibrate {cal.path}`; do not edit by hand.\n"
              f"# Values are posterior medians; meta.posterior holds the weighted posterior sample that\n"
              f"# replicates draw from (see docs/calibration.md).\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110))
    return target


# ---------------------------------------------------------------- hindcast evaluation


def prior_samples(priors: list[Prior], n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xBEEF,)))
    df = pd.DataFrame({p.path: p.to_x(p.sample_z(rng, n)) for p in priors})
    df["weight"] = 1.0
    return df


def evaluate(cal: LoadedCalibration, out: str | Path, replicates: int = 200, seed: int | None = None,
             plots: bool = True) -> dict:
    """Score the prior and the posterior ensembles on the calibration period and on the held-out period."""
    from sim import plots as P
    from sim.compare import Ensemble, score
    from sim.record import load_record
    from sim.runner import load_samples, run

    out = Path(out)
    seed = cal.spec.seed if seed is None else seed
    loaded = load_scenario(cal.base)
    record = load_record(cal.record_path)
    post = load_samples(out / "posterior.parquet")
    prior = prior_samples(list(cal.spec.parameters), 1000, seed)
    ens = {"prior": Ensemble.from_run(run(loaded, replicates, seed, samples=prior)),
           "posterior": Ensemble.from_run(run(loaded, replicates, seed, samples=post))}
    for k, e in ens.items():
        e.name = f"{loaded.scenario.meta.name} {k}"
    start = pd.Timestamp(loaded.scenario.meta.start + "-01")
    end = pd.Timestamp(loaded.scenario.meta.end + "-01") + pd.offsets.MonthEnd(0)
    periods = {"calibration": (start, cal.until or end)}
    if cal.until is not None and cal.until < end:
        periods["hindcast"] = (cal.until + pd.Timedelta(days=1), end)
    result: dict = {"replicates": replicates, "seed": seed, "periods": {k: [str(a.date()), str(b.date())]
                                                                         for k, (a, b) in periods.items()}}
    cards = {}
    for pname, per in periods.items():
        for ename, e in ens.items():
            card = score(e, record, per)
            card.scenario = f"{ename} ({pname})"
            cards[(pname, ename)] = card
            card.save(out / "evaluation" / f"{pname}_{ename}")
            result[f"{pname}/{ename}"] = card.overall()
    if plots:
        fig_dir = out / "figures"
        weights = post["weight"].to_numpy()
        P.save(P.posterior_marginals(post, weights, list(cal.spec.parameters), prior), fig_dir / "posterior_marginals")
        P.save(P.posterior_pairs(post, weights, list(cal.spec.parameters)), fig_dir / "posterior_pairs")
        held = periods.get("hindcast")
        for col in P.default_columns(ens["posterior"])[:3]:
            P.save(P.fan_chart(ens["posterior"], col, record, held_out=held), fig_dir / f"predictive_{P._safe(col)}")
        for pname in periods:
            P.save(P.scorecard_chart([cards[(pname, "prior")], cards[(pname, "posterior")]]),
                   fig_dir / f"scorecard_{pname}")
    (out / "evaluation.json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    return result


def headline(result: dict) -> str:
    """One scorecard line per period and ensemble, for the terminal and the README."""
    from sim.compare import overall_line
    return "\n".join(overall_line(key, o) for key, o in result.items() if "/" in key)
