"""Scenario files: schema, loading, ``extends`` and validation.

A scenario is the whole experiment in one readable file. Every number in it
must say where it comes from (``source: <document>:<line>``) or why it was
chosen (``assumption: ...``), because a simulation that cannot be traced back
to evidence cannot be argued with. Validation happens here, once, so the model
can trust its input; each error names file, line and field path.
"""

from __future__ import annotations

import functools
import hashlib
import os
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, ValidationError, create_model, model_validator

from sim.core import mechanisms
from sim.core.mechanisms import coefficient_fields
from sim.core.params import NonNeg, Param, Positive, Strict, Unit, Cited  # noqa: F401 - re-exported
from sim.core.time import Month, _parse_month, month_index, month_str  # noqa: F401 - re-exported

from sim.errors import UserError
from sim.core.taxonomy import EVENT_TYPE_NAMES
from sim.yamlio import Origins, deep_merge, format_path, load_yaml, origin_of, validation_error

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


# ---------------------------------------------------------------- basic types

def _check_id(v: str) -> str:
    if not _ID_RE.match(v):
        raise ValueError(f"ids are lowercase letters, digits and '_', starting with a letter; got {v!r}")
    return v


Id = Annotated[str, AfterValidator(_check_id)]
EventTypeName = Literal[EVENT_TYPE_NAMES]  # type: ignore[valid-type]
_Strict, _Cited = Strict, Cited


# ---------------------------------------------------------------- sections

class Meta(_Strict):
    name: str
    description: str
    question: str | None = None
    start: Month
    end: Month
    seed: int = Field(ge=0)
    replicates: int = Field(default=20, ge=1)
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


class ArmsClient(_Strict):
    copy_fear: Unit


class StateDef(_Strict):
    name: str
    gdp: NonNeg
    growth: Param
    energy_export_share: Unit
    arms_capability: Unit
    arms_capability_growth: NonNeg
    sanctions_exposure: Unit
    # Drift of the exporter's market share per year (T2); omitted means the share holds steady.
    export_trend: Param | None = None
    exports: dict[Id, NonNeg] = {}
    trust: dict[Id, Unit] = {}
    threat: dict[Id, Unit] = {}
    rivalry: dict[Id, Unit] = {}
    alignment: dict[Id, Unit] = {}
    arms_clients: dict[Id, ArmsClient] = {}


class Membership(_Cited):
    state: Id
    joined: Month
    left: Month | None = None


class Calendar(_Cited):
    """A recurring, scheduled meeting: annual summits, regular commissions."""

    type: EventTypeName
    months: list[Annotated[int, Field(ge=1, le=12)]] = []
    dates: list[Month] = []
    every: int = Field(default=1, ge=1, description="years between sessions")
    start: Month | None = None
    end: Month | None = None
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    name: str | None = None


class Agenda(_Strict):
    security: Unit
    economy: Unit


class Organisation(_Cited):
    name: str
    founded: Month
    members: list[Membership] = Field(min_length=1)
    observers: list[Membership] = []
    summits: list[Calendar] = []
    agenda: Agenda


class DriverPoint(_Cited):
    date: Month
    value: float


class Driver(_Strict):
    unit: str
    description: str
    points: list[DriverPoint] = Field(min_length=1)


def coefficients_model() -> type:
    """The ``coefficients`` section: the union of every mechanism's coefficient fragment.

    The documents give directions, not sizes (see MECHANISMS.md), so most of
    these are assumptions for calibration to revise.
    """
    fields = coefficient_fields()
    return create_model("Coefficients", __base__=Strict, __doc__=coefficients_model.__doc__, **fields)


class EventProcess(_Strict):
    rate: NonNeg
    trust_sensitivity: Param


class Effect(_Cited):
    """Change of one scenario value from a date on.

    Targets that are state variables (exports, trust, alignment, arms_capability,
    gdp) jump once at the date; parameters (growth, threat, rivalry,
    sanctions_exposure, drivers, event rates) are changed for ``duration`` months
    (for good when omitted). ``*`` in the state position applies to every state.
    """

    target: str
    op: Literal["add", "multiply", "set"]
    value: float
    duration: int | None = Field(default=None, ge=1)


