"""Calibration files: the priors, the evidence to fit, the hindcast split and the budget.

A prior is sampled and perturbed in its working space (log for log-uniform
and log-normal priors), where a Gaussian kernel is a sensible proposal; every
prior is tried on the base scenario when the file is loaded, so that a bound
the scenario rejects fails at the file's line, not hours into a calibration.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from sim.core.errors import UserError
from sim.core.loading import LoadedScenario, load_scenario
from sim.core.schema import Name, Real, Seed, Strict, Whole
from sim.core.seeds import stream
from sim.core.time import Month, month_index
from sim.core.yamlio import Origins, format_path, load_yaml, origin_of, validation_error
from sim.evidence.targets import Targets

_PRIOR_SAMPLE_KEY = 0xBEEF


class Prior(Strict):
    """A prior over one parameter. Log priors are handled in log space (the working space)."""

    path: str
    dist: Literal["uniform", "loguniform", "normal", "lognormal"]
    low: Real | None = None
    high: Real | None = None
    mean: Real | None = None
    sd: Real | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _shape(self):
        need = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "normal": ("mean", "sd"),
                "lognormal": ("mean", "sd")}[self.dist]
        for k in need:
            if getattr(self, k) is None:
                raise ValueError(f"a {self.dist} prior needs '{k}'")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        return self

    @property
    def log(self) -> bool:
        return self.dist in ("loguniform", "lognormal")

    def bounds_z(self) -> tuple[float, float]:
        lo = -np.inf if self.low is None else (math.log(self.low) if self.log else self.low)
        hi = np.inf if self.high is None else (math.log(self.high) if self.log else self.high)
        if self.log and self.low is not None and self.low <= 0:
            lo = -np.inf
        return lo, hi

    def sample_z(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lo, hi = self.bounds_z()
        if self.dist in ("uniform", "loguniform"):
            return rng.uniform(lo, hi, n)
        out = np.empty(0)
        while len(out) < n:             # truncated normal by rejection (bounds are optional)
            z = rng.normal(self.mean, self.sd, 2 * n)
            out = np.concatenate([out, z[(z >= lo) & (z <= hi)]])
        return out[:n]

    def logpdf_z(self, z: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds_z()
        inside = (z >= lo) & (z <= hi)
        if self.dist in ("uniform", "loguniform"):
            val = np.full(z.shape, -math.log(hi - lo))
        else:
            val = -0.5 * ((z - self.mean) / self.sd) ** 2     # normalising constant cancels in weights
        return np.where(inside, val, -np.inf)

    def to_x(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.log else z


class Split(Strict):
    calibrate_until: Month | None = None   # evidence that ends after this month is held out


class Budget(Strict):
    particles: Whole = Field(default=200, ge=10)
    generations: Whole = Field(default=5, ge=1)
    quantile: Real = Field(default=0.5, gt=0.0, lt=1.0)
    initial_factor: Whole = Field(default=3, ge=1, description="prior draws in generation 0 per particle")
    max_simulations: Whole = Field(default=50_000, ge=100)
    replicates: Whole = Field(default=1, ge=1, description="runs per particle, distance averaged")


class CalibrationFile(Strict):
    name: Name
    description: str = ""
    scenario: str
    record: str | None = None
    parameters: list[Prior] = Field(min_length=1)
    targets: Targets = Targets()
    split: Split = Split()
    budget: Budget = Budget()
    seed: Seed = 0
    chunk_runs: Whole = Field(default=500, ge=1)


@dataclass
class LoadedCalibration:
    spec: CalibrationFile
    path: Path
    base: Path
    record_path: Path
    origins: Origins
    file_hash: str

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.spec.parameters]

    @property
    def until(self) -> pd.Timestamp | None:
        u = self.spec.split.calibrate_until
        return None if u is None else pd.Timestamp(u + "-01") + pd.offsets.MonthEnd(0)


def load_calibration(path: str | Path) -> LoadedCalibration:
    path = Path(path)
    data, origins = load_yaml(path)
    try:
        spec = CalibrationFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, origins, str(path)) from None
    base = Path(os.path.normpath(path.parent / spec.scenario))
    if not base.is_file():
        f, line = origin_of(origins, ("scenario",))
        raise UserError(f"scenario '{spec.scenario}' is not a scenario file (looked at {base}: "
                        f"{'missing' if not base.exists() else 'not a regular file'})", file=f, line=line,
                        path="scenario")
    scenario = load_scenario(base)
    record_path = _record_path(spec, path, scenario)
    _check_split(spec, origins, path, scenario)
    _check_priors(spec, origins, base)
    return LoadedCalibration(spec, path, base, record_path, origins, hashlib.sha256(path.read_bytes()).hexdigest())


def _check_split(spec: CalibrationFile, origins: Origins, path: Path, base: LoadedScenario) -> None:
    until = spec.split.calibrate_until
    meta = base.scenario.meta
    if until is not None and not month_index(meta.start) <= month_index(until) <= month_index(meta.end):
        f, line = origin_of(origins, ("split", "calibrate_until"))
        raise UserError(f"{until} lies outside the scenario's period {meta.start}..{meta.end}", file=f or str(path),
                        line=line, path="split.calibrate_until")


def _record_path(spec: CalibrationFile, path: Path, base: LoadedScenario) -> Path:
    if spec.record:
        folder = Path(os.path.normpath(path.parent / spec.record))
        if not (folder / "record.yaml").is_file():
            raise UserError(f"'{spec.record}' is not a record folder (no record.yaml in {folder})",
                            file=str(path), path="record")
        return folder
    if base.record_path is not None:
        return base.record_path
    raise UserError("no record: set 'record:' here or meta.record in the scenario", file=str(path))


def _check_priors(spec: CalibrationFile, origins: Origins, base: Path) -> None:
    """Each prior once, on a mapping path, and within what the scenario accepts at its bounds."""
    seen = set()
    for i, prior in enumerate(spec.parameters):
        loc = ("parameters", i, "path")
        f, line = origin_of(origins, loc)
        if prior.path in seen:
            raise UserError(f"'{prior.path}' listed twice", file=f, line=line, path=format_path(loc))
        seen.add(prior.path)
        if any(part.isdigit() for part in prior.path.split(".")):
            raise UserError("calibrated parameters must be mapping paths (no list indices), so that the "
                            "calibrated scenario can override them with 'extends'", file=f, line=line,
                            path=format_path(loc))
        lo, hi = prior.bounds_z()
        probe = [prior.to_x(np.array([v]))[0] for v in (lo, hi) if np.isfinite(v)] or \
                [prior.to_x(np.array([prior.mean]))[0]]
        for v in probe:
            try:
                load_scenario(base, {prior.path: float(v)})
            except UserError as exc:
                raise UserError(f"prior for '{prior.path}' reaches a value the scenario rejects: {exc.message}",
                                file=f, line=line, path=format_path(loc)) from None


def prior_samples(priors: list[Prior], n: int, seed: int) -> pd.DataFrame:
    """Draws from the priors, weighted equally: the ensemble a calibration starts from, for comparison."""
    rng = stream(seed, _PRIOR_SAMPLE_KEY)
    df = pd.DataFrame({p.path: p.to_x(p.sample_z(rng, n)) for p in priors})
    df["weight"] = 1.0
    return df
