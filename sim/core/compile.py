"""Turn a validated scenario into the arrays the dynamics run on.

Everything that does not depend on the random draws (drivers, shocks,
membership, calendars, shared threats) is worked out here, once per scenario,
as arrays over months; the engine then only does the per-member arithmetic.
Every array has a leading "point" axis (length 1 for one scenario) so that the
same engine can run many parameter points of a sweep side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core.loading import LoadedScenario
from sim.core.schema import STATE_JUMP_FIELDS, Scenario, parse_target
from sim.core.taxonomy import EVENT_TYPES
from sim.core.time import month_index, month_str


@dataclass
class Channel:
    """One stream of dated events the model can produce."""

    type: str
    actors: tuple[str, ...]
    organisation: str | None
    origin: str  # stochastic | calendar | summit | sideline | arms_contract | arms_delivery | timeline
    name: str


@dataclass
class Compiled:
    """Arrays for the engine. Axis 0 is the parameter point, axis 1 (where present) the month."""

    months: list[str]
    states: list[str]
    orgs: list[str]
    focal: tuple[int, int]
    # pair lists (index pairs into states)
    trade_pairs: list[tuple[int, int]]
    trust_pairs: list[tuple[int, int]]
    arms_pairs: list[tuple[int, int]]
    trade_trust_idx: np.ndarray          # (P_x,) index into trust_pairs
    arms_trust_idx: np.ndarray           # (P_a,)
    focal_trust_idx: np.ndarray          # (2,) the focal pair, both directions
    channels: list[Channel]
    # initial state
    exports0: np.ndarray                 # (L, P_x)
    trust0: np.ndarray                   # (L, P_t)
    alignment0: np.ndarray               # (L, S, O)
    capability0: np.ndarray              # (L, S)
    # deterministic paths
    oil: np.ndarray                      # (L, T)
    gdp: np.ndarray                      # (L, T, S)
    trade_push: np.ndarray               # (L, T, P_x) monthly log-change before trust and noise
    trust_push: np.ndarray               # (L, T, P_t) monthly change before events and noise
    members: np.ndarray                  # (L, T, S, O) bool
    participants: np.ndarray             # (L, T, S, O) bool: members or observers
    summit_prob: np.ndarray              # (L, T, O) probability the organisation meets this month
    align_push: np.ndarray               # (L, T, S, O) monthly change for members before meetings
    agenda: np.ndarray                   # (L, O, 2) security, economy
    cap_growth: np.ndarray               # (L, S) per month
    arms_pull: np.ndarray                # (L, T, P_a) contract hazard before gap and trust
    event_rate: np.ndarray               # (L, T, K) stochastic rates at the reference trust
    event_sens: np.ndarray               # (L, K)
    sched_prob: np.ndarray               # (L, T, C_s) calendar and timeline channels
    # scalars (L,)
    coef: dict[str, np.ndarray] = field(default_factory=dict)
    # state jumps: (t, kind, index, op, value) applied at the start of month t, same for every member
    jumps: list[list[tuple[str, int, str, np.ndarray]]] = field(default_factory=list)  # value: (L,)
    # channel index groups
    ch_stochastic: np.ndarray = None     # (K,)
    ch_sched: np.ndarray = None          # (C_s,)
    ch_summit: np.ndarray = None         # (O_f,) orgs where the focal pair can meet
    summit_orgs: np.ndarray = None       # (O_f,) org index for those channels
    ch_sideline: np.ndarray = None       # (O_f,)
    ch_arms_contract: np.ndarray = None  # (A_f,) focal arms pairs
    ch_arms_delivery: np.ndarray = None
    focal_arms: np.ndarray = None        # (A_f,) index into arms_pairs
    goldstein: np.ndarray = None         # (C,)
    scenario_name: str = ""

    @property
    def n_points(self) -> int:
        return self.exports0.shape[0]

    @property
    def n_months(self) -> int:
        return len(self.months)


def _interp_driver(points, t_abs: np.ndarray) -> np.ndarray:
    xs = np.array([month_index(p.date) for p in points], dtype=float)
    ys = np.array([p.value for p in points], dtype=float)
    return np.interp(t_abs, xs, ys)


def _apply(arr: np.ndarray, op: str, value: float) -> np.ndarray:
    if op == "add":
        return arr + value
    if op == "multiply":
        return arr * value
    return np.full_like(arr, value)


def compile_scenario(loaded: LoadedScenario | Scenario) -> Compiled:
    """Compile one scenario (a single parameter point)."""
    sc: Scenario = loaded.scenario if isinstance(loaded, LoadedScenario) else loaded
    c = sc.coefficients
    states, orgs = list(sc.states), list(sc.organisations)
    S, O = len(states), len(orgs)
    si = {s: i for i, s in enumerate(states)}
    oi = {o: i for i, o in enumerate(orgs)}
    t0, t1 = month_index(sc.meta.start), month_index(sc.meta.end)
    T = t1 - t0 + 1
    t_abs = np.arange(t0, t1 + 1, dtype=float)
    months = [month_str(int(m)) for m in t_abs]
    fa, fb = si[sc.meta.focal[0]], si[sc.meta.focal[1]]

    # ---- time-varying parameters, then timeline effects on them
    drivers = {d: _interp_driver(v.points, t_abs) for d, v in sc.drivers.items()}
    growth = np.tile([st.growth.value for st in sc.states.values()], (T, 1))
    energy = np.tile([st.energy_export_share.value for st in sc.states.values()], (T, 1))
    exposure = np.tile([st.sanctions_exposure.value for st in sc.states.values()], (T, 1))
    threat = np.zeros((T, S, S))
    rivalry = np.zeros((T, S, S))
    for s, st in sc.states.items():
        for o, p in st.threat.items():
            threat[:, si[s], si[o]] = p.value
        for o, p in st.rivalry.items():
            rivalry[:, si[s], si[o]] = p.value
    ev_types = list(sc.events)
    event_rate = np.tile([sc.events[k].rate.value for k in ev_types], (T, 1)) if ev_types else np.zeros((T, 0))
    sanctions = np.zeros((T, S, S))  # [t, by, on]

    jumps: list[list[tuple[str, int, str, np.ndarray]]] = [[] for _ in range(T)]
    jump_specs: list[tuple[int, tuple, str, float]] = []
    for ev in sc.timeline:
        t = month_index(ev.date) - t0
        for eff in ev.effects:
            tgt = parse_target(eff.target, sc)
            end = T if eff.duration is None else min(T, t + eff.duration)
            sl = slice(t, end)
            if tgt[0] == "drivers":
                drivers[tgt[1]][sl] = _apply(drivers[tgt[1]][sl], eff.op, eff.value)
            elif tgt[0] == "events":
                k = ev_types.index(tgt[1])
                event_rate[sl, k] = _apply(event_rate[sl, k], eff.op, eff.value)
            else:
                rows = range(S) if tgt[1] == "*" else [si[tgt[1]]]
                fld = tgt[2]
                if fld in STATE_JUMP_FIELDS:
                    for r in rows:
                        jump_specs.append((t, (fld, r) + tgt[3:], eff.op, eff.value))
                    continue
                for r in rows:
                    if fld == "growth":
                        growth[sl, r] = _apply(growth[sl, r], eff.op, eff.value)
                    elif fld == "energy_export_share":
                        energy[sl, r] = _apply(energy[sl, r], eff.op, eff.value)
                    elif fld == "sanctions_exposure":
                        exposure[sl, r] = _apply(exposure[sl, r], eff.op, eff.value)
                    elif fld == "threat":
                        threat[sl, r, si[tgt[3]]] = _apply(threat[sl, r, si[tgt[3]]], eff.op, eff.value)
                    elif fld == "rivalry":
                        rivalry[sl, r, si[tgt[3]]] = _apply(rivalry[sl, r, si[tgt[3]]], eff.op, eff.value)
        for san in ev.sanctions:
            end = T if san.duration is None else min(T, t + san.duration)
            for b in san.by:
                for o in san.against:
                    sanctions[t:end, si[b], si[o]] += san.intensity
    np.clip(sanctions, 0.0, 1.0, out=sanctions)
    np.clip(threat, 0.0, 1.0, out=threat)
    np.clip(rivalry, 0.0, 1.0, out=rivalry)
    oil = drivers["oil_price"]
    if np.any(oil <= 0):
        raise ValueError("oil_price must stay positive after timeline effects")

    # ---- pairs
    trade_pairs = [(si[s], si[o]) for s, st in sc.states.items() for o in st.exports]
    arms_pairs = [(si[s], si[o]) for s, st in sc.states.items() for o in st.arms_clients]
    trust_set: list[tuple[int, int]] = [(si[s], si[o]) for s, st in sc.states.items() for o in st.trust]
    for p in trade_pairs + arms_pairs + [(fa, fb), (fb, fa)]:
        if p not in trust_set:
            trust_set.append(p)
    trust_pairs = trust_set
    ti = {p: k for k, p in enumerate(trust_pairs)}
    trust0 = np.array([
        sc.states[states[i]].trust[states[j]].value if states[j] in sc.states[states[i]].trust
        else c.trust_reference.value for i, j in trust_pairs])
    exports0 = np.array([sc.states[states[i]].exports[states[j]].value for i, j in trade_pairs])

    # ---- trade: deterministic monthly log-change per pair
    dlog_oil = np.diff(np.log(oil), prepend=np.log(oil[0]))
    sanctioned = exposure * sanctions.sum(axis=1).clip(0, 1)          # (T, S) pressure on each state
    trade_push = np.zeros((T, len(trade_pairs)))
    for p, (i, j) in enumerate(trade_pairs):
        hit = np.maximum(sanctions[:, i, j], sanctions[:, j, i])
        divert = sanctioned[:, i] * (sanctions[:, j, i] == 0) + sanctioned[:, j] * (sanctions[:, i, j] == 0)
        trend = sc.states[states[i]].export_trend
        trade_push[:, p] = ((trend.value if trend else 0.0) / 12.0
                            + c.trade_income_elasticity.value * growth[:, j] / 12.0
                            + c.trade_oil_elasticity.value * energy[:, i] * dlog_oil
                            + (c.trade_diversion.value * divert - c.trade_sanction_loss.value * hit) / 12.0)

    # ---- trust: reversion target shifts with shared threats, rivalry and sanctions
    shared = np.zeros((T, S, S))
    for k in range(S):
        m = np.minimum(threat[:, :, k][:, :, None], threat[:, :, k][:, None, :])
        m[:, k, :] = 0.0
        m[:, :, k] = 0.0
        shared += m
    # Initial trust already reflects the initial threats and rivalries: only changes move it.
    trust_push = np.zeros((T, len(trust_pairs)))
    for p, (i, j) in enumerate(trust_pairs):
        rv = np.maximum(rivalry[:, i, j], rivalry[:, j, i])
        trust_push[:, p] = (c.trust_shared_threat.value * (shared[:, i, j] - shared[0, i, j])
                            - c.trust_rivalry.value * (rv - rv[0])
                            - c.trust_sanction.value * sanctions[:, j, i]) / 12.0

    # ---- organisations
    members = np.zeros((T, S, O), dtype=bool)
    participants = np.zeros((T, S, O), dtype=bool)
    summit_prob = np.zeros((T, O))
    agenda = np.zeros((O, 2))
    for o, org in sc.organisations.items():
        k = oi[o]
        agenda[k] = [org.agenda.security.value, org.agenda.economy.value]
        for kind, target in (("members", (members, participants)), ("observers", (participants,))):
            for mem in getattr(org, kind):
                a = max(0, month_index(mem.joined) - t0)
                b = T if mem.left is None else max(0, month_index(mem.left) - t0)
                for arr in target:
                    arr[a:b, si[mem.state], k] = True
        for cal in org.summits:
            summit_prob[:, k] = np.maximum(summit_prob[:, k], _calendar_prob(cal, t_abs, month_index(org.founded)))
    ext_threat = threat.sum(axis=2)
    rivalry_tot = rivalry.sum(axis=2)
    align_push = (c.alignment_threat_gain.value * ext_threat[:, :, None] * agenda[None, None, :, 0]
                  - c.alignment_rivalry_loss.value * rivalry_tot[:, :, None] * agenda[None, None, :, 1]) / 12.0
    alignment0 = np.zeros((S, O))
    for s, st in sc.states.items():
        for o, p in st.alignment.items():
            alignment0[si[s], oi[o]] = p.value

    # ---- arms: the part of the contract hazard that does not depend on the run
    need = c.arms_revenue_need.value * np.clip(1.0 - oil / c.oil_reference.value, 0.0, None)[:, None] * energy
    isolation = c.arms_isolation_boost.value * exposure * sanctions.sum(axis=1).clip(0, 1)
    demand = 1.0 + c.arms_threat_boost.value * ext_threat
    arms_pull = np.zeros((T, len(arms_pairs)))
    for p, (i, j) in enumerate(arms_pairs):
        fear = sc.states[states[i]].arms_clients[states[j]].copy_fear.value
        restraint = np.zeros(T)
        for (i2, j2) in arms_pairs:
            if i2 == i and j2 != j:
                restraint += threat[:, j2, j]     # another client of the seller fears this buyer
        arms_pull[:, p] = (c.arms_contract_rate.value * (1.0 - fear) * (1.0 + need[:, i] + isolation[:, i])
                           * demand[:, j] / (1.0 + c.arms_rival_restraint.value * restraint))
    capability0 = np.array([st.arms_capability.value for st in sc.states.values()])
    cap_growth = np.array([st.arms_capability_growth.value for st in sc.states.values()]) / 12.0

    # ---- gdp path (deterministic: growth with jumps)
    level = np.array([st.gdp.value for st in sc.states.values()], dtype=float)
    factors = np.vstack([np.ones((1, S)), 1.0 + growth[1:] / 12.0])
    gdp = level * np.cumprod(factors, axis=0)
    for t, key, op, v in sorted((j for j in jump_specs if j[1][0] == "gdp"), key=lambda j: j[0]):
        r = key[1]                        # a jump rescales the whole path from its month on
        before = gdp[t, r]
        gdp[t:, r] *= _apply(np.array(before), op, v) / before if before else 0.0

    # ---- state jumps the engine applies per member
    for t, key, op, v in jump_specs:
        fld = key[0]
        if fld == "gdp":
            continue
        if fld == "exports":
            idx = trade_pairs.index((key[1], si[key[2]])) if (key[1], si[key[2]]) in trade_pairs else None
            if idx is None:
                raise ValueError(f"effect on exports {states[key[1]]}->{key[2]}: that pair has no exports "
                                 "defined in the scenario")
        elif fld == "trust":
            idx = ti.get((key[1], si[key[2]]))
            if idx is None:
                raise ValueError(f"effect on trust {states[key[1]]}->{key[2]}: that pair is not tracked")
        elif fld == "alignment":
            idx = key[1] * O + oi[key[2]]
        else:  # arms_capability
            idx = key[1]
        jumps[t].append((fld, idx, op, np.array([v], dtype=float)))

    # ---- event channels
    channels: list[Channel] = []
    focal_ids = (states[fa], states[fb])

    def add(ch: Channel) -> int:
        channels.append(ch)
        return len(channels) - 1

    ch_stochastic = [add(Channel(k, focal_ids, None, "stochastic", k)) for k in ev_types]
    sched_cols: list[np.ndarray] = []
    ch_sched: list[int] = []
    for n, cal in enumerate(sc.calendar):
        ch_sched.append(add(Channel(cal.type, focal_ids, None, "calendar", cal.name or f"calendar[{n}]")))
        sched_cols.append(_calendar_prob(cal, t_abs, None))
    for ev in sc.timeline:
        t = month_index(ev.date) - t0
        for e in ev.emits:
            ch_sched.append(add(Channel(e.type, tuple(e.actors), e.organisation, "timeline", ev.id)))
            col = np.zeros(T)
            col[t] = 1.0
            sched_cols.append(col)
    summit_orgs, ch_summit, ch_sideline = [], [], []
    for o, org in sc.organisations.items():
        if not org.summits:
            continue
        k = oi[o]
        if not (participants[:, fa, k] & participants[:, fb, k]).any():
            continue
        summit_orgs.append(k)
        ch_summit.append(add(Channel("multilateral_meeting", focal_ids, o, "summit", f"{o} summit")))
        ch_sideline.append(add(Channel("leader_meeting", focal_ids, o, "sideline", f"{o} sideline")))
    focal_arms, ch_ac, ch_ad = [], [], []
    for p, (i, j) in enumerate(arms_pairs):
        if {i, j} == {fa, fb}:
            focal_arms.append(p)
            pair = (states[i], states[j])
            ch_ac.append(add(Channel("arms_contract", pair, None, "arms_contract", f"{pair[0]}>{pair[1]}")))
            ch_ad.append(add(Channel("arms_delivery", pair, None, "arms_delivery", f"{pair[0]}>{pair[1]}")))
    sched_prob = np.stack(sched_cols, axis=1) if sched_cols else np.zeros((T, 0))

    # Events move trust only as far as they depart from the usual flow: the expected monthly
    # Goldstein total of the pair at the reference trust, averaged over the period.
    gold = np.array([EVENT_TYPES[ch.type].goldstein for ch in channels])
    expected = float((event_rate * gold[ch_stochastic]).sum(axis=1).mean()) if ev_types else 0.0
    if ch_sched:
        expected += float((sched_prob * gold[ch_sched]).sum(axis=1).mean())
    for n, k in enumerate(summit_orgs):
        both = participants[:, fa, k] & participants[:, fb, k]
        expected += float((summit_prob[:, k] * both).mean()) * (gold[ch_summit[n]] + gold[ch_sideline[n]]
                                                                 * c.sideline_meeting_probability.value
                                                                 * c.trust_reference.value)
    coef = {name: np.array([getattr(c, name).value], dtype=float) for name in type(c).model_fields}
    coef["expected_goldstein"] = np.array([expected])
    cp = Compiled(
        months=months, states=states, orgs=orgs, focal=(fa, fb),
        trade_pairs=trade_pairs, trust_pairs=trust_pairs, arms_pairs=arms_pairs,
        trade_trust_idx=np.array([ti[p] for p in trade_pairs], dtype=int),
        arms_trust_idx=np.array([ti[p] for p in arms_pairs], dtype=int),
        focal_trust_idx=np.array([ti[(fa, fb)], ti[(fb, fa)]], dtype=int),
        channels=channels,
        exports0=exports0[None], trust0=trust0[None], alignment0=alignment0[None],
        capability0=capability0[None], oil=oil[None], gdp=gdp[None], trade_push=trade_push[None],
        trust_push=trust_push[None], members=members[None], participants=participants[None],
        summit_prob=summit_prob[None], align_push=align_push[None], agenda=agenda[None],
        cap_growth=cap_growth[None], arms_pull=arms_pull[None], event_rate=event_rate[None],
        event_sens=np.array([[sc.events[k].trust_sensitivity.value for k in ev_types]]).reshape(1, -1),
        sched_prob=sched_prob[None], coef=coef, jumps=jumps,
        ch_stochastic=np.array(ch_stochastic, dtype=int), ch_sched=np.array(ch_sched, dtype=int),
        ch_summit=np.array(ch_summit, dtype=int), summit_orgs=np.array(summit_orgs, dtype=int),
        ch_sideline=np.array(ch_sideline, dtype=int),
        ch_arms_contract=np.array(ch_ac, dtype=int), ch_arms_delivery=np.array(ch_ad, dtype=int),
        focal_arms=np.array(focal_arms, dtype=int),
        goldstein=np.array([EVENT_TYPES[ch.type].goldstein for ch in channels]),
        scenario_name=sc.meta.name,
    )
    return cp


def _calendar_prob(cal, t_abs: np.ndarray, founded: int | None) -> np.ndarray:
    month_of_year = (t_abs.astype(int) % 12) + 1
    year = t_abs.astype(int) // 12
    lo = month_index(cal.start) if cal.start else (founded if founded is not None else -10**9)
    hi = month_index(cal.end) if cal.end else 10**9
    first_year = lo // 12 if lo > -10**9 else 0
    if cal.dates:
        on = np.isin(t_abs.astype(int), [month_index(d) for d in cal.dates])
        return np.where(on, cal.probability, 0.0)
    on = np.isin(month_of_year, cal.months) & (t_abs >= lo) & (t_abs <= hi) & ((year - first_year) % cal.every == 0)
    return np.where(on, cal.probability, 0.0)


def stack_points(parts: list[Compiled]) -> Compiled:
    """Join compiled points that share structure (same states, pairs, channels) along axis 0."""
    first = parts[0]
    if len(parts) == 1:
        return first
    for p in parts[1:]:
        if (p.trade_pairs != first.trade_pairs or p.trust_pairs != first.trust_pairs
                or p.arms_pairs != first.arms_pairs or len(p.channels) != len(first.channels)
                or p.months != first.months or _jump_keys(p) != _jump_keys(first)):
            raise ValueError("sweep points must share the scenario's structure "
                             "(states, pairs, channels, months and timeline jumps)")
    out = Compiled(**{**first.__dict__})
    for name, val in first.__dict__.items():
        if isinstance(val, np.ndarray) and val.ndim >= 1 and name not in _INDEX_FIELDS:
            setattr(out, name, np.concatenate([getattr(p, name) for p in parts], axis=0))
    out.coef = {k: np.concatenate([p.coef[k] for p in parts]) for k in first.coef}
    out.jumps = [[(fld, idx, op, np.concatenate([p.jumps[t][n][3] for p in parts]))
                  for n, (fld, idx, op, _) in enumerate(step)] for t, step in enumerate(first.jumps)]
    return out


def _jump_keys(cp: Compiled) -> list:
    return [[j[:3] for j in step] for step in cp.jumps]


_INDEX_FIELDS = {"trade_trust_idx", "arms_trust_idx", "focal_trust_idx", "ch_stochastic", "ch_sched",
                 "ch_summit", "summit_orgs", "ch_sideline", "ch_arms_contract", "ch_arms_delivery",
                 "focal_arms", "goldstein"}
