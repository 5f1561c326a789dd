"""Events between pairs of states: ad hoc contacts whose hazards follow the state of the world, and scheduled ones.

The focal pair's event types (``events:``) and those of any other pair the
scenario marks as relevant (``relations:``) arrive as Poisson counts. Each
hazard is the type's rate times ``exp(trust_sensitivity * (trust - reference)
+ responses)``, where the responses (sim/core/mechanisms/signals.py) read this
month's perceptions and last month's state: crises bring consultations and
exercises, isolation brings agreements, weak trade brings political pushes,
hostility is answered with friction. Types with a direction (support,
greetings, friction, visits) have one channel per side, driven by the
initiator's own state, so the two sides can act differently. Scheduled
events come from calendars and timeline entries.
"""

from __future__ import annotations

import numpy as np

from sim.core.mechanisms.base import Channel, ColumnFamily, Coverage, Draw, Mechanism, Observable, summed
from sim.core.mechanisms.signals import DEFAULT_RESPONSES, DIRECTED, RESPONSE_NAMES
from sim.core.mechanisms.world import apply_op, widen
from sim.core.time import month_index


def poisson_from_uniform(lam: np.ndarray, u: np.ndarray, kmax: int = 200) -> np.ndarray:
    """Inverse-CDF Poisson draw: elementwise, so a member's count depends only on its own uniform.

    After the first step only the draws still climbing the CDF are carried on (most counts are 0 or 1), each
    with exactly the arithmetic it would have had in the full array.
    """
    p = np.exp(-lam)
    cdf = p.copy()
    k = np.zeros(lam.shape, dtype=np.int32)
    active = u > cdf
    if kmax < 1 or not active.any():
        return k
    p = p * lam                   # step 1 on the full array (p * lam / 1 is p * lam exactly)
    cdf += p
    k += active
    active &= u > cdf
    idx = np.flatnonzero(active)
    lam_a, u_a, p_a, cdf_a = lam.ravel()[idx], u.ravel()[idx], p.ravel()[idx], cdf.ravel()[idx]
    flat_k = k.reshape(-1)
    i = 1
    while i < kmax and len(idx):
        i += 1
        p_a *= lam_a
        p_a /= i
        cdf_a += p_a
        flat_k[idx] += 1
        keep = u_a > cdf_a
        if not keep.all():
            idx, lam_a, u_a, p_a, cdf_a = idx[keep], lam_a[keep], u_a[keep], p_a[keep], cdf_a[keep]
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


def event_pairs(sc) -> list[tuple[tuple[str, str], str, dict]]:
    """(pair, path prefix, event processes) of the focal pair and every relation."""
    out = [(tuple(sc.meta.focal), "events", sc.events)]
    out += [(tuple(r.pair), f"relations.{n}.events", r.events) for n, r in enumerate(sc.relations)]
    return out


def _exposure_layout(cp) -> tuple[np.ndarray, np.ndarray]:
    """For each channel's initiator, its trade pairs in order: (K, channels) flow index (the last index reads
    zero) and the flat (sanctioner, target) index into a month's sanctions."""
    a, t = cp.fixed["ev_init"], cp.fixed["ev_target"]
    trade, S = cp.pairs["trade"], len(cp.states)
    terms = [[(p, (j if i == s else i)) for p, (i, j) in enumerate(trade) if s in (i, j)] for s in a]
    K = max((len(x) for x in terms), default=0)
    pad = len(trade)
    pairs = np.full((K, len(a)), pad)
    partner = np.zeros((K, len(a)), dtype=int)
    for c, lst in enumerate(terms):
        for k, (p, other) in enumerate(lst):
            pairs[k, c] = p
            partner[k, c] = other * S + t[c]
    return pairs, partner.ravel()


