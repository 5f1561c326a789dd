"""The dynamics: one monthly update rule, run over an ensemble of members at once.

This is the only implementation of the model's equations. A single Mesa run
is an ensemble of one; a sweep or a calibration runs thousands of members in
the same arrays. The per-agent Python loop would cost far more than the
arithmetic (see ../shared/FIELD_NOTES.md, "Speed measured here"), so state is
held as arrays with a leading member axis.

Reproducibility: each member draws its random numbers from its own generator
(``numpy.random.default_rng(seed)``) in fixed-shape yearly blocks, and every
operation is elementwise along the member axis, so a member's trajectory is
bit-identical whatever else runs beside it.

Equations (monthly; coefficients from the scenario's ``coefficients``;
mechanism ids refer to ../shared/MECHANISMS.md):

* exports i->j, log-change = income pull (importer growth, T1) + oil price
  times the exporter's energy share (E7, T10) + sanctions: loss on the
  sanctioned pair and diversion toward non-sanctioning partners (T8, X10)
  + political relation (trust above the reference) + noise;
  infrastructure arrives as timeline jumps (T3, E1).
* trust i->j reverts to its initial level, shifted by shared threats (X1, X4),
  rivalry (O3, O10) and sanctions by j; the focal pair's events feed back
  through their Goldstein weights (P1).
* alignment of a member with an organisation reverts to its initial level,
  rises with each meeting (O5, O8) and with threat for security-minded
  organisations, falls with rivalry for economic ones (O2, O3).
* arms seller->buyer: contracts arrive at a hazard proportional to the
  capability gap (A2), the seller's trust, (1 - fear of copying) (A3),
  revenue need when oil is low (A5, E7), isolation under sanctions (A9) and
  the buyer's threat (A8), damped by rival clients (A6); contracts become a
  delivery backlog (A11) and deliveries raise the buyer's capability (A2).
* events: stochastic bilateral types at rate * exp(sensitivity * (trust -
  reference)); calendars and organisation summits on their schedule (§7),
  leader meetings on summit sidelines with probability rising with trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.core.compile import Compiled

BLOCK = 12  # months of random numbers drawn at a time per member


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray, kmax: int = 200) -> np.ndarray:
    """Inverse-CDF Poisson draw: elementwise, so a member's count depends only on its own uniform."""
    p = np.exp(-lam)
    cdf = p.copy()
    k = np.zeros(lam.shape, dtype=np.int32)
    active = u > cdf
    i = 0
    while i < kmax and active.any():
        i += 1
        p = p * lam / i
        cdf = cdf + p
        k += active
        active &= u > cdf
    return k


@dataclass
class EnsembleResult:
    compiled: Compiled
    seeds: np.ndarray            # (M,)
    points: np.ndarray           # (M,) parameter point of each member
    exports: np.ndarray          # (M, T, P_x) bn USD, annual rate
    trust: np.ndarray            # (M, T, P_t)
    alignment: np.ndarray        # (M, T, S, O)
    capability: np.ndarray       # (M, T, S)
    arms_contracts: np.ndarray   # (M, T, P_a) bn USD signed in the month
    arms_deliveries: np.ndarray  # (M, T, P_a) bn USD delivered in the month
    counts: np.ndarray           # (M, T, C) events per channel

    @property
    def n_members(self) -> int:
        return len(self.seeds)


