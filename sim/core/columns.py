"""From engine arrays to tables a person or a notebook can use.

Column names are flat, dotted, shell-safe strings (they are typed on command
lines and in sweep files) so that the same names serve Parquet files, Mesa's
DataCollector and the comparison with history. They read like scenario paths:

* ``trade.A.B`` — both directions, bn USD a year (annual rate); A, B sorted
* ``exports.A.B`` — A's exports to B, bn USD a year (annual rate)
* ``trust.A.B`` — A's trust in B (0-1)
* ``alignment.S.O`` — state S's alignment with organisation O (0-1)
* ``arms_contracts.A.B`` / ``arms_deliveries.A.B`` — bn USD signed / delivered in the month, seller A
* ``arms_capability.S``, ``gdp.S`` (bn USD), ``oil_price``
* ``events.TYPE`` / ``events.total`` — the focal pair's events in the month
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sim.core.compile import Compiled

Column = Callable[[object], np.ndarray]  # takes an Engine or EnsembleResult, returns (M, T)


def col_trade(a: str, b: str) -> str:
    x, y = sorted((a, b))
    return f"trade.{x}.{y}"


def col_dyad(kind: str, a: str, b: str) -> str:
    """Directed columns: exports, trust, arms_contracts, arms_deliveries."""
    return f"{kind}.{a}.{b}"


def col_alignment(state: str, org: str) -> str:
    return f"alignment.{state}.{org}"


def _points(src) -> np.ndarray:
    cp: Compiled = src.compiled if hasattr(src, "compiled") else src.cp
    pts = src.points if cp.n_points > 1 else np.zeros(len(src.seeds), dtype=int)
    return cp, pts


def indicator_columns(cp: Compiled) -> dict[str, Callable]:
    """Name -> function(source, t=None) giving an (M, T) array, or (M,) at month t."""
    S = cp.states
    cols: dict[str, Callable] = {}

    def det(arr_fn):
        def f(src, t=None):
            c, pts = _points(src)
            full = arr_fn(c)[pts]
            return full if t is None else full[:, t]
        return f

    def dyn(attr, index):
        def f(src, t=None):
            arr = getattr(src, attr)
            return arr[(slice(None), slice(None)) + index] if t is None else arr[(slice(None), t) + index]
        return f

    cols["oil_price"] = det(lambda c: c.oil)
    for i, s in enumerate(S):
        cols[f"gdp.{s}"] = det(lambda c, i=i: c.gdp[:, :, i])
    pair_idx = {p: k for k, p in enumerate(cp.trade_pairs)}
    done = set()
    for (i, j), k in pair_idx.items():
        key = col_trade(S[i], S[j])
        if key in done:
            continue
        done.add(key)
        back = pair_idx.get((j, i))
        ks = (k,) if back is None else (k, back)

        def trade(src, t=None, ks=ks):
            arr = src.exports
            sel = arr[:, :, list(ks)] if t is None else arr[:, t, list(ks)]
            return sel.sum(axis=-1)
        cols[key] = trade
    for k, (i, j) in enumerate(cp.trade_pairs):
        cols[col_dyad("exports", S[i], S[j])] = dyn("exports", (k,))
    for k, (i, j) in enumerate(cp.trust_pairs):
        cols[col_dyad("trust", S[i], S[j])] = dyn("trust", (k,))
    ever = cp.participants[0].any(axis=0) | (cp.alignment0[0] > 0)
    for i, s in enumerate(S):
        for o, org in enumerate(cp.orgs):
            if ever[i, o]:
                cols[col_alignment(s, org)] = dyn("alignment", (i, o))
    arms_states = sorted({i for p in cp.arms_pairs for i in p})
    for k, (i, j) in enumerate(cp.arms_pairs):
        cols[col_dyad("arms_contracts", S[i], S[j])] = dyn("arms_contracts", (k,))
        cols[col_dyad("arms_deliveries", S[i], S[j])] = dyn("arms_deliveries", (k,))
    for i in arms_states:
        cols[f"arms_capability.{S[i]}"] = dyn("capability", (i,))
    focal = {S[cp.focal[0]], S[cp.focal[1]]}
    by_type: dict[str, list[int]] = {}
    for c, ch in enumerate(cp.channels):
        if set(ch.actors) == focal:
            by_type.setdefault(ch.type, []).append(c)
    for typ, chans in sorted(by_type.items()):
        def ev(src, t=None, chans=chans):
            arr = src.counts
            sel = arr[:, :, chans] if t is None else arr[:, t, chans]
            return sel.sum(axis=-1)
        cols[f"events.{typ}"] = ev
    all_focal = [c for v in by_type.values() for c in v]

    def total(src, t=None):
        arr = src.counts
        return (arr[:, :, all_focal] if t is None else arr[:, t, all_focal]).sum(axis=-1)
    cols["events.total"] = total
    return cols


def month_index_values(cp: Compiled) -> pd.DatetimeIndex:
    return pd.to_datetime([m + "-01" for m in cp.months])


def indicators_frame(result, replicate_offset: int = 0) -> pd.DataFrame:
    """One row per member and month, one column per indicator."""
    cp: Compiled = result.compiled
    M, T = len(result.seeds), cp.n_months
    data = {
        "replicate": np.repeat(np.arange(M) + replicate_offset, T),
        "seed": np.repeat(np.asarray(result.seeds, dtype=np.int64), T),
        "month": np.tile(month_index_values(cp).values, M),
    }
    if cp.n_points > 1:
        data["point"] = np.repeat(result.points, T)
    for name, fn in indicator_columns(cp).items():
        data[name] = np.asarray(fn(result), dtype=float).reshape(M * T)
    return pd.DataFrame(data)


def events_frame(result, replicate_offset: int = 0) -> pd.DataFrame:
    """One row per generated event: when, what, who, in which organisation, and why."""
    cp: Compiled = result.compiled
    counts = result.counts
    m_idx, t_idx, c_idx = np.nonzero(counts)
    reps = counts[m_idx, t_idx, c_idx]
    m_idx, t_idx, c_idx = (np.repeat(a, reps) for a in (m_idx, t_idx, c_idx))
    months = month_index_values(cp)
    ch = cp.channels
    return pd.DataFrame({
        "replicate": (m_idx + replicate_offset).astype(np.int64),
        "seed": np.asarray(result.seeds, dtype=np.int64)[m_idx],
        "date": months[t_idx],
        "type": pd.Categorical([ch[c].type for c in c_idx]),
        "actors": pd.Categorical([";".join(ch[c].actors) for c in c_idx]),
        "organisation": pd.Categorical([ch[c].organisation or "" for c in c_idx]),
        "origin": pd.Categorical([ch[c].origin for c in c_idx]),
        "channel": pd.Categorical([ch[c].name for c in c_idx]),
    })
