"""Arms transfers: contracts, a delivery backlog, and capability.

A seller signs contracts with a buyer at a hazard that grows with the
capability gap and the seller's trust, shrinks with fear of copying and with
the seller's other clients' fear of this buyer, and grows with the seller's
revenue need when oil is cheap, its isolation under sanctions and the
buyer's threat perception. Contracts enter a backlog that is delivered with
a fixed mean delay; deliveries raise the buyer's capability, which also
grows on its own toward the frontier (1).
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
from sim.core.params import NonNeg, Param, Positive, ranged


class ArmsCoefficients(CoefficientSet):
    arms_contract_rate: NonNeg = Param(
        value=0.8,
        assumption='judgement carried over from the baseline scenario; calibrate')
    arms_contract_value: Positive = Param(value=1.0, source='000_75864654e862cb18.txt:69-72', unit='bn USD')
    arms_contract_value_spread: NonNeg = Param(value=0.6, assumption='log-s.d. spanning $0.5-3 bn contracts')
    arms_delivery_months: ranged(1.0, None) = Param(value=36, source='000_75864654e862cb18.txt:72')
    arms_revenue_need: NonNeg = Param(value=1.0, source='000_75864654e862cb18.txt:59')
    arms_isolation_boost: NonNeg = Param(value=1.5, source='004_428dc53703d8f109.txt:100')
    arms_rival_restraint: NonNeg = Param(value=1.0, source='000_75864654e862cb18.txt:74')
    arms_threat_boost: NonNeg = Param(value=0.5, source='001_e7aa02c26cd915e1.txt:68')
    arms_copying: NonNeg = Param(value=0.01, source='000_75864654e862cb18.txt:53')
    arms_delivery_event_size: Positive = Param(
        value=0.4,
        assumption='value delivered per recorded delivery event (a batch)',
        unit='bn USD')
    oil_reference: Positive = Param(
        value=80,
        assumption='judgement carried over from the baseline scenario; calibrate',
        unit='USD per barrel')


class Arms(Mechanism):
    name = "arms"
    order = 50
    title = "Arms contracts, deliveries and capability"
    equations = (
        "contracts[i->j](t) ~ Poisson(pull[i->j](t) * max(capability_i - capability_j, 0) * trust[i->j]); "
        "pull = arms_contract_rate * (1 - copy_fear) * (1 + need_i + isolation_i) * (1 + arms_threat_boost * "
        "threat_j) / (1 + arms_rival_restraint * sum of the seller's other clients' threat from j); "
        "need_i = arms_revenue_need * max(0, 1 - oil/oil_reference) * energy_export_share_i; isolation_i = "
        "arms_isolation_boost * sanctions_exposure_i * sanctions on i; value = contracts * arms_contract_value * "
        "lognormal(arms_contract_value_spread); backlog += value; delivered = backlog / arms_delivery_months; "
        "capability += growth/12 * (1 - capability) + arms_copying * delivered.")
    ids = {
        "A2": Coverage("rule", "contracts follow the capability gap and deliveries close it"),
        "A11": Coverage("rule", "a backlog delivered with a fixed mean delay"),
        "A3": Coverage("scripted", "a fixed fear of copying per seller-buyer pair"),
        "A5": Coverage("scripted", "revenue need from the scripted oil price"),
        "A6": Coverage("scripted", "other clients' scripted threat from the buyer restrains sales"),
        "A8": Coverage("scripted", "the buyer's scripted threat raises demand"),
        "A9": Coverage("scripted", "sanctions on the seller raise its willingness to sell"),
    }
    Coefficients = ArmsCoefficients
    state_vars = (StateVar("capability", "states", "capability0", lo=0.0, hi=1.0, jump="arms_capability",
                           unit="capability (0–1, frontier = 1)"),
                  StateVar("backlog", "pairs:arms", "backlog0", record=False, unit="bn USD"))
    flows = (Flow("arms_contracts", "pairs:arms", "bn USD signed in the month"),
             Flow("arms_deliveries", "pairs:arms", "bn USD delivered in the month"))
    draws = (Draw("arms.value", "normal", 2, lambda cp: len(cp.pairs["arms"])),
             Draw("arms.contract", "uniform", 4, lambda cp: len(cp.pairs["arms"])),
             Draw("arms.delivery", "uniform", 5, lambda cp: len(cp.fixed["ch.arms_delivery"])))
    families = (
        ColumnFamily("arms_contracts", "bn USD signed per year (12-month sum)", "value of contracts signed in the "
                     "month, seller first", plot="rolling12"),
        ColumnFamily("arms_deliveries", "bn USD delivered per year (12-month sum)", "value delivered in the month",
                     plot="rolling12"),
        ColumnFamily("arms_capability", "capability (0–1, frontier = 1)", "a state's arms-industrial capability"),
    )

    observables = (Observable("arms_contract_value",
                              lambda a, e, i: f"arms_contracts.{e}.{i}" if e and i else None, False, "log1p"),)

    def structure(self, b) -> None:
        b.pairs["arms"] = [(b.si[s], b.si[o]) for s, st in b.sc.states.items() for o in st.arms_clients]
        b.want_trust(b.pairs["arms"])

    def prepare(self, b) -> None:
        sc, pairs = b.sc, b.pairs["arms"]
        oil = b.arrays.get("driver.oil_price", np.full((1, b.T), np.inf))  # no oil driver: no revenue need from it
        energy, threat = b.get("energy_export_share"), b.get("threat")
        c = {k: b.coef(k)[:, None] for k in ("arms_revenue_need", "oil_reference", "arms_isolation_boost",
                                             "arms_threat_boost", "arms_contract_rate", "arms_rival_restraint")}
        need = c["arms_revenue_need"][:, :, None] * np.clip(1.0 - oil / c["oil_reference"], 0.0, None)[:, :, None] \
            * energy
        isolation = c["arms_isolation_boost"][:, :, None] * b.get("sanctions_exposure") \
            * b.get("sanctions").sum(axis=2).clip(0, 1)
        demand = 1.0 + c["arms_threat_boost"][:, :, None] * threat.sum(axis=3)
        cols = []
        for i, j in pairs:
            fear = b.num(f"states.{b.states[i]}.arms_clients.{b.states[j]}.copy_fear",
                         sc.states[b.states[i]].arms_clients[b.states[j]].copy_fear.value)[:, None]
            restraint = np.zeros((threat.shape[0], b.T))
            for i2, j2 in pairs:
                if i2 == i and j2 != j:
                    restraint += threat[:, :, j2, j]     # another client of the seller fears this buyer
            cols.append(c["arms_contract_rate"] * (1.0 - fear) * (1.0 + need[:, :, i] + isolation[:, :, i])
                        * demand[:, :, j] / (1.0 + c["arms_rival_restraint"] * restraint))
        b.put("arms_pull", np.stack(np.broadcast_arrays(*cols), axis=-1) if cols else np.zeros((1, b.T, 0)))
        b.put("capability0", self._per_state(b, "arms_capability", 1.0))
        b.put("cap_growth", self._per_state(b, "arms_capability_growth", 12.0))
        b.put("backlog0", np.zeros((1, len(pairs))))
        b.put_fixed("arms_trust_idx", [b.trust_index(p) for p in pairs])
        b.put_fixed("arms_sellers", [i for i, _ in pairs])
        b.put_fixed("arms_buyers", [j for _, j in pairs])
        self._channels(b, pairs)

    @staticmethod
    def _per_state(b, fld: str, divide: float) -> np.ndarray:
        row = np.stack(np.broadcast_arrays(*[b.num(f"states.{s}.{fld}", getattr(st, fld).value)
                                             for s, st in b.sc.states.items()]), axis=-1)
        return row / divide if divide != 1.0 else row

    @staticmethod
    def _channels(b, pairs) -> None:
        fa, fb = b.focal
        focal, contract, delivery = [], [], []
        for p, (i, j) in enumerate(pairs):
            if {i, j} == {fa, fb}:
                focal.append(p)
                pair = (b.states[i], b.states[j])
                label = f"{pair[0]}>{pair[1]}"
                contract.append(b.channel(Channel("arms_contract", pair, None, "arms_contract", label)))
                delivery.append(b.channel(Channel("arms_delivery", pair, None, "arms_delivery", label)))
        b.put_fixed("focal_arms", focal)
        b.put_fixed("ch.arms_contract", contract)
        b.put_fixed("ch.arms_delivery", delivery)

    def step(self, eng, month) -> None:
        cp, k, C = eng.cp, eng.k, eng.state["capability"]
        if not len(cp.pairs["arms"]):
            C += eng.pick("cap_growth") * (1.0 - C)
            return
        sellers, buyers, B = cp.fixed["arms_sellers"], cp.fixed["arms_buyers"], eng.state["backlog"]
        gap = np.maximum(C[:, sellers] - C[:, buyers], 0.0)
        lam = eng.at("arms_pull", month.t) * gap * eng.state["trust"][:, cp.fixed["arms_trust_idx"]]
        n_contracts = poisson_from_uniform(lam, month.draws["arms.contract"])
        spread = k["arms_contract_value_spread"]
        value = n_contracts * k["arms_contract_value"] * np.exp(spread * month.draws["arms.value"]
                                                                  - 0.5 * spread * spread)
        B += value
        delivered = B / k["arms_delivery_months"]
        B -= delivered
        C += eng.pick("cap_growth") * (1.0 - C)
        for p, buyer in enumerate(buyers):
            C[:, buyer] += k["arms_copying"][:, 0] * delivered[:, p]
        np.clip(C, 0.0, 1.0, out=C)
        month.values["arms_contracts"] = value
        month.values["arms_deliveries"] = delivered
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
        for i in sorted({i for p in cp.pairs["arms"] for i in p}):
            cols[f"arms_capability.{S[i]}"] = recorded("capability", (i,))
        return cols


MECHANISM = Arms()
