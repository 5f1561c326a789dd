"""The generic monthly loop: every mechanism's rule, run over an ensemble of members at once.

This is the only place the model is stepped. A single Mesa run is an
ensemble of one; a sweep or a calibration runs thousands of members in the
same arrays. The per-agent Python loop would cost far more than the
arithmetic (see ../shared/FIELD_NOTES.md, "Speed measured here"), so state is
held as arrays with a leading member axis, and the mechanisms (in
``sim.core.mechanisms``) act on them in their registry order.

Reproducibility: every random number is a pure function of the member's seed,
the key of the stream it belongs to (named after what it drives) and the month
(sim/core/streams.py), and every operation is elementwise along the member
axis. So a member's trajectory is bit-identical whatever else runs beside it,
and a counterfactual that adds or removes a stream leaves all others alone.

A month: timeline jumps are applied to state variables and every variable is
kept inside its bounds; then each mechanism's ``step`` runs, reading state
and a per-month context (this month's draws, event counts, perceptions, which
organisations met); then state, flows and events are recorded. Nothing a
mechanism reads is dated after the month it computes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.core.allocator import tune_allocator
from sim.core.compile import Compiled
from sim.core.streams import Streams


@dataclass
class MonthContext:
    """What mechanisms share within one month, besides state."""

    t: int
    draws: dict[str, np.ndarray]
    counts: np.ndarray                      # (M, channels) events of the month
    values: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class EnsembleResult:
    """Recorded variables (members, months, ...) of a finished ensemble, by name."""

    compiled: Compiled
    seeds: np.ndarray            # (M,)
    points: np.ndarray           # (M,) parameter point of each member
    records: dict[str, np.ndarray]
    months_run: int | None = None    # months stepped, where fewer than the period's (the rest read zero)

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def __getattr__(self, name: str):
        records = self.__dict__.get("records", {})
        if name in records:
            return records[name]
        raise AttributeError(name)


_ALIGN = 64
_POOL: list[np.ndarray] = []     # record blocks of finished runs, kept for the next run of the same size
_POOL_SIZE = 2                   # a streamed run holds one chunk's result while the next is computed


def _block(nbytes: int) -> np.ndarray:
    """A zeroed block of memory for a run's records, reusing one no result refers to any more.

    Fresh memory is zeroed by the kernel one page at a time on first write: at a thousand members that
    costs up to a sixth of the run (0.33 GB of records). Sweeps, calibrations and streamed runs go
    through the engine chunk after chunk, so the last chunks' blocks are kept (at most two) and reused
    once nothing refers to them: every record array of a run is a view whose ``base`` is its block, so
    a block only the pool holds has no live view.
    """
    idle = [i for i in range(len(_POOL)) if sys.getrefcount(_POOL[i]) == 2]   # the pool's and the argument
    for i in idle:
        if _POOL[i].nbytes == nbytes:
            _POOL[i].fill(0)
            return _POOL[i]
    blk = np.zeros(nbytes, dtype=np.uint8)
    if len(_POOL) >= _POOL_SIZE and idle:
        del _POOL[idle[0]]
    if len(_POOL) < _POOL_SIZE:
        _POOL.append(blk)
    return blk


def record_arrays(specs: dict[str, tuple[tuple[int, ...], type]]) -> dict[str, np.ndarray]:
    """Zeroed arrays of the given shapes and dtypes, carved out of one block of memory."""
    offsets, total = {}, 0
    for name, (shape, dtype) in specs.items():
        offsets[name] = total
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        total += -(-size // _ALIGN) * _ALIGN
    blk = _block(total)
    out = {}
    for name, (shape, dtype) in specs.items():
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        out[name] = blk[offsets[name]:offsets[name] + size].view(dtype).reshape(shape)
    return out


def _streams(cp: Compiled, seeds: np.ndarray, kind: str) -> tuple[Streams, list[tuple[str, int]]]:
    """One keyed stream set per kind of draw, and where each mechanism's draws sit in it."""
    keys, layout = [], []
    for mech in cp.mechanisms:
        for d in mech.draws:
            if d.kind == kind:
                ks = [f"{d.name}/{k}" for k in d.keys(cp)]
                keys += ks
                layout.append((d.name, len(ks)))
    return Streams(seeds, keys), layout


