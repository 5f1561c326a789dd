"""A calibration's folder on disk: each generation and the sampler's state, written atomically, read back exactly.

Resuming must continue exactly where an uninterrupted run would be. The
sampler works in each prior's working space (log for log priors) and
``log(exp(z))`` is not always ``z`` in floating point (the difference, ~1e-15,
grew through later generations), so a generation stores its working-space
coordinates (columns ``z:<path>``) beside the natural values, and the state
file keeps distance scales and tolerances as JSON numbers, which Python writes
and reads back bit for bit. What is read back is checked first: a damaged
folder is refused with one line naming the file, never resumed into a
different result.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.core.errors import UserError
from sim.core.files import MiB, atomic_write, read_json_object
from sim.core.params import Real, Whole
from sim.core.yamlio import validation_error
from sim.run.calibrate.abc import ABCState, Generation
from sim.run.calibrate.priors import LoadedCalibration, Prior

GEN_FILE = "generation-{:02d}.parquet"
STATE_FILE = "state.json"
Z_PREFIX = "z:"


class _GenMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    generation: Whole = Field(ge=0)
    epsilon: float                      # may be inf when every run of generation 0 failed
    simulations: Whole = Field(ge=0)
    accepted: Whole = Field(ge=1)
    wall_time_s: Real = Field(ge=0)


class _State(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    scales: list[Real] = Field(min_length=1)
    simulations: Whole = Field(ge=0)
    generations: list[_GenMeta]


def population(cal: LoadedCalibration, gen: Generation) -> pd.DataFrame:
    """A generation's particles in natural units, with their weights and distances."""
    df = pd.DataFrame(np.column_stack([p.to_x(gen.z[:, j]) for j, p in enumerate(cal.spec.parameters)]),
                      columns=cal.paths)
    df["weight"] = gen.weights
    df["distance"] = gen.distances
    return df


def gen_meta(g: Generation) -> dict:
    return {"generation": g.t, "epsilon": g.epsilon, "simulations": g.simulations, "accepted": g.accepted,
            "acceptance_rate": g.acceptance_rate, "ess": g.ess, "wall_time_s": round(g.wall_time_s, 3)}


def save_generation(cal: LoadedCalibration, out: Path, identity: dict, gen: Generation, st: ABCState) -> None:
    """The generation's population, then the state that names it: a generation counts once both are written."""
    df = population(cal, gen)
    df.insert(0, "generation", gen.t)
    for j, path in enumerate(cal.paths):
        df[Z_PREFIX + path] = gen.z[:, j]
    atomic_write(out / GEN_FILE.format(gen.t), lambda p: df.to_parquet(p, index=False))
    payload = {**identity, "scales": st.scales.tolist(), "simulations": st.simulations,
               "generations": [gen_meta(g) for g in st.generations]}
    atomic_write(out / STATE_FILE, lambda p: p.write_text(json.dumps(payload, indent=1)))


def resume(out: Path, identity: dict, priors: list[Prior], n_stats: int) -> ABCState:
    """The sampler's state after the generations written in ``out`` (empty when there are none)."""
    f = out / STATE_FILE
    if not f.exists():
        return ABCState()
    data = _read_state(f)
    if any(data.get(k) != v for k, v in identity.items()):
        raise UserError(f"{out} holds a calibration of a different file, scenario or seed; "
                        "use another --out or remove that folder")
    if len(data["scales"]) != n_stats:
        raise UserError(f"{len(data['scales'])} distance scales, but the calibration has {n_stats} statistics",
                        file=str(f), path="scales")
    state = ABCState(scales=np.array(data["scales"], dtype=float), simulations=data["simulations"])
    for k, meta in enumerate(data["generations"]):
        if meta["generation"] != k:
            raise UserError(f"generation {meta['generation']} listed in place {k}", file=str(f),
                            path=f"generations[{k}]")
        z, weights, distances = _read_generation(out / GEN_FILE.format(k), meta, priors)
        state.generations.append(Generation(k, z, weights, distances, meta["epsilon"], meta["simulations"],
                                            meta["accepted"], meta["wall_time_s"]))
    return state


def _read_state(f: Path) -> dict:
    data = read_json_object(f, 64 * MiB, "calibration state", "; remove the folder to start the calibration again")
    try:
        _State.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, {}, str(f)) from None
    return data


def _read_generation(path: Path, meta: dict, priors: list[Prior]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, weights, distances) of one generation's file, checked against the state that names it."""
    if not path.is_file():
        raise UserError("generation file missing (state.json names it); remove the folder to start again",
                        file=str(path))
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file
        raise UserError(f"not a readable Parquet file ({type(exc).__name__})", file=str(path)) from None
    paths = [p.path for p in priors]
    zcols = [Z_PREFIX + p for p in paths]
    for col in paths + ["weight", "distance"]:
        if col not in df.columns:
            raise UserError(f"column '{col}' is missing", file=str(path))
    if len(df) != meta["accepted"]:
        raise UserError(f"{len(df)} particles, but state.json says {meta['accepted']} were accepted", file=str(path))
    try:
        x = df[paths].to_numpy(dtype=float)
        z = df[zcols].to_numpy(dtype=float) if all(c in df.columns for c in zcols) else \
            np.column_stack([np.log(x[:, j]) if p.log else x[:, j] for j, p in enumerate(priors)])
        weights, distances = df["weight"].to_numpy(dtype=float), df["distance"].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise UserError("columns that should hold numbers do not", file=str(path)) from None
    if not (np.isfinite(z).all() and np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
        raise UserError("particles or weight hold values that are not finite, non-negative numbers",
                        file=str(path), path="weight" if not np.isfinite(weights).all() else None)
    if np.isnan(distances).any():
        raise UserError("column 'distance' holds NaN", file=str(path))
    # C order, as the sampler builds its arrays: BLAS sums a Fortran-ordered copy in another order (1 ulp apart)
    return np.ascontiguousarray(z), weights, distances