class Sanction(_Cited):
    by: list[Id] = Field(min_length=1)
    against: list[Id] = Field(min_length=1)
    intensity: float = Field(ge=0.0, le=1.0)
    duration: int | None = Field(default=None, ge=1)


class Emit(_Strict):
    type: EventTypeName
    actors: list[Id] = Field(min_length=1)
    organisation: Id | None = None


class TimelineEvent(_Cited):
    id: Id
    date: Month
    description: str
    effects: list[Effect] = []
    sanctions: list[Sanction] = []
    emits: list[Emit] = []


class Scenario(_Strict):
    """Base of the scenario model; ``scenario_model()`` adds the mechanisms' coefficients."""

    meta: Meta
    drivers: dict[Id, Driver]
    states: dict[Id, StateDef]
    organisations: dict[Id, Organisation] = {}
    events: dict[EventTypeName, EventProcess] = {}
    calendar: list[Calendar] = []
    timeline: list[TimelineEvent] = []

    # Set by the loader: not part of the file's schema.
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def state_ids(self) -> list[str]:  # noqa: D102
        return list(self.states)

    @property
    def org_ids(self) -> list[str]:
        return list(self.organisations)


_MODEL: tuple[int, type] | None = None


def scenario_model() -> type:
    """The full scenario schema for the mechanisms registered now (rebuilt when the registry changes)."""
    global _MODEL
    if _MODEL is None or _MODEL[0] != mechanisms.version():
        model = create_model("Scenario", __base__=Scenario, coefficients=(coefficients_model(), ...))
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


# ---------------------------------------------------------------- loading

_LOADER_KEYS = {"extends", "timeline_remove"}


def _resolve_extends(file: Path, stack: tuple[Path, ...] = ()) -> tuple[dict, Origins]:
    key = file.resolve()
    if key in [p.resolve() for p in stack]:
        chain = " -> ".join(str(p) for p in stack + (file,))
        raise UserError(f"'extends' cycle: {chain}", file=str(stack[-1]), path="extends")
    data, origins = load_yaml(file)
    if not isinstance(data, dict):
        raise UserError("a scenario file must be a mapping at the top level", file=str(file), line=1)
    parent = data.get("extends")
    if parent is None:
        for key in _LOADER_KEYS & set(data):
            if key != "extends":
                raise UserError(f"'{key}' only makes sense together with 'extends'", file=str(file),
                                line=origins[(key,)][1], path=key)
        return data, origins
    if not isinstance(parent, str):
        raise UserError("'extends' must be a file path", file=str(file), line=origins[("extends",)][1],
                        path="extends")
    parent_path = Path(os.path.normpath(file.parent / parent))
    if not parent_path.exists():
        raise UserError(f"extended file '{parent}' not found (looked at {parent_path})",
                        file=str(file), line=origins[("extends",)][1], path="extends")
    base, base_origins = _resolve_extends(parent_path, stack + (file,))
    child = {k: v for k, v in data.items() if k not in _LOADER_KEYS}
    child_origins = {p: o for p, o in origins.items() if not p or p[0] not in _LOADER_KEYS}
    remove = data.get("timeline_remove", [])
    if remove:
        if not isinstance(remove, list) or not all(isinstance(x, str) for x in remove):
            raise UserError("timeline_remove must be a list of timeline ids", file=str(file),
                            line=origins[("timeline_remove",)][1], path="timeline_remove")
        known = [e.get("id") for e in base.get("timeline", []) if isinstance(e, dict)]
        for i, rid in enumerate(remove):
            if rid not in known:
                raise UserError(f"no inherited timeline entry with id '{rid}'", file=str(file),
                                line=origins[("timeline_remove", i)][1], path=f"timeline_remove[{i}]")
        kept, kept_origins = [], {p: o for p, o in base_origins.items() if not p or p[0] != "timeline"}
        for i, entry in enumerate(base.get("timeline", [])):
            if entry.get("id") in remove:
                continue
            new_i = len(kept)
            kept.append(entry)
            for p, o in base_origins.items():
                if p[:2] == ("timeline", i):
                    kept_origins[("timeline", new_i) + p[2:]] = o
        base = dict(base, timeline=kept)
        base_origins = kept_origins
    if "timeline_add" in child:
        raise UserError("use 'timeline' with the full list, or 'timeline_append'", file=str(file))
    append = child.pop("timeline_append", None)
    child_origins_append = {p: o for p, o in child_origins.items() if p and p[0] == "timeline_append"}
    child_origins = {p: o for p, o in child_origins.items() if not p or p[0] != "timeline_append"}
    merged, merged_origins = deep_merge(base, child, base_origins, child_origins)
    if append:
        if not isinstance(append, list):
            raise UserError("timeline_append must be a list", file=str(file),
                            line=child_origins_append[("timeline_append",)][1], path="timeline_append")
        offset = len(merged.get("timeline", []))
        merged = dict(merged, timeline=list(merged.get("timeline", [])) + append)
        for p, o in child_origins_append.items():
            if len(p) >= 2:
                merged_origins[("timeline", offset + p[1]) + p[2:]] = o
    return merged, merged_origins


