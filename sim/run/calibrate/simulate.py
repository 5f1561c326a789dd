"""Particles as ensembles: the calibration's ``simulate`` for the sampler.

A batch of proposals is cut into chunks of fixed size that run as ensembles
through the same point compilation and executors as sweeps; a particle's seeds
derive from the calibration seed and (generation, batch, index, replicate), so
its statistics never depend on the chunking or on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.core.seeds import derive_seed
from sim.evidence.scoring import Ensemble
from sim.evidence.targets import Target, statistics
from sim.run.execution import completed
from sim.run.points import compile_points, run_groups


@dataclass(frozen=True)
class ParticleChunk:
    """Picklable unit of work: a few particles, their seeds, and what to measure."""

    index: int
    base: str
    paths: tuple[str, ...]
    values: np.ndarray       # (n, D) in natural units
    seeds: np.ndarray        # (n, R)
    targets: tuple[Target, ...]
    months: int | None = None    # leading months the targets read (None: the whole period)


def run_particle_chunk(task: ParticleChunk) -> tuple[int, np.ndarray]:
    """Statistics (n, R, K) of a chunk; a particle whose scenario fails gets NaN (never accepted)."""
    n, R = task.seeds.shape
    K = len(task.targets)
    out = np.full((n, R, K), np.nan)
    points = compile_points(task.base, task.paths, task.values, skip_invalid=True)
    for rows, res in run_groups(points, task.seeds, task.months):
        ens = Ensemble.from_result("particles", res, {t.column for t in task.targets})
        out[rows] = statistics(ens, list(task.targets)).reshape(len(rows), R, K)
    return task.index, out


def particle_seed(seed: int, generation: int, batch: int, i: int, r: int) -> int:
    return derive_seed(seed, generation, batch, i, r)


@dataclass
class ParticleSimulator:
    """``simulate(values, generation, batch) -> statistics (n, R, K)`` for :func:`sim.run.calibrate.abc.abc_smc`."""

    base: Path
    paths: tuple[str, ...]
    targets: tuple[Target, ...]
    seed: int
    replicates: int
    chunk_runs: int
    executor: object = None
    months: int | None = None     # leading months the targets read: a hindcast's particles stop there

    def __call__(self, values: np.ndarray, generation: int, batch: int) -> np.ndarray:
        n, R = len(values), self.replicates
        seeds = np.array([[particle_seed(self.seed, generation, batch, i, r) for r in range(R)] for i in range(n)],
                         dtype=np.int64)
        per = max(1, self.chunk_runs // R)
        tasks = [ParticleChunk(k, str(self.base), self.paths, values[a:a + per], seeds[a:a + per], self.targets,
                               self.months) for k, a in enumerate(range(0, n, per))]
        results = dict(completed(self.executor, run_particle_chunk, tasks))
        return np.concatenate([results[k] for k in range(len(tasks))], axis=0)
