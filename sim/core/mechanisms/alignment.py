"""States' alignment with the organisations they belong to: stochastic, and consequential.

Alignment reverts to its starting level, rises with every summit a member
attends, rises with perceived threat where the organisation's (current)
agenda is security and falls with perceived rivalry where it is economic, is
pulled by how much a member trades with the other members (O10), and moves
with noise of its own. It matters: members aligned with the same
organisation come to trust each other (trust mechanism), and an
organisation's coordination is its members' alignment (organisations).
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Draw, Flow, Mechanism, StateVar, recorded
from sim.core.mechanisms.groups import Groups
from sim.core.mechanisms.perception import pair_index
from sim.core.params import NonNeg, Param, Unit


class AlignmentCoefficients(CoefficientSet):
    alignment_reversion: NonNeg = Param(value=0.3, assumption="per year; calibrate")
    alignment_meeting_gain: Unit = Param(value=0.015, assumption="share of the remaining gap closed by one meeting; "
                                                                 "clubs meet several times a year")
    alignment_threat_gain: NonNeg = Param(value=0.1, source="003_3886cf81219507be.txt:65",
                                          note="insecurity raises a member's appetite for a security club (X8)")
    alignment_rivalry_loss: NonNeg = Param(value=0.2, source="000_75864654e862cb18.txt:95-97",
                                           note="rivalry blocks an economic club (O2)")
    alignment_trade_pull: NonNeg = Param(value=0.2, source="004_428dc53703d8f109.txt:157-158",
                                         note="members follow the money: a rising trade share with a club's members "
                                              "draws a state in (O10); size is a judgement")
    alignment_noise: NonNeg = Param(value=0.05, assumption="yearly s.d. of alignment shifts not explained above")


class Alignment(Mechanism):
    name = "alignment"
    order = 40
    title = "Alignment with organisations"
    equations = (
        "d alignment[s,o] / month = member[s,o] * ((alignment_threat_gain * threat_s * security_o(t) "
        "- alignment_rivalry_loss * rivalry_s * economy_o(t)) / 12 + alignment_trade_pull / 12 * (trade share of s "
        "with o's other members - its start value) + alignment_noise / sqrt(12) * u) + alignment_reversion / 12 * "
        "(alignment0 - alignment) + alignment_meeting_gain * meets[o] * member[s,o] * (1 - alignment); clipped to "
        "[0, 1]. threat_s is s's perceived threat summed over all others (at most 1), rivalry_s its perceived "
        "rivalry; u is a "
        "uniform shock with mean 0 and s.d. 1.")
    ids = {
        "O3": Coverage("rule", "perceived rivalry lowers alignment with economic clubs"),
        "O8": Coverage("rule", "perceived threat raises alignment with security clubs, each summit raises it"),
        "O10": Coverage("rule", "a member drifts toward the clubs whose members it trades with"),
    }
    Coefficients = AlignmentCoefficients
    state_vars = (StateVar("alignment", "states*orgs", "alignment0", lo=0.0, hi=1.0, jump="alignment",
                           unit="alignment (0–1)", record=False),)
    flows = (Flow("alignment_cells", "cells", "alignment (0–1)"),)   # recorded only where a state takes part
    draws = (Draw("alignment.noise", "uniform",
                  lambda cp: [f"{cp.states[s]}@{cp.orgs[o]}" for s, o in cp.fixed["align_cells"]]),)
    families = (ColumnFamily("alignment", "alignment (0–1)", "a state's alignment with an organisation"),)

    def prepare(self, b) -> None:
        sc, n_states, n_orgs = b.sc, len(b.states), len(b.orgs)
        a0 = np.zeros((1, n_states, n_orgs))
        for s, st in sc.states.items():
            for o, p in st.alignment.items():
                v = b.num(f"states.{s}.alignment.{o}", p.value)
                if len(v) > a0.shape[0]:
                    a0 = np.repeat(a0, len(v), axis=0)
                a0[:, b.si[s], b.oi[o]] = v
        b.put("alignment0", a0)
        # Cells any parameter point ever uses: elsewhere alignment is 0 and stays 0.
        ever = b.get("participants").any(axis=(0, 1)) | (a0 > 0).any(axis=0)
        b.put_fixed("align_cells", np.argwhere(ever).reshape(-1, 2))

    def init(self, eng) -> None:
        cells = eng.cp.fixed["align_cells"]
        flat = cells[:, 0] * len(eng.cp.orgs) + cells[:, 1]
        eng.cache["align_flat"] = flat
        eng.cache["club_share0"] = self._club_share(eng, 0)
        ti, _ = pair_index(eng.cp)
        eng.cache["rivalry_rows"] = Groups(np.arange(len(ti)), ti, len(eng.cp.states))
        a0 = eng.pick("alignment0")
        eng.cache["alignment0_cells"] = a0.reshape(a0.shape[0], -1)[:, flat]

    @staticmethod
    def _club_share(eng, t: int) -> np.ndarray:
        """(M, cells) each state's trade share with the other members of each organisation, for the cells
        alignment can move in."""
        cp, X = eng.cp, eng.state["exports"]
        n_states, n_orgs = len(cp.states), len(cp.orgs)
        mem = eng.at("members", t)[0]
        cache = eng.cache.setdefault("club_groups", {})
        key = mem.tobytes()
        if key not in cache:
            where = {int(f): n for n, f in enumerate(eng.cache["align_flat"])}
            cols, targets = [], []
            for q, (i, j) in enumerate(cp.pairs["trade"]):
                for o in range(n_orgs):
                    for a, b in ((i, j), (j, i)):
                        if mem[b, o] and a * n_orgs + o in where:
                            cols.append(q)
                            targets.append(where[a * n_orgs + o])
            ends = [i for i, _ in cp.pairs["trade"]] + [j for _, j in cp.pairs["trade"]]
            flows = list(range(len(cp.pairs["trade"]))) * 2
            cache[key] = (Groups(cols, targets, len(where)), Groups(flows, ends, n_states))
        within, total = cache[key]
        share = within.sum(X)
        totals = total.sum(X)[:, cp.fixed["align_cells"][:, 0]]
        return np.where(totals > 0, share / np.maximum(totals, 1e-12), 0.0)

    def step(self, eng, month) -> None:
        """Only the cells some member ever takes part in move (the rest stay 0), element by element."""
        cp, k, v, M = eng.cp, eng.k, month.values, eng.M
        cells, flat = cp.fixed["align_cells"], eng.cache["align_flat"]
        if not len(cells):
            month.values["alignment_cells"] = np.zeros((M, 0))
            return
        cs, co = cells[:, 0], cells[:, 1]
        mem = eng.at("members", month.t)
        mem = mem.reshape(mem.shape[0], -1)[:, flat]
        rivalry = eng.cache["rivalry_rows"].sum(v["rivalry"])
        threat = np.minimum(v["threat"].row_total(), 1.0)
        sec, eco = eng.state["agenda_security"], eng.state["agenda_economy"]
        noise = (month.draws["alignment.noise"] - 0.5) * np.sqrt(12.0)
        club = self._club_share(eng, month.t)
        push = ((k["alignment_threat_gain"] * threat[:, cs] * sec[:, co]
                 - k["alignment_rivalry_loss"] * rivalry[:, cs] * eco[:, co]) / 12.0
                + k["alignment_trade_pull"] / 12.0 * (club - eng.cache["club_share0"])
                + k["alignment_noise"] / np.sqrt(12.0) * noise)
        A = eng.state["alignment"].reshape(M, -1)
        cur = A[:, flat]
        cur = cur + (push * mem + k["alignment_reversion"] / 12.0 * (eng.cache["alignment0_cells"] - cur)
                     + k["alignment_meeting_gain"] * (v["meets"][:, co] & mem) * (1.0 - cur))
        np.clip(cur, 0.0, 1.0, out=cur)
        A[:, flat] = cur
        month.values["alignment_cells"] = cur

    def columns(self, cp) -> dict:
        return {f"alignment.{cp.states[s]}.{cp.orgs[o]}": recorded("alignment_cells", (n,))
                for n, (s, o) in enumerate(cp.fixed["align_cells"])}


MECHANISM = Alignment()
