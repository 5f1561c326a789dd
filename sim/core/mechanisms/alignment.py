"""States' alignment with the organisations they belong to.

Alignment reverts to its starting level, rises with every summit a member
attends, rises with external threat where the organisation has a security
agenda and falls with rivalry where it has an economic one.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Mechanism, StateVar, recorded
from sim.core.params import NonNeg, Param, Unit


class AlignmentCoefficients(CoefficientSet):
    alignment_reversion: NonNeg = Param(value=0.3, assumption='per year; calibrate')
    alignment_meeting_gain: Unit = Param(value=0.03, assumption='share of the remaining gap closed by one meeting')
    alignment_threat_gain: NonNeg = Param(value=0.1, source='003_3886cf81219507be.txt:65')
    alignment_rivalry_loss: NonNeg = Param(value=0.2, source='000_75864654e862cb18.txt:95-97')


class Alignment(Mechanism):
    name = "alignment"
    order = 40
    title = "Alignment with organisations"
    equations = (
        "d alignment[s,o] / month = member[s,o] * (alignment_threat_gain * threat_s * security_o "
        "- alignment_rivalry_loss * rivalry_s * economy_o) / 12 "
        "+ alignment_reversion / 12 * (alignment0 - alignment) "
        "+ alignment_meeting_gain * meets[o] * member[s,o] * (1 - alignment); clipped to [0, 1]. "
        "threat_s and rivalry_s are s's totals over all other states.")
    ids = {
        "O1": Coverage("scripted", "organisations carry a security and an economic agenda weight"),
        "O2": Coverage("scripted", "rivalry lowers alignment with economic organisations"),
        "O3": Coverage("scripted", "rivalry between integration projects as scripted rivalry"),
    }
    Coefficients = AlignmentCoefficients
    state_vars = (StateVar("alignment", "states*orgs", "alignment0", lo=0.0, hi=1.0, jump="alignment",
                           unit="alignment (0–1)"),)
    families = (ColumnFamily("alignment", "alignment (0–1)", "a state's alignment with an organisation"),)

    def prepare(self, b) -> None:
        sc, n_states, n_orgs = b.sc, len(b.states), len(b.orgs)
        agenda = np.zeros((1, n_orgs, 2))
        for o, org in sc.organisations.items():
            sec = b.num(f"organisations.{o}.agenda.security", org.agenda.security.value)
            eco = b.num(f"organisations.{o}.agenda.economy", org.agenda.economy.value)
            if max(len(sec), len(eco)) > agenda.shape[0]:
                agenda = np.repeat(agenda, max(len(sec), len(eco)), axis=0)
            agenda[:, b.oi[o], 0] = sec
            agenda[:, b.oi[o], 1] = eco
        b.put("agenda", agenda)
        ext_threat = b.get("threat").sum(axis=3)
        rivalry_tot = b.get("rivalry").sum(axis=3)
        gain = b.coef("alignment_threat_gain")[:, None, None, None]
        loss = b.coef("alignment_rivalry_loss")[:, None, None, None]
        b.put("align_push", (gain * ext_threat[:, :, :, None] * agenda[:, None, None, :, 0]
                             - loss * rivalry_tot[:, :, :, None] * agenda[:, None, None, :, 1]) / 12.0)
        a0 = np.zeros((1, n_states, n_orgs))
        for s, st in sc.states.items():
            for o, p in st.alignment.items():
                v = b.num(f"states.{s}.alignment.{o}", p.value)
                if len(v) > a0.shape[0]:
                    a0 = np.repeat(a0, len(v), axis=0)
                a0[:, b.si[s], b.oi[o]] = v
        b.put("alignment0", a0)

    def step(self, eng, month) -> None:
        k, A = eng.k, eng.state["alignment"]
        mem = eng.at("members", month.t)
        A += (eng.at("align_push", month.t) * mem
              + k["alignment_reversion"][:, :, None] / 12.0 * (eng.pick("alignment0") - A)
              + k["alignment_meeting_gain"][:, :, None] * (month.values["meets"][:, None, :] & mem) * (1.0 - A))
        np.clip(A, 0.0, 1.0, out=A)

    def columns(self, cp) -> dict:
        ever = cp.arrays["participants"][0].any(axis=0) | (cp.arrays["alignment0"][0] > 0)
        return {f"alignment.{s}.{org}": recorded("alignment", (i, o))
                for i, s in enumerate(cp.states) for o, org in enumerate(cp.orgs) if ever[i, o]}


MECHANISM = Alignment()
