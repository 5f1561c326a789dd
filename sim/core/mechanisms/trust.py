"""Trust between states, one number per direction, each moved by what the other side does.

Trust reverts to its starting level. It is shifted by changes in the threat
two states share (X1), in their perceived rivalry (P7, O3), in how far the
truster leans toward the other (P4, P5), in how aligned both are with the
same organisations (O5, O7), by sanctions from the other side, and by the
other side arming the truster's rivals (A12). Events move it one direction at
a time: the target of a gesture (support, a visit, criticism) updates its
trust in the initiator fully, the initiator its own trust only partly; the
update is the departure of this month's Goldstein weights from a running
average of the pair's recent flow, so nothing after the month enters. Good
news counts for less as trust nears its ceiling (P9), and an isolated state
reacts more to a partner's gestures (P4).
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Draw, Mechanism, StateVar, recorded
from sim.core.mechanisms.perception import pair_index
from sim.core.params import NonNeg, Param, Unit, ranged
from sim.core.taxonomy import EVENT_TYPES


class TrustCoefficients(CoefficientSet):
    trust_reference: Unit = Param(value=0.5, assumption="the neutral level at which trust neither helps nor hurts")
    trust_reversion: NonNeg = Param(value=0.5, assumption="per year; half-life of about 1.4 years; calibrate")
    trust_shared_threat: Param = Param(value=0.3, source="001_e7aa02c26cd915e1.txt:14",
                                       note="a shared threat draws two states together (X1); per year")
    trust_rivalry: NonNeg = Param(value=0.2, source="000_75864654e862cb18.txt:97", note="per year")
    trust_lean: NonNeg = Param(value=0.3, source="004_428dc53703d8f109.txt:26-28",
                               note="a state that leans toward a partner comes to trust it; per year")
    trust_alignment: NonNeg = Param(value=0.2, source="003_3886cf81219507be.txt:103",
                                    note="members aligned with the same club trust each other more (O5, O7)")
    trust_arms_to_rivals: NonNeg = Param(value=0.03, source="001_e7aa02c26cd915e1.txt:82-84",
                                         note="a seller arming one's rivals loses trust (A12); per bn USD a year")
    trust_event_effect: Param = Param(
        value=0.0005, assumption="trust change per Goldstein point of departure from the usual flow")
    trust_self_effect: Unit = Param(value=0.3, assumption="the initiator's own trust moves by this share of what "
                                                          "its gesture does to the target's")
    trust_ceiling: ranged(0.5, 1.0) = Param(value=0.9, source="002_38276b7c24a0592b.txt:132-140",
                                            note="an elite-society gap caps how deep trust goes (P9)")
    trust_isolation_response: NonNeg = Param(value=1.0, source="004_428dc53703d8f109.txt:287-299",
                                             note="the isolated, weaker side values gestures more (P4)")
    event_baseline_months: ranged(1.0, None) = Param(
        value=24.0, assumption="events move trust as far as they depart from the last two years' flow")
    trust_sanction: NonNeg = Param(value=0.3, assumption="per year at full sanctions: the target's trust in the "
                                                         "sanctioner falls")
    trust_noise: NonNeg = Param(value=0.05, assumption="yearly s.d. of trust shocks; calibrate")
    hostility_memory_months: ranged(1.0, None) = Param(value=6.0, assumption="hostile acts are remembered for "
                                                                             "about half a year")


class Trust(Mechanism):
    name = "trust"
    order = 60
    title = "Trust"
    equations = (
        "d trust[i->j] / month = (trust_shared_threat * d shared[i,j] - trust_rivalry * d rivalry[i,j] + trust_lean "
        "* (lean[i->j] - 1/2) + trust_alignment * d common_alignment[i,j] - trust_sanction * sanction[j,i] - "
        "trust_arms_to_rivals * arms j delivers to i's threats) / 12 + trust_reversion / 12 * (trust0 - trust) + "
        "trust_noise / sqrt(12) * z + trust_event_effect * (1 + trust_isolation_response * isolation_i) * "
        "(g[i->j] - g_avg[i->j]), positive departures scaled by max(0, trust_ceiling - trust) / trust_ceiling; "
        "d = change since the first month; g[i->j] = Goldstein weights of this month's events that j initiated "
        "toward i (and trust_self_effect times those i initiated toward j; all of both for events of the pair); "
        "g_avg moves toward g by 1/event_baseline_months a month.")
    ids = {
        "P1": Coverage("rule", "events move trust, trust raises event rates"),
        "P4": Coverage("rule", "each direction moves on its own; the isolated side reacts more"),
        "P9": Coverage("rule", "good news counts for less as trust approaches its ceiling"),
        "A12": Coverage("rule", "a seller arming a state's rivals loses that state's trust"),
        "O5": Coverage("rule", "common alignment with organisations builds trust between members"),
        "O7": Coverage("rule", "falling common alignment and rivalry lower members' trust"),
        "P3": Coverage("scripted", "the treaty as a dated trust jump"),
        "P7": Coverage("rule", "perceived rivalry lowers trust, lower trust raises perceived threat"),
    }
    Coefficients = TrustCoefficients
    state_vars = (StateVar("trust", "pairs:trust", "trust0", lo=0.0, hi=1.0, jump="trust", unit="trust (0–1)"),
                  StateVar("gold_avg", "pairs:trust", "gold_avg0", record=False),
                  StateVar("hostile", "pairs:trust", "gold_avg0", record=False))
    draws = (Draw("trust.noise", "normal",
                  lambda cp: [f"{cp.states[i]}>{cp.states[j]}" for i, j in cp.pairs["trust"]]),)
    families = (ColumnFamily("trust", "trust (0–1)", "one state's trust in another"),)

    def structure(self, b) -> None:
        pairs = [(b.si[s], b.si[o]) for s, st in b.sc.states.items() for o in st.trust]
        fa, fb = b.focal
        for p in b.trust_wanted + [(fa, fb), (fb, fa)]:
            if p not in pairs:
                pairs.append(p)
        b.pairs["trust"] = pairs
        b.put_fixed("focal_trust_idx", [b.trust_index((fa, fb)), b.trust_index((fb, fa))])
        b.put_fixed("trust_i", [i for i, _ in pairs])
        b.put_fixed("trust_j", [j for _, j in pairs])

    def prepare(self, b) -> None:
        sc, pairs = b.sc, b.pairs["trust"]
        ref = b.coef("trust_reference")
        b.put("trust0", np.stack(np.broadcast_arrays(*[
            b.num(f"states.{b.states[i]}.trust.{b.states[j]}", sc.states[b.states[i]].trust[b.states[j]].value)
            if b.states[j] in sc.states[b.states[i]].trust else ref for i, j in pairs]), axis=-1))
        gold = np.array([EVENT_TYPES[ch.type].goldstein for ch in b.channels])
        b.put_fixed("goldstein", gold, dtype=float)
        self._impulse_map(b, gold)
        b.put("gold_avg0", self._expected(b, gold))

    @staticmethod
    def _impulse_map(b, gold: np.ndarray) -> None:
        """(channels, trust pairs) Goldstein tenths each channel's event adds to each direction of trust:
        to the target's trust in the initiator, and (all of it for events of a pair, a share for gestures)
        to the initiator's own. Integer tenths, so the monthly sums are exact in any order."""
        tenths = np.rint(gold * 10.0)
        if not np.allclose(tenths / 10.0, gold):
            raise RuntimeError("Goldstein weights must be multiples of 0.1")
        to_target = np.zeros((len(b.channels), len(b.pairs["trust"])))
        to_self = np.zeros_like(to_target)
        for c, ch in enumerate(b.channels):
            a, t = b.si[ch.actors[0]], b.si[ch.actors[-1]]
            if (t, a) in b.pairs["trust"]:
                to_target[c, b.trust_index((t, a))] += tenths[c]
            if (a, t) in b.pairs["trust"]:
                (to_self if ch.directed else to_target)[c, b.trust_index((a, t))] += tenths[c]
        b.put_fixed("impulse_target", to_target, dtype=float)
        b.put_fixed("impulse_self", to_self, dtype=float)

    @staticmethod
    def _expected(b, gold: np.ndarray) -> np.ndarray:
        """(points, trust pairs) the month-0 expected Goldstein flow at the reference trust (stochastic events)."""
        out = np.zeros((1, len(b.pairs["trust"])))
        rate0 = b.get("event_rate")[:, 0]
        for n, c in enumerate(b.fixed["ch.stochastic"]):
            ch = b.channels[c]
            a, t = b.si[ch.actors[0]], b.si[ch.actors[-1]]
            out = np.repeat(out, rate0.shape[0], axis=0) if rate0.shape[0] > out.shape[0] else out
            out[:, b.trust_index((t, a))] += rate0[:, n] * gold[c]
            if not ch.directed:
                out[:, b.trust_index((a, t))] += rate0[:, n] * gold[c]
        return out

    def impulses(self, eng, counts: np.ndarray) -> np.ndarray:
        """(M, trust pairs) this month's Goldstein weights by the trust direction they move."""
        cp, k = eng.cp, eng.k
        n = counts.astype(float)     # integer-valued products and sums: exact whatever BLAS does
        return (n @ cp.fixed["impulse_target"] + k["trust_self_effect"] * (n @ cp.fixed["impulse_self"])) / 10.0

    def init(self, eng) -> None:
        eng.cache["trust_ref"] = None

    def _drivers(self, eng, month) -> np.ndarray:
        """(M, trust pairs) the structural part of the monthly change, relative to the first month."""
        cp, k, v = eng.cp, eng.k, month.values
        ti, tj = pair_index(cp)
        common = self._common(eng)
        now = {"shared": v["shared"], "rivalry": v["rivalry"], "lean": eng.state["lean"], "common": common}
        if eng.cache["trust_ref"] is None:
            eng.cache["trust_ref"] = {key: arr.copy() for key, arr in now.items()}
        ref = eng.cache["trust_ref"]
        rivals = self._arms_to_rivals(eng, month)
        return (k["trust_shared_threat"] * (now["shared"] - ref["shared"])
                - k["trust_rivalry"] * (now["rivalry"] - ref["rivalry"])
                + k["trust_lean"] * (now["lean"] - 0.5)
                + k["trust_alignment"] * (now["common"] - ref["common"])
                - k["trust_sanction"] * np.swapaxes(eng.at("sanctions", month.t), 1, 2)[:, ti, tj]
                - k["trust_arms_to_rivals"] * rivals) / 12.0

    @staticmethod
    def _common(eng) -> np.ndarray:
        """(M, trust pairs) the summed smaller alignment of the two states over organisations, in organisation
        order from zero. Only cells that can ever be non-zero (taking part, a starting value or a timeline jump)
        are read: every other term is exactly zero and leaves the sum's bits alone."""
        lay = eng.cache.get("common_layout")
        A = eng.state["alignment"]
        M, S, n_orgs = A.shape
        if lay is None:
            possible = set(int(x) for x in eng.cache["align_flat"])
            possible |= {j.index for month in eng.cp.jumps for j in month if j.var == "alignment"}
            ti, tj = pair_index(eng.cp)
            terms = [[(i * n_orgs + o, j * n_orgs + o) for o in range(n_orgs)
                      if i * n_orgs + o in possible and j * n_orgs + o in possible]
                     for i, j in zip(ti, tj, strict=True)]
            K = max((len(x) for x in terms), default=0)
            lay = np.full((2, K, len(terms)), S * n_orgs)
            for p, lst in enumerate(terms):
                for k, (a, b) in enumerate(lst):
                    lay[:, k, p] = a, b
            eng.cache["common_layout"] = lay
        AT = np.zeros((S * n_orgs + 1, M))
        AT[:-1] = A.reshape(M, -1).T
        out = np.zeros((lay.shape[2], M))
        for k in range(lay.shape[1]):
            out += np.minimum(AT[lay[0, k]], AT[lay[1, k]])
        return out.T

    @staticmethod
    def _arms_to_rivals(eng, month) -> np.ndarray:
        """(M, trust pairs) for i->j: what j delivered this month (a yearly rate) to states i perceives as threats."""
        cp = eng.cp
        out = np.zeros((eng.M, len(cp.pairs["trust"])))
        delivered = month.values.get("arms_deliveries")
        if delivered is None:
            return out
        threat = month.values["threat"]
        ti, tj = pair_index(cp)
        for p, (seller, buyer) in enumerate(cp.pairs["arms"]):
            hit = (tj == seller) & (ti != buyer)
            if hit.any():
                out[:, hit] += 12.0 * delivered[:, p:p + 1] * threat.get(ti[hit], buyer)
        return out

    def step(self, eng, month) -> None:
        k, Tr, v = eng.k, eng.state["trust"], month.values
        ti, _ = pair_index(eng.cp)
        Tr += (self._drivers(eng, month) + k["trust_reversion"] / 12.0 * (eng.pick("trust0") - Tr)
               + k["trust_noise"] / np.sqrt(12.0) * month.draws["trust.noise"])
        g = self.impulses(eng, month.counts)
        avg = eng.state["gold_avg"]
        news = g - avg
        room = np.where(news > 0, np.maximum(0.0, k["trust_ceiling"] - Tr) / k["trust_ceiling"], 1.0)
        Tr += k["trust_event_effect"] * (1.0 + k["trust_isolation_response"] * v["isolation"][:, ti]) * news * room
        avg += news / k["event_baseline_months"]
        hostile = eng.state["hostile"]
        hostile *= np.exp(-1.0 / k["hostility_memory_months"])
        hostile += np.maximum(0.0, -g) / 20.0
        np.clip(Tr, 0.0, k["trust_ceiling"], out=Tr)

    def columns(self, cp) -> dict:
        return {f"trust.{cp.states[i]}.{cp.states[j]}": recorded("trust", (k,))
                for k, (i, j) in enumerate(cp.pairs["trust"])}


MECHANISM = Trust()
