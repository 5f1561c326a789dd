"""How far each state leans toward each partner: its choice between partnership and hedging.

The documents describe a "strategic partnership without alliance": each side
leans toward the other as far as its situation makes worthwhile. A state
leans more when it is isolated (X10, P4; toward partners that
neither threaten nor sanction it), shares threats with the partner
(X1, X4), trusts it, or is in recession while the partner grows (T7); it
leans less when the partner would make it the junior party (P5, unless
isolation leaves no choice, P4) and when it trades much with the states its
partner opposes (X2, T6). Lean moves toward that target at a finite speed,
with noise, and feeds back: it warms trust, raises cooperative event rates,
lifts trade, and makes sellers release better arms.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Draw, Mechanism, StateVar, recorded
from sim.core.mechanisms.groups import Groups
from sim.core.mechanisms.perception import pair_index
from sim.core.params import NonNeg, Param


class StrategyCoefficients(CoefficientSet):
    lean_bias: Param = Param(value=-0.5, assumption="a state with no reason to lean stays short of alignment "
                                                    "('partnership without alliance', 004:26-28)")
    lean_isolation: NonNeg = Param(value=3.0, source="004_428dc53703d8f109.txt:287-299",
                                   note="isolation pushes the weaker side toward the partner (P4, X10); size is a "
                                        "judgement")
    lean_shared_threat: NonNeg = Param(value=2.0, source="003_3886cf81219507be.txt:71-77",
                                       note="pressure from a common adversary raises the demand for the partner "
                                            "(X4); size is a judgement")
    lean_trust: NonNeg = Param(value=2.0, assumption="states lean toward partners they trust; calibrate")
    lean_junior: NonNeg = Param(value=2.0, source="000_75864654e862cb18.txt:29-41",
                                note="aversion to junior status leads to hedging (P5); size is a judgement")
    lean_western_dependence: NonNeg = Param(value=2.0, source="001_e7aa02c26cd915e1.txt:78-80",
                                            note="trade with the partner's adversaries caps opposition to them "
                                                 "(X2, T6); size is a judgement")
    lean_recession: NonNeg = Param(value=2.0, source="000_75864654e862cb18.txt:29-31",
                                   note="a slump sends a state after the growing partner (T7); size is a judgement")
    lean_speed: NonNeg = Param(value=1.0, assumption="per year: a strategy shifts over about a year; calibrate")
    lean_noise: NonNeg = Param(value=0.05, assumption="yearly s.d. of shifts in lean not explained above")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Strategy(Mechanism):
    name = "strategy"
    order = 9
    title = "Strategy: leaning toward or hedging against each partner"
    equations = (
        "lean_target[i->j] = sigmoid(lean_bias + lean_isolation * isolation_i * (1 - threat[i,j]) * "
        "(1 - sanction[j,i]) + lean_shared_threat * shared[i,j] "
        "+ lean_trust * (trust[i->j] - trust_reference) - lean_junior * junior[i,j] * (1 - isolation_i) "
        "- lean_western_dependence * adversary_trade[i,j] + lean_recession * recession_i * max(0, growth_j - "
        "growth_i)); junior = max(0, 2 * size[i,j] - 1); adversary_trade[i,j] = sum over k of i's trade share "
        "with k times j's threat from k; d lean / month = lean_speed/12 * (target - lean) + lean_noise/sqrt(12) u, "
        "u a uniform shock with mean 0 and s.d. 1.")
    ids = {
        "P4": Coverage("rule", "isolation overrides aversion to junior status: the weaker, isolated side leans in"),
        "P5": Coverage("rule", "a much larger partner makes a state hedge (lean less)"),
        "X2": Coverage("rule", "trade with the partner's adversaries lowers how far a state leans toward it"),
        "T6": Coverage("rule", "ties to Western markets lower lean, and with it the political lift of bilateral "
                               "trade"),
        "T7": Coverage("rule", "a state in recession leans toward faster-growing partners"),
        "X3": Coverage("rule", "a thaw with a common adversary lowers shared threat and with it lean"),
        "X4": Coverage("rule", "pressure from a common adversary raises shared threat and lean"),
        "X7": Coverage("rule", "a state hedges toward third states when a partner dominates it"),
    }
    Coefficients = StrategyCoefficients
    state_vars = (StateVar("lean", "pairs:trust", "lean0", lo=0.0, hi=1.0, unit="lean (0–1)"),)
    draws = (Draw("lean.noise", "uniform",
                  lambda cp: [f"{cp.states[i]}>{cp.states[j]}" for i, j in cp.pairs["trust"]]),)
    families = (ColumnFamily("lean", "lean (0–1)", "how far one state leans toward another"),)

    def prepare(self, b) -> None:
        b.put("lean0", np.zeros((1, len(b.pairs["trust"]))))   # set from the first month's target

    def target(self, eng, view: dict) -> np.ndarray:
        cp, k = eng.cp, eng.k
        ti, tj = pair_index(cp)
        iso = view["isolation"]
        growth = eng.at("growth", view["t"]) * np.ones((eng.M, 1))
        junior = np.maximum(0.0, 2.0 * view["size"] - 1.0)
        adversary = self._adversary_trade(cp, view, ti, tj)
        refuge = (1.0 - view["threat"].get(ti, tj)) * (1.0 - eng.at("sanctions", view["t"])[:, tj, ti])
        z = (k["lean_bias"] + k["lean_isolation"] * iso[:, ti] * refuge + k["lean_shared_threat"] * view["shared"]
             + k["lean_trust"] * (eng.state["trust"] - k["trust_reference"])
             - k["lean_junior"] * junior * (1.0 - iso[:, ti])
             - k["lean_western_dependence"] * adversary
             + k["lean_recession"] * view["recession"][:, ti] * np.maximum(0.0, growth[:, tj] - growth[:, ti]))
        return sigmoid(z)

    @staticmethod
    def _adversary_trade(cp, view, ti, tj) -> np.ndarray:
        """i's trade share with the states j perceives as threats, weighted by that threat."""
        P, Q, groups = cp.cache_adversary
        return groups.sum(view["trade_share"][:, Q] * view["threat"].get(tj[P], tj[Q]))

    def init(self, eng) -> None:
        from sim.core.mechanisms.perception import MECHANISM as perception
        ti, tj = pair_index(eng.cp)
        P, Q = np.nonzero((ti[:, None] == ti[None, :]) & (tj[:, None] != tj[None, :]))
        eng.cp.cache_adversary = (P, Q, Groups(np.arange(len(P)), P, len(ti)))
        view = perception.perceive(eng, 0)
        view["t"] = 0
        eng.state["lean"][:] = self.target(eng, view)

    def step(self, eng, month) -> None:
        view = dict(month.values, t=month.t)
        lean, k = eng.state["lean"], eng.k
        lean += (k["lean_speed"] / 12.0 * (self.target(eng, view) - lean)
                 + k["lean_noise"] * (month.draws["lean.noise"] - 0.5))     # s.d. lean_noise / sqrt(12)
        np.clip(lean, 0.0, 1.0, out=lean)

    def columns(self, cp) -> dict:
        return {f"lean.{cp.states[i]}.{cp.states[j]}": recorded("lean", (p,))
                for p, (i, j) in enumerate(cp.pairs["trust"])}


MECHANISM = Strategy()
