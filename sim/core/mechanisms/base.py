"""What a mechanism is: the unit of change of the model.

A mechanism owns one family of the model's equations end to end, so that
"where is the trade equation?" has one answer and adding a mechanism touches
one module (plus the baseline scenario and a test). It declares

* ``Coefficients`` - a pydantic fragment; the scenario's ``coefficients``
  section is the union of all fragments, so scenario paths stay
  ``coefficients.<name>``;
* ``structure(b)`` - index sets it contributes (pairs of states), before any
  mechanism prepares arrays, so that others can refer to them;
* ``prepare(b)`` - everything that does not depend on chance, as arrays with a
  leading parameter-point axis (length 1 when every point shares the value,
  the number of points otherwise - so the shape says whether an array is
  structure or varies by point);
* ``state_vars`` / ``draws`` / ``step(eng, month)`` - its state, the random
  numbers it needs each month, and its monthly rule over the ensemble;
* ``columns(cp)`` - the output columns it adds, with units;
* ``ids`` and ``equations`` - which mechanisms of ../shared/MECHANISMS.md it
  implements and how, for the generated model description (docs/model.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

# sim.core.compile (Build, Compiled) and sim.core.engine (Engine, MonthContext) build on this module,
# so it cannot import them: the names below only document what the hooks receive.
Build = Compiled = Engine = MonthContext = Any


class CoefficientSet(BaseModel):
    """Base of a mechanism's coefficient fragment."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Draw:
    """Random numbers a mechanism needs every month: one per stream key.

    ``keys(cp)`` names the streams after what they drive (``trade.noise/aa>bb``),
    so a stream's numbers never depend on which other streams exist (see
    sim/core/streams.py): counterfactuals that add or remove entities stay
    paired everywhere else.
    """

    name: str
    kind: Literal["normal", "uniform"]
    keys: Callable[[Compiled], list[str]]


@dataclass(frozen=True)
class StateVar:
    """A state variable with a member axis, owned by one mechanism.

    ``index`` names what its last axes run over: a pair list of the compiled
    structure (``pairs:trade``), ``states`` or ``states*orgs``. ``jump`` is
    the field name timeline effects use to change it at a date.
    """

    name: str
    index: str
    init: str
    lo: float | None = None
    hi: float | None = None
    jump: str | None = None
    unit: str = ""
    record: bool = True
    jump_ops: tuple[str, ...] | None = None   # effect ops this variable takes (None: all)


@dataclass(frozen=True)
class Flow:
    """A monthly quantity a mechanism publishes in ``month.values`` and the engine records
    (e.g. arms delivered in the month); ``index`` as for ``StateVar``."""

    name: str
    index: str
    unit: str = ""


@dataclass(frozen=True)
class ColumnFamily:
    """A family of output columns (``trade.A.B``...), its unit and how to draw it."""

    prefix: str
    unit: str
    description: str
    plot: Literal["level", "rolling12"] = "level"


@dataclass(frozen=True)
class Observable:
    """How a quantity of the historical record is read off the model's columns.

    ``column(actors, exporter, importer)`` names the column that simulates a
    record row (None when the row does not fit, e.g. a trade total with one
    actor); ``rate`` says the column is an annual rate (a period total is its
    monthly mean times the period's years); ``scale`` names the transform
    (sim/evidence/transforms.py) scores compare it on.
    """

    quantity: str
    column: Callable[[list[str], str, str], str | None]
    rate: bool
    scale: str


@dataclass
class Coverage:
    """How a MECHANISMS.md id is covered: ``rule`` (state-dependent, with feedback), ``scripted``
    (an input or fixed rate) - with a short account of how."""

    how: Literal["rule", "scripted"]
    text: str


class Mechanism:
    name: ClassVar[str]
    order: ClassVar[int]            # execution order within a month (and order of preparation)
    title: ClassVar[str] = ""
    equations: ClassVar[str] = ""
    ids: ClassVar[dict[str, Coverage]] = {}
    Coefficients: ClassVar[type[CoefficientSet]] = CoefficientSet
    state_vars: ClassVar[tuple[StateVar, ...]] = ()
    flows: ClassVar[tuple[Flow, ...]] = ()
    draws: ClassVar[tuple[Draw, ...]] = ()
    families: ClassVar[tuple[ColumnFamily, ...]] = ()
    observables: ClassVar[tuple[Observable, ...]] = ()

    def structure(self, b: Build) -> None:
        """Declare index sets (pairs) other mechanisms may refer to."""

    def prepare(self, b: Build) -> None:
        """Put the arrays the monthly rule needs into ``b``."""

    def init(self, eng: Engine) -> None:
        """Extra per-member state beyond ``state_vars`` (e.g. order backlogs)."""

    def step(self, eng: Engine, month: MonthContext) -> None:
        """Advance this mechanism's state by one month for every member."""

    def columns(self, cp: Compiled) -> dict[str, Callable]:
        """Column name -> function(source, t=None) giving (members, months), or (members,) at month t."""
        return {}


@dataclass
class Channel:
    """One stream of dated events the model can produce."""

    type: str
    actors: tuple[str, ...]
    organisation: str | None
    origin: str  # stochastic | calendar | timeline | summit | sideline | arms_contract | arms_delivery
    name: str
    directed: bool = False   # actors = (initiator, target) rather than an unordered pair

    @property
    def key(self) -> str:
        """Stable identity of the channel (names its random stream)."""
        org = f"@{self.organisation}" if self.organisation else ""
        return f"{self.origin}/{self.type}/{'>'.join(self.actors)}{org}/{self.name}"


@dataclass
class Jump:
    """A timeline effect on a state variable: applied at the start of its month to every member."""

    var: str
    index: int
    op: str
    value: np.ndarray   # (1 or points,)


def recorded(name: str, index: tuple = ()) -> Callable:
    """Column function reading a recorded state variable (or a slice of it)."""
    def f(src, t=None):
        arr = src.records[name]
        return arr[(slice(None), slice(None)) + index] if t is None else arr[(slice(None), t) + index]
    return f


def summed(name: str, index: list[int]) -> Callable:
    """Column function summing some entries of the last axis of a recorded variable."""
    def f(src, t=None):
        arr = src.records[name]
        sel = arr[:, :, index] if t is None else arr[:, t, index]
        return sel.sum(axis=-1)
    return f


def prepared(name: str, select: Callable[[np.ndarray], np.ndarray]) -> Callable:
    """Column function reading a prepared (not random) array, one row per member's parameter point."""
    def f(src, t=None):
        cp = src.compiled
        arr = select(cp.arrays[name])
        pts = src.points if arr.shape[0] > 1 else np.zeros(len(src.seeds), dtype=int)
        full = arr[pts]
        return full if t is None else full[:, t]
    return f


__all__ = ["CoefficientSet", "Draw", "StateVar", "Flow", "ColumnFamily", "Coverage", "Observable", "Mechanism",
           "Channel", "Jump", "recorded", "summed", "prepared"]
