"""Numbers with provenance: the building blocks every schema in the project shares.

Every number a scenario states must say where it comes from (``source:
<document>:<line>``) or why it was chosen (``assumption: ...``), because a
simulation that cannot be traced back to evidence cannot be argued with.

Numbers are checked here for everything that would otherwise turn into a
silently wrong run: NaN and infinities are refused by every schema (``Strict``),
and ``Real``/``Whole`` refuse booleans, which YAML makes of ``yes``, ``no``,
``on`` and ``off`` and which pydantic would otherwise read as 1 and 0. Names
that become file or folder names are ``Name``s: identifiers, never paths.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_SOURCE_RE = re.compile(r"^[\w.\-]+\.(txt|md|csv|pdf):\d+(-\d+)?$")


def _not_bool(v):
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got the boolean {str(v).lower()} (YAML reads yes/no/on/off/true/false "
                         "as booleans)")
    return v


Real = Annotated[float, BeforeValidator(_not_bool)]
Whole = Annotated[int, BeforeValidator(_not_bool)]
# Seeds feed numpy and SALib generators, some of which take 32 bits only.
Seed = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=2**32 - 1)]
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")


def _check_name(v: str) -> str:
    if not _NAME_RE.fullmatch(v):
        raise ValueError(f"a name is up to 100 letters, digits, '_', '-' and '.', starting with a letter or digit "
                         f"(it names files and folders, so it is never a path); got {v[:60]!r}")
    return v


Name = Annotated[str, AfterValidator(_check_name)]


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be silently ignored), NaN and infinities are refused,
    and values do not change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Cited(Strict):
    """Anything that states a fact or a choice must carry its evidence or its reason."""

    source: str | None = None
    assumption: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one_citation(self):
        if (self.source is None) == (self.assumption is None):
            raise ValueError("give exactly one of 'source: <document>:<line>' or 'assumption: <why>'")
        if self.source is not None and not _SOURCE_RE.match(self.source.strip()):
            raise ValueError(f"source must look like '<file name>:<line>', got {self.source!r}")
        if self.assumption is not None and not self.assumption.strip():
            raise ValueError("assumption must say why the value was chosen")
        return self


class Param(Cited):
    """A number with its provenance."""

    value: Real
    unit: str | None = None


class Range:
    """Bounds of a parameter; a validator, and readable metadata (sweeps and docs use the bounds)."""

    def __init__(self, lo: float | None, hi: float | None):
        self.lo, self.hi = lo, hi

    def __call__(self, p: Param) -> Param:
        if self.lo is not None and p.value < self.lo:
            raise ValueError(f"value {p.value} is below the minimum {self.lo}")
        if self.hi is not None and p.value > self.hi:
            raise ValueError(f"value {p.value} is above the maximum {self.hi}")
        return p

    def __repr__(self) -> str:
        return f"Range({self.lo}, {self.hi})"


def ranged(lo: float | None, hi: float | None):
    """A Param type restricted to [lo, hi] (either end may be open)."""
    return Annotated[Param, AfterValidator(Range(lo, hi))]


def bounds_of(field_info) -> tuple[float | None, float | None]:
    """The (lo, hi) a field's type allows, or (None, None)."""
    for meta in getattr(field_info, "metadata", ()):
        fn = getattr(meta, "func", None)
        if isinstance(fn, Range):
            return fn.lo, fn.hi
    return None, None


Unit = ranged(0.0, 1.0)
NonNeg = ranged(0.0, None)
Positive = ranged(1e-12, None)
