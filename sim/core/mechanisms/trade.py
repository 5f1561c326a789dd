"""Bilateral trade as levels that settle toward a target: each exporter's flow to each partner, bn USD a year.

Trade does not compound with goodwill: each flow relaxes toward a target
level set by both economies' size (relative to the start), the exporter's
market-share trend, the value of its fuel component at the current energy
price (per partner, and discounted as the buyer finds other suppliers), the
political relation (trust and lean of both sides, relative to the start),
sanctions as a level cut on the sanctioned pair, added infrastructure
capacity (a pipeline is capacity, not a growth rate), and trade rerouted
from sanctioned partners to open ones, in proportion to how much they
already trade and how far they lean toward each other.
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
from sim.core.mechanisms.groups import Groups
from sim.core.numerics import member_power
from sim.core.params import NonNeg, Param, Unit, ranged


class TradeCoefficients(CoefficientSet):
    trade_income_elasticity: Param = Param(
        value=1.0, assumption="elasticity of a flow to the importer's GDP (gravity models put it near 1); calibrate")
    trade_supply_elasticity: Param = Param(
        value=0.0, assumption="elasticity of a flow to the exporter's GDP (0: supply follows demand); calibrate")
    trade_oil_elasticity: Param = Param(value=0.5, source="004_428dc53703d8f109.txt:259",
                                        note="fuel export values move with the oil price; size is a judgement")
    trade_trust_effect: Param = Param(
        value=0.3, source="001_e7aa02c26cd915e1.txt:56",
        note="state-led trade follows the political relation (T4); log-level per unit of mean trust")
    trade_lean_effect: Param = Param(
        value=0.5, source="004_428dc53703d8f109.txt:230-241",
        note="a partner that leans in opens sectors to the other (T8); log-level per unit of mean lean")
    trade_sanction_loss: Unit = Param(value=0.6, assumption="share of a pair's trade lost at full sanctions")
    trade_diversion: Unit = Param(value=0.1, source="004_428dc53703d8f109.txt:233",
                                  note="sanctions push the target toward open partners (T8) but they cannot replace "
                                       "the West (T9, 004:262): a small share of the lost trade is rerouted")
    trade_energy_leverage: NonNeg = Param(
        value=0.5, source="000_75864654e862cb18.txt:97",
        note="a buyer's alternative pipelines cut the supplier's pricing power (E5); size is a judgement")
    trade_adjustment: ranged(0.01, None) = Param(
        value=1.0, assumption="per year: flows close about 60% of the gap to their target in a year; calibrate")
    trade_noise: NonNeg = Param(value=0.08, assumption="yearly s.d. of log trade shocks; calibrate")


def col_trade(a: str, b: str) -> str:
    x, y = sorted((a, b))
    return f"trade.{x}.{y}"


def _pair_total(actors, exporter, importer):
    return col_trade(*actors) if len(actors) == 2 else None


def _directed(actors, exporter, importer):
    return f"exports.{exporter}.{importer}" if exporter and importer else None


def _by_state(eng, side: str) -> Groups:
    """Sums over trade pairs by their exporter or importer, in pair order (cached per engine)."""
    key = f"trade_by_{side}"
    if key not in eng.cache:
        ends = eng.cp.fixed[f"trade_{side}"]
        eng.cache[key] = Groups(np.arange(len(ends)), ends, len(eng.cp.states))
    return eng.cache[key]


class Trade(Mechanism):
    name = "trade"
    order = 10
    title = "Bilateral trade"
    equations = (
        "target[i->j] = X0 * (gdp_j/gdp_j0)^trade_income_elasticity * (gdp_i/gdp_i0)^trade_supply_elasticity * "
        "exp(trend_i * years) * (1 - e_ij + e_ij * (p/p0)^trade_oil_elasticity * leverage_ij) * "
        "exp(trade_trust_effect * d mean_trust + trade_lean_effect * (mean_lean - 1/2)) * (1 - trade_sanction_loss * "
        "sanctioned_ij) + infrastructure_ij + rerouted_ij; leverage_ij = 1 - trade_energy_leverage * (rise of j's "
        "fuel imports from other suppliers, as a share); rerouted = trade_diversion * trade lost by i (or j) on "
        "sanctioned pairs, shared among i's (j's) open partners by current flow * (1 + lean); "
        "d log X / month = trade_adjustment/12 * (log target - log X) + trade_noise/sqrt(12) * z.")
    ids = {
        "T1": Coverage("rule", "flows follow both economies' current size"),
        "T2": Coverage("scripted", "a fixed market-share trend and fuel share per exporter and partner"),
        "T3": Coverage("scripted", "infrastructure adds capacity to the target level at a date"),
        "T4": Coverage("rule", "trust and lean of both sides set the political part of the target"),
        "T8": Coverage("rule", "sanctions cut the sanctioned pair's level; a share of the lost trade goes to open "
                               "partners, more to those that lean in"),
        "T9": Coverage("rule", "rerouting replaces only a share of the lost trade, spread by existing flows"),
        "T10": Coverage("rule", "fuel export values follow the energy price; USD economies follow exchange rates"),
        "E1": Coverage("scripted", "a pipeline is a dated capacity added to the pair's target"),
        "E5": Coverage("rule", "as a buyer takes more fuel from other suppliers, each supplier's fuel is worth less"),
    }
    Coefficients = TradeCoefficients
    state_vars = (StateVar("exports", "pairs:trade", "exports0", lo=0.0, jump="exports",
                           unit="bn USD per year (annual rate)"),
                  StateVar("infrastructure", "pairs:trade", "zeros_trade", record=False, jump="exports",
                           jump_ops=("add",), unit="bn USD per year"),
                  StateVar("trade_avg", "pairs:trust", "zeros_trust", record=False))
    draws = (Draw("trade.noise", "normal",
                  lambda cp: [f"{cp.states[i]}>{cp.states[j]}" for i, j in cp.pairs["trade"]]),)
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
        b.want_trust(b.pairs["trade"] + [(j, i) for i, j in b.pairs["trade"]])

    def prepare(self, b) -> None:
        sc, pairs = b.sc, b.pairs["trade"]
        b.put("exports0", np.stack(np.broadcast_arrays(
            *[b.num(f"states.{b.states[i]}.exports.{b.states[j]}", sc.states[b.states[i]].exports[b.states[j]].value)
              for i, j in pairs]), axis=-1) if pairs else np.zeros((1, 0)))
        b.put("zeros_trade", np.zeros((1, len(pairs))))
        price = b.arrays.get("energy_price")
        b.put("price_ratio", price / price[:, :1] if price is not None else np.ones((1, b.T)))
        b.put("energy_pair", self._energy_shares(b, pairs))
        sanctions = b.get("sanctions")
        hit = [np.maximum(sanctions[:, :, i, j], sanctions[:, :, j, i]) for i, j in pairs]
        b.put("sanction_hit", np.stack(hit, axis=-1) if hit else np.zeros((1, b.T, 0)))
        years = (np.arange(b.T) / 12.0)[None, :]
        trends = [b.num(f"states.{b.states[i]}.export_trend", sc.states[b.states[i]].export_trend.value)[:, None]
                  if sc.states[b.states[i]].export_trend else np.zeros((1, 1)) for i, _ in pairs]
        b.put("trend_factor", np.stack(np.broadcast_arrays(*[np.exp(t * years) for t in trends]), axis=-1)
              if pairs else np.ones((1, b.T, 0)))
        b.put_fixed("trade_trust_idx", [b.trust_index(p) for p in pairs])
        b.put_fixed("trade_back_idx", [b.trust_index((j, i)) for i, j in pairs])
        b.put_fixed("trade_exporter", [i for i, _ in pairs])
        b.put_fixed("trade_importer", [j for _, j in pairs])

    @staticmethod
    def _energy_shares(b, pairs) -> np.ndarray:
        """(points, T, pairs): the fuel share of each flow (per partner where given, else the exporter's)."""
        energy = b.get("energy_export_share")
        cols = []
        for i, j in pairs:
            st = b.sc.states[b.states[i]]
            given = st.export_energy_share.get(b.states[j])
            if given:
                v = b.num(f"states.{b.states[i]}.export_energy_share.{b.states[j]}", given.value)
                cols.append(np.broadcast_to(v[:, None], (len(v), b.T)))
            else:
                cols.append(energy[:, :, i])
        return np.stack(np.broadcast_arrays(*cols), axis=-1) if cols else np.zeros((1, b.T, 0))

    def init(self, eng) -> None:
        # Trust moves the target relative to the first month; lean relative to neutral (1/2), so that a state
        # that leans in (or away) from the start trades more (or less) than its first-month level.
        cp, k = eng.cp, eng.k
        fwd, back = cp.fixed["trade_trust_idx"], cp.fixed["trade_back_idx"]
        Tr = eng.state["trust"]
        eng.cache["trade_pol0"] = (k["trade_trust_effect"] * 0.5 * (Tr[:, fwd] + Tr[:, back])
                                   + k["trade_lean_effect"] * 0.5)
        eng.cache["energy_alt0"] = self._alternatives(eng, eng.at("energy_pair", 0))

    @staticmethod
    def _political(eng) -> np.ndarray:
        cp, k = eng.cp, eng.k
        fwd, back = cp.fixed["trade_trust_idx"], cp.fixed["trade_back_idx"]
        Tr, lean = eng.state["trust"], eng.state["lean"]
        return (k["trade_trust_effect"] * 0.5 * (Tr[:, fwd] + Tr[:, back])
                + k["trade_lean_effect"] * 0.5 * (lean[:, fwd] + lean[:, back]))

    @staticmethod
    def _alternatives(eng, energy: np.ndarray) -> np.ndarray:
        """(M, pairs) share of the importer's fuel imports that comes from other suppliers."""
        cp, X = eng.cp, eng.state["exports"]
        fuel = energy * X
        own = _by_state(eng, "importer").sum(fuel, from_zero=True)[:, cp.fixed["trade_importer"]]
        return np.where(own > 0, 1.0 - fuel / np.maximum(own, 1e-12), 0.0)

    def target(self, eng, month) -> np.ndarray:
        cp, k, t = eng.cp, eng.k, month.t
        G, G0 = eng.state["gdp"], eng.pick("gdp0")
        ex, im = cp.fixed["trade_exporter"], cp.fixed["trade_importer"]
        energy = eng.at("energy_pair", t)
        leverage = 1.0 - k["trade_energy_leverage"] * (self._alternatives(eng, energy) - eng.cache["energy_alt0"])
        price = member_power(eng.at("price_ratio", t)[:, None], k["trade_oil_elasticity"])
        econ = (eng.pick("exports0") * member_power(G[:, im] / G0[:, im], k["trade_income_elasticity"])
                * member_power(G[:, ex] / G0[:, ex], k["trade_supply_elasticity"]) * eng.at("trend_factor", t)
                * (1.0 - energy + energy * price * np.maximum(leverage, 0.0)))
        unsanctioned = econ * np.exp(self._political(eng) - eng.cache["trade_pol0"])
        hit = eng.at("sanction_hit", t) * np.ones_like(unsanctioned)
        lost = unsanctioned * k["trade_sanction_loss"] * hit
        return unsanctioned - lost + eng.state["infrastructure"] + self._rerouted(eng, lost, hit)

    @staticmethod
    def _rerouted(eng, lost: np.ndarray, hit: np.ndarray) -> np.ndarray:
        """Trade lost on sanctioned pairs, partly rerouted to each side's open partners."""
        cp, k, X = eng.cp, eng.k, eng.state["exports"]
        out = np.zeros_like(lost)
        if not lost.any():
            return out
        lean, fwd, back = eng.state["lean"], cp.fixed["trade_trust_idx"], cp.fixed["trade_back_idx"]
        for name, lean_idx in (("exporter", back), ("importer", fwd)):
            side, groups = cp.fixed[f"trade_{name}"], _by_state(eng, name)
            weight = X * (1.0 + lean[:, lean_idx]) * (hit == 0)
            lost_by, weight_by = groups.sum(lost, from_zero=True), groups.sum(weight, from_zero=True)
            share = np.where(weight_by[:, side] > 0, weight / np.maximum(weight_by[:, side], 1e-12), 0.0)
            out += k["trade_diversion"] * lost_by[:, side] * share
        return out

    def step(self, eng, month) -> None:
        k, X = eng.k, eng.state["exports"]
        if X.shape[1]:
            target = np.maximum(self.target(eng, month), 1e-9)
            X *= np.exp(k["trade_adjustment"] / 12.0 * (np.log(target) - np.log(np.maximum(X, 1e-9)))
                        + k["trade_noise"] / np.sqrt(12.0) * month.draws["trade.noise"])
        pair = np.log(np.maximum(month.values["pair_trade"], 1e-9))
        avg = eng.state["trade_avg"]
        if month.t == 0:
            avg[:] = pair
        month.values["trade_gap"] = np.maximum(0.0, avg - pair)
        avg += (pair - avg) / 12.0

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
