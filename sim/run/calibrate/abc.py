"""The ABC-SMC sampler (Beaumont et al. 2009, Toni et al. 2009), independent of the model.

It sees the model only through ``simulate(values, generation, batch)``, so it
can be checked on toy problems with known answers (tests do), and every random
draw comes from a stream keyed by (generation, batch): a calibration stopped
after any generation continues exactly as if it had never stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.core.seeds import stream
from sim.evidence.targets import distance
from sim.run.calibrate.priors import Budget, Prior

Simulator = Callable[[np.ndarray, int, int], np.ndarray]   # (values (n,D), generation, batch) -> stats (n,R,K)

# Key of generation t's prior-sampling stream is (t, _PRIOR_KEY); proposal batches use (t, batch).
_PRIOR_KEY = 10**6


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


def _to_x(priors: list[Prior], z: np.ndarray) -> np.ndarray:
    return np.column_stack([p.to_x(z[:, j]) for j, p in enumerate(priors)])


@dataclass
class _Sampler:
    """One call of :func:`abc_smc`: the problem, the budget and the state it advances."""

    priors: list[Prior]
    simulate: Simulator
    observed: np.ndarray
    budget: Budget
    seed: int
    state: ABCState
    log: Callable[[str], None]

    def distances(self, stats: np.ndarray) -> np.ndarray:
        """Mean distance over a particle's replicates; a particle with a failed run is never accepted."""
        d = distance(stats, self.observed, self.state.scales)              # (n, R)
        return np.where(np.isnan(d).any(axis=1), np.inf, d.mean(axis=1))

    def first(self, t0: float) -> Generation:
        """Generation 0: the prior's draws, the closest ``particles`` kept; fixes the distance scales."""
        N, n0 = self.budget.particles, self.budget.particles * self.budget.initial_factor
        rng = stream(self.seed, 0, _PRIOR_KEY)
        z = np.column_stack([p.sample_z(rng, n0) for p in self.priors])
        stats = self.simulate(_to_x(self.priors, z), 0, 0)
        flat = stats.reshape(-1, stats.shape[-1])
        good = ~np.isnan(flat).any(axis=1)
        mad = np.median(np.abs(flat[good] - np.median(flat[good], axis=0)), axis=0) * 1.4826
        self.state.scales = np.where(mad > 1e-9, mad, 1.0)
        d = self.distances(stats)
        order = np.argsort(d, kind="stable")[:N]
        eps = float(d[order[-1]])
        self.state.simulations += n0
        return Generation(0, z[order], np.full(N, 1.0 / N), d[order], eps, n0, N, time.perf_counter() - t0)

    def next(self, t: int, t0: float) -> Generation | None:
        """Generation t from t-1, or None when too few proposals were accepted within the budget."""
        prev = self.state.generations[-1]
        N, D = self.budget.particles, len(self.priors)
        eps = float(np.quantile(prev.distances, self.budget.quantile))
        cov = 2.0 * np.atleast_2d(np.cov(prev.z, rowvar=False, aweights=prev.weights))
        cov += np.eye(D) * 1e-12
        z_acc, d_acc, sims = self.accept(prev, t, eps, np.linalg.cholesky(cov))
        self.state.simulations += sims
        if len(z_acc) < max(10, N // 5):
            self.log(f"generation {t}: only {len(z_acc)} particles accepted within the budget; stopping")
            return None
        diff = z_acc[:, None, :] - prev.z[None, :, :]
        kern = np.exp(-0.5 * np.einsum("ijk,kl,ijl->ij", diff, np.linalg.inv(cov), diff))
        denom = kern @ prev.weights
        w = np.exp(_log_prior(self.priors, z_acc)) / np.maximum(denom, 1e-300)
        w = w / w.sum()
        return Generation(t, z_acc, w, d_acc, eps, sims, len(z_acc), time.perf_counter() - t0)

    def accept(self, prev: Generation, t: int, eps: float, chol: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Batches of proposals until ``particles`` lie within ``eps`` or the budget is spent."""
        N, D, budget = self.budget.particles, len(self.priors), self.budget
        acc_z, acc_d, sims, batch = [], [], 0, 0
        rate = max(prev.acceptance_rate, 0.02)
        while sum(len(a) for a in acc_z) < N and self.state.simulations + sims < budget.max_simulations:
            want = N - sum(len(a) for a in acc_z)
            n = int(min(max(want / rate * 1.3, 50), budget.max_simulations - self.state.simulations - sims, 20 * N))
            z = _propose(prev, chol, self.priors, stream(self.seed, t, batch), n)
            if len(z):
                d = self.distances(self.simulate(_to_x(self.priors, z), t, batch))
                keep = d <= eps
                acc_z.append(z[keep])
                acc_d.append(d[keep])
                rate = max((sum(len(a) for a in acc_z)) / max(sims + len(z), 1), 0.01)
            sims += n
            batch += 1
            self.log(f"generation {t}: batch {batch}, {sum(len(a) for a in acc_z)}/{N} accepted after {sims} "
                     f"simulations (tolerance {eps:.4f})")
        z_acc = np.concatenate(acc_z)[:N] if acc_z else np.empty((0, D))
        d_acc = np.concatenate(acc_d)[:N] if acc_d else np.empty(0)
        return z_acc, d_acc, sims


def abc_smc(priors: list[Prior], simulate: Simulator, observed: np.ndarray, budget: Budget, seed: int,
            state: ABCState | None = None, on_generation: Callable[[Generation, ABCState], None] | None = None,
            log: Callable[[str], None] = lambda s: None) -> ABCState:
    """Run (or continue) ABC-SMC; returns every generation's population."""
    state = state or ABCState()
    sampler = _Sampler(priors, simulate, observed, budget, seed, state, log)
    while len(state.generations) < budget.generations and state.simulations < budget.max_simulations:
        t = len(state.generations)
        t0 = time.perf_counter()
        gen = sampler.first(t0) if t == 0 else sampler.next(t, t0)
        if gen is None:
            break
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
