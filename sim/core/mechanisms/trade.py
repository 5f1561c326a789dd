"""Bilateral trade: each exporter's flow to each partner, in bn USD a year.

The deterministic part of the monthly log-change (the importer's growth, oil
for fuel exporters, sanctions and diversion, market-share trends) is worked
out once before the run; the political relation and noise act per member.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import (
    CoefficientSet,
    ColumnFamily,
    Coverage,
    Draw,
    Mechanism,
    Observable,
    StateVar,
    recorded,
    summed,
)
from sim.core.params import NonNeg, Param


class TradeCoefficients(CoefficientSet):
    trade_income_elasticity: Param = Param(
        value=1.0,
        assumption='bilateral trade grew faster than GDP (001:54 vs 004:249-250); calibrate')
    trade_oil_elasticity: Param = Param(value=0.5, source='004_428dc53703d8f109.txt:259')
    trade_trust_effect: Param = Param(
        value=0.3,
        assumption='political relation lifts state-led deals (T4, 001:56); per year per unit trust; calibrate')
    trade_sanction_loss: NonNeg = Param(
        value=0.6,
        assumption='log-loss per year at full sanctions on a sanctioned pair; calibrate')
    trade_diversion: NonNeg = Param(value=0.1, source='004_428dc53703d8f109.txt:233')
    trade_noise: NonNeg = Param(value=0.08, assumption='yearly s.d. of log trade shocks; calibrate')


def col_trade(a: str, b: str) -> str:
    x, y = sorted((a, b))
    return f"trade.{x}.{y}"


def _pair_total(actors, exporter, importer):
    return col_trade(*actors) if len(actors) == 2 else None


def _directed(actors, exporter, importer):
    return f"exports.{exporter}.{importer}" if exporter and importer else None


class Trade(Mechanism):
    name = "trade"
    order = 10
    title = "Bilateral trade"
    equations = (
        "d log exports[i->j] / month = trend_i/12 + trade_income_elasticity * growth_j/12 "
        "+ trade_oil_elasticity * energy_export_share_i * d log oil "
        "+ (trade_diversion * diverted - trade_sanction_loss * sanctioned[i,j]) / 12 "
        "+ trade_trust_effect * (trust[i->j] - trust_reference) / 12 + trade_noise / sqrt(12) * z; "
        "sanctioned[i,j] = max(sanction[i,j], sanction[j,i]); diverted = pressure on i (or j) from third "
        "states' sanctions when the partner does not sanction it; infrastructure arrives as timeline jumps.")
    ids = {
        "T1": Coverage("scripted", "the importer's scripted GDP growth times an income elasticity"),
        "T2": Coverage("scripted", "a fixed export trend per exporter (market-share drift)"),
        "T3": Coverage("scripted", "transport capacity arrives as dated jumps in exports"),
        "T4": Coverage("rule", "trust above the reference raises the growth of a pair's trade"),
        "T8": Coverage("scripted", "sanctions cut the sanctioned pair and divert trade to others, every year"),
        "T10": Coverage("scripted", "oil price changes move fuel exporters' export values"),
        "E1": Coverage("scripted", "the 2011 oil pipeline is a dated jump in exports"),
        "E7": Coverage("scripted", "oil price times the exporter's energy share"),
    }
    Coefficients = TradeCoefficients
    state_vars = (StateVar("exports", "pairs:trade", "exports0", lo=0.0, jump="exports",
                           unit="bn USD per year (annual rate)"),)
    draws = (Draw("trade.noise", "normal", 0, lambda cp: len(cp.pairs["trade"])),)
    families = (
        ColumnFamily("trade", "bn USD per year (annual rate)", "both directions of a pair's trade"),
        ColumnFamily("exports", "bn USD per year (annual rate)", "one state's exports to another"),
    )

    observables = (Observable("trade_total", _pair_total, True, "log"),
                   Observable("trade_growth_yoy", _pair_total, True, "linear"),
                   Observable("exports", _directed, True, "log"),
                   Observable("exports_growth_yoy", _directed, True, "linear"))

    def structure(self, b) -> None:
        b.pairs["trade"] = [(b.si[s], b.si[o]) for s, st in b.sc.states.items() for o in st.exports]
        b.want_trust(b.pairs["trade"])

    def prepare(self, b) -> None:
        sc, pairs = b.sc, b.pairs["trade"]
        b.put("exports0", np.stack(np.broadcast_arrays(
            *[b.num(f"states.{b.states[i]}.exports.{b.states[j]}", sc.states[b.states[i]].exports[b.states[j]].value)
              for i, j in pairs]), axis=-1) if pairs else np.zeros((1, 0)))
        oil = b.arrays.get("driver.oil_price")   # no oil driver: fuel exports do not move with a price
        dlog_oil = np.diff(np.log(oil), prepend=np.log(oil[:, :1]), axis=1) if oil is not None else np.zeros((1, b.T))
        sanctions, growth, energy = b.get("sanctions"), b.get("growth"), b.get("energy_export_share")
        sanctioned = b.get("sanctions_exposure") * sanctions.sum(axis=2).clip(0, 1)   # (n, T, S) pressure on each state
        c = {k: b.coef(k)[:, None] for k in ("trade_income_elasticity", "trade_oil_elasticity", "trade_diversion",
                                             "trade_sanction_loss")}
        cols = []
        for i, j in pairs:
            hit = np.maximum(sanctions[:, :, i, j], sanctions[:, :, j, i])
            divert = (sanctioned[:, :, i] * (sanctions[:, :, j, i] == 0)
                      + sanctioned[:, :, j] * (sanctions[:, :, i, j] == 0))
            trend = sc.states[b.states[i]].export_trend
            tr = b.num(f"states.{b.states[i]}.export_trend", trend.value) if trend else np.zeros(1)
            cols.append(tr[:, None] / 12.0
                         + c["trade_income_elasticity"] * growth[:, :, j] / 12.0
                         + c["trade_oil_elasticity"] * energy[:, :, i] * dlog_oil
                         + (c["trade_diversion"] * divert - c["trade_sanction_loss"] * hit) / 12.0)
        b.put("trade_push", np.stack(np.broadcast_arrays(*cols), axis=-1) if cols else np.zeros((1, b.T, 0)))
        b.put_fixed("trade_trust_idx", [b.trust_index(p) for p in pairs])

    def step(self, eng, month) -> None:
        cp, k = eng.cp, eng.k
        X, Tr = eng.state["exports"], eng.state["trust"]
        dlog = (eng.at("trade_push", month.t)
                + k["trade_trust_effect"] * (Tr[:, cp.fixed["trade_trust_idx"]] - k["trust_reference"]) / 12.0
                + k["trade_noise"] / np.sqrt(12.0) * month.draws["trade.noise"])
        X *= np.exp(dlog)

    def columns(self, cp) -> dict:
        S, pairs = cp.states, cp.pairs["trade"]
        where = {p: k for k, p in enumerate(pairs)}
        cols = {}
        for (i, j), k in where.items():
            key = col_trade(S[i], S[j])
            if key not in cols:
                back = where.get((j, i))
                cols[key] = summed("exports", [k] if back is None else [k, back])
        for k, (i, j) in enumerate(pairs):
            cols[f"exports.{S[i]}.{S[j]}"] = recorded("exports", (k,))
        return cols


MECHANISM = Trade()
