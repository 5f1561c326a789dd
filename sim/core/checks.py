"""Checks of a validated scenario that need the whole period: what timeline effects do to the numbers.

A value can be fine on its own line and still break the run: an effect that
sets the oil price to -10 (the model takes its logarithm), one that pushes an
event rate below zero, or a jump on the exports of a pair that trades nothing.
The mechanisms would fail in the middle of compiling, with no line to point
at; so the loader plays the timeline over the scenario's parameters here, once,
cheaply (a few arrays of months), and reports the effect that breaks a value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.core import mechanisms as registry
from sim.core.compile import Build, Values, untracked_entry
from sim.core.mechanisms.world import driver_roles
from sim.core.time import month_index, month_str

Fail = Callable[[tuple, str], None]

# Parameters that effects change for a while (see sim.core.mechanisms.world) and the range they must keep.
PARAMETER_RANGES = {
    "growth": (-1.0, 1.0),
    "energy_export_share": (0.0, 1.0),
    "sanctions_exposure": (0.0, 1.0),
}
EVENT_RATE_RANGE = (0.0, 1000.0)
GDP_RANGE = (0.0, 1e9)
DRIVER_LIMIT = 1e9


def check_effects(sc, fail: Fail) -> None:
    """Effect targets the model tracks, jumps inside their variable's range, parameters in range all period."""
    _check_targets(sc, fail)
    _check_jumps(sc, fail)
    _check_paths(sc, fail)


def _check_targets(sc, fail: Fail) -> None:
    b = Build(sc, Values())
    mechs = registry.registry()
    for m in mechs:
        m.structure(b)
    owners = {sv.jump: sv for m in mechs for sv in m.state_vars if sv.jump}   # pair variables share an index
    for i, ev in enumerate(sc.timeline):
        for j, eff in enumerate(ev.effects):
            tgt = b.target(eff.target)
            if tgt[0] != "states" or tgt[2] not in owners:
                continue
            rows = range(len(b.states)) if tgt[1] == "*" else [b.si[tgt[1]]]
            for r in rows:
                problem = untracked_entry(b, owners[tgt[2]], r, tgt)
                if problem:
                    fail(("timeline", i, "effects", j, "target"), f"'{eff.target}': {problem}")


def _check_jumps(sc, fail: Fail) -> None:
    """A jump sets, scales or shifts a state variable; the engine would clip a set outside the range silently."""
    owners: dict[str, list] = {}
    for m in registry.registry():
        for sv in m.state_vars:
            if sv.jump:
                owners.setdefault(sv.jump, []).append(sv)
    for i, ev in enumerate(sc.timeline):
        for j, eff in enumerate(ev.effects):
            parts = eff.target.split(".")
            if parts[0] != "states" or parts[2] not in owners:
                continue
            for sv in owners[parts[2]]:
                if sv.jump_ops is None or eff.op in sv.jump_ops:
                    lo, hi = GDP_RANGE if parts[2] == "gdp" else (sv.lo, sv.hi)
                    _check_jump(eff, parts, lo, hi, ("timeline", i, "effects", j, "value"), fail)


def _check_jump(eff, parts: list[str], lo, hi, where: tuple, fail: Fail) -> None:
    if eff.op == "set" and ((lo is not None and eff.value < lo) or (hi is not None and eff.value > hi)):
        fail(where, f"sets {eff.target} to {eff.value}, outside its range {_range(lo, hi)}")
    if eff.op == "multiply" and lo is not None and lo >= 0 and eff.value < 0:
        fail(where, f"multiplies {eff.target} by {eff.value}; it cannot become negative")
    if parts[2] == "gdp" and eff.op in ("set", "multiply") and eff.value <= 0:
        fail(where, f"{eff.op} {eff.target} by {eff.value}: a GDP must stay positive")


def _range(lo, hi) -> str:
    return f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"


def positive_drivers(sc) -> set[str]:
    """Drivers that act as a price or an exchange rate: the model divides by them and takes their logarithm."""
    return {did for users in driver_roles(sc).values() for did, _ in users}


def _driver_path(sc, did: str, t_abs: np.ndarray) -> np.ndarray:
    """The driver's path before effects, interpolated as sim.core.mechanisms.world does."""
    drv = sc.drivers[did]
    xs = np.array([month_index(p.date) for p in drv.points], dtype=float)
    ys = np.array([p.value for p in drv.points], dtype=float)
    if drv.interpolation == "step":
        return ys[np.clip(np.searchsorted(xs, t_abs, side="right") - 1, 0, len(xs) - 1)]
    return np.interp(t_abs, xs, ys)