class Events(Mechanism):
    name = "events"
    order = 20
    title = "Events between pairs"
    equations = (
        "count[type, pair or initiator->target](t) ~ Poisson(rate_type(t) * (1/2 if directed) * exp("
        "trust_sensitivity_type * (trust - trust_reference) + sum over signals s of response_type,s * s(t))); "
        "signals: crisis, isolation, lean, trade_gap, recession, blocked, parity, hostility, exposure (see "
        "signals.py); calendar meetings happen with their probability in their months; timeline entries emit "
        "their events in their month.")
    ids = {
        "P1": Coverage("rule", "event rates rise with trust, and events move trust back (trust mechanism)"),
        "T12": Coverage("rule", "a fall of the pair's trade below its recent average raises agreements and "
                                "economic cooperation, which warm trust and lift trade"),
        "E3": Coverage("rule", "isolation raises the hazard of energy and economic agreements"),
        "X5": Coverage("rule", "rises in shared threat bring exercises and military cooperation"),
        "X6": Coverage("rule", "crises bring consultations, calls and leader meetings"),
        "A10": Coverage("rule", "military cooperation (co-development, joint projects) grows with capability "
                                "parity and trust"),
        "P10": Coverage("rule", "support for a partner under sanctions falls with the supporter's own trade with "
                                "the sanctioners"),
        "O2": Coverage("rule", "when rivalry blocks a club's economic agenda its members go bilateral"),
    }
    draws = (Draw("events.stochastic", "uniform", lambda cp: [cp.channels[c].key for c in cp.fixed["ch.stochastic"]]),
             Draw("events.scheduled", "uniform", lambda cp: [cp.channels[c].key for c in cp.fixed["ch.scheduled"]]))
    families = (ColumnFamily("events", "events per month", "the focal pair's events of one type (or all)"),)
    observables = (Observable("leader_meetings",
                              lambda a, e, i: "events.leader_meeting" if len(a) == 2 else None, False, "linear"),)

    def structure(self, b) -> None:
        for (x, y), _, _ in event_pairs(b.sc)[1:]:
            b.want_trust([(b.si[x], b.si[y]), (b.si[y], b.si[x])])

    def prepare(self, b) -> None:
        rows = []
        for pair, prefix, processes in event_pairs(b.sc):
            for typ, proc in processes.items():
                rate = self._rate(b, prefix, typ, proc, prefix == "events")
                ends = [pair, pair[::-1]] if typ in DIRECTED else [pair]
                for a, t in ends:
                    rows.append((typ, a, t, typ in DIRECTED, rate * (0.5 if typ in DIRECTED else 1.0),
                                 b.num(f"{prefix}.{typ}.trust_sensitivity", proc.trust_sensitivity.value),
                                 self._responses(b, prefix, typ, proc), prefix == "events"))
        self._put_stochastic(b, rows)
        self._put_scheduled(b)

    @staticmethod
    def _rate(b, prefix: str, typ: str, proc, focal: bool) -> np.ndarray:
        """(points, T) the type's rate, with the timeline's changes for the focal pair's types."""
        rate = np.repeat(b.num(f"{prefix}.{typ}.rate", proc.rate.value)[:, None], b.T, axis=1)
        if not focal:
            return rate
        for i, ev in enumerate(b.sc.timeline):
            t = month_index(ev.date) - b.t0
            for j, eff in enumerate(ev.effects):
                tgt = b.target(eff.target)
                if tgt[0] == "events" and tgt[1] == typ:
                    val = b.num(f"timeline.{i}.effects.{j}", eff.value)
                    end = b.T if eff.duration is None else min(b.T, t + eff.duration)
                    rate = widen(rate, len(val))
                    rate[:, t:end] = apply_op(rate[:, t:end], eff.op, val[:, None])
        return rate

    @staticmethod
    def _responses(b, prefix: str, typ: str, proc) -> np.ndarray:
        """(points, signals) the type's response coefficients: the scenario's where given, else defaults."""
        defaults = DEFAULT_RESPONSES.get(typ, {})
        cols = []
        for sig in RESPONSE_NAMES:
            given = proc.responds.get(sig)
            base = given.value if given is not None else defaults.get(sig, (0.0, ""))[0]
            cols.append(b.num(f"{prefix}.{typ}.responds.{sig}", base) if given is not None else np.array([base]))
        return np.stack(np.broadcast_arrays(*cols), axis=-1)

    @staticmethod
    def _put_stochastic(b, rows) -> None:
        chans = []
        for typ, a, t, directed, _, _, _, focal in rows:
            name = typ if (focal and not directed) else f"{typ} {a}>{t}" if directed else f"{typ} {a}-{t}"
            chans.append(b.channel(Channel(typ, (a, t), None, "stochastic", name, directed)))
        b.put_fixed("ch.stochastic", chans)
        if not rows:
            for key, shape in (("event_rate", (1, b.T, 0)), ("event_sens", (1, 0)), ("event_resp", (1, 0, 0))):
                b.put(key, np.zeros(shape))
        else:
            b.put("event_rate", np.stack(np.broadcast_arrays(*[r[4] for r in rows]), axis=-1))
            b.put("event_sens", np.stack(np.broadcast_arrays(*[r[5] for r in rows]), axis=-1))
            b.put("event_resp", np.stack(np.broadcast_arrays(*[r[6] for r in rows]), axis=1))
        b.put_fixed("ev_fwd", [b.trust_index((b.si[a], b.si[t])) for _, a, t, *_ in rows])
        b.put_fixed("ev_back", [b.trust_index((b.si[t], b.si[a])) for _, a, t, *_ in rows])
        b.put_fixed("ev_init", [b.si[a] for _, a, *_ in rows])
        b.put_fixed("ev_target", [b.si[t] for _, _, t, *_ in rows])
        b.put_fixed("ev_directed", [r[3] for r in rows], dtype=bool)

    @staticmethod
    def _put_scheduled(b) -> None:
        sched, cols = [], []
        focal = b.focal_ids
        for n, cal in enumerate(b.sc.calendar):
            sched.append(b.channel(Channel(cal.type, focal, None, "calendar", cal.name or f"calendar[{n}]")))
            cols.append(calendar_prob(b, cal, f"calendar.{n}", None))
        for ev in b.sc.timeline:
            t = month_index(ev.date) - b.t0
            for n, e in enumerate(ev.emits):
                sched.append(b.channel(Channel(e.type, tuple(e.actors), e.organisation, "timeline", f"{ev.id}#{n}")))
                col = np.zeros((1, b.T))
                col[:, t] = 1.0
                cols.append(col)
        b.put_fixed("ch.scheduled", sched)
        b.put("sched_prob", np.stack(np.broadcast_arrays(*cols), axis=-1) if cols else np.zeros((1, b.T, 0)))

    def signals(self, eng, month) -> dict[str, np.ndarray]:
        """Signal name -> (M, channels) this month's value for every stochastic channel."""
        cp, v, st = eng.cp, month.values, eng.state
        fwd, back, a, t = cp.fixed["ev_fwd"], cp.fixed["ev_back"], cp.fixed["ev_init"], cp.fixed["ev_target"]
        directed = cp.fixed["ev_directed"]

        def side(per_state):       # the initiator's value for directed channels, the larger for pairs
            at_a = per_state[:, a]
            return np.where(directed, at_a, np.maximum(at_a, per_state[:, t]))

        def dyad(per_pair):        # one direction for directed channels, the mean for pairs
            fw = per_pair[:, fwd]
            return np.where(directed, fw, 0.5 * (fw + per_pair[:, back]))

        C = st["capability"]
        Ca, Ct = C[:, a], C[:, t]
        hostile = st["hostile"] + v["rivalry"] + np.swapaxes(eng.at("sanctions", month.t), 1, 2)[
            :, cp.fixed["trust_i"], cp.fixed["trust_j"]]
        hostile_fwd = hostile[:, fwd]
        sig = {"crisis": np.minimum(v["crisis"][:, fwd], 1.0), "isolation": side(v["isolation"]),
               "lean": dyad(st["lean"]) - 0.5,
               "trade_gap": v["trade_gap"][:, fwd], "recession": side(v["recession"]),
               "blocked": st["blocked"][:, fwd],
               "parity": np.minimum(Ca, Ct) / np.maximum(np.maximum(Ca, Ct), 1e-9),
               "hostility": np.minimum(1.0, np.where(directed, hostile_fwd,
                                                     np.maximum(hostile_fwd, hostile[:, back]))),
               "exposure": self._exposure(eng, month)}
        return sig

    @staticmethod
    def _exposure(eng, month) -> np.ndarray:
        """(M, channels) the initiator's trade share with states that sanction the target.

        Sums run in trade-pair order from zero, one term per trade pair of the initiator; a month without
        sanctions is zero everywhere and skips the sums.
        """
        cp, X = eng.cp, eng.state["exports"]
        sanctions = eng.at("sanctions", month.t)
        M, n_chan = X.shape[0], len(cp.fixed["ev_init"])
        if not sanctions.any():
            return np.zeros((M, n_chan))
        lay = eng.cache.get("exposure_layout")
        if lay is None:
            lay = eng.cache["exposure_layout"] = _exposure_layout(cp)
        pairs, partner = lay
        XT = np.zeros((X.shape[1] + 1, M))
        XT[:-1] = X.T
        flows = XT[pairs]                                           # (K, channels, M): the initiator's trade
        hit = sanctions.reshape(sanctions.shape[0], -1)[:, partner].T    # (K * channels, points)
        hit = hit.reshape(pairs.shape + (-1,))
        out = np.zeros((n_chan, M))
        totals = np.zeros((n_chan, M))
        for k in range(pairs.shape[0]):
            out += flows[k] * hit[k]
            totals += flows[k]
        return np.where(totals > 0, out / np.maximum(totals, 1e-12), 0.0).T

    def step(self, eng, month) -> None:
        cp, k, Tr = eng.cp, eng.k, eng.state["trust"]
        fa, fb = cp.fixed["focal_trust_idx"]
        month.values["pair_trust"] = 0.5 * (Tr[:, fa:fa + 1] + Tr[:, fb:fb + 1])
        stochastic, sched = cp.fixed["ch.stochastic"], cp.fixed["ch.scheduled"]
        if len(stochastic):
            fwd, back, directed = cp.fixed["ev_fwd"], cp.fixed["ev_back"], cp.fixed["ev_directed"]
            tr_fwd = Tr[:, fwd]
            trust = np.where(directed, tr_fwd, 0.5 * (tr_fwd + Tr[:, back]))
            exponent = eng.pick("event_sens") * (trust - k["trust_reference"])
            resp, sig = eng.pick("event_resp"), self.signals(eng, month)
            for r, name in enumerate(RESPONSE_NAMES):      # a fixed order: the same sum for every member
                if resp[:, :, r].any():
                    exponent += resp[:, :, r] * sig[name]
            np.minimum(exponent, 8.0, out=exponent)
            np.exp(exponent, out=exponent)
            lam = eng.at("event_rate", month.t) * exponent
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
