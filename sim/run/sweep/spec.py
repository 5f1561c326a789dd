"""Sweep files: what to vary, how to place the points, what to keep from every run.

Everything a sweep file can get wrong is found here, at the file's own line,
before any run starts: a typo in a scenario path or a value the scenario
forbids would otherwise become a sweep full of failed runs.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, ValidationError, field_validator, model_validator

from sim.core.columns import indicator_columns
from sim.core.compile import compile_scenario
from sim.core.errors import UserError
from sim.core.loading import load_scenario
from sim.core.schema import Name, Real, Seed, Strict, Whole
from sim.core.time import Month, month_index
from sim.core.yamlio import Origins, format_path, load_yaml, origin_of, validation_error

FIT_COLUMNS = ("fit_series", "fit_events")
RESERVED_COLUMNS = ("point", "replicate", "seed", "chunk", "status", "error") + FIT_COLUMNS
STATS = ("mean", "sum", "final", "min", "max")


class ParameterSpec(Strict):
    """One scenario value to vary: a dotted path and either a range or a list of values."""

    path: str = Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$")
    range: tuple[Real, Real] | None = None
    values: list[Real] | None = Field(default=None, min_length=1)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v):
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"range [lo, hi] needs lo < hi, got [{v[0]}, {v[1]}]")
        return v

    @model_validator(mode="after")
    def _one_of(self):
        if (self.range is None) == (self.values is None):
            raise ValueError("give exactly one of 'range: [lo, hi]' or 'values: [...]'")
        return self


class GridDesign(Strict):
    method: Literal["grid"]
    levels: Whole = Field(default=3, ge=2, description="evenly spaced values per range parameter, ends included")


class RandomDesign(Strict):
    method: Literal["random"]
    points: Whole = Field(ge=1)


class LhsDesign(Strict):
    method: Literal["lhs"]
    points: Whole = Field(ge=1)


class SobolDesign(Strict):
    method: Literal["sobol"]
    samples: Whole = Field(ge=2, description="base sample N, a power of two")
    second_order: bool = False

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, v):
        if v & (v - 1):
            raise ValueError(f"Saltelli sampling needs a power of two, got {v} "
                             f"(try {1 << (v - 1).bit_length()})")
        return v


class MorrisDesign(Strict):
    method: Literal["morris"]
    trajectories: Whole = Field(ge=2)
    levels: Whole = Field(default=4, ge=2)

    @field_validator("levels")
    @classmethod
    def _even(cls, v):
        if v % 2:
            raise ValueError("Morris levels must be even")
        return v


Design = Annotated[GridDesign | RandomDesign | LhsDesign | SobolDesign | MorrisDesign,
                   Field(discriminator="method")]
DESIGNS = ("grid", "random", "lhs", "sobol", "morris")


class OutputSpec(Strict):
    """One number kept per run: a statistic of an indicator column over a window of months."""

    name: str | None = None
    column: str
    stat: Literal["mean", "sum", "final", "min", "max"]
    year: Whole | None = Field(default=None, ge=1, le=9999)
    start: Month | None = None
    end: Month | None = None

    @model_validator(mode="after")
    def _window(self):
        if self.year is not None and (self.start or self.end):
            raise ValueError("give either 'year' or 'start'/'end', not both")
        if self.start and self.end and month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} comes before start {self.start}")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        window = f".{self.year}" if self.year is not None else (
            f".{self.start or ''}..{self.end or ''}" if (self.start or self.end) else "")
        return f"{self.column}.{self.stat}{window}"

    def window(self, months: list[str]) -> np.ndarray:
        """Boolean mask of the months this output looks at."""
        idx = np.array([month_index(m) for m in months])
        if self.year is not None:
            lo, hi = self.year * 12, self.year * 12 + 11
        else:
            lo = month_index(self.start) if self.start else idx[0]
            hi = month_index(self.end) if self.end else idx[-1]
        return (idx >= lo) & (idx <= hi)


class SweepFile(Strict):
    name: Name
    description: str = ""
    scenario: str
    parameters: list[ParameterSpec] = Field(min_length=1)
    design: Design
    replicates: Whole = Field(default=1, ge=1)
    seed: Seed
    outputs: list[OutputSpec] = Field(min_length=1)
    keep_series: bool = False
    # Fit of every run to the base scenario's record: fit_series, fit_events (see docs/sweeps.md)
    fit: bool = False
    chunk_runs: Whole = Field(default=1000, ge=1, description="runs per chunk (whole points; at least one point)")


# ---------------------------------------------------------------- loading

@dataclass
class LoadedSweep:
    spec: SweepFile
    path: Path
    base: Path                 # base scenario, resolved against the sweep file's folder
    origins: Origins
    file_hash: str
    base_hash: str = ""
    months: list[str] = field(default_factory=list)

    @property
    def param_paths(self) -> list[str]:
        return [p.path for p in self.spec.parameters]

    @property
    def problem(self) -> dict:
        """The SALib problem: names and bounds (list-valued parameters use their min and max)."""
        bounds = [list(p.range) if p.range else [min(p.values), max(p.values)] for p in self.spec.parameters]
        return {"num_vars": len(bounds), "names": self.param_paths, "bounds": bounds}

    def where(self, loc: tuple) -> dict:
        file, line = origin_of(self.origins, loc)
        return {"file": file or str(self.path), "line": line, "path": format_path(loc)}


def _sweep_message(err, loc, msg):
    """Design errors: drop pydantic's union tag from the path and name the designs."""
    if len(loc) > 1 and loc[0] == "design" and loc[1] in DESIGNS:
        loc = loc[:1] + loc[2:]
    if err["type"] == "union_tag_invalid":
        msg = f"unknown design '{err['input'].get('method')}'; choose one of {', '.join(DESIGNS)}"
    elif err["type"] == "union_tag_not_found":
        msg = f"design needs 'method: <{'|'.join(DESIGNS)}>'"
    return loc, msg