def _set_path(data: dict, dotted: str, value: Any, origins: Origins, label: str) -> None:
    """Apply one override: a dotted path to a number (a Param's value) or any field."""
    parts = dotted.split(".")
    node: Any = data
    trail: list[str | int] = []
    for part in parts[:-1]:
        key: str | int = int(part) if isinstance(node, list) and part.isdigit() else part
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            raise UserError(f"override '{dotted}': no field '{format_path(tuple(trail + [key]))}' "
                            "in the scenario", path=dotted) from None
        trail.append(key)
    last: str | int = int(parts[-1]) if isinstance(node, list) and parts[-1].isdigit() else parts[-1]
    try:
        current = node[last]
    except (KeyError, IndexError, TypeError):
        raise UserError(f"override '{dotted}': no such field in the scenario", path=dotted) from None
    if isinstance(current, dict) and "value" in current:
        new = dict(current, value=value)
        new.pop("source", None)
        new["assumption"] = f"{label} (was {current['value']})"
        node[last] = new
    else:
        node[last] = value


class LoadedScenario:
    """A validated scenario together with where it came from."""

    def __init__(self, scenario: Scenario, path: str, raw: dict, origins: Origins,
                 overrides: dict[str, Any]):
        self.scenario = scenario
        self.path = path
        self.raw = raw
        self.origins = origins
        self.overrides = dict(overrides)

    @functools.cached_property
    def hash(self) -> str:
        """Content hash of the fully resolved scenario (after extends and overrides)."""
        canon = json.dumps(self.scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()

    def _meta_path(self, key: str) -> Path | None:
        """A path in meta, resolved against the file that named it (a child inherits its parent's)."""
        value = getattr(self.scenario.meta, key)
        if value is None:
            return None
        file, _ = self.origins.get(("meta", key), (self.path, None))
        return Path(os.path.normpath(Path(file).parent / value))

    @property
    def record_path(self) -> Path | None:
        return self._meta_path("record")

    @property
    def posterior_path(self) -> Path | None:
        return self._meta_path("posterior")

    def __getattr__(self, name: str):
        return getattr(self.scenario, name)


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> LoadedScenario:
    """Read, merge (``extends``), override and validate a scenario file.

    ``overrides`` maps dotted paths (``states.russia.trust.china``) to values;
    for a cited number only its ``value`` changes and the citation becomes an
    assumption that records the override.
    """
    path = Path(path)
    raw, origins = _resolve_extends(path)
    for dotted, value in (overrides or {}).items():
        _set_path(raw, dotted, value, origins, label=f"override {dotted}={value}")
    try:
        scenario = scenario_model().model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, origins, str(path)) from None
    _cross_check(scenario, origins, str(path))
    return LoadedScenario(scenario, str(path), raw, origins, overrides or {})


