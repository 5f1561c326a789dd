"""Running a calibration file: generations on disk, resume, summary and the calibrated scenario.

Each finished generation is written atomically with the sampler's state, so a
stopped calibration resumes from its last generation (and gives the same
result as an uninterrupted one); a folder holding another file's, scenario's
or seed's calibration is refused rather than continued.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim.core.columns import indicator_columns, month_index_values
from sim.core.compile import compile_scenario
from sim.core.errors import UserError
from sim.core.files import atomic_write
from sim.core.loading import LoadedScenario, load_scenario
from sim.core.provenance import package_versions
from sim.evidence.record import load_record
from sim.evidence.targets import Target, build_targets, months_read
from sim.run.calibrate.abc import ABCState, Generation, abc_smc, weighted_quantile
from sim.run.calibrate.folder import gen_meta, population, resume, save_generation
from sim.run.calibrate.priors import LoadedCalibration, Prior
from sim.run.calibrate.simulate import ParticleSimulator
from sim.run.execution import open_executor, resolve_workers
from sim.run.memory import WORKER_BYTES, check_fits, member_bytes


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
    check_calibration_memory(cal, 1 if (client or scheduler) else resolve_workers(workers))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = cal.spec
    seed = spec.seed if seed is None else seed
    base = load_scenario(cal.base)
    record = load_record(cal.record_path)          # read (and its citations checked) once per calibration
    targets, months = _targets(cal, base, record)
    observed = np.array([t.observed for t in targets])
    identity = {"calibration_hash": cal.file_hash, "scenario_hash": base.hash, "seed": seed}
    state = resume(out, identity, list(spec.parameters), len(targets))
    if state.generations:
        log(f"resuming after generation {state.generations[-1].t} ({state.simulations} simulations done)")

    def save(gen: Generation, st: ABCState) -> None:
        save_generation(cal, out, identity, gen, st)
        log(f"generation {gen.t}: tolerance {gen.epsilon:.4f}, acceptance {gen.acceptance_rate:.1%}, "
            f"ESS {gen.ess:.0f}, {gen.simulations} simulations, {gen.wall_time_s:.1f} s; {eta_line(st, spec.budget)}")

    with open_executor(resolve_workers(workers), scheduler, client) as executor:
        simulate = ParticleSimulator(cal.base, tuple(cal.paths), tuple(targets), seed, spec.budget.replicates,
                                     spec.chunk_runs, executor, months)
        state = abc_smc(list(spec.parameters), simulate, observed, spec.budget, seed, state, save, log)
    summary = summarise(cal, state, targets, base.hash, record.content_hash)
    atomic_write(out / "summary.json", lambda p: p.write_text(json.dumps(summary, indent=1) + "\n"))
    post = posterior_frame(cal, state)
    atomic_write(out / "posterior.parquet", lambda p: post.to_parquet(p, index=False))
    return CalibrationOutcome(out, state, targets, list(spec.parameters), summary)


def eta_line(st: ABCState, budget) -> str:
    """Time left, at the pace of the generations so far: each runs about as many simulations as the last.

    An upper bound, since calibration stops early when a generation accepts too
    few particles within the simulation budget.
    """
    spent_s = sum(g.wall_time_s for g in st.generations)
    per_sim = spent_s / max(st.simulations, 1)
    gens_left = budget.generations - len(st.generations)
    sims_left = min(gens_left * st.generations[-1].simulations, budget.max_simulations - st.simulations)
    if gens_left <= 0 or sims_left <= 0:
        return f"{spent_s:.0f} s so far, last generation done"
    return (f"{spent_s:.0f} s so far, {gens_left} generation(s) left, "
            f"ETA about {sims_left * per_sim:.0f} s (at most {sims_left} more simulations)")


STAT_BYTES = 8 * 256      # a particle's summary statistics (at most a few hundred) per replicate


def check_calibration_memory(cal: LoadedCalibration, workers: int, evaluate_replicates: int = 0) -> None:
    """Refuse a budget (and an evaluation of ``evaluate_replicates``) that cannot fit, before the first run.

    Held at once: a batch of proposals and their statistics (generation 0 draws
    particles * initial_factor, later batches up to 20 * particles), the kernel
    matrix between two generations (particles^2 * parameters), and one chunk
    of members in each worker; the evaluation holds a prior and a posterior ensemble.
    """
    b, D = cal.spec.budget, len(cal.spec.parameters)
    per_member = member_bytes(compile_scenario(load_scenario(cal.base)))
    chunk = max(cal.spec.chunk_runs // b.replicates, 1) * b.replicates
    batch = max(b.particles * b.initial_factor, 20 * b.particles)
    need = (batch * (b.replicates * STAT_BYTES + 16 * D) + 3 * b.particles**2 * D * 8
            + workers * (WORKER_BYTES + chunk * per_member))
    check_fits(need, f"{b.particles:,} particles x {b.replicates:,} replicates (batches of {batch:,} proposals, "
                     f"chunks of {chunk:,} runs on {workers} worker(s))",
               "lower particles, replicates or chunk_runs", {"file": str(cal.path), "path": "budget"})
    check_fits(2 * evaluate_replicates * per_member, f"--replicates {evaluate_replicates:,} (the prior and the "
               "posterior ensembles of the evaluation)", "ask for fewer replicates or use --no-evaluate")


def _targets(cal: LoadedCalibration, base: LoadedScenario, record) -> tuple[list[Target], int]:
    """The statistics to fit, and how many leading months of a run they read (particles run no further)."""
    cp = compile_scenario(base)
    months = month_index_values(cp)
    targets = build_targets(record, months, tuple(base.scenario.meta.focal),
                            set(indicator_columns(cp)), cal.until, cal.spec.targets)
    if not targets:
        raise UserError("no evidence of the record falls inside the calibration period", file=str(cal.path))
    return targets, months_read(targets, months)


def posterior_frame(cal: LoadedCalibration, state: ABCState) -> pd.DataFrame:
    return population(cal, state.generations[-1])


def summarise(cal: LoadedCalibration, state: ABCState, targets: list[Target], scenario_hash: str,
              record_hash: str) -> dict:
    last = state.generations[-1]
    params = {}
    for j, p in enumerate(cal.spec.parameters):
        x = p.to_x(last.z[:, j])
        params[p.path] = {"mean": float(np.sum(x * last.weights)),
                          "median": weighted_quantile(x, last.weights, 0.5),
                          "q05": weighted_quantile(x, last.weights, 0.05),
                          "q95": weighted_quantile(x, last.weights, 0.95),
                          "prior": p.model_dump(exclude_none=True)}
    return {"name": cal.spec.name, "calibration_file": str(cal.path), "calibration_hash": cal.file_hash,
            "scenario_hash": scenario_hash, "record_hash": record_hash,
            "seed": cal.spec.seed, "versions": package_versions(),
            "scenario": str(cal.base), "record": str(cal.record_path),
            "calibrate_until": cal.spec.split.calibrate_until, "targets": [t.name for t in targets],
            "simulations": state.simulations, "parameters": params,
            "generations": [gen_meta(g) for g in state.generations]}


def write_calibrated_scenario(cal: LoadedCalibration, summary: dict, target: Path, posterior: Path) -> Path:
    """A scenario that extends the base with the posterior medians and carries the posterior sample."""
    target = Path(target)
    rel_base = os.path.relpath(cal.base, target.parent)
    rel_post = os.path.relpath(posterior, target.parent)
    base_name = load_scenario(cal.base).scenario.meta.name
    name = f"{base_name}_{cal.spec.name}" if target.name == "calibrated.yaml" else target.stem
    # meta.name names files and folders: keep it an identifier whatever --scenario-out was called
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name).lstrip("_.-")[:100] or "calibrated"
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