def load_sweep(path: str | Path, check: bool = True) -> LoadedSweep:
    """Read and validate a sweep file; with ``check``, also try every parameter on the base scenario.

    Checking up front turns a typo in a path, or a range the scenario forbids
    (a trust of 1.2), into one error at the sweep file's line instead of a
    sweep full of failed runs.
    """
    path = Path(path)
    data, origins = load_yaml(path)
    if isinstance(data, dict) and isinstance(data.get("design"), str):
        raise UserError("design is a mapping, e.g. 'design: {method: sobol, samples: 64}'",
                        file=str(path), line=origins[("design",)][1], path="design")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, origins, str(path), _sweep_message) from None
    _check_names(spec, origins, str(path))
    base = Path(os.path.normpath(path.parent / spec.scenario))
    loaded = LoadedSweep(spec, path, base, origins, hashlib.sha256(path.read_bytes()).hexdigest())
    if check:
        check_against_scenario(loaded)
    return loaded


def _check_names(spec: SweepFile, origins: Origins, file: str) -> None:
    """Cross-field rules, raised at the offending entry's line (pydantic would report the top level)."""

    def fail(loc: tuple, msg: str):
        f, line = origin_of(origins, loc)
        raise UserError(msg, file=f or file, line=line, path=format_path(loc))

    paths = [p.path for p in spec.parameters]
    for i, p in enumerate(paths):
        if p in paths[:i]:
            fail(("parameters", i, "path"), f"parameter '{p}' is listed twice")
    labels = [o.label for o in spec.outputs]
    for i, lab in enumerate(labels):
        if lab in labels[:i] or lab in paths or lab in RESERVED_COLUMNS:
            fail(("outputs", i), f"output name '{lab}' is used twice or clashes with a column; give it a 'name'")
    if spec.design.method in ("lhs", "sobol", "morris"):
        for i, p in enumerate(spec.parameters):
            if p.range is None:
                fail(("parameters", i, "values"), f"the {spec.design.method} design needs 'range: [lo, hi]', "
                                                  "not a list of values")


def check_against_scenario(sw: LoadedSweep) -> None:
    """Every parameter value and output the sweep names, tried on the base scenario; fills in its hash and months."""
    if not sw.base.is_file():
        raise UserError(f"base scenario '{sw.spec.scenario}' is not a scenario file (looked at {sw.base}: "
                        f"{'missing' if not sw.base.exists() else 'not a regular file'})", **sw.where(("scenario",)))
    base = load_scenario(sw.base)
    sw.base_hash = base.hash
    cp = compile_scenario(base)
    sw.months = list(cp.months)
    for i, p in enumerate(sw.spec.parameters):
        tried = list(p.range) if p.range else list(p.values)
        for n, v in enumerate(tried):
            try:
                load_scenario(sw.base, {p.path: float(v)})
            except UserError as exc:
                if exc.message.startswith(f"override '{p.path}'"):
                    raise UserError(f"unknown scenario path '{p.path}' (not in {sw.base.name})",
                                    **sw.where(("parameters", i, "path"))) from None
                loc = ("parameters", i, "range" if p.range else "values", n)
                raise UserError(f"{p.path} = {v} is not a valid scenario value: {exc}", **sw.where(loc)) from None
    columns = indicator_columns(cp)
    first, last = month_index(cp.months[0]), month_index(cp.months[-1])
    for i, o in enumerate(sw.spec.outputs):
        if o.column not in columns:
            close = difflib.get_close_matches(o.column, list(columns), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(columns))}"
            raise UserError(f"unknown indicator column '{o.column}'{hint}", **sw.where(("outputs", i, "column")))
        for key in ("start", "end"):
            m = getattr(o, key)
            if m and not first <= month_index(m) <= last:
                raise UserError(f"{m} lies outside the scenario's period {cp.months[0]}..{cp.months[-1]}",
                                **sw.where(("outputs", i, key)))
        if o.year is not None and not first // 12 <= o.year <= last // 12:
            raise UserError(f"year {o.year} lies outside the scenario's period {cp.months[0]}..{cp.months[-1]}",
                            **sw.where(("outputs", i, "year")))
