"""Organisations meet, and the focal pair's leaders meet on the sidelines.

Summit calendars decide in which months an organisation may meet; whether
it does is drawn per member. When both focal states take part (as members or
observers) the summit is a multilateral meeting of the pair, and their leaders
meet on its sidelines with a probability that rises with the pair's trust.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import Channel, CoefficientSet, Coverage, Draw, Mechanism
from sim.core.mechanisms.events import calendar_prob
from sim.core.params import Param, Unit
from sim.core.time import month_index


class SummitCoefficients(CoefficientSet):
    sideline_meeting_probability: Unit = Param(value=0.9, source='000_75864654e862cb18.txt:112')


class Summits(Mechanism):
    name = "summits"
    order = 30
    title = "Organisation summits and sideline meetings"
    equations = (
        "meets[o](t) ~ Bernoulli(summit calendar probability); the focal pair has a multilateral meeting when "
        "the organisation meets and both take part; a sideline leader meeting follows with probability "
        "sideline_meeting_probability * pair_trust.")
    ids = {
        "O5": Coverage("scripted", "BRICS and SCO summits on their calendars bring the leaders together"),
        "O8": Coverage("scripted", "each summit raises its members' alignment (alignment mechanism)"),
    }
    Coefficients = SummitCoefficients
    draws = (Draw("organisations.meet", "uniform", 2, lambda cp: len(cp.orgs)),
             Draw("events.sideline", "uniform", 3, lambda cp: len(cp.fixed["ch.summit"])))

    def prepare(self, b) -> None:
        sc = b.sc
        prob = np.zeros((1, b.T, len(b.orgs)))
        for o, org in sc.organisations.items():
            k = b.oi[o]
            for n, cal in enumerate(org.summits):
                p = calendar_prob(b, cal, f"organisations.{o}.summits.{n}", month_index(org.founded))
                if p.shape[0] > prob.shape[0]:
                    prob = np.repeat(prob, p.shape[0], axis=0)
                prob[:, :, k] = np.maximum(prob[:, :, k], p)
        b.put("summit_prob", prob)
        participants = b.get("participants")
        fa, fb = b.focal
        orgs, summit, sideline = [], [], []
        for o, org in sc.organisations.items():
            k = b.oi[o]
            if not org.summits or not (participants[0, :, fa, k] & participants[0, :, fb, k]).any():
                continue
            orgs.append(k)
            summit.append(b.channel(Channel("multilateral_meeting", b.focal_ids, o, "summit", f"{o} summit")))
            sideline.append(b.channel(Channel("leader_meeting", b.focal_ids, o, "sideline", f"{o} sideline")))
        b.put_fixed("summit_orgs", orgs)
        b.put_fixed("ch.summit", summit)
        b.put_fixed("ch.sideline", sideline)

    def step(self, eng, month) -> None:
        cp = eng.cp
        meets = month.draws["organisations.meet"] < eng.at("summit_prob", month.t)    # (M, O)
        month.values["meets"] = meets
        orgs = cp.fixed["summit_orgs"]
        if len(orgs):
            fa, fb = cp.focal
            part = eng.at("participants", month.t)
            both = part[:, fa, orgs] & part[:, fb, orgs]
            summit = meets[:, orgs] & both
            month.counts[:, cp.fixed["ch.summit"]] = summit
            month.counts[:, cp.fixed["ch.sideline"]] = summit & (
                month.draws["events.sideline"] < eng.k["sideline_meeting_probability"] * month.values["pair_trust"])


MECHANISM = Summits()