def _cross_check(sc: Scenario, origins: Origins, file: str) -> None:
    """References between sections: ids must exist, dates must fit the period."""

    def fail(loc: tuple, msg: str):
        f, line = origin_of(origins, loc)
        raise UserError(msg, file=f or file, line=line, path=format_path(loc))

    states, orgs = set(sc.states), set(sc.organisations)
    start, end = month_index(sc.meta.start), month_index(sc.meta.end)
    for i, sid in enumerate(sc.meta.focal):
        if sid not in states:
            fail(("meta", "focal", i), f"unknown state '{sid}'")
    if "oil_price" not in sc.drivers:
        fail(("drivers",), "a driver named 'oil_price' is required (it feeds trade and arms revenue)")
    for did, drv in sc.drivers.items():
        dates = [month_index(p.date) for p in drv.points]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            fail(("drivers", did, "points"), "points must be in strictly increasing date order")
    for sid, st in sc.states.items():
        for fld in ("exports", "trust", "threat", "rivalry", "arms_clients"):
            for other in getattr(st, fld):
                if other not in states:
                    fail(("states", sid, fld, other), f"unknown state '{other}'")
                if other == sid:
                    fail(("states", sid, fld, other), "a state cannot relate to itself")
        for oid in st.alignment:
            if oid not in orgs:
                fail(("states", sid, "alignment", oid), f"unknown organisation '{oid}'")
    for oid, org in sc.organisations.items():
        for kind in ("members", "observers"):
            seen = set()
            for i, mem in enumerate(getattr(org, kind)):
                loc = ("organisations", oid, kind, i)
                if mem.state not in states:
                    fail(loc + ("state",), f"unknown state '{mem.state}' (not under states:)")
                if mem.state in seen:
                    fail(loc + ("state",), f"'{mem.state}' listed twice")
                seen.add(mem.state)
                if month_index(mem.joined) < month_index(org.founded):
                    fail(loc + ("joined",), f"joined {mem.joined} before the organisation was founded "
                                            f"({org.founded})")
                if mem.left and month_index(mem.left) <= month_index(mem.joined):
                    fail(loc + ("left",), "left must come after joined")
        for i, cal in enumerate(org.summits):
            _check_calendar(cal, ("organisations", oid, "summits", i), fail)
    for i, cal in enumerate(sc.calendar):
        _check_calendar(cal, ("calendar", i), fail)
    seen_ids = set()
    for i, ev in enumerate(sc.timeline):
        loc = ("timeline", i)
        if ev.id in seen_ids:
            fail(loc + ("id",), f"duplicate timeline id '{ev.id}'")
        seen_ids.add(ev.id)
        if not start <= month_index(ev.date) <= end:
            fail(loc + ("date",), f"{ev.date} lies outside the period {sc.meta.start}..{sc.meta.end}")
        for j, eff in enumerate(ev.effects):
            try:
                parse_target(eff.target, sc)
            except ValueError as exc:
                fail(loc + ("effects", j, "target"), str(exc))
        for j, san in enumerate(ev.sanctions):
            for k in ("by", "against"):
                for n, sid in enumerate(getattr(san, k)):
                    if sid not in states:
                        fail(loc + ("sanctions", j, k, n), f"unknown state '{sid}'")
        for j, emit in enumerate(ev.emits):
            for n, sid in enumerate(emit.actors):
                if sid not in states:
                    fail(loc + ("emits", j, "actors", n), f"unknown state '{sid}'")
            if emit.organisation and emit.organisation not in orgs:
                fail(loc + ("emits", j, "organisation"), f"unknown organisation '{emit.organisation}'")


def _check_calendar(cal: Calendar, loc: tuple, fail) -> None:
    if bool(cal.months) == bool(cal.dates):
        fail(loc, "give either 'months' (recurring every year) or 'dates' (an explicit list), not both")
    if cal.start and cal.end and month_index(cal.end) < month_index(cal.start):
        fail(loc + ("end",), "end comes before start")
