"""Trust between states, one number per direction.

Trust reverts to its starting level (which already reflects the threats and
rivalries of the first month), shifted by changes in the threats two states
share, changes in their rivalry and sanctions by the other side; the focal
pair's events move both directions of its trust by how far their Goldstein
weight departs from the usual monthly flow.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Draw, Mechanism, StateVar, recorded
from sim.core.params import NonNeg, Param, Unit
from sim.core.taxonomy import EVENT_TYPES


class TrustCoefficients(CoefficientSet):
    trust_reference: Unit = Param(value=0.5, assumption='the neutral level at which trust neither helps nor hurts')
    trust_reversion: NonNeg = Param(value=0.5, assumption='per year; half-life of about 1.4 years; calibrate')
    trust_shared_threat: Param = Param(value=0.3, source='001_e7aa02c26cd915e1.txt:14')
    trust_rivalry: NonNeg = Param(value=0.2, source='000_75864654e862cb18.txt:97')
    trust_event_effect: Param = Param(
        value=0.0005,
        assumption="trust change per Goldstein point of the pair's events; small so the feedback loop stays stable")
    trust_sanction: NonNeg = Param(
        value=0.3,
        assumption="per year at full sanctions: the target's trust in the sanctioner falls")
    trust_noise: NonNeg = Param(value=0.05, assumption='yearly s.d. of trust shocks; calibrate')


class Trust(Mechanism):
    name = "trust"
    order = 60
    title = "Trust"
    equations = (
        "d trust[i->j] / month = (trust_shared_threat * (shared_threat[i,j](t) - shared_threat[i,j](0)) "
        "- trust_rivalry * (rivalry[i,j](t) - rivalry[i,j](0)) - trust_sanction * sanction[j,i](t)) / 12 "
        "+ trust_reversion / 12 * (trust0 - trust) + trust_noise / sqrt(12) * z; for the focal pair, "
        "+ trust_event_effect * (sum of this month's Goldstein weights - expected monthly sum); clipped to [0, 1]. "
        "shared_threat[i,j] = sum over third states k of min(threat[i,k], threat[j,k]).")
    ids = {
        "X1": Coverage("scripted", "a shared threat (US missile defence) raises trust"),
        "X3": Coverage("scripted", "the US reset as a scripted change in threat"),
        "X4": Coverage("scripted", "US pressure as a scripted change in threat"),
        "X5": Coverage("scripted", "THAAD as a scripted change in threat"),
        "X6": Coverage("scripted", "DPRK crises as scripted changes in threat and consultation rates"),
        "X7": Coverage("scripted", "Japan as scripted threat and rivalry values"),
        "P3": Coverage("scripted", "the treaty as a dated trust jump"),
        "P6": Coverage("scripted", "the border settlement as a dated trust jump"),
        "P7": Coverage("scripted", "latent distrust as the starting trust level"),
        "P8": Coverage("scripted", "Far East fears as a starting rivalry value"),
    }
    Coefficients = TrustCoefficients
    state_vars = (StateVar("trust", "pairs:trust", "trust0", lo=0.0, hi=1.0, jump="trust", unit="trust (0–1)"),)
    draws = (Draw("trust.noise", "normal", 1, lambda cp: len(cp.pairs["trust"])),)
    families = (ColumnFamily("trust", "trust (0–1)", "one state's trust in another"),)

    def structure(self, b) -> None:
        pairs = [(b.si[s], b.si[o]) for s, st in b.sc.states.items() for o in st.trust]
        fa, fb = b.focal
        for p in b.trust_wanted + [(fa, fb), (fb, fa)]:
            if p not in pairs:
                pairs.append(p)
        b.pairs["trust"] = pairs
        b.put_fixed("focal_trust_idx", [b.trust_index((fa, fb)), b.trust_index((fb, fa))])

    def prepare(self, b) -> None:
        sc, pairs = b.sc, b.pairs["trust"]
        ref = b.coef("trust_reference")
        b.put("trust0", np.stack(np.broadcast_arrays(*[
            b.num(f"states.{b.states[i]}.trust.{b.states[j]}", sc.states[b.states[i]].trust[b.states[j]].value)
            if b.states[j] in sc.states[b.states[i]].trust else ref for i, j in pairs]), axis=-1))
        threat, rivalry, sanctions = b.get("threat"), b.get("rivalry"), b.get("sanctions")
        shared = np.zeros((threat.shape[0],) + threat.shape[1:])
        for k in range(len(b.states)):
            m = np.minimum(threat[:, :, :, k][:, :, :, None], threat[:, :, :, k][:, :, None, :])
            m[:, :, k, :] = 0.0
            m[:, :, :, k] = 0.0
            shared += m
        c = {k: b.coef(k)[:, None] for k in ("trust_shared_threat", "trust_rivalry", "trust_sanction")}
        cols = []
        for i, j in pairs:   # initial trust already reflects the first month's threats and rivalries
            rv = np.maximum(rivalry[:, :, i, j], rivalry[:, :, j, i])
            cols.append((c["trust_shared_threat"] * (shared[:, :, i, j] - shared[:, :1, i, j])
                         - c["trust_rivalry"] * (rv - rv[:, :1])
                         - c["trust_sanction"] * sanctions[:, :, j, i]) / 12.0)
        b.put("trust_push", np.stack(np.broadcast_arrays(*cols), axis=-1))
        gold = np.array([EVENT_TYPES[ch.type].goldstein for ch in b.channels])
        focal = set(b.focal_ids)
        b.put_fixed("goldstein", gold)
        b.put_fixed("focal_goldstein", gold * np.array([set(ch.actors) == focal for ch in b.channels], dtype=bool),
                    dtype=float)
        b.put_coef("expected_goldstein", self._expected(b, gold))

    @staticmethod
    def _expected(b, gold: np.ndarray) -> np.ndarray:
        """The pair's expected monthly Goldstein total at the reference trust, averaged over the period."""
        stochastic, sched = b.fixed["ch.stochastic"], b.fixed["ch.scheduled"]
        expected = np.zeros(1)
        if len(stochastic):
            expected = (b.get("event_rate") * gold[stochastic]).sum(axis=2).mean(axis=1)
        if len(sched):
            expected = expected + (b.get("sched_prob") * gold[sched]).sum(axis=2).mean(axis=1)
        participants, prob = b.get("participants"), b.get("summit_prob")
        fa, fb = b.focal
        side, ref = b.coef("sideline_meeting_probability"), b.coef("trust_reference")
        for n, k in enumerate(b.fixed["summit_orgs"]):
            both = participants[:, :, fa, k] & participants[:, :, fb, k]
            expected = expected + (prob[:, :, k] * both).mean(axis=1) * (
                gold[b.fixed["ch.summit"][n]] + gold[b.fixed["ch.sideline"][n]] * side * ref)
        return expected

    def step(self, eng, month) -> None:
        cp, k, Tr = eng.cp, eng.k, eng.state["trust"]
        Tr += (eng.at("trust_push", month.t) + k["trust_reversion"] / 12.0 * (eng.pick("trust0") - Tr)
               + k["trust_noise"] / np.sqrt(12.0) * month.draws["trust.noise"])
        gold = (month.counts * cp.fixed["focal_goldstein"]).sum(axis=1, keepdims=True)
        Tr[:, cp.fixed["focal_trust_idx"]] += k["trust_event_effect"] * (gold - k["expected_goldstein"])
        np.clip(Tr, 0.0, 1.0, out=Tr)

    def columns(self, cp) -> dict:
        return {f"trust.{cp.states[i]}.{cp.states[j]}": recorded("trust", (k,))
                for k, (i, j) in enumerate(cp.pairs["trust"])}


MECHANISM = Trust()