def _base_path(sc, key: tuple, t_abs: np.ndarray) -> np.ndarray:
    """A parameter an effect changes, as a path over the months, before effects."""
    if key[0] == "drivers":
        return _driver_path(sc, key[1], t_abs)
    if key[0] == "events":
        return np.full(len(t_abs), float(sc.events[key[1]].rate.value))
    return np.full(len(t_abs), float(getattr(sc.states[key[1]], key[2]).value))


def _keys(sc, target: str) -> list[tuple]:
    """The parameters an effect target changes (``*`` expanded); none for state variables and dyads."""
    parts = tuple(target.split("."))
    if parts[0] in ("drivers", "events"):
        return [parts]
    if parts[0] == "states" and len(parts) == 3 and parts[2] in PARAMETER_RANGES:
        return [("states", s, parts[2]) for s in (sc.states if parts[1] == "*" else [parts[1]])]
    return []


def _limits(key: tuple, positive: set[str]) -> tuple[float, float]:
    if key[0] == "drivers":
        return (0.0 if key[1] in positive else -DRIVER_LIMIT), DRIVER_LIMIT
    if key[0] == "events":
        return EVENT_RATE_RANGE
    return PARAMETER_RANGES[key[2]]


def _apply(arr: np.ndarray, op: str, value: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return arr + value if op == "add" else (arr * value if op == "multiply" else np.full_like(arr, value))


def _check_paths(sc, fail: Fail) -> None:
    """Play the timeline over the parameters it changes; the first effect that takes one out of range fails."""
    positive = positive_drivers(sc)
    for did in sorted(positive):
        for k, p in enumerate(sc.drivers[did].points):
            if p.value <= 0:
                fail(("drivers", did, "points", k, "value"), f"{did} must be positive (it is a price or an exchange "
                                                             f"rate), got {p.value}")
    t0, t1 = month_index(sc.meta.start), month_index(sc.meta.end)
    t_abs = np.arange(t0, t1 + 1, dtype=float)
    paths: dict[tuple, np.ndarray] = {}
    gdp_jumps: list[tuple[int, int, object, str]] = []
    for i, ev in enumerate(sc.timeline):
        t = month_index(ev.date) - t0
        for j, eff in enumerate(ev.effects):
            parts = eff.target.split(".")
            if parts[0] == "states" and len(parts) == 3 and parts[2] == "gdp":
                gdp_jumps.extend((i, j, eff, s) for s in (sc.states if parts[1] == "*" else [parts[1]]))
            end = len(t_abs) if eff.duration is None else min(len(t_abs), t + eff.duration)
            for key in _keys(sc, eff.target):
                arr = paths.setdefault(key, _base_path(sc, key, t_abs))
                arr[t:end] = _apply(arr[t:end], eff.op, eff.value)
                lo, hi = _limits(key, positive)
                open_lo = key[0] == "drivers" and key[1] in positive
                bad = np.flatnonzero(~(((arr > lo) if open_lo else (arr >= lo)) & (arr <= hi)))
                if len(bad):
                    fail(("timeline", i, "effects", j, "value"),
                         f"after this effect {'.'.join(key)} is {arr[bad[0]]:.4g} in {month_str(int(t_abs[bad[0]]))}; "
                         f"it must stay within {'(' if open_lo else '['}{lo:g}, {hi:g}]")
    if gdp_jumps:
        _check_gdp(sc, paths, t0, t_abs, gdp_jumps, fail)


def _check_gdp(sc, paths: dict, t0: int, t_abs: np.ndarray, jumps: list, fail: Fail) -> None:
    """GDP follows growth and jumps (as sim.core.mechanisms.world computes it); it must stay positive and finite."""
    lo, hi = GDP_RANGE
    for sid in dict.fromkeys(s for _, _, _, s in jumps):
        growth = paths.get(("states", sid, "growth"), _base_path(sc, ("states", sid, "growth"), t_abs))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            gdp = sc.states[sid].gdp.value * np.cumprod(np.concatenate([[1.0], 1.0 + growth[1:] / 12.0]))
            mine = sorted((x for x in jumps if x[3] == sid), key=lambda x: month_index(sc.timeline[x[0]].date))
            for i, j, eff, _ in mine:
                t = month_index(sc.timeline[i].date) - t0
                before = gdp[t]
                gdp[t:] *= _apply(np.array([before]), eff.op, eff.value)[0] / before if before else 0.0
                if not (lo < gdp[t:].min() and gdp[t:].max() <= hi):
                    fail(("timeline", i, "effects", j, "value"),
                         f"after this effect the GDP of {sid} leaves ({lo:g}, {hi:g}] bn USD")
