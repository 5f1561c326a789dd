"""Where every random number's seed comes from.

A run must be reproducible from one integer, and a member's numbers must not
depend on what else runs beside it (chunking, workers, executor). So every
seed is derived from a base seed and a key naming the thing it is for (a
replicate, a sweep point, a particle), through numpy's ``SeedSequence``: keys
that differ give independent streams, and the same key always gives the same one.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.errors import UserError

# Key of the stream that picks a replicate's row of a parameter sample ("ZM").
_SAMPLE_KEY = 0x5A4D


def derive_seed(seed: int, *key: int) -> int:
    """The seed of the thing ``key`` names, derived from ``seed``; below 2**63 so it fits Parquet's int64."""
    ss = np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def stream(seed: int, *key: int) -> np.random.Generator:
    """A random generator of its own for the thing ``key`` names (proposals, sample rows, prior draws)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in key)))


def replicate_seeds(seed: int, n: int) -> np.ndarray:
    """Seeds of replicates 0..n-1, derived from the scenario seed; a prefix of a longer list."""
    return np.random.SeedSequence(seed).generate_state(n, dtype=np.uint32).astype(np.uint64)


def load_samples(path: str | Path) -> pd.DataFrame:
    """A parameter sample (posterior or prior): one column per dotted path, optional ``weight``.

    The file is checked like any input (a regular Parquet file, numeric finite
    columns, weights that are non-negative and not all zero), so a bad sample
    fails when the scenario is loaded, not halfway through a run.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        raise UserError("parameter sample not found", file=str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise UserError("the parameter sample is not a regular file", file=str(path))
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _SAMPLES:
        _SAMPLES.clear()
        _SAMPLES[key] = _read_samples(path)
    return _SAMPLES[key].copy()


_SAMPLES: dict[tuple, pd.DataFrame] = {}


def _read_samples(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a file that is not Parquet
        raise UserError(f"not a readable Parquet sample ({type(exc).__name__})", file=str(path)) from None
    if "weight" not in df.columns:
        df = df.assign(weight=1.0)
    df = df.drop(columns=[c for c in ("distance", "generation") if c in df.columns])
    if len(df) == 0:
        raise UserError("the parameter sample has no rows", file=str(path))
    for col in df.columns:
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise UserError(f"column '{col}' of the parameter sample holds values that are not finite numbers",
                            file=str(path))
    w = df["weight"].to_numpy(dtype=float)
    if (w < 0).any() or w.sum() <= 0:
        raise UserError("column 'weight' of the parameter sample must be non-negative and not all zero",
                        file=str(path))
    return df


def sample_index(samples: pd.DataFrame, seed: int) -> int:
    """Which sample row a replicate uses: drawn by weight from a stream of its own seed.

    The stream is spawned from the seed, so it never touches the draws of the
    run itself (``default_rng(seed)``), and a single Mesa run with that seed
    picks the same row.
    """
    w = samples["weight"].to_numpy(dtype=float)
    return int(stream(seed, _SAMPLE_KEY).choice(len(w), p=w / w.sum()))
