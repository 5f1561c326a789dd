"""From engine arrays to tables a person or a notebook can use.

Column names are flat, dotted, shell-safe strings (they are typed on command
lines and in sweep files) so that the same names serve Parquet files, Mesa's
DataCollector and the comparison with history. They read like scenario
paths, and each mechanism contributes its own (``sim.core.mechanisms``):

* ``trade.A.B`` - both directions, bn USD a year (annual rate); A, B sorted
* ``exports.A.B`` - A's exports to B, bn USD a year (annual rate)
* ``trust.A.B`` - A's trust in B (0-1)
* ``alignment.S.O`` - state S's alignment with organisation O (0-1)
* ``arms_contracts.A.B`` / ``arms_deliveries.A.B`` - bn USD signed / delivered in the month, seller A
* ``arms_capability.S``, ``gdp.S`` (bn USD), ``oil_price``
* ``events.TYPE`` / ``events.total`` - the focal pair's events in the month
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from sim.core import mechanisms as registry
from sim.core.compile import Compiled
from sim.core.mechanisms.base import ColumnFamily
from sim.core.mechanisms.trade import col_trade

Column = Callable[..., np.ndarray]  # (source, t=None) -> (M, T) or (M,) at month t


def col_dyad(kind: str, a: str, b: str) -> str:
    """Directed columns: exports, trust, arms_contracts, arms_deliveries."""
    return f"{kind}.{a}.{b}"


def col_alignment(state: str, org: str) -> str:
    return f"alignment.{state}.{org}"


def indicator_columns(cp: Compiled) -> dict[str, Column]:
    """Name -> function(source, t=None) giving an (M, T) array, or (M,) at month t, for every mechanism."""
    cols: dict[str, Column] = {}
    for mech in cp.mechanisms:
        cols.update(mech.columns(cp))
    return cols


def families() -> dict[str, ColumnFamily]:
    """Column families of every registered mechanism, by prefix (``trade``, ``trust``...)."""
    return {f.prefix: f for m in registry.registry() for f in m.families}


def family_of(column: str) -> ColumnFamily | None:
    return families().get(column.split(".", 1)[0])


def unit_of(column: str) -> str:
    fam = family_of(column)
    return fam.unit if fam else ""


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
    counts = result.records["counts"]
    m_idx, t_idx, c_idx = np.nonzero(counts)
    reps = counts[m_idx, t_idx, c_idx]
    m_idx, t_idx, c_idx = (np.repeat(a, reps) for a in (m_idx, t_idx, c_idx))
    months = month_index_values(cp)

    def per_channel(attr) -> pd.Categorical:
        # codes per channel, then per event: a million events are not a million Python strings
        names, codes = np.unique(np.array([attr(ch) for ch in cp.channels], dtype=object).astype(str),
                                 return_inverse=True)
        return pd.Categorical.from_codes(codes[c_idx], categories=names) if len(names) else pd.Categorical([])

    return pd.DataFrame({
        "replicate": (m_idx + replicate_offset).astype(np.int64),
        "seed": np.asarray(result.seeds, dtype=np.int64)[m_idx],
        "date": months[t_idx],
        "type": per_channel(lambda c: c.type),
        "actors": per_channel(lambda c: ";".join(c.actors)),
        "organisation": per_channel(lambda c: c.organisation or ""),
        "origin": per_channel(lambda c: c.origin),
        "channel": per_channel(lambda c: c.name),
    })


__all__ = ["col_trade", "col_dyad", "col_alignment", "indicator_columns", "families", "family_of", "unit_of",
           "month_index_values", "indicators_frame", "events_frame"]
