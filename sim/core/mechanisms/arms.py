"""Arms transfers: what grade of system a seller will release, contracts, a slipping backlog, capability.

Each seller chooses, month by month, the top grade it offers each client: it
offers less to a client it fears will copy (A3, eased by trust), to one its
other valued clients fear (A6), and to one that has become a competitor on
third markets (A7); it offers more when it needs revenue (cheap oil, an empty
order book: A5, E7), when it is isolated (A9), and as the buyer closes the
gap while the seller's lead lasts (A4). A buyer signs contracts in proportion
to what the offer adds to its own capability (A2), its trust in the seller
and its perceived threats (A8). Contracts enter a backlog whose delivery
slips as it grows (A11); deliveries raise the buyer's capability, more for
top-grade systems (copying, A2). Dated contracts from the record (a
long-withheld system finally sold) add their value, backlog and grade.
Arming a state's rivals costs the seller that state's trust (A12, trust
mechanism). Waves of transfers (A1) emerge from these loops.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import (
    Channel,
    CoefficientSet,
    ColumnFamily,
    Coverage,
    Draw,
    Flow,
    Mechanism,
    Observable,
    StateVar,
    recorded,
)
from sim.core.mechanisms.events import poisson_from_uniform
from sim.core.mechanisms.strategy import sigmoid
from sim.core.params import NonNeg, Param, Positive, ranged
from sim.core.time import month_index


class ArmsCoefficients(CoefficientSet):
    arms_contract_rate: NonNeg = Param(
        value=0.8, assumption="monthly hazard scale per unit of offered capability gap; calibrate")
    arms_contract_value: Positive = Param(value=1.0, unit="bn USD", source="000_75864654e862cb18.txt:69-72",
                                          note="contracts of $0.5-0.7 bn (000:69-72) to $2-3 bn (002:120-122)")
    arms_contract_value_spread: NonNeg = Param(value=0.6, assumption="log-s.d. spanning $0.5-3 bn contracts")
    arms_grade_premium: NonNeg = Param(value=1.0, source="002_38276b7c24a0592b.txt:120-122",
                                       note="top systems (Su-35, S-400) sell for $2-3 bn: value rises with grade")
    arms_delivery_months: ranged(1.0, None) = Param(
        value=36, source="000_75864654e862cb18.txt:72", note="a contract delivered over about three years (A11)")
    arms_delivery_slip: NonNeg = Param(value=0.5, source="002_38276b7c24a0592b.txt:122",
                                       note="deliveries slip as the order book grows (A11); size is a judgement")
    arms_revenue_need: NonNeg = Param(value=1.0, source="000_75864654e862cb18.txt:59",
                                      note="the seller needs the revenue (A5); size is a judgement")
    arms_isolation_boost: NonNeg = Param(value=1.5, source="004_428dc53703d8f109.txt:97-104",
                                         note="an isolated seller releases top systems (A9); size is a judgement")
    arms_rival_restraint: NonNeg = Param(value=1.0, source="000_75864654e862cb18.txt:74",
                                         note="valued clients' fears restrain sales (A6); size is a judgement")
    arms_threat_boost: NonNeg = Param(value=0.5, source="001_e7aa02c26cd915e1.txt:68",
                                      note="threats drive purchases (A8); size is a judgement")
    arms_copying: NonNeg = Param(value=0.01, source="000_75864654e862cb18.txt:53",
                                 note="capability gained per bn USD of top-grade deliveries to a buyer feared at 0.5 "
                                      "(A2)")
    arms_copy_fear_weight: NonNeg = Param(value=3.0, source="000_75864654e862cb18.txt:53",
                                          note="fear of copying withholds top systems (A3); size is a judgement")
    arms_fear_trust_relief: NonNeg = Param(value=2.0, source="004_428dc53703d8f109.txt:97-99",
                                           note="trust (an IPR deal) eases the fear of copying; size is a judgement")
    arms_urgency: NonNeg = Param(value=2.0, source="000_75864654e862cb18.txt:57-59",
                                 note="sell while the lead lasts (A4); size is a judgement")
    arms_competition: NonNeg = Param(value=2.0, source="004_428dc53703d8f109.txt:141-153",
                                     note="a client that exports arms itself is supplied less (A7)")
    arms_grade_floor: NonNeg = Param(value=0.25, source="000_75864654e862cb18.txt:61",
                                     note="engines and helicopters still sell when top systems are withheld")
    arms_order_book_months: ranged(1.0, None) = Param(
        value=60.0, source="001_e7aa02c26cd915e1.txt:70",
        note="a seller judges its order book against the last few years' (orders for 5-7 years, 001:70)")
    arms_grade_bias: Param = Param(value=0.0, assumption="grade offered with no pressure either way: middling")
    arms_grade_speed: NonNeg = Param(value=1.0, assumption="per year: release policy shifts over about a year")
    arms_delivery_event_size: Positive = Param(value=0.4, unit="bn USD",
                                               assumption="value delivered per recorded delivery event (a batch)")
    oil_reference: Positive = Param(value=80, unit="USD per barrel",
                                    assumption="energy price below which a fuel exporter's revenue need rises")


def _pairs_of(cp):
    return cp.pairs["arms"]


class Arms(Mechanism):
    name = "arms"
    order = 50
    title = "Arms: release grade, contracts, deliveries and capability"
    equations = (
        "grade_target[i->j] = sigmoid(arms_grade_bias - arms_copy_fear_weight * copy_fear * exp(-arms_fear_trust_"
        "relief * (trust[i->j] - trust_reference)) + arms_revenue_need * (energy_i * max(0, 1 - p/oil_reference) "
        "+ max(0, 1 - backlog_i/order_book_i)) + arms_isolation_boost * isolation_i - arms_rival_restraint * "
        "sum over i's other clients k of trust[i->k] * threat[k,j] + arms_urgency * max(0, capability_j/capability_i "
        "- 0.5) - arms_competition * max(0, capability_j - 0.6)); grade moves toward it at arms_grade_speed per year. "
        "contracts[i->j] ~ Poisson(arms_contract_rate * max(0, capability_i - capability_j) * (arms_grade_floor + "
        "grade) * trust[j->i] / "
        "trust_reference * (1 + arms_threat_boost * threat_j)); value = contracts * arms_contract_value * (1 + "
        "arms_grade_premium * grade) * lognormal(arms_contract_value_spread); delivered = backlog / "
        "(arms_delivery_months * (1 + arms_delivery_slip * backlog_i / order_book_i)); order_book_i moves toward "
        "backlog_i by 1/arms_order_book_months a month; capability += growth/12 * "
        "(1 - capability) + arms_copying * grade * copy_fear / 0.5 * delivered (a buyer the seller fears will copy "
        "is one that can).")
    ids = {key: Coverage("rule", text) for key, text in {
        "A1": "waves emerge: releases follow need and isolation, demand falls as the buyer catches up",
        "A2": "contracts follow the offered capability gap, and top-grade deliveries close it",
        "A3": "fear of copying lowers the grade offered, less so with trust",
        "A4": "as the buyer closes the gap the seller releases more while its lead lasts",
        "A5": "an emptying order book and cheap oil raise the seller's need and its offers",
        "A6": "other valued clients' fear of the buyer restrains the offer; a client that buys less empties the "
              "order book and pushes the seller toward others",
        "A7": "a buyer that becomes a competitor is offered less",
        "A8": "the buyer's perceived threats raise its demand",
        "A9": "isolation makes the seller release top systems",
        "A11": "deliveries slip as the backlog grows",
    }.items()}
    Coefficients = ArmsCoefficients
    state_vars = (StateVar("capability", "states", "capability0", lo=0.0, hi=1.0, jump="arms_capability",
                           unit="capability (0–1, frontier = 1)"),
                  StateVar("backlog", "pairs:arms", "backlog0", lo=0.0, record=False, unit="bn USD"),
                  StateVar("grade", "pairs:arms", "grade0", lo=0.0, hi=1.0, unit="grade (0–1)"),
                  StateVar("order_book_avg", "states", "zeros_states", record=False, unit="bn USD"))
    flows = (Flow("arms_contracts", "pairs:arms", "bn USD signed in the month"),
             Flow("arms_deliveries", "pairs:arms", "bn USD delivered in the month"))
    draws = (Draw("arms.value", "normal", lambda cp: [f"{cp.states[i]}>{cp.states[j]}" for i, j in _pairs_of(cp)]),
             Draw("arms.contract", "uniform",
                  lambda cp: [f"{cp.states[i]}>{cp.states[j]}" for i, j in _pairs_of(cp)]),
             Draw("arms.delivery", "uniform", lambda cp: [cp.channels[c].key for c in cp.fixed["ch.arms_delivery"]]))
    families = (
        ColumnFamily("arms_contracts", "bn USD signed per year (12-month sum)", "value of contracts signed in the "
                     "month, seller first", plot="rolling12"),
        ColumnFamily("arms_deliveries", "bn USD delivered per year (12-month sum)", "value delivered in the month",
                     plot="rolling12"),
        ColumnFamily("arms_capability", "capability (0–1, frontier = 1)", "a state's arms-industrial capability"),
        ColumnFamily("arms_grade", "grade (0–1)", "the top grade of system a seller offers a buyer"),
    )
    observables = (Observable("arms_contract_value",
                              lambda a, e, i: f"arms_contracts.{e}.{i}" if e and i else None, False, "log1p"),)

    def structure(self, b) -> None:
        b.pairs["arms"] = [(b.si[s], b.si[o]) for s, st in b.sc.states.items() for o in st.arms_clients]
        b.want_trust(b.pairs["arms"] + [(j, i) for i, j in b.pairs["arms"]])

    def prepare(self, b) -> None:
        sc, pairs = b.sc, b.pairs["arms"]
        clients = [sc.states[b.states[i]].arms_clients[b.states[j]] for i, j in pairs]
        paths = [f"states.{b.states[i]}.arms_clients.{b.states[j]}" for i, j in pairs]
        b.put("copy_fear", self._stack(b, [(f"{p}.copy_fear", c.copy_fear.value) for p, c in zip(paths, clients,
                                                                                                 strict=True)]))
        b.put("backlog0", self._stack(b, [(f"{p}.backlog", c.backlog.value) for p, c in zip(paths, clients,
                                                                                             strict=True)]))
        b.put("grade_given", self._stack(b, [(f"{p}.grade", c.grade.value if c.grade else np.nan)
                                             for p, c in zip(paths, clients, strict=True)]))
        b.put("grade0", np.zeros((1, len(pairs))))
        b.put("capability0", self._per_state(b, "arms_capability", 1.0))
        b.put("cap_growth", self._per_state(b, "arms_capability_growth", 12.0))
        b.put("scripted_contracts", self._scripted(b, pairs))
        b.put_fixed("arms_trust_idx", [b.trust_index(p) for p in pairs])
        b.put_fixed("arms_buyer_trust_idx", [b.trust_index((j, i)) for i, j in pairs])
        b.put_fixed("arms_sellers", [i for i, _ in pairs])
        b.put_fixed("arms_buyers", [j for _, j in pairs])
        self._channels(b, pairs)

    @staticmethod
    def _stack(b, items) -> np.ndarray:
        if not items:
            return np.zeros((1, 0))
        return np.stack(np.broadcast_arrays(*[b.num(path, v) for path, v in items]), axis=-1)

    @staticmethod
    def _per_state(b, fld: str, divide: float) -> np.ndarray:
        row = np.stack(np.broadcast_arrays(*[b.num(f"states.{s}.{fld}", getattr(st, fld).value)
                                             for s, st in b.sc.states.items()]), axis=-1)
        return row / divide if divide != 1.0 else row

    @staticmethod
    def _scripted(b, pairs) -> np.ndarray:
        """(points, T, pairs, 2) value and grade of contracts the timeline dates."""
        out = np.zeros((1, b.T, len(pairs), 2))
        for i, ev in enumerate(b.sc.timeline):
            t = month_index(ev.date) - b.t0
            for n, c in enumerate(ev.contracts):
                p = pairs.index((b.si[c.seller], b.si[c.buyer]))
                value = b.num(f"timeline.{i}.contracts.{n}.value", c.value.value)
                grade = b.num(f"timeline.{i}.contracts.{n}.grade", c.grade.value)
                out = np.repeat(out, max(len(value), len(grade)), axis=0) if len(value) > out.shape[0] else out
                out[:, t, p, 0] += value
                out[:, t, p, 1] = np.maximum(out[:, t, p, 1], grade)
        return out

    @staticmethod
    def _channels(b, pairs) -> None:
        fa, fb = b.focal
        focal, contract, delivery = [], [], []
        for p, (i, j) in enumerate(pairs):
            if {i, j} == {fa, fb}:
                focal.append(p)
                pair = (b.states[i], b.states[j])
                label = f"{pair[0]}>{pair[1]}"
                contract.append(b.channel(Channel("arms_contract", pair, None, "arms_contract", label, True)))
                delivery.append(b.channel(Channel("arms_delivery", pair, None, "arms_delivery", label, True)))
        b.put_fixed("focal_arms", focal)
        b.put_fixed("ch.arms_contract", contract)
        b.put_fixed("ch.arms_delivery", delivery)

    def init(self, eng) -> None:
        cp = eng.cp
        if not len(cp.pairs["arms"]):
            return
        total0 = self._seller_totals(eng, eng.state["backlog"])
        eng.state["order_book_avg"] = np.maximum(total0, 3.0 * eng.k["arms_contract_value"]) * np.ones((eng.M, 1))
        from sim.core.mechanisms.perception import MECHANISM as perception
        target = self.grade_target(eng, perception.perceive(eng, 0), 0)
        given = eng.pick("grade_given") * np.ones_like(target)
        eng.state["grade"][:] = np.where(np.isnan(given), target, given)

    @staticmethod
    def _seller_totals(eng, B: np.ndarray) -> np.ndarray:
        """(M, S) each seller's total backlog (added pair by pair)."""
        out = np.zeros((B.shape[0], len(eng.cp.states)))
        for p, i in enumerate(eng.cp.fixed["arms_sellers"]):
            out[:, i] += B[:, p]
        return out

    def grade_target(self, eng, view: dict, t: int) -> np.ndarray:
        cp, k, C, Tr = eng.cp, eng.k, eng.state["capability"], eng.state["trust"]
        sellers, buyers = cp.fixed["arms_sellers"], cp.fixed["arms_buyers"]
        trust = Tr[:, cp.fixed["arms_trust_idx"]]
        fear = eng.pick("copy_fear") * np.exp(-k["arms_fear_trust_relief"] * (trust - k["trust_reference"]))
        price = eng.cp.arrays.get("energy_price")
        cheap = (np.maximum(0.0, 1.0 - eng.at("energy_price", t)[:, None] / k["oil_reference"])
                 if price is not None else 0.0)
        orders = np.maximum(0.0, 1.0 - self._seller_totals(eng, eng.state["backlog"]) / eng.state["order_book_avg"])
        need = k["arms_revenue_need"] * (eng.at("energy_export_share", t) * cheap + orders)
        restraint = np.zeros_like(trust)
        for p, (i, j) in enumerate(cp.pairs["arms"]):
            for q, (i2, j2) in enumerate(cp.pairs["arms"]):
                if i2 == i and j2 != j:
                    restraint[:, p] += trust[:, q] * view["threat"].get(j2, j)
        z = (k["arms_grade_bias"] - k["arms_copy_fear_weight"] * fear + need[:, sellers]
             + k["arms_isolation_boost"] * view["isolation"][:, sellers] - k["arms_rival_restraint"] * restraint
             + k["arms_urgency"] * np.maximum(0.0, C[:, buyers] / np.maximum(C[:, sellers], 1e-9) - 0.5)
             - k["arms_competition"] * np.maximum(0.0, C[:, buyers] - 0.6))
        return sigmoid(z)

    def step(self, eng, month) -> None:
        cp, k, C = eng.cp, eng.k, eng.state["capability"]
        if not len(cp.pairs["arms"]):
            C += eng.pick("cap_growth") * (1.0 - C)
            return
        grade, B = eng.state["grade"], eng.state["backlog"]
        sellers, buyers = cp.fixed["arms_sellers"], cp.fixed["arms_buyers"]
        grade += k["arms_grade_speed"] / 12.0 * (self.grade_target(eng, month.values, month.t) - grade)
        scripted = eng.at("scripted_contracts", month.t)
        np.maximum(grade, scripted[..., 1], out=grade)
        willing = eng.state["trust"][:, cp.fixed["arms_buyer_trust_idx"]] / k["trust_reference"]
        demand = 1.0 + k["arms_threat_boost"] * month.values["threat"].row_total()[:, buyers]
        offer = np.maximum(C[:, sellers] - C[:, buyers], 0.0) * (k["arms_grade_floor"] + grade)
        n_contracts = poisson_from_uniform(k["arms_contract_rate"] * offer * willing * demand,
                                           month.draws["arms.contract"])
        spread = k["arms_contract_value_spread"]
        value = (n_contracts * k["arms_contract_value"] * (1.0 + k["arms_grade_premium"] * grade)
                 * np.exp(spread * month.draws["arms.value"] - 0.5 * spread * spread) + scripted[..., 0])
        B += value
        totals, avg = self._seller_totals(eng, B), eng.state["order_book_avg"]
        load = totals[:, sellers] / avg[:, sellers]
        avg += (totals - avg) / k["arms_order_book_months"]
        delivered = B / (k["arms_delivery_months"] * (1.0 + k["arms_delivery_slip"] * load))
        B -= delivered
        C += eng.pick("cap_growth") * (1.0 - C)
        fear = eng.pick("copy_fear") * np.ones_like(grade)
        for p, buyer in enumerate(buyers):
            C[:, buyer] += k["arms_copying"][:, 0] * grade[:, p] * fear[:, p] / 0.5 * delivered[:, p]
        np.clip(C, 0.0, 1.0, out=C)
        month.values["arms_contracts"] = value
        month.values["arms_deliveries"] = delivered
        self._events(eng, month, n_contracts + (scripted[..., 0] > 0), delivered)

    @staticmethod
    def _events(eng, month, n_contracts, delivered) -> None:
        cp, k = eng.cp, eng.k
        focal = cp.fixed["focal_arms"]
        if len(focal):
            month.counts[:, cp.fixed["ch.arms_contract"]] = n_contracts[:, focal]
            month.counts[:, cp.fixed["ch.arms_delivery"]] = poisson_from_uniform(
                delivered[:, focal] / k["arms_delivery_event_size"], month.draws["arms.delivery"])

    def columns(self, cp) -> dict:
        S, cols = cp.states, {}
        for k, (i, j) in enumerate(cp.pairs["arms"]):
            cols[f"arms_contracts.{S[i]}.{S[j]}"] = recorded("arms_contracts", (k,))
            cols[f"arms_deliveries.{S[i]}.{S[j]}"] = recorded("arms_deliveries", (k,))
            cols[f"arms_grade.{S[i]}.{S[j]}"] = recorded("grade", (k,))
        for i in sorted({i for p in cp.pairs["arms"] for i in p}):
            cols[f"arms_capability.{S[i]}"] = recorded("capability", (i,))
        return cols


MECHANISM = Arms()