class Engine:
    """Holds an ensemble's state and advances it one month per ``step``."""

    def __init__(self, cp: Compiled, seeds: Sequence[int], points: Sequence[int] | None = None):
        tune_allocator()
        self.cp = cp
        self.seeds = np.asarray(seeds, dtype=np.uint64)
        M = self.M = len(self.seeds)
        self.points = np.zeros(M, dtype=int) if points is None else np.asarray(points, dtype=int)
        if self.points.shape != (M,):
            raise ValueError("points must give one parameter point per member")
        self.T, self.t = cp.n_months, 0
        self.k = {name: self.pick_array(arr)[:, None] for name, arr in cp.coef.items()}
        self.state: dict[str, np.ndarray] = {}
        self.cache: dict[str, np.ndarray] = {}     # per-run values mechanisms keep (e.g. first-month references)
        # Recorded variables are stored month-major (each month's write is contiguous) and exposed as
        # (members, months, ...) views.
        specs: dict[str, tuple[tuple[int, ...], type]] = {}
        for mech in cp.mechanisms:
            for sv in mech.state_vars:
                init = self.pick(sv.init)
                self.state[sv.name] = init * np.ones((M,) + (1,) * (init.ndim - 1))
                if sv.record:
                    specs[sv.name] = ((self.T, M) + init.shape[1:], np.float64)
            for fl in mech.flows:
                specs[fl.name] = ((self.T, M, len(cp.index_labels(fl.index))), np.float64)
        specs["counts"] = ((self.T, M, len(cp.channels)), np.int32)
        self._store = record_arrays(specs)
        for mech in cp.mechanisms:
            mech.init(self)
        self.records = {name: np.moveaxis(arr, 0, 1) for name, arr in self._store.items()}
        self._normals, self._normal_layout = _streams(cp, self.seeds, "normal")
        self._uniforms, self._uniform_layout = _streams(cp, self.seeds, "uniform")
        self._bounds = [(sv.name, sv.lo, sv.hi) for m in cp.mechanisms for sv in m.state_vars
                        if sv.lo is not None or sv.hi is not None]

    @property
    def compiled(self) -> Compiled:
        return self.cp

    # -- parameter access: (points, ...) -> (members or 1, ...)
    def pick_array(self, arr: np.ndarray) -> np.ndarray:
        return arr[self.points] if arr.shape[0] > 1 else arr

    def pick(self, name: str) -> np.ndarray:
        """A prepared array for every member (or one row shared by all)."""
        return self.pick_array(self.cp.arrays[name])

    def at(self, name: str, t: int) -> np.ndarray:
        """Month ``t`` of a prepared array with a month axis, for every member (or one shared row)."""
        return self.pick_array(self.cp.arrays[name][:, t])

    def _draws(self) -> dict[str, np.ndarray]:
        out = {}
        for streams, layout, kind in ((self._normals, self._normal_layout, "normal"),
                                      (self._uniforms, self._uniform_layout, "uniform")):
            if not layout:
                continue
            row = streams.normal(self.t) if kind == "normal" else streams.uniform(self.t)
            start = 0
            for name, size in layout:
                out[name] = row[:, start:start + size]
                start += size
        return out

    def _apply_jumps(self) -> None:
        for j in self.cp.jumps[self.t]:
            v = j.value[self.points][:, None] if j.value.shape[0] > 1 else j.value[0]
            var = self.state[j.var]
            tgt = var.reshape(self.M, -1)
            col = tgt[:, j.index:j.index + 1]
            tgt[:, j.index:j.index + 1] = col + v if j.op == "add" else (col * v if j.op == "multiply" else col * 0 + v)
        for name, lo, hi in self._bounds:
            if hi is None:
                np.maximum(self.state[name], lo, out=self.state[name])
            else:
                np.clip(self.state[name], lo, hi, out=self.state[name])

    @property
    def done(self) -> bool:
        return self.t >= self.T

    def step(self) -> None:
        if self.done:
            raise RuntimeError("the run has reached the end of its period")
        month = MonthContext(self.t, self._draws(), np.zeros((self.M, len(self.cp.channels)), dtype=np.int32))
        self._apply_jumps()
        for mech in self.cp.mechanisms:
            mech.step(self, month)
        for name, arr in self._store.items():
            if name == "counts":
                arr[self.t] = month.counts
            elif name in self.state:
                arr[self.t] = self.state[name]
            elif name in month.values:
                arr[self.t] = month.values[name]
        self.t += 1

    def run(self, months: int | None = None) -> EnsembleResult:
        """Step to the end of the period, or through the first ``months`` months only.

        A month's records never depend on a later month, so a run cut short records exactly what the full
        run records up to the cut (and zeros after it): a calibration whose evidence ends early need not
        simulate the rest.
        """
        stop = self.T if months is None else min(int(months), self.T)
        while self.t < stop:
            self.step()
        return self.result()

    def result(self) -> EnsembleResult:
        return EnsembleResult(self.cp, self.seeds, self.points, self.records,
                              self.t if 0 < self.t < self.T else None)

    def __getattr__(self, name: str):
        records = self.__dict__.get("records", {})
        if name in records:
            return records[name]
        raise AttributeError(name)


def run_ensemble(cp: Compiled, seeds: Sequence[int], points: Sequence[int] | None = None,
                 months: int | None = None) -> EnsembleResult:
    return Engine(cp, seeds, points).run(months)

