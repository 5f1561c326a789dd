"""Organisations: they meet, set their agendas, and coordinate as far as their members let them.

Summit calendars decide in which months an organisation may meet; whether it
does is drawn per member. When both sides of the focal pair take part the
summit is a multilateral meeting of the pair, and their leaders meet on its
sidelines with a probability that rises with their trust and with the
organisation's coordination. Organisations decide too: the security agenda
follows its members' perceived threats (O1, X8, X9); rivalry between members
blocks the economic agenda (O2), which sends them to bilateral deals (events
read the block); coordination is the members' alignment times their trust in
each other (O5, O7), and it rises in crises through alignment (O8).
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
    StateVar,
    recorded,
)
from sim.core.mechanisms.events import calendar_prob
from sim.core.mechanisms.groups import Groups, member_groups
from sim.core.params import NonNeg, Param, Unit
from sim.core.time import month_index


class SummitCoefficients(CoefficientSet):
    sideline_meeting_probability: Unit = Param(value=0.9, source="000_75864654e862cb18.txt:112",
                                               note="leaders meet on summit sidelines; scaled by trust")
    agenda_threat_response: NonNeg = Param(
        value=1.0, source="003_3886cf81219507be.txt:61-69",
        note="members' insecurity pulls an organisation toward security (O1, X8); size is a judgement")
    agenda_rivalry_block: NonNeg = Param(
        value=1.0, source="000_75864654e862cb18.txt:91-97",
        note="a member's rivalry with another blocks the economic agenda (O2); size is a judgement")
    agenda_speed: NonNeg = Param(value=1.0, assumption="per year: agendas shift over about a year")
    coordination_sideline_effect: NonNeg = Param(
        value=1.0, source="003_3886cf81219507be.txt:93-97",
        note="a coordinated club brings its leaders together more (O5, O8); size is a judgement")


def member_pairs(cp) -> list[list[int]]:
    """Per organisation, the trust pairs whose two states both belong to it at some time."""
    ever = cp.arrays["members"][0].any(axis=0)
    return [[p for p, (i, j) in enumerate(cp.pairs["trust"]) if ever[i, o] and ever[j, o]]
            for o in range(len(cp.orgs))]


class Summits(Mechanism):
    name = "summits"
    order = 30
    title = "Organisations: summits, agendas, coordination"
    equations = (
        "meets[o](t) ~ Bernoulli(summit calendar probability); the focal pair has a multilateral meeting when the "
        "organisation meets and both take part; a sideline leader meeting follows with probability "
        "sideline_meeting_probability * pair_trust * (1 + coordination_sideline_effect * (coordination_o - "
        "coordination_o(0))). security_o -> security0 + agenda_threat_response * mean over members of the rise "
        "of their perceived threat (each at most 1) since the first month; economy_o -> economy0 - "
        "agenda_rivalry_block * (max rivalry between members - its start value), "
        "both at agenda_speed per year, in [0, 1]; blocked[i,j] = max over organisations of both of that rivalry "
        "times the economic agenda; coordination_o = mean member alignment * mean trust between members.")
    ids = {
        "O1": Coverage("rule", "an organisation's security agenda follows its members' perceived threats"),
        "O2": Coverage("rule", "rivalry between members blocks the economic agenda and members go bilateral"),
        "O5": Coverage("rule", "coordination (alignment times mutual trust) brings leaders together"),
        "O7": Coverage("rule", "mistrust between members lowers coordination"),
        "O8": Coverage("rule", "crises raise threat, the security agenda, alignment and coordination"),
        "X8": Coverage("rule", "insecurity after uprisings abroad moves a club's agenda toward security"),
        "X9": Coverage("rule", "a neighbouring war's changed threat moves a club toward stabilisation"),
    }
    Coefficients = SummitCoefficients
    state_vars = (StateVar("agenda_security", "orgs", "agenda_security0", lo=0.0, hi=1.0, unit="weight (0–1)"),
                  StateVar("agenda_economy", "orgs", "agenda_economy0", lo=0.0, hi=1.0, unit="weight (0–1)"),
                  StateVar("blocked", "pairs:trust", "zeros_trust", record=False))
    flows = (Flow("coordination", "orgs", "coordination (0–1)"),)
    draws = (Draw("organisations.meet", "uniform", lambda cp: list(cp.orgs)),
             Draw("events.sideline", "uniform", lambda cp: [cp.channels[c].key for c in cp.fixed["ch.sideline"]]))
    families = (ColumnFamily("coordination", "coordination (0–1)", "an organisation's coordination"),
                ColumnFamily("agenda_security", "weight (0–1)", "an organisation's security agenda"),
                ColumnFamily("agenda_economy", "weight (0–1)", "an organisation's economic agenda"))

    def prepare(self, b) -> None:
        sc = b.sc
        prob = np.zeros((1, b.T, len(b.orgs)))
        agenda = {"security": [], "economy": []}
        for o, org in sc.organisations.items():
            k = b.oi[o]
            for n, cal in enumerate(org.summits):
                p = calendar_prob(b, cal, f"organisations.{o}.summits.{n}", month_index(org.founded))
                prob = np.repeat(prob, p.shape[0], axis=0) if p.shape[0] > prob.shape[0] else prob
                prob[:, :, k] = np.maximum(prob[:, :, k], p)
            for key in agenda:
                agenda[key].append(b.num(f"organisations.{o}.agenda.{key}", getattr(org.agenda, key).value))
        b.put("summit_prob", prob)
        for key, vals in agenda.items():
            b.put(f"agenda_{key}0", np.stack(np.broadcast_arrays(*vals), axis=-1) if vals else np.zeros((1, 0)))
        self._channels(b)

    @staticmethod
    def _channels(b) -> None:
        participants = b.get("participants")
        fa, fb = b.focal
        orgs, summit, sideline = [], [], []
        for o, org in b.sc.organisations.items():
            k = b.oi[o]
            if not org.summits or not (participants[0, :, fa, k] & participants[0, :, fb, k]).any():
                continue
            orgs.append(k)
            summit.append(b.channel(Channel("multilateral_meeting", b.focal_ids, o, "summit", f"{o} summit")))
            sideline.append(b.channel(Channel("leader_meeting", b.focal_ids, o, "sideline", f"{o} sideline")))
        b.put_fixed("summit_orgs", orgs)
        b.put_fixed("ch.summit", summit)
        b.put_fixed("ch.sideline", sideline)

    def init(self, eng) -> None:
        pairs = member_pairs(eng.cp)
        orgs_of = [o for o, lst in enumerate(pairs) for _ in lst]
        flat = [p for lst in pairs for p in lst]
        # per organisation its pairs, and per pair its organisations, each in order (running sums and maxima)
        eng.cache["org_pair_groups"] = Groups(flat, orgs_of, len(pairs))
        eng.cache["pair_org_groups"] = Groups(orgs_of, flat, len(eng.cp.pairs["trust"]))
        eng.cache["coordination0"] = self._coordination(eng, 0)
        from sim.core.mechanisms.perception import MECHANISM as perception
        view = perception.perceive(eng, 0)
        # each state's own first-month threat: a club that forms later starts from its members' levels
        eng.cache["state_threat0"] = np.minimum(view["threat"].row_total(), 1.0)
        _, eng.cache["member_rivalry0"] = self._pressures(eng, 0, view)

    def _coordination(self, eng, t: int) -> np.ndarray:
        A, Tr = eng.state["alignment"], eng.state["trust"]
        groups, n = member_groups(eng.cache.setdefault("member_groups", {}), eng.at("members", t)[0])
        align = groups.sum(A.reshape(eng.M, -1)) / np.maximum(n, 1)
        sizes = eng.cache["org_pair_groups"].count()
        trust = np.where(sizes > 0, eng.cache["org_pair_groups"].sum(Tr, from_zero=True) / np.maximum(sizes, 1), 0.5)
        return align * trust

    def _pressures(self, eng, t: int, view) -> tuple[np.ndarray, np.ndarray]:
        """(M, O) the mean rise of members' perceived threat since the first month, and the largest rivalry
        between members."""
        groups, n = member_groups(eng.cache.setdefault("member_groups", {}), eng.at("members", t)[0], by_state=True)
        total = np.minimum(view["threat"].row_total(), 1.0)
        total = total - eng.cache["state_threat0"]
        threat = groups.sum(total) / np.maximum(n, 1)
        riv = view.get("rivalry")
        if riv is None:
            riv = eng.at("rivalry", t)[:, eng.cp.fixed["trust_i"], eng.cp.fixed["trust_j"]] * np.ones((eng.M, 1))
        return threat, eng.cache["org_pair_groups"].max(riv, floor=0.0)

    def step(self, eng, month) -> None:
        cp, k = eng.cp, eng.k
        threat, rivalry = self._pressures(eng, month.t, month.values)
        sec, eco = eng.state["agenda_security"], eng.state["agenda_economy"]
        sec += k["agenda_speed"] / 12.0 * (np.clip(eng.pick("agenda_security0") + k["agenda_threat_response"]
                                                   * threat, 0, 1) - sec)
        eco += k["agenda_speed"] / 12.0 * (np.clip(eng.pick("agenda_economy0") - k["agenda_rivalry_block"]
                                                   * (rivalry - eng.cache["member_rivalry0"]), 0, 1) - eco)
        eng.state["blocked"][:] = eng.cache["pair_org_groups"].max(rivalry * eco, floor=0.0)
        coordination = self._coordination(eng, month.t)
        month.values["coordination"] = coordination
        meets = month.draws["organisations.meet"] < eng.at("summit_prob", month.t)    # (M, O)
        month.values["meets"] = meets
        orgs = cp.fixed["summit_orgs"]
        if len(orgs):
            fa, fb = cp.focal
            part = eng.at("participants", month.t)
            summit = meets[:, orgs] & part[:, fa, orgs] & part[:, fb, orgs]
            month.counts[:, cp.fixed["ch.summit"]] = summit
            lift = 1.0 + k["coordination_sideline_effect"] * (coordination - eng.cache["coordination0"])[:, orgs]
            month.counts[:, cp.fixed["ch.sideline"]] = summit & (
                month.draws["events.sideline"] < k["sideline_meeting_probability"] * month.values["pair_trust"] * lift)

    def columns(self, cp) -> dict:
        cols = {}
        for o, org in enumerate(cp.orgs):
            cols[f"coordination.{org}"] = recorded("coordination", (o,))
            cols[f"agenda_security.{org}"] = recorded("agenda_security", (o,))
            cols[f"agenda_economy.{org}"] = recorded("agenda_economy", (o,))
        return cols


MECHANISM = Summits()
