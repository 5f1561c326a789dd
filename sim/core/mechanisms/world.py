"""The exogenous world: drivers, states' scripted parameters, sanctions, membership, GDP.

Nothing here depends on chance or on what the agents do; it is the stage the
mechanisms act on. Timeline effects on these values (a growth slowdown, an oil
collapse, a change of threat perception, sanctions) are applied here, once,
for every member. Effects on state variables (a jump in exports or trust) are
the business of the mechanism that owns the variable.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import ColumnFamily, Coverage, Mechanism, prepared
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
    """(points, T) linear interpolation of a driver's dated points (held flat beyond its ends)."""
    xs = np.array([month_index(p.date) for p in driver.points], dtype=float)
    ys = [b.num(f"drivers.{did}.points.{k}", p.value) for k, p in enumerate(driver.points)]
    n = max(len(y) for y in ys)
    rows = np.array([[float(y[min(i, len(y) - 1)]) for y in ys] for i in range(n)])
    return np.stack([np.interp(b.t_abs, xs, row) for row in rows])


class World(Mechanism):
    name = "world"
    order = 0
    title = "Exogenous world"
    equations = (
        "driver(t) = linear interpolation of its dated points; timeline effects add, multiply or set it for a "
        "duration. growth, energy_export_share, sanctions_exposure, threat and rivalry are the scenario's values "
        "changed by timeline effects. sanction[by, on](t) = sum of active sanction intensities, capped at 1. "
        "gdp(t) = gdp(0) * prod(1 + growth/12), rescaled from the month of a gdp effect on.")
    ids = {
        "X10": Coverage("scripted", "sanctions are dated timeline entries with an intensity and duration"),
        "X11": Coverage("scripted", "the oil price is a driver path from the scenario"),
        "T10": Coverage("scripted", "growth slowdowns and oil swings are timeline changes to drivers and growth"),
        "O4": Coverage("scripted", "organisation membership (enlargement) follows the scenario's join dates"),
        "O9": Coverage("scripted", "CIS/CSTO are organisations with members and a security agenda"),
    }
    families = (
        ColumnFamily("gdp", "bn USD", "a state's GDP (scripted path)"),
        ColumnFamily("oil_price", "USD per barrel", "the oil price driver"),
    )

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
        gdp_jumps = []
        for i, ev in enumerate(sc.timeline):
            t = month_index(ev.date) - b.t0
            for j, eff in enumerate(ev.effects):
                self._effect(b, P, gdp_jumps, t, eff, b.num(f"timeline.{i}.effects.{j}", eff.value))
            for j, san in enumerate(ev.sanctions):
                end = T if san.duration is None else min(T, t + san.duration)
                val = b.num(f"timeline.{i}.sanctions.{j}.intensity", san.intensity)
                P["sanctions"] = widen(P["sanctions"], len(val))
                for by in san.by:
                    for on in san.against:
                        P["sanctions"][:, t:end, b.si[by], b.si[on]] += val[:, None]
        for key in ("sanctions", "threat", "rivalry"):
            np.clip(P[key], 0.0, 1.0, out=P[key])
        oil = P.get("driver.oil_price")
        if oil is not None and np.any(oil <= 0):
            raise ValueError("oil_price must stay positive after timeline effects")
        P["gdp"] = self._gdp(b, P["growth"], gdp_jumps)
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
    def _effect(b, P: dict, gdp_jumps: list, t: int, eff, val: np.ndarray) -> None:
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
        if fld == "gdp":
            gdp_jumps.extend((t, r, eff.op, val) for r in rows)
        if fld not in P:
            return
        P[fld] = widen(P[fld], len(val))
        for r in rows:
            idx = (slice(None), sl, r) + ((b.si[tgt[3]],) if len(tgt) > 3 else ())
            P[fld][idx] = apply_op(P[fld][idx], eff.op, val[:, None])

    @staticmethod
    def _gdp(b, growth: np.ndarray, jumps: list) -> np.ndarray:
        level = np.stack(np.broadcast_arrays(*[b.num(f"states.{s}.gdp", st.gdp.value)
                                               for s, st in b.sc.states.items()]), axis=-1)
        n = max(level.shape[0], growth.shape[0])
        factors = np.concatenate([np.ones((growth.shape[0], 1, growth.shape[2])), 1.0 + growth[:, 1:] / 12.0], axis=1)
        gdp = level[:, None, :] * np.cumprod(factors, axis=1)
        for t, r, op, v in sorted(jumps, key=lambda j: j[0]):  # a jump rescales the whole path from its month on
            gdp = widen(gdp, max(n, len(v)))
            before = gdp[:, t, r].copy()
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(before != 0, apply_op(before, op, v) / before, 0.0)
            gdp[:, t:, r] *= factor[:, None]
        return gdp

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
        if "driver.oil_price" in cp.arrays:
            cols["oil_price"] = prepared("driver.oil_price", lambda a: a)
        for i, s in enumerate(cp.states):
            cols[f"gdp.{s}"] = prepared("gdp", lambda a, i=i: a[:, :, i])
        return cols


MECHANISM = World()
