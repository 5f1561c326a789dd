"""What each state perceives of the others this month, computed from their current state.

Threat, shared threat, isolation, dependence, relative size, rivalry and a
memory of crises are not scripted paths: they follow what the other agents
did up to last month. Scripted values (a threat level in the scenario, a
timeline shock) remain the base they are perceived on top of. Every other
mechanism reads these perceptions, which is how a third state's behaviour
reaches the focal pair: a state losing trust in its main partners becomes
isolated; a client buying less empties a seller's order book; a partner's
growth changes who is the junior partner.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Flow, Mechanism, StateVar, recorded
from sim.core.mechanisms.groups import Groups, SparseThreat, with_zero
from sim.core.params import NonNeg, Param, ranged


class PerceptionCoefficients(CoefficientSet):
    threat_from_distrust: NonNeg = Param(
        value=0.5, source="004_428dc53703d8f109.txt:132-139",
        note="a partner trusted below the reference is perceived as a threat; size is a judgement")
    threat_from_sanctions: NonNeg = Param(
        value=0.3, source="004_428dc53703d8f109.txt:1-9", note="sanctions are read as hostility; size is a judgement")
    isolation_from_distrust: NonNeg = Param(
        value=0.8, source="004_428dc53703d8f109.txt:1-9",
        note="broken ties with its main partners isolate a state (X10); size is a judgement")
    sphere_rivalry: NonNeg = Param(
        value=1.0, source="004_428dc53703d8f109.txt:198-218",
        note="a partner's growing trade share in a state's own neighbourhood club is read as rivalry (O3, O10)")
    crisis_memory_months: ranged(1.0, None) = Param(
        value=6.0, assumption="a crisis shapes contacts for about half a year (003:27, 002:77 show reactions within "
                              "days to months); calibrate")


def pair_index(cp) -> tuple[np.ndarray, np.ndarray]:
    return cp.fixed["trust_i"], cp.fixed["trust_j"]


class Perception(Mechanism):
    name = "perception"
    order = 8
    title = "Perception: threat, isolation, dependence, size, rivalry, crises"
    equations = (
        "threat[i,j] = scripted threat + threat_from_distrust * max(0, trust_reference - trust[i->j]) + "
        "threat_from_sanctions "
        "* sanction[j,i], in [0, 1]; shared[i,j] = sum over k of min(threat[i,k], threat[j,k]); isolation_i = "
        "exposure_i * sanctions on i + isolation_from_distrust * sum over i's partners j, weighted by gdp_j, of "
        "max(0, trust_reference - trust[i->j]); trade_share[i,j] = (exports i->j + j->i) / i's trade; size[i,j] = "
        "gdp_j / (gdp_i + gdp_j); rivalry[i,j] = scripted rivalry + sphere_rivalry * change in j's trade share "
        "with i's club partners (states sharing an organisation with i but not with j); crisis[i,j] decays with "
        "crisis_memory_months and grows with every rise of shared[i,j], isolation_i or isolation_j.")
    ids = {
        "X1": Coverage("rule", "shared threat is computed each month from both sides' perceived threats"),
        "X10": Coverage("rule", "sanctions and broken trust with its main partners isolate a state; isolation "
                                "drives leaning, trade rerouting, arms releases and agreements"),
        "P7": Coverage("rule", "falling trust raises perceived threat from the partner"),
        "O3": Coverage("rule", "a partner's growing trade with a state's club partners is perceived as rivalry"),
        "O10": Coverage("rule", "a neighbourhood tilts toward the partner whose trade grows; the other perceives "
                                "rivalry and its trust falls"),
    }
    Coefficients = PerceptionCoefficients
    state_vars = (StateVar("crisis", "pairs:trust", "zeros_trust", record=False),
                  StateVar("shared_prev", "pairs:trust", "zeros_trust", record=False),
                  StateVar("isolation_prev", "states", "zeros_states", record=False),
                  StateVar("sphere0", "pairs:trust", "zeros_trust", record=False))
    flows = (Flow("isolation", "states", "isolation (0–1)"), Flow("perceived_threat", "pairs:trust", "threat (0–1)"))
    families = (ColumnFamily("isolation", "isolation (0–1)", "a state's perceived isolation"),
                ColumnFamily("threat", "threat (0–1)", "the threat one state perceives from another"))

    def prepare(self, b) -> None:
        S, pairs = len(b.states), b.pairs["trust"]
        b.put("zeros_trust", np.zeros((1, len(pairs))))
        b.put("zeros_states", np.zeros((1, len(b.states))))
        threat, sanctions = b.get("threat"), b.get("sanctions")
        possible = threat.any(axis=(0, 1)) | np.swapaxes(sanctions.any(axis=(0, 1)), 0, 1)
        for i, j in pairs:
            possible[i, j] = True
        np.fill_diagonal(possible, False)
        entries = np.argwhere(possible)                      # sorted by row, then column
        pos = np.full((S, S), len(entries), dtype=int)
        pos[entries[:, 0], entries[:, 1]] = np.arange(len(entries))
        b.put("threat_entries", threat[:, :, entries[:, 0], entries[:, 1]])
        b.put("sanction_entries", sanctions[:, :, entries[:, 1], entries[:, 0]])
        b.put_fixed("threat_pos", pos)
        b.put_fixed("threat_rows", entries[:, 0])
        b.put_fixed("threat_tracked", [pos[i, j] for i, j in pairs])
        self._shared_terms(b, pairs, pos, len(entries))
        self._club(b, pairs)

    @staticmethod
    def _shared_terms(b, pairs, pos, n_entries) -> None:
        """For each trust pair (i, j), the third states k both may feel threatened by."""
        p_idx, ik, jk = [], [], []
        for p, (i, j) in enumerate(pairs):
            for k in range(len(b.states)):
                if k not in (i, j) and pos[i, k] < n_entries and pos[j, k] < n_entries:
                    p_idx.append(p)
                    ik.append(pos[i, k])
                    jk.append(pos[j, k])
        b.put_fixed("shared_pair", p_idx)
        b.put_fixed("shared_ik", ik)
        b.put_fixed("shared_jk", jk)

    @staticmethod
    def _club(b, pairs) -> None:
        """Terms of each pair's sphere: (pair, trade flow between j and a club partner m of i, m)."""
        members = b.get("members")[0].any(axis=0)
        trade = {p: n for n, p in enumerate(b.pairs["trade"])}
        rows, flows, mates, counts = [], [], [], np.zeros(len(pairs))
        for p, (i, j) in enumerate(pairs):
            club = [m for m in range(len(b.states)) if m not in (i, j)
                    and any(members[i, o] and members[m, o] and not members[j, o] for o in range(len(b.orgs)))]
            counts[p] = max(len(club), 1)
            for m in club:
                for key in ((j, m), (m, j)):
                    if key in trade:
                        rows.append(p)
                        flows.append(trade[key])
                        mates.append(m)
        b.put_fixed("club_pair", rows)
        b.put_fixed("club_flow", flows)
        b.put_fixed("club_mate", mates)
        b.put_fixed("club_count", counts, dtype=float)

    def init(self, eng) -> None:
        cp = eng.cp
        S, Pt = len(cp.states), len(cp.pairs["trust"])
        ti, _ = pair_index(cp)
        trade = cp.pairs["trade"]
        where = {p: n for n, p in enumerate(trade)}
        eng.cache["perception"] = {
            "rows": Groups(np.arange(len(cp.fixed["threat_rows"])), cp.fixed["threat_rows"], S),
            "shared": Groups(np.arange(len(cp.fixed["shared_pair"])), cp.fixed["shared_pair"], Pt),
            "totals": Groups(np.r_[np.arange(len(trade)), np.arange(len(trade))],
                             np.r_[[i for i, _ in trade], [j for _, j in trade]].astype(int), S),
            "fwd": np.array([where.get((i, j), len(trade)) for i, j in cp.pairs["trust"]], dtype=int),
            "back": np.array([where.get((j, i), len(trade)) for i, j in cp.pairs["trust"]], dtype=int),
            "by_truster": Groups(np.arange(Pt), ti, S),
            "club": Groups(np.arange(len(cp.fixed["club_pair"])), cp.fixed["club_pair"], Pt),
        }
        view = self.perceive(eng, 0)
        eng.state["shared_prev"] = view["shared"].copy()
        eng.state["isolation_prev"] = view["isolation"].copy()
        eng.state["sphere0"] = view["sphere"].copy()

    def threat(self, eng, t: int) -> SparseThreat:
        cp, k = eng.cp, eng.k
        vals = eng.at("threat_entries", t) + k["threat_from_sanctions"] * eng.at("sanction_entries", t)
        vals = vals * np.ones((eng.M, 1))
        vals[:, cp.fixed["threat_tracked"]] += k["threat_from_distrust"] * np.maximum(
            0.0, k["trust_reference"] - eng.state["trust"])
        np.clip(vals, 0.0, 1.0, out=vals)
        return SparseThreat(with_zero(vals), cp.fixed["threat_pos"], eng.cache["perception"]["rows"])

    def perceive(self, eng, t: int) -> dict:
        """This month's perceptions from the state at its start."""
        cp, c = eng.cp, eng.cache["perception"]
        ti, tj = pair_index(cp)
        X, G = eng.state["exports"], eng.state["gdp"]
        threat = self.threat(eng, t)
        shared = c["shared"].sum(np.minimum(threat.values[:, cp.fixed["shared_ik"]],
                                            threat.values[:, cp.fixed["shared_jk"]]))
        totals = c["totals"].sum(X)
        Xz = with_zero(X)
        trade = Xz[:, c["fwd"]] + Xz[:, c["back"]]
        return {"threat": threat, "shared": shared, "pair_trade": trade, "trade_totals": totals,
                "trade_share": np.where(totals[:, ti] > 0, trade / np.maximum(totals[:, ti], 1e-12), 0.0),
                "size": G[:, tj] / np.maximum(G[:, ti] + G[:, tj], 1e-12),
                "isolation": self._isolation(eng, t, G),
                "recession": np.maximum(0.0, -eng.at("growth", t)) * np.ones((eng.M, 1)),
                "sphere": self._sphere(cp, c, X, totals)}

    @staticmethod
    def _isolation(eng, t, G) -> np.ndarray:
        cp, k, c = eng.cp, eng.k, eng.cache["perception"]
        ti, tj = pair_index(cp)
        pressure = eng.at("sanctions_exposure", t) * eng.at("sanction_pressure", t)
        weight = c["by_truster"].sum(G[:, tj])
        share = G[:, tj] / np.maximum(weight[:, ti], 1e-12)
        distrust = c["by_truster"].sum(share * np.maximum(0.0, k["trust_reference"] - eng.state["trust"]))
        return np.clip(pressure + k["isolation_from_distrust"] * distrust, 0.0, 1.0)

    @staticmethod
    def _sphere(cp, c, X, totals) -> np.ndarray:
        """(M, trust pairs) mean trade share of j among i's club partners."""
        mates = cp.fixed["club_mate"]
        flows = X[:, cp.fixed["club_flow"]] / np.maximum(totals[:, mates], 1e-12) * (totals[:, mates] > 0)
        return c["club"].sum(flows) / cp.fixed["club_count"]

    def step(self, eng, month) -> None:
        k = eng.k
        view = self.perceive(eng, month.t)
        ti, tj = pair_index(eng.cp)
        iso, prev = view["isolation"], eng.state["isolation_prev"]
        rise = (np.maximum(0.0, view["shared"] - eng.state["shared_prev"])
                + np.maximum(0.0, iso[:, ti] - prev[:, ti]) + np.maximum(0.0, iso[:, tj] - prev[:, tj]))
        crisis = eng.state["crisis"]
        crisis *= np.exp(-1.0 / k["crisis_memory_months"])
        crisis += rise
        eng.state["shared_prev"] = view["shared"]
        eng.state["isolation_prev"] = iso
        view["rivalry"] = np.clip(eng.at("rivalry", month.t)[:, ti, tj]
                                  + k["sphere_rivalry"] * (view["sphere"] - eng.state["sphere0"]), 0.0, 1.0)
        view["crisis"] = crisis
        month.values.update(view)
        month.values["perceived_threat"] = view["threat"].get(ti, tj)

    def columns(self, cp) -> dict:
        cols = {f"isolation.{s}": recorded("isolation", (i,)) for i, s in enumerate(cp.states)}
        for p, (i, j) in enumerate(cp.pairs["trust"]):
            cols[f"threat.{cp.states[i]}.{cp.states[j]}"] = recorded("perceived_threat", (p,))
        return cols


MECHANISM = Perception()
