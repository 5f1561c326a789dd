"""The focal pair's own event flow: ad hoc contacts at trust-sensitive rates, and scheduled meetings.

Ad hoc events (visits, calls, consultations, agreements...) arrive as Poisson
counts whose rate rises with the pair's trust; scheduled ones come from the
scenario's calendars (annual commissions, regular meetings) and from timeline
entries that emit an event (a pipeline opening, a sanctions decision).
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import Channel, ColumnFamily, Coverage, Draw, Mechanism, Observable, StateVar, summed
from sim.core.mechanisms.world import apply_op, widen
from sim.core.time import month_index


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray, kmax: int = 200) -> np.ndarray:
    """Inverse-CDF Poisson draw: elementwise, so a member's count depends only on its own uniform."""
    p = np.exp(-lam)
    cdf = p.copy()
    k = np.zeros(lam.shape, dtype=np.int32)
    active = u > cdf
    i = 0
    while i < kmax and active.any():
        i += 1
        p = p * lam / i
        cdf = cdf + p
        k += active
        active &= u > cdf
    return k


def calendar_prob(b, cal, path: str, founded: int | None) -> np.ndarray:
    """(points, T) probability that a calendar's meeting happens in each month."""
    t_abs = b.t_abs
    month_of_year = (t_abs.astype(int) % 12) + 1
    year = t_abs.astype(int) // 12
    lo = month_index(cal.start) if cal.start else (founded if founded is not None else -10**9)
    hi = month_index(cal.end) if cal.end else 10**9
    first_year = lo // 12 if lo > -10**9 else 0
    prob = b.num(f"{path}.probability", cal.probability)[:, None]
    if cal.dates:
        on = np.isin(t_abs.astype(int), [month_index(d) for d in cal.dates])
    else:
        on = (np.isin(month_of_year, cal.months) & (t_abs >= lo) & (t_abs <= hi)
              & ((year - first_year) % cal.every == 0))
    return np.where(on[None, :], prob, 0.0)


class Events(Mechanism):
    name = "events"
    order = 20
    title = "Events of the focal pair"
    equations = (
        "count[type](t) ~ Poisson(rate_type(t) * exp(trust_sensitivity_type * (pair_trust - trust_reference))), "
        "pair_trust = mean of the two directions of trust; calendar meetings happen with their probability in "
        "their months; timeline entries emit their events in their month.")
    ids = {
        "P1": Coverage("rule", "ad hoc event rates rise with the pair's trust, and events feed trust back"),
        "P2": Coverage("scripted", "leadership changes are timeline changes to event rates"),
        "E3": Coverage("scripted", "the 2014 gas deal is an emitted agreement"),
    }
    draws = (Draw("events.stochastic", "uniform", 0, lambda cp: len(cp.fixed["ch.stochastic"])),
             Draw("events.scheduled", "uniform", 1, lambda cp: len(cp.fixed["ch.scheduled"])))
    state_vars: tuple[StateVar, ...] = ()
    families = (ColumnFamily("events", "events per month", "the focal pair's events of one type (or all)"),)

    observables = (Observable("leader_meetings",
                              lambda a, e, i: "events.leader_meeting" if len(a) == 2 else None, False, "linear"),)

    def prepare(self, b) -> None:
        sc = b.sc
        types = list(sc.events)
        rate = np.stack(np.broadcast_arrays(*[b.num(f"events.{k}.rate", sc.events[k].rate.value) for k in types]),
                        axis=-1) if types else np.zeros((1, 0))
        rate = np.repeat(rate[:, None, :], b.T, axis=1)
        for i, ev in enumerate(sc.timeline):
            t = month_index(ev.date) - b.t0
            for j, eff in enumerate(ev.effects):
                tgt = b.target(eff.target)
                if tgt[0] != "events":
                    continue
                val = b.num(f"timeline.{i}.effects.{j}", eff.value)
                end = b.T if eff.duration is None else min(b.T, t + eff.duration)
                k = types.index(tgt[1])
                rate = widen(rate, len(val))
                rate[:, t:end, k] = apply_op(rate[:, t:end, k], eff.op, val[:, None])
        b.put("event_rate", rate)
        b.put("event_sens", np.stack(np.broadcast_arrays(
            *[b.num(f"events.{k}.trust_sensitivity", sc.events[k].trust_sensitivity.value) for k in types]),
            axis=-1) if types else np.zeros((1, 0)))
        focal = b.focal_ids
        b.put_fixed("ch.stochastic", [b.channel(Channel(k, focal, None, "stochastic", k)) for k in types])
        sched, cols = [], []
        for n, cal in enumerate(sc.calendar):
            sched.append(b.channel(Channel(cal.type, focal, None, "calendar", cal.name or f"calendar[{n}]")))
            cols.append(calendar_prob(b, cal, f"calendar.{n}", None))
        for ev in sc.timeline:
            t = month_index(ev.date) - b.t0
            for e in ev.emits:
                sched.append(b.channel(Channel(e.type, tuple(e.actors), e.organisation, "timeline", ev.id)))
                col = np.zeros((1, b.T))
                col[:, t] = 1.0
                cols.append(col)
        b.put_fixed("ch.scheduled", sched)
        b.put("sched_prob", np.stack(np.broadcast_arrays(*cols), axis=-1) if cols else np.zeros((1, b.T, 0)))

    def step(self, eng, month) -> None:
        cp, k = eng.cp, eng.k
        fr = eng.state["trust"][:, cp.fixed["focal_trust_idx"]]
        tpair = 0.5 * (fr[:, 0:1] + fr[:, 1:2])
        month.values["pair_trust"] = tpair
        stochastic, sched = cp.fixed["ch.stochastic"], cp.fixed["ch.scheduled"]
        if len(stochastic):
            lam = eng.at("event_rate", month.t) * np.exp(eng.pick("event_sens") * (tpair - k["trust_reference"]))
            month.counts[:, stochastic] = poisson_from_uniform(lam, month.draws["events.stochastic"])
        if len(sched):
            month.counts[:, sched] = month.draws["events.scheduled"] < eng.at("sched_prob", month.t)

    def columns(self, cp) -> dict:
        focal = {cp.states[cp.focal[0]], cp.states[cp.focal[1]]}
        by_type: dict[str, list[int]] = {}
        for c, ch in enumerate(cp.channels):
            if set(ch.actors) == focal:
                by_type.setdefault(ch.type, []).append(c)
        cols = {f"events.{typ}": summed("counts", chans) for typ, chans in sorted(by_type.items())}
        cols["events.total"] = summed("counts", [c for v in by_type.values() for c in v])
        return cols


MECHANISM = Events()
