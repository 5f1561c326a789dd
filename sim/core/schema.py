"""Scenario files: the schema every file is validated against.

A scenario is the whole experiment in one readable file. Every number in it
must say where it comes from (``source: <document>:<line>``) or why it was
chosen (``assumption: ...``), because a simulation that cannot be traced back
to evidence cannot be argued with. Validation happens once, when the file is
loaded (:mod:`sim.core.loading`), so the model can trust its input.

``Strict`` is the base of every schema in the project (scenarios, sweep and
calibration files): unknown keys are typos, and a validated file never changes.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, create_model, model_validator

from sim.core import mechanisms
from sim.core.mechanisms.signals import RESPONSE_NAMES
from sim.core.params import Cited, Name, NonNeg, Param, Positive, Real, Seed, Strict, Unit, Whole, ranged  # noqa: F401 - re-exported
from sim.core.taxonomy import EVENT_TYPE_NAMES
from sim.core.time import Month, month_index

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# ---------------------------------------------------------------- basic types

def _check_id(v: str) -> str:
    if not _ID_RE.match(v):
        raise ValueError(f"ids are lowercase letters, digits and '_', starting with a letter; got {v!r}")
    return v


Id = Annotated[str, AfterValidator(_check_id)]
EventTypeName = Literal[EVENT_TYPE_NAMES]  # type: ignore[valid-type]
ResponseName = Literal[RESPONSE_NAMES]  # type: ignore[valid-type]


Strict, Cited, Param = Strict, Cited, Param  # re-exported: every file schema builds on these


# ---------------------------------------------------------------- sections

# Physical ranges: what no state's economy can reach (bn USD; world GDP is about 1e5 bn), and rates
# per year that no economy has seen. They keep the arithmetic finite as well as the run sensible.
GDP = ranged(0.0, 1e6)
FLOW = ranged(0.0, 1e5)
RATE_PER_YEAR = ranged(-1.0, 1.0)
EVENT_RATE = ranged(0.0, 1000.0)
SENSITIVITY = ranged(-50.0, 50.0)   # also the responses of a hazard to a signal (log scale)
CONTRACT_VALUE = ranged(1e-12, 1e5)
MAX_MONTHS = 1200   # a period of at most 100 years


class Meta(Strict):
    name: Name
    description: str
    question: str | None = None
    start: Month
    end: Month
    seed: Seed
    replicates: Whole = Field(default=20, ge=1)
    focal: tuple[Id, Id]
    record: str | None = None  # folder of the historical record, relative to this file
    posterior: str | None = None  # Parquet sample of parameters (paths as columns, weight) replicates draw from

    @model_validator(mode="after")
    def _order(self):
        if month_index(self.end) <= month_index(self.start):
            raise ValueError(f"end {self.end} must come after start {self.start}")
        if self.focal[0] == self.focal[1]:
            raise ValueError("focal names two different states")
        return self


class ArmsClient(Strict):
    copy_fear: Unit
    backlog: FLOW = Param(value=0.0, assumption="default: no contracted but undelivered arms at the start")
    grade: Unit | None = None  # top grade of system the seller offers at the start; default: its own choice rule


class StateDef(Strict):
    name: str
    gdp: GDP
    growth: RATE_PER_YEAR
    # Optional: a state that exports no fuel, has no arms industry or is never sanctioned leaves them out.
    energy_export_share: Unit = Param(value=0.0, assumption="default: the state exports no fuel")
    arms_capability: Unit = Param(value=0.0, assumption="default: no arms industry modelled for this state")
    arms_capability_growth: ranged(0.0, 1.0) = Param(value=0.0, assumption="default: arms capability does not grow")
    sanctions_exposure: Unit = Param(value=0.0, assumption="default: the state is not exposed to sanctions")
    # Drift of the exporter's market share per year (T2); omitted means the share holds steady.
    export_trend: RATE_PER_YEAR | None = None
    # Fuel share of exports to one partner (per-partner composition); partners not listed take energy_export_share.
    export_energy_share: dict[Id, Unit] = {}
    exports: dict[Id, FLOW] = {}
    trust: dict[Id, Unit] = {}
    threat: dict[Id, Unit] = {}
    rivalry: dict[Id, Unit] = {}
    alignment: dict[Id, Unit] = {}
    arms_clients: dict[Id, ArmsClient] = {}


class Membership(Cited):
    state: Id
    joined: Month
    left: Month | None = None


class Calendar(Cited):
    """A recurring, scheduled meeting: annual summits, regular commissions."""

    type: EventTypeName
    months: list[Annotated[Whole, Field(ge=1, le=12)]] = []
    dates: list[Month] = []
    every: Whole = Field(default=1, ge=1, le=100, description="years between sessions")
    start: Month | None = None
    end: Month | None = None
    probability: Real = Field(default=1.0, ge=0.0, le=1.0)
    name: str | None = None


class Agenda(Strict):
    security: Unit
    economy: Unit


class Organisation(Cited):
    name: str
    founded: Month
    members: list[Membership] = Field(min_length=1)
    observers: list[Membership] = []
    summits: list[Calendar] = []
    agenda: Agenda


class DriverPoint(Cited):
    date: Month
    value: Real = Field(ge=-1e9, le=1e9)


class DriverEffect(Strict):
    """What a driver acts on, by name: the model has no hidden meaning for a driver's id.

    ``energy_price``: fuel exports are valued at this price (and fuel exporters' revenue needs follow it);
    ``exchange_rate``: local currency units per USD of ``state``, whose economy in USD shrinks as it rises.
    """

    kind: Literal["energy_price", "exchange_rate"]
    state: Id | None = None


class Driver(Strict):
    unit: str
    description: str
    points: list[DriverPoint] = Field(min_length=1)
    # How the path runs between points: linear, or held at the last point until the next ("step": nothing
    # dated after a month shapes that month).
    interpolation: Literal["linear", "step"] = "linear"
    # Omitted: a driver named oil_price acts as the energy price (files written before effects existed).
    effects: list[DriverEffect] = []


def coefficients_model() -> type:
    """The ``coefficients`` section: the union of every mechanism's coefficient fragment.

    The documents give directions, not sizes (see MECHANISMS.md), so most of
    these are assumptions for calibration to revise.
    """
    return create_model("Coefficients", __base__=Strict, __doc__=coefficients_model.__doc__,
                        **mechanisms.coefficient_fields())


class EventProcess(Strict):
    rate: EVENT_RATE
    trust_sensitivity: SENSITIVITY = Param(value=1.0, assumption="default: more such events when relations are warm")
    # How the hazard responds to the state of the world (sim/core/mechanisms/events.py lists the signals and
    # each type's cited defaults); a listed signal replaces that type's default.
    responds: dict[ResponseName, SENSITIVITY] = {}


class Relation(Strict):
    """Another pair whose own events the model generates (they move that pair's trust, which others perceive)."""

    pair: tuple[Id, Id]
    events: dict[EventTypeName, EventProcess] = Field(min_length=1)


class Effect(Cited):
    """Change of one scenario value from a date on.

    Targets that are state variables (exports, trust, alignment, arms_capability,
    gdp) jump once at the date; parameters (growth, threat, rivalry,
    sanctions_exposure, drivers, event rates) are changed for ``duration`` months
    (for good when omitted). ``*`` in the state position applies to every state.
    """

    target: str
    op: Literal["add", "multiply", "set"]
    value: Real = Field(ge=-1e9, le=1e9)
    duration: Whole | None = Field(default=None, ge=1)


class Sanction(Cited):
    by: list[Id] = Field(min_length=1)
    against: list[Id] = Field(min_length=1)
    intensity: Real = Field(ge=0.0, le=1.0)
    duration: Whole | None = Field(default=None, ge=1)


class Emit(Strict):
    type: EventTypeName
    actors: list[Id] = Field(min_length=1)
    organisation: Id | None = None


class Contract(Strict):
    """An arms contract the record dates (e.g. a long-withheld system finally sold): value, backlog, capability."""

    seller: Id
    buyer: Id
    value: CONTRACT_VALUE
    grade: Unit = Param(value=1.0, assumption="default: a top-grade system")


class TimelineEvent(Cited):
    id: Id
    date: Month
    description: str
    effects: list[Effect] = []
    sanctions: list[Sanction] = []
    emits: list[Emit] = []
    contracts: list[Contract] = []


class Scenario(Strict):
    """Base of the scenario schema; ``scenario_model()`` adds the mechanisms' ``coefficients``."""

    meta: Meta
    drivers: dict[Id, Driver] = {}
    states: dict[Id, StateDef]
    organisations: dict[Id, Organisation] = {}
    events: dict[EventTypeName, EventProcess] = {}
    relations: list[Relation] = []
    calendar: list[Calendar] = []
    timeline: list[TimelineEvent] = []

    # Set by the loader: not part of the file's schema.
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def state_ids(self) -> list[str]:
        return list(self.states)

    @property
    def org_ids(self) -> list[str]:
        return list(self.organisations)


_MODEL: tuple[int, type] | None = None


def scenario_model() -> type:
    """The full scenario schema for the mechanisms registered now (rebuilt when the registry changes)."""
    global _MODEL
    if _MODEL is None or _MODEL[0] != mechanisms.version():
        coefficients = coefficients_model()
        # Omitted, every coefficient takes its mechanism's cited default.
        model = create_model("Scenario", __base__=Scenario,
                             coefficients=(coefficients, Field(default_factory=coefficients)))
        _MODEL = (mechanisms.version(), model)
    return _MODEL[1]


# ---------------------------------------------------------------- targets

STATE_JUMP_FIELDS = {"exports", "trust", "alignment", "arms_capability", "gdp"}
STATE_PARAM_FIELDS = {"growth", "threat", "rivalry", "sanctions_exposure", "energy_export_share"}
_KEYED = {"exports": "state", "trust": "state", "threat": "state", "rivalry": "state", "alignment": "org"}


def parse_target(target: str, scenario: Scenario) -> tuple[str, ...]:
    """Resolve an effect target to a normalised tuple, or raise ValueError saying why."""
    parts = target.split(".")
    if parts[0] == "states":
        if len(parts) < 3:
            raise ValueError(f"'{target}': expected states.<id>.<field>[.<partner>]")
        sid, fld = parts[1], parts[2]
        if sid != "*" and sid not in scenario.states:
            raise ValueError(f"'{target}': unknown state '{sid}'")
        if fld not in STATE_JUMP_FIELDS | STATE_PARAM_FIELDS:
            raise ValueError(f"'{target}': '{fld}' cannot be changed by an effect; "
                             f"choose one of {sorted(STATE_JUMP_FIELDS | STATE_PARAM_FIELDS)}")
        if fld in _KEYED:
            if len(parts) != 4:
                raise ValueError(f"'{target}': {fld} needs a partner, e.g. states.{sid}.{fld}.<id>")
            other = parts[3]
            pool = scenario.states if _KEYED[fld] == "state" else scenario.organisations
            if other not in pool:
                raise ValueError(f"'{target}': unknown {_KEYED[fld]} '{other}'")
            return ("states", sid, fld, other)
        if len(parts) != 3:
            raise ValueError(f"'{target}': {fld} takes no partner")
        return ("states", sid, fld)
    if parts[0] == "drivers":
        if len(parts) != 2 or parts[1] not in scenario.drivers:
            raise ValueError(f"'{target}': unknown driver; known: {sorted(scenario.drivers)}")
        return ("drivers", parts[1])
    if parts[0] == "events":
        if len(parts) != 3 or parts[2] != "rate" or parts[1] not in scenario.events:
            raise ValueError(f"'{target}': expected events.<type>.rate for a type listed under events")
        return ("events", parts[1], "rate")
    raise ValueError(f"'{target}': targets start with states., drivers. or events. "
                     "(coefficients are constant over a run)")