class Engine:
    """Holds an ensemble's state and advances it one month per ``step``."""

    def __init__(self, cp: Compiled, seeds: Sequence[int], points: Sequence[int] | None = None):
        self.cp = cp
        self.seeds = np.asarray(seeds, dtype=np.uint64)
        M = len(self.seeds)
        self.M = M
        self.points = np.zeros(M, dtype=int) if points is None else np.asarray(points, dtype=int)
        if self.points.shape != (M,):
            raise ValueError("points must give one parameter point per member")
        if cp.n_points == 1:
            self._pick = slice(0, 1)          # broadcast the single point
        else:
            self._pick = self.points
        self.gens = [np.random.default_rng(int(s)) for s in self.seeds]
        T, S, O = cp.n_months, len(cp.states), len(cp.orgs)
        Px, Pt, Pa, C = len(cp.trade_pairs), len(cp.trust_pairs), len(cp.arms_pairs), len(cp.channels)
        self.T = T
        self.t = 0
        k = self._coef
        self.X = self._p(cp.exports0) * np.ones((M, 1))
        self.Tr = self._p(cp.trust0) * np.ones((M, 1))
        self.T0 = self._p(cp.trust0)
        self.A = self._p(cp.alignment0) * np.ones((M, 1, 1))
        self.A0 = self._p(cp.alignment0)
        self.C = self._p(cp.capability0) * np.ones((M, 1))
        self.B = np.zeros((M, Pa))
        self._sellers = np.array([i for i, _ in cp.arms_pairs], dtype=int)
        self._buyers = np.array([j for _, j in cp.arms_pairs], dtype=int)
        focal = set(cp.states[i] for i in cp.focal)
        self._focal_ch = np.array([set(ch.actors) == focal for ch in cp.channels], dtype=bool)
        self._gold = cp.goldstein * self._focal_ch
        # random-number layout per month
        self._nz = (Px, Pt, Pa)
        nk, ns, nf = len(cp.ch_stochastic), len(cp.ch_sched), len(cp.ch_summit)
        self._nu = (nk, ns, O, nf, Pa, len(cp.ch_arms_delivery))
        self._z = np.empty((M, 0, sum(self._nz)))
        self._u = np.empty((M, 0, sum(self._nu)))
        # records
        self.exports = np.zeros((M, T, Px))
        self.trust = np.zeros((M, T, Pt))
        self.alignment = np.zeros((M, T, S, O))
        self.capability = np.zeros((M, T, S))
        self.arms_contracts = np.zeros((M, T, Pa))
        self.arms_deliveries = np.zeros((M, T, Pa))
        self.counts = np.zeros((M, T, C), dtype=np.int32)
        # scalars as (M or 1, 1) columns
        self.k = {name: k(name) for name in cp.coef}

    # -- parameter access: (L, ...) -> (M or 1, ...)
    def _p(self, arr: np.ndarray) -> np.ndarray:
        return arr[self._pick]

    def _coef(self, name: str) -> np.ndarray:
        return self._p(self.cp.coef[name])[:, None]

    def _draw_block(self) -> None:
        n = min(BLOCK, self.T - self.t)
        nz, nu = sum(self._nz), sum(self._nu)
        self._z = np.stack([g.standard_normal((n, nz)) for g in self.gens]) if nz else np.zeros((self.M, n, 0))
        self._u = np.stack([g.random((n, nu)) for g in self.gens]) if nu else np.zeros((self.M, n, 0))
        self._block_start = self.t

    @property
    def done(self) -> bool:
        return self.t >= self.T

    def step(self) -> None:
        if self.done:
            raise RuntimeError("the run has reached the end of its period")
        cp, k, t = self.cp, self.k, self.t
        if t % BLOCK == 0:
            self._draw_block()
        z = self._z[:, t - self._block_start]
        u = self._u[:, t - self._block_start]
        zx, zt, za = np.split(z, np.cumsum(self._nz)[:-1], axis=1)
        uk, us, uo, uf, ua, ud = np.split(u, np.cumsum(self._nu)[:-1], axis=1)

        for fld, idx, op, vals in cp.jumps[t]:
            v = vals[self._pick][:, None] if cp.n_points > 1 else vals[0]
            tgt = {"exports": self.X, "trust": self.Tr, "arms_capability": self.C}.get(fld)
            if fld == "alignment":
                tgt = self.A.reshape(self.M, -1)
            col = tgt[:, idx:idx + 1]
            tgt[:, idx:idx + 1] = col + v if op == "add" else (col * v if op == "multiply" else col * 0 + v)
        np.clip(self.Tr, 0.0, 1.0, out=self.Tr)
        np.clip(self.A, 0.0, 1.0, out=self.A)
        np.clip(self.C, 0.0, 1.0, out=self.C)
        np.maximum(self.X, 0.0, out=self.X)

        tref = k["trust_reference"]
        # trade
        dlog = (self._p(cp.trade_push[:, t]) + k["trade_trust_effect"] * (self.Tr[:, cp.trade_trust_idx] - tref) / 12.0
                + k["trade_noise"] / np.sqrt(12.0) * zx)
        self.X *= np.exp(dlog)

        # events of the focal pair
        fr = self.Tr[:, cp.focal_trust_idx]
        tpair = 0.5 * (fr[:, 0:1] + fr[:, 1:2])
        counts = np.zeros((self.M, len(cp.channels)), dtype=np.int32)
        if len(cp.ch_stochastic):
            lam = self._p(cp.event_rate[:, t]) * np.exp(self._p(cp.event_sens) * (tpair - tref))
            counts[:, cp.ch_stochastic] = poisson_from_uniform(lam, uk)
        if len(cp.ch_sched):
            counts[:, cp.ch_sched] = us < self._p(cp.sched_prob[:, t])
        meets = uo < self._p(cp.summit_prob[:, t])                     # (M, O) organisation meets
        if len(cp.ch_summit):
            part = self._p(cp.participants[:, t])
            both = part[:, cp.focal[0], cp.summit_orgs] & part[:, cp.focal[1], cp.summit_orgs]
            summit = meets[:, cp.summit_orgs] & both
            counts[:, cp.ch_summit] = summit
            counts[:, cp.ch_sideline] = summit & (uf < k["sideline_meeting_probability"] * tpair)

        # alignment
        mem = self._p(cp.members[:, t])
        self.A += (self._p(cp.align_push[:, t]) * mem + k["alignment_reversion"][:, :, None] / 12.0 * (self.A0 - self.A)
                   + k["alignment_meeting_gain"][:, :, None] * (meets[:, None, :] & mem) * (1.0 - self.A))
        np.clip(self.A, 0.0, 1.0, out=self.A)

        # arms
        if len(cp.arms_pairs):
            gap = np.maximum(self.C[:, self._sellers] - self.C[:, self._buyers], 0.0)
            lam_a = self._p(cp.arms_pull[:, t]) * gap * self.Tr[:, cp.arms_trust_idx]
            n_contracts = poisson_from_uniform(lam_a, ua)
            spread = k["arms_contract_value_spread"]
            value = n_contracts * k["arms_contract_value"] * np.exp(spread * za - 0.5 * spread * spread)
            self.B += value
            delivered = self.B / k["arms_delivery_months"]
            self.B -= delivered
            self.C += self._p(cp.cap_growth) * (1.0 - self.C)
            for p, buyer in enumerate(self._buyers):
                self.C[:, buyer] += k["arms_copying"][:, 0] * delivered[:, p]
            np.clip(self.C, 0.0, 1.0, out=self.C)
            self.arms_contracts[:, t] = value
            self.arms_deliveries[:, t] = delivered
            if len(cp.focal_arms):
                counts[:, cp.ch_arms_contract] = n_contracts[:, cp.focal_arms]
                counts[:, cp.ch_arms_delivery] = poisson_from_uniform(
                    delivered[:, cp.focal_arms] / k["arms_delivery_event_size"], ud)
        else:
            self.C += self._p(cp.cap_growth) * (1.0 - self.C)

        # trust: reversion, exogenous pushes, noise, then the month's events
        self.Tr += (self._p(cp.trust_push[:, t]) + k["trust_reversion"] / 12.0 * (self.T0 - self.Tr)
                    + k["trust_noise"] / np.sqrt(12.0) * zt)
        gold = (counts * self._gold).sum(axis=1, keepdims=True)
        self.Tr[:, cp.focal_trust_idx] += k["trust_event_effect"] * (gold - k["expected_goldstein"])
        np.clip(self.Tr, 0.0, 1.0, out=self.Tr)

        self.exports[:, t] = self.X
        self.trust[:, t] = self.Tr
        self.alignment[:, t] = self.A
        self.capability[:, t] = self.C
        self.counts[:, t] = counts
        self.t += 1

    def run(self) -> EnsembleResult:
        while not self.done:
            self.step()
        return self.result()

    def result(self) -> EnsembleResult:
        return EnsembleResult(self.cp, self.seeds, self.points, self.exports, self.trust, self.alignment,
                              self.capability, self.arms_contracts, self.arms_deliveries, self.counts)


def run_ensemble(cp: Compiled, seeds: Sequence[int], points: Sequence[int] | None = None) -> EnsembleResult:
    return Engine(cp, seeds, points).run()
