"""Turn a validated scenario into the arrays the dynamics run on.

Everything that does not depend on the random draws is worked out here,
once per scenario, by the mechanisms' ``prepare`` steps; the engine then only
does the per-member arithmetic. Arrays carry a leading parameter-point axis:
length 1 where every point shares the value (structure), the number of points
where it varies, so many points of a sweep or a calibration can run side by
side in one ensemble.

Numbers are read through ``Values``: a table of per-point values for some
scenario paths (``coefficients.trade_diversion``, ``states.russia.trust.china``)
over the base scenario. A path in the table that no mechanism reads is an
error, so a mistyped sweep parameter cannot silently vary nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core import mechanisms as registry
from sim.core.mechanisms.base import Channel, Jump, Mechanism
from sim.core.time import month_index, month_str


class Values:
    """Per-point values of some scenario paths; every other number comes from the base scenario."""

    def __init__(self, table: dict[str, np.ndarray] | None = None):
        self.table = {_canonical(k): np.atleast_1d(np.asarray(v, dtype=float)) for k, v in (table or {}).items()}
        sizes = {len(v) for v in self.table.values()}
        if len(sizes) > 1:
            raise ValueError(f"per-point values of different lengths: {sorted(sizes)}")
        self.n = sizes.pop() if sizes else 1
        self.used: set[str] = set()

    def get(self, path: str, base: float) -> np.ndarray:
        if path in self.table:
            self.used.add(path)
            return self.table[path]
        return np.array([base], dtype=float)

    def unused(self) -> list[str]:
        return sorted(set(self.table) - self.used)


def _canonical(path: str) -> str:
    return path[: -len(".value")] if path.endswith(".value") else path


@dataclass
class Compiled:
    """What the engine runs on: structure, prepared arrays and coefficients of one or more parameter points."""

    months: list[str]
    states: list[str]
    orgs: list[str]
    focal: tuple[int, int]
    pairs: dict[str, list[tuple[int, int]]]
    channels: list[Channel]
    arrays: dict[str, np.ndarray]        # leading axis: 1 (shared) or n_points
    fixed: dict[str, np.ndarray]         # structure: indices and constants, no point axis
    coef: dict[str, np.ndarray]          # (1 or n_points,)
    jumps: list[list[Jump]]              # per month
    mechanisms: tuple[Mechanism, ...]
    n_points: int = 1
    scenario_name: str = ""

    @property
    def n_months(self) -> int:
        return len(self.months)

    @property
    def trade_pairs(self) -> list[tuple[int, int]]:
        return self.pairs.get("trade", [])

    @property
    def trust_pairs(self) -> list[tuple[int, int]]:
        return self.pairs.get("trust", [])

    @property
    def arms_pairs(self) -> list[tuple[int, int]]:
        return self.pairs.get("arms", [])

    def state_var(self, name: str):
        for mech in self.mechanisms:
            for sv in mech.state_vars:
                if sv.name == name:
                    return sv
        raise KeyError(name)

    def index_labels(self, index: str) -> list[str]:
        """Labels of the entries of a state variable's last axes (``china>russia``, ``china``, ``china@sco``)."""
        if index.startswith("pairs:"):
            return [f"{self.states[i]}>{self.states[j]}" for i, j in self.pairs[index[6:]]]
        if index == "states":
            return list(self.states)
        if index == "orgs":
            return list(self.orgs)
        if index == "cells":
            return [f"{self.states[s]}@{self.orgs[o]}" for s, o in self.fixed["align_cells"]]
        return [f"{s}@{o}" for s in self.states for o in self.orgs]


