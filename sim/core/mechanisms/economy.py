"""Each state's economy in USD: scripted growth, plus what its exports and its currency do to it.

GDP is a state variable, not a scripted path: exports are part of it, so a
partner's demand that raises a state's exports raises its GDP, which raises
its own demand for imports (T1); a devaluing currency shrinks the economy in
dollars (T10); a fuel exporter's GDP moves with the value of its fuel
exports (E7, X11). Other states read these levels (relative size, T1, P4, P5).
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Mechanism, StateVar, recorded
from sim.core.params import NonNeg, Param


class EconomyCoefficients(CoefficientSet):
    gdp_export_effect: NonNeg = Param(
        value=0.2, assumption="share of an export change that adds to GDP beyond the scripted growth path (which "
                              "already contains average export growth); calibrate")
    exchange_rate_elasticity: NonNeg = Param(
        value=1.0, assumption="an economy's USD value moves one for one with its currency against the dollar")


def export_totals(X: np.ndarray, pairs: list[tuple[int, int]], n_states: int) -> np.ndarray:
    """(M, S) each state's total exports, added pair by pair (the same bits whatever the ensemble size)."""
    out = np.zeros((X.shape[0], n_states))
    for p, (i, _) in enumerate(pairs):
        out[:, i] += X[:, p]
    return out


class Economy(Mechanism):
    name = "economy"
    order = 5
    title = "Economies in USD"
    equations = (
        "gdp_s(t) = gdp_s(t-1) * (1 + growth_s(t)/12) * exp(gdp_export_effect * (exports_s(t-1) - exports_s(t-2)) "
        "/ gdp_s(t-1) - exchange_rate_elasticity * d log fx_s(t)); growth is scripted (with timeline changes), "
        "exports come from the trade mechanism, fx from an exchange_rate driver of the state if any.")
    ids = {
        "T1": Coverage("rule", "a partner's growth pulls in exports, which raise the exporter's GDP and with it "
                               "its own imports; GDP levels set relative size"),
        "T10": Coverage("rule", "an exchange-rate driver shrinks an economy in dollars, and its imports with it"),
        "E7": Coverage("rule", "a fuel exporter's export value follows the energy price into its GDP"),
        "X11": Coverage("rule", "oil prices move the fuel exporter's economy and, through it, its demand"),
    }
    Coefficients = EconomyCoefficients
    state_vars = (StateVar("gdp", "states", "gdp0", lo=0.0, jump="gdp", unit="bn USD"),
                  StateVar("exports_total_prev", "states", "exports_total0", record=False, unit="bn USD"))
    families = (ColumnFamily("gdp", "bn USD", "a state's GDP in USD"),)

    def prepare(self, b) -> None:
        sc = b.sc
        b.put("gdp0", np.stack(np.broadcast_arrays(*[b.num(f"states.{s}.gdp", st.gdp.value)
                                                     for s, st in sc.states.items()]), axis=-1))
        fx = np.zeros((1, b.T, len(b.states)))
        for key in [k for k in b.arrays if k.startswith("fx.")]:
            rate = b.get(key)
            fx = np.repeat(fx, rate.shape[0], axis=0) if rate.shape[0] > fx.shape[0] else fx
            fx[:, 1:, b.si[key[3:]]] = np.diff(np.log(rate), axis=1)
        b.put("fx_dlog", fx)
        b.put("exports_total0", np.zeros((1, len(b.states))))  # set from the initial exports when a run starts

    def init(self, eng) -> None:
        cp = eng.cp
        eng.state["exports_total_prev"] = export_totals(eng.state["exports"], cp.pairs["trade"], len(cp.states))

    def step(self, eng, month) -> None:
        cp, k, G = eng.cp, eng.k, eng.state["gdp"]
        totals = export_totals(eng.state["exports"], cp.pairs["trade"], len(cp.states))
        delta = totals - eng.state["exports_total_prev"]
        eng.state["exports_total_prev"] = totals
        if month.t == 0:
            return
        growth = eng.at("growth", month.t)
        with np.errstate(divide="ignore", invalid="ignore"):
            feedback = np.where(G > 0, k["gdp_export_effect"] * delta / G, 0.0)
        G *= (1.0 + growth / 12.0) * np.exp(feedback - k["exchange_rate_elasticity"] * eng.at("fx_dlog", month.t))

    def columns(self, cp) -> dict:
        return {f"gdp.{s}": recorded("gdp", (i,)) for i, s in enumerate(cp.states)}


MECHANISM = Economy()
