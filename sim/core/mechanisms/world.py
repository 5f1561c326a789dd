"""The exogenous world: drivers, states' scripted parameters, sanctions and membership.

Nothing here depends on chance or on what the agents do; it is the stage the
mechanisms act on. Timeline effects on these values (a growth slowdown, an oil
collapse, a change of threat perception, sanctions) are applied here, once,
for every member. Effects on state variables (a jump in exports or trust) are
the business of the mechanism that owns the variable.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import ColumnFamily, Coverage, Mechanism, prepared
from sim.core.mechanisms.groups import ordered_sum
from sim.core.time import month_index


def apply_op(arr: np.ndarray, op: str, value) -> np.ndarray:
    """The result of one effect (``add``, ``multiply``, ``set``) on an array."""
    if op == "add":
        return arr + value
    if op == "multiply":
        return arr * value
    return np.zeros_like(arr) + value if np.ndim(value) else np.full_like(arr, value)


def widen(arr: np.ndarray, n: int) -> np.ndarray:
    """Give an array with one parameter point ``n`` rows, so a per-point value can be written into it."""
    return np.repeat(arr, n, axis=0) if arr.shape[0] < n else arr


def interp_driver(b, did: str, driver) -> np.ndarray:
    """(points, T) path of a driver: linear between its dated points or held at the last one ("step"),
    flat beyond its ends."""
    xs = np.array([month_index(p.date) for p in driver.points], dtype=float)
    ys = [b.num(f"drivers.{did}.points.{k}", p.value) for k, p in enumerate(driver.points)]
    n = max(len(y) for y in ys)
    rows = np.array([[float(y[min(i, len(y) - 1)]) for y in ys] for i in range(n)])
    if driver.interpolation == "step":
        last = np.clip(np.searchsorted(xs, b.t_abs, side="right") - 1, 0, len(xs) - 1)
        return rows[:, last]
    return np.stack([np.interp(b.t_abs, xs, row) for row in rows])


def driver_roles(sc) -> dict[str, list]:
    """Effect kind -> [(driver id, effect)]; a driver named oil_price with no effects is the energy price."""
    roles: dict[str, list] = {}
    for did, drv in sc.drivers.items():
        effects = drv.effects or ([_LegacyEnergy()] if did == "oil_price" else [])
        for eff in effects:
            roles.setdefault(eff.kind, []).append((did, eff))
    return roles


class _LegacyEnergy:
    kind, state = "energy_price", None


class World(Mechanism):
    name = "world"
    order = 0
    title = "Exogenous world"
    equations = (
        "driver(t) = linear interpolation of its dated points (or the last point, for step drivers); timeline "
        "effects add, multiply or set it for a duration. growth, energy_export_share, sanctions_exposure and the "
        "scripted parts of threat and rivalry are the scenario's values changed by timeline effects. "
        "sanction[by, on](t) = sum of active sanction intensities, capped at 1.")
    ids = {
        "O4": Coverage("scripted", "organisation membership (enlargement) follows the scenario's join dates"),
        "O9": Coverage("scripted", "security organisations are members with a security agenda; their lever is "
                                   "the alignment of members, not modelled as decisions of their own"),
        "P2": Coverage("scripted", "leadership changes are timeline changes to event rates"),
        "P6": Coverage("scripted", "a border settlement is a dated trust jump"),
        "P8": Coverage("scripted", "demographic worries are a starting rivalry and threat value"),
    }
    families = (ColumnFamily("oil_price", "USD per barrel", "the oil price driver"),)

    def prepare(self, b) -> None:
        sc, S, T = b.sc, len(b.states), b.T
        P = {"driver." + d: interp_driver(b, d, v) for d, v in sc.drivers.items()}
        for fld in ("growth", "energy_export_share", "sanctions_exposure"):
            row = np.stack(np.broadcast_arrays(*[b.num(f"states.{s}.{fld}", getattr(st, fld).value)
                                                 for s, st in sc.states.items()]), axis=-1)
            P[fld] = np.repeat(row[:, None, :], T, axis=1)
        for fld in ("threat", "rivalry"):
            P[fld] = self._dyadic(b, fld)
        P["sanctions"] = np.zeros((1, T, S, S))
        for i, ev in enumerate(sc.timeline):
            t = month_index(ev.date) - b.t0
            for j, eff in enumerate(ev.effects):
                self._effect(b, P, t, eff, b.num(f"timeline.{i}.effects.{j}", eff.value))
            for j, san in enumerate(ev.sanctions):
                end = T if san.duration is None else min(T, t + san.duration)
                val = b.num(f"timeline.{i}.sanctions.{j}.intensity", san.intensity)
                P["sanctions"] = widen(P["sanctions"], len(val))
                for by in san.by:
                    for on in san.against:
                        P["sanctions"][:, t:end, b.si[by], b.si[on]] += val[:, None]
        for key in ("sanctions", "threat", "rivalry"):
            np.clip(P[key], 0.0, 1.0, out=P[key])
        P["sanction_pressure"] = np.minimum(ordered_sum(P["sanctions"], axis=2), 1.0)   # (points, T, on)
        roles = driver_roles(sc)
        for kind, users in roles.items():
            for did, eff in users:
                if np.any(P["driver." + did] <= 0):
                    raise ValueError(f"{did} must stay positive after timeline effects (it is an {kind})")
                P["energy_price" if kind == "energy_price" else f"fx.{eff.state}"] = P["driver." + did]
        P["members"], P["participants"] = self._membership(b)
        for key, arr in P.items():
            b.put(key, arr)

    @staticmethod
    def _dyadic(b, fld: str) -> np.ndarray:
        S = len(b.states)
        arr = np.zeros((1, b.T, S, S))
        for s, st in b.sc.states.items():
            for o, p in getattr(st, fld).items():
                v = b.num(f"states.{s}.{fld}.{o}", p.value)
                arr = widen(arr, len(v))
                arr[:, :, b.si[s], b.si[o]] = v[:, None]
        return arr

    @staticmethod
    def _effect(b, P: dict, t: int, eff, val: np.ndarray) -> None:
        tgt = b.target(eff.target)
        end = b.T if eff.duration is None else min(b.T, t + eff.duration)
        sl = slice(t, end)
        if tgt[0] == "drivers":
            key = "driver." + tgt[1]
            P[key] = widen(P[key], len(val))
            P[key][:, sl] = apply_op(P[key][:, sl], eff.op, val[:, None])
            return
        if tgt[0] != "states":
            return
        rows = range(len(b.states)) if tgt[1] == "*" else [b.si[tgt[1]]]
        fld = tgt[2]
        if fld not in P:
            return
        P[fld] = widen(P[fld], len(val))
        for r in rows:
            idx = (slice(None), sl, r) + ((b.si[tgt[3]],) if len(tgt) > 3 else ())
            P[fld][idx] = apply_op(P[fld][idx], eff.op, val[:, None])

    @staticmethod
    def _membership(b) -> tuple[np.ndarray, np.ndarray]:
        T = b.T
        shape = (1, T, len(b.states), len(b.orgs))
        members = np.zeros(shape, dtype=bool)
        participants = np.zeros(shape, dtype=bool)
        for o, org in b.sc.organisations.items():
            k = b.oi[o]
            for kind, targets in (("members", (members, participants)), ("observers", (participants,))):
                for mem in getattr(org, kind):
                    lo = max(0, month_index(mem.joined) - b.t0)
                    hi = T if mem.left is None else max(0, month_index(mem.left) - b.t0)
                    for arr in targets:
                        arr[:, lo:hi, b.si[mem.state], k] = True
        return members, participants

    def columns(self, cp) -> dict:
        cols = {}
        if "driver.oil_price" in cp.arrays:  # the legacy column name of the energy price driver
            cols["oil_price"] = prepared("driver.oil_price", lambda a: a)
        return cols


MECHANISM = World()