@dataclass
class Build:
    """The compile-time context every mechanism's ``structure`` and ``prepare`` work in."""

    sc: object
    values: Values
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    fixed: dict[str, np.ndarray] = field(default_factory=dict)
    coefs: dict[str, np.ndarray] = field(default_factory=dict)
    pairs: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    channels: list[Channel] = field(default_factory=list)
    trust_wanted: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self):
        sc = self.sc
        self.t0, t1 = month_index(sc.meta.start), month_index(sc.meta.end)
        self.T = t1 - self.t0 + 1
        self.t_abs = np.arange(self.t0, t1 + 1, dtype=float)
        self.months = [month_str(int(m)) for m in self.t_abs]
        self.states, self.orgs = list(sc.states), list(sc.organisations)
        self.si = {s: i for i, s in enumerate(self.states)}
        self.oi = {o: i for i, o in enumerate(self.orgs)}
        self.focal = (self.si[sc.meta.focal[0]], self.si[sc.meta.focal[1]])
        self.focal_ids = (sc.meta.focal[0], sc.meta.focal[1])
        self._targets: dict[str, tuple] = {}
        self._trust: dict[tuple[int, int], int] | None = None

    # numbers
    def num(self, path: str, base: float) -> np.ndarray:
        """(1 or n_points,) values of a scenario number."""
        return self.values.get(path, base)

    def coef(self, name: str) -> np.ndarray:
        return self.num(f"coefficients.{name}", getattr(self.sc.coefficients, name).value)

    # arrays
    def put(self, name: str, arr: np.ndarray) -> None:
        arr = np.asarray(arr)
        if name in self.arrays:
            raise RuntimeError(f"array '{name}' prepared twice")
        if arr.ndim == 0 or arr.shape[0] not in (1, self.values.n):
            raise RuntimeError(f"array '{name}' has shape {arr.shape}: its first axis must be the parameter point")
        self.arrays[name] = arr

    def get(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def put_fixed(self, name: str, values, dtype=int) -> None:
        self.fixed[name] = np.asarray(values, dtype=dtype)

    def put_coef(self, name: str, values: np.ndarray) -> None:
        self.coefs[name] = np.asarray(values, dtype=float)

    # structure
    def channel(self, ch: Channel) -> int:
        self.channels.append(ch)
        return len(self.channels) - 1

    def want_trust(self, pairs) -> None:
        """Pairs whose trust a mechanism reads: the trust mechanism tracks them."""
        self.trust_wanted.extend(p for p in pairs if p not in self.trust_wanted)

    def trust_index(self, pair: tuple[int, int]) -> int:
        if self._trust is None:
            self._trust = {p: k for k, p in enumerate(self.pairs["trust"])}
        return self._trust[pair]

    def target(self, target: str) -> tuple:
        if target not in self._targets:
            from sim.core.schema import parse_target
            self._targets[target] = parse_target(target, self.sc)
        return self._targets[target]


def _jumps(b: Build, mechs: tuple[Mechanism, ...]) -> list[list[Jump]]:
    """Timeline effects on state variables, each resolved to (variable, flat index), in timeline order."""
    owners: dict[str, list] = {}
    for m in mechs:
        for sv in m.state_vars:
            if sv.jump:
                owners.setdefault(sv.jump, []).append(sv)
    out: list[list[Jump]] = [[] for _ in range(b.T)]
    for i, ev in enumerate(b.sc.timeline):
        t = month_index(ev.date) - b.t0
        for j, eff in enumerate(ev.effects):
            tgt = b.target(eff.target)
            if tgt[0] != "states" or tgt[2] not in owners:
                continue
            value = b.num(f"timeline.{i}.effects.{j}", eff.value)
            rows = range(len(b.states)) if tgt[1] == "*" else [b.si[tgt[1]]]
            for sv in owners[tgt[2]]:
                if sv.jump_ops is not None and eff.op not in sv.jump_ops:
                    continue
                for r in rows:
                    out[t].append(Jump(sv.name, _locate(b, sv, r, tgt), eff.op, value))
    return out


def untracked_entry(b: Build, sv, row: int, tgt: tuple) -> str | None:
    """Why an effect's entry of a pair variable does not exist (exports of a pair that trades nothing), or None.

    The loader asks this of every effect (sim.core.checks), so a scenario that
    names such a pair fails at its line rather than here.
    """
    if not sv.index.startswith("pairs:"):
        return None
    kind = sv.index[len("pairs:"):]
    if (row, b.si[tgt[3]]) in b.pairs.get(kind, []):
        return None
    what = {"trade": "has no exports defined in the scenario"}.get(kind, "is not tracked by the model")
    return f"the pair {b.states[row]}->{tgt[3]} {what}"


def _locate(b: Build, sv, row: int, tgt: tuple) -> int:
    if sv.index == "states":
        return row
    if sv.index == "states*orgs":
        return row * len(b.orgs) + b.oi[tgt[3]]
    problem = untracked_entry(b, sv, row, tgt)
    if problem:
        raise ValueError(f"effect on {tgt[2]}: {problem}")
    return b.pairs[sv.index[len("pairs:"):]].index((row, b.si[tgt[3]]))


def compile_scenario(loaded, values: Values | dict | None = None) -> Compiled:
    """Compile a scenario; with ``values``, a whole table of parameter points at once."""
    sc = getattr(loaded, "scenario", loaded)
    vals = values if isinstance(values, Values) else Values(values)
    b = Build(sc, vals)
    mechs = registry.registry()
    for m in mechs:
        m.structure(b)
    for m in mechs:
        m.prepare(b)
    jumps = _jumps(b, mechs)
    coef = {name: b.coef(name) for name in type(sc.coefficients).model_fields}
    coef.update(b.coefs)
    unused = vals.unused()
    if unused:
        raise ValueError(f"no part of the model reads {', '.join(unused)}")
    return Compiled(months=b.months, states=b.states, orgs=b.orgs, focal=b.focal, pairs=b.pairs,
                    channels=b.channels, arrays=b.arrays, fixed=b.fixed, coef=coef, jumps=jumps, mechanisms=mechs,
                    n_points=vals.n, scenario_name=sc.meta.name)


def stack_points(parts: list[Compiled]) -> Compiled:
    """Join compiled points that share structure (same pairs, channels, months and jumps) along the point axis."""
    first = parts[0]
    if len(parts) == 1:
        return first
    for p in parts[1:]:
        if (p.pairs != first.pairs or len(p.channels) != len(first.channels) or p.months != first.months
                or _jump_keys(p) != _jump_keys(first)):
            raise ValueError("sweep points must share the scenario's structure "
                             "(states, pairs, channels, months and timeline jumps)")
    sizes = [p.n_points for p in parts]

    def cat(arrs: list[np.ndarray]) -> np.ndarray:
        if all(a.shape[0] == 1 for a in arrs) and all(np.array_equal(a, arrs[0]) for a in arrs[1:]):
            return arrs[0]
        rows = [np.repeat(a, n, axis=0) if a.shape[0] < n else a for a, n in zip(arrs, sizes, strict=True)]
        return np.concatenate(rows)

    arrays = {k: cat([p.arrays[k] for p in parts]) for k in first.arrays}
    coef = {k: cat([p.coef[k] for p in parts]) for k in first.coef}
    jumps = [[Jump(j.var, j.index, j.op, cat([p.jumps[t][n].value for p in parts]))
              for n, j in enumerate(step)] for t, step in enumerate(first.jumps)]
    return Compiled(**{**first.__dict__, "arrays": arrays, "coef": coef, "jumps": jumps, "n_points": sum(sizes)})


def _jump_keys(cp: Compiled) -> list:
    return [[(j.var, j.index, j.op) for j in step] for step in cp.jumps]
