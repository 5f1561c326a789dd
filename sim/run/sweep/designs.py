"""Where a sweep's points lie and which seed each run gets.

Both depend only on the sweep file and its seed, never on the number of
workers or the chunking, so a sweep gives the same numbers however it is run
and a stopped sweep can be finished by another machine.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from sim.core.seeds import derive_seed
from sim.run.sweep.spec import LoadedSweep, SweepFile


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


def design_size(spec: SweepFile) -> int:
    """Number of points the design will have, counted without building it (see :func:`design_points`)."""
    d, params = spec.design, spec.parameters
    D = len(params)
    if d.method == "grid":
        n = 1
        for p in params:
            n *= d.levels if p.range else len(p.values)
        return n
    if d.method in ("random", "lhs"):
        return d.points
    if d.method == "sobol":
        return d.samples * ((2 * D + 2) if d.second_order else (D + 2))
    return d.trajectories * (D + 1)


def run_seed(seed: int, point: int, replicate: int) -> int:
    """Seed of one run: independent streams per (point, replicate), fixed by the sweep seed alone."""
    return derive_seed(seed, point, replicate)


def seed_matrix(seed: int, n_points: int, replicates: int) -> np.ndarray:
    return np.array([[run_seed(seed, p, r) for r in range(replicates)] for p in range(n_points)], dtype=np.int64)


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
