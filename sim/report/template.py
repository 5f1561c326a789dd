"""A commented scenario template for any pair of states, generated from the scenario schema.

Writing a scenario by copying the baseline means copying another pair's
numbers and 29 coefficients. The template instead walks the pydantic schema
(``sim.core.schema.scenario_model()``) and the mechanisms' coefficient
fragments, so that every field appears with its default, its range and what
it does, and a field added to the schema appears in the next template without
anyone editing this file. What a field does comes from its ``description`` in
the schema where it has one, else from :data:`DESCRIPTIONS` below (a test
fails when a schema field has neither); what a coefficient does is its
mechanism's equation.

The template loads and runs as written: the few values a scenario cannot do
without (GDP, growth, the pair's exports and trust) are filled with neutral
numbers whose citation says ``TEMPLATE: ...``, and ``run`` warns while any
remain. Everything optional is commented out, with its default.
"""

from __future__ import annotations

import json
import re
import textwrap
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from sim.core import mechanisms
from sim.core.errors import UserError
from sim.core.files import write_text
from sim.core.params import Cited, Param, bounds_of
from sim.core.schema import scenario_model
from sim.core.taxonomy import EVENT_TYPES

TEMPLATE_MARK = "TEMPLATE"
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CITATION = ("source", "assumption", "note")

#: What a schema field does, where the schema itself gives no ``description``.
DESCRIPTIONS: dict[str, str] = {
    "Scenario.meta": "what the scenario is, its period, seeds and the pair it is about",
    "Scenario.drivers": "exogenous series by id, interpolated linearly by month and held flat outside their points; "
                        "oil_price, when present, moves fuel exporters' exports and arms revenue need",
    "Scenario.states": "the states that take part, by id (lowercase letters, digits, _)",
    "Scenario.organisations": "organisations by id: membership over time, summit calendars, agenda",
    "Scenario.events": "ad hoc events of the focal pair per type, as Poisson rates that rise with the pair's trust; "
                       "a type not listed is never produced by chance",
    "Scenario.calendar": "scheduled bilateral meetings of the focal pair (inputs: scores leave them out)",
    "Scenario.timeline": "dated changes: effects on values, sanctions, and events that happened (emits)",
    "Scenario.coefficients": "the model's response strengths, by mechanism; each has a cited default, so "
                             "the section may be left out",
    "Meta.name": "short name; results go to results/<name>/ by default",
    "Meta.description": "one line on what the scenario represents",
    "Meta.question": "what a counterfactual asks (shown in reports)",
    "Meta.start": "first simulated month (YYYY-MM)",
    "Meta.end": "last simulated month (YYYY-MM)",
    "Meta.seed": "base seed; replicate seeds derive from it, so runs with the same seed pair up",
    "Meta.replicates": "replicates per run",
    "Meta.focal": "the pair whose events are generated and scored",
    "Meta.record": "folder of the historical record to score against, relative to this file",
    "Meta.posterior": "Parquet sample of parameters (a calibration's posterior) replicates draw from",
    "Driver.unit": "unit of the values",
    "Driver.description": "what the series is and what it drives",
    "Driver.points": "dated values: [{date: YYYY-MM, value: <number>, source: ... | assumption: ...}]",
    "DriverPoint.date": "month of the value",
    "DriverPoint.value": "the value",
    "StateDef.name": "display name",
    "StateDef.gdp": "GDP at the start, bn USD",
    "StateDef.growth": "nominal GDP growth in USD, per year (0.05 = 5%)",
    "StateDef.energy_export_share": "share of fuel in the state's exports (0-1): oil moves that share",
    "StateDef.arms_capability": "arms-industrial capability (0-1, the frontier is 1)",
    "StateDef.arms_capability_growth": "growth of arms capability per year",
    "StateDef.sanctions_exposure": "how far sanctions on this state bite and push it to sell arms (0-1)",
    "StateDef.export_trend": "drift of this exporter's market share per year",
    "StateDef.exports": "exports to each partner at the start, bn USD a year",
    "StateDef.trust": "trust in each partner (0-1; 0.5 is the neutral reference)",
    "StateDef.threat": "threat felt from each other state (0-1)",
    "StateDef.rivalry": "rivalry with each other state (0-1), e.g. over a region",
    "StateDef.alignment": "alignment with each organisation (0-1)",
    "StateDef.arms_clients": "states this one sells arms to; no entry means no arms trade",
    "ArmsClient.copy_fear": "the seller's fear that this buyer copies what it buys (0-1) restrains sales",
    "Organisation.name": "display name",
    "Organisation.founded": "month founded; no one joins before",
    "Organisation.members": "members with the months they joined (and left)",
    "Organisation.observers": "observers, like members but without a vote",
    "Organisation.summits": "summit calendars: when the organisation meets (a scheduled input)",
    "Organisation.agenda": "weights of its security and economic agenda (0-1 each)",
    "Membership.state": "state id",
    "Membership.joined": "month joined",
    "Membership.left": "month left",
    "Agenda.security": "weight of the security agenda (0-1)",
    "Agenda.economy": "weight of the economic agenda (0-1)",
    "Calendar.type": "event type (see docs/record.md for the taxonomy)",
    "Calendar.months": "months of the year it takes place (1-12), every year",
    "Calendar.dates": "or an explicit list of months (YYYY-MM)",
    "Calendar.every": "years between sessions",
    "Calendar.start": "first month it applies",
    "Calendar.end": "last month it applies",
    "Calendar.probability": "probability that a scheduled session takes place",
    "Calendar.name": "label in the event table",
    "EventProcess.rate": "events per month at the reference trust",
    "EventProcess.trust_sensitivity": "log-rate change per unit of the pair's trust above the reference",
    "TimelineEvent.id": "unique id (counterfactuals remove entries by id)",
    "TimelineEvent.date": "month it happens",
    "TimelineEvent.description": "what happened",
    "TimelineEvent.effects": "changes of scenario values from this month on",
    "TimelineEvent.sanctions": "sanctions imposed from this month on",
    "TimelineEvent.emits": "events that happened this month (they appear in the run's event table)",
    "Effect.target": "what changes: states.X.exports.Y, states.X.trust.Y, states.X.growth, drivers.D, "
                     "events.TYPE.rate ... (docs/scenarios.md)",
    "Effect.op": "add, multiply or set",
    "Effect.value": "the operand",
    "Effect.duration": "months it lasts (parameters only; state variables jump once)",
    "Sanction.by": "states imposing them",
    "Sanction.against": "states targeted",
    "Sanction.intensity": "strength (0-1)",
    "Sanction.duration": "months they last",
    "Emit.type": "event type",
    "Emit.actors": "state ids",
    "Emit.organisation": "organisation id, if it happened in one",
    "Driver.interpolation": "linear between points, or step (held at the last point until the next)",
    "Driver.effects": "what the driver acts on: [{kind: energy_price}] or [{kind: exchange_rate, state: X}]; "
                      "omitted, a driver named oil_price acts as the energy price",
    "DriverEffect.kind": "energy_price (fuel exports valued at it) or exchange_rate (local units per USD)",
    "DriverEffect.state": "for exchange_rate: the state whose currency it is",
    "StateDef.export_energy_share": "fuel share of exports to one partner (0-1); others take energy_export_share",
    "ArmsClient.backlog": "contracted but undelivered arms at the start, bn USD",
    "ArmsClient.grade": "top grade of system the seller offers at the start (0-1); omitted: its choice rule",
    "EventProcess.responds": "signals the hazard responds to, with their strengths (docs/model.md lists them); "
                             "a listed signal replaces the type's default",
    "Scenario.relations": "other pairs whose own events the model generates; they move that pair's trust, "
                          "which the focal pair perceives",
    "Relation.pair": "the two state ids",
    "Relation.events": "that pair's event processes per type, as in events",
    "TimelineEvent.contracts": "arms contracts signed this month (value, grade): they fill the seller's order "
                               "book and raise the buyer's capability on delivery",
    "Contract.seller": "state selling",
    "Contract.buyer": "state buying",
    "Contract.value": "contract value, bn USD",
    "Contract.grade": "grade of the system sold (0-1; 1 is the seller's top)",
}


def field_description(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    return info.description or DESCRIPTIONS.get(f"{model.__name__}.{name}", "")


def nested_models(annotation) -> list[type[BaseModel]]:
    """Schema models inside an annotation (through list, dict, Optional, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]


def schema_fields() -> list[tuple[type[BaseModel], str]]:
    """Every (model, field) reachable from the scenario schema, citation fields and coefficients aside."""
    out, seen = [], set()

    def walk(model):
        if model in seen or model is Param:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            if name in _CITATION and issubclass(model, Cited):
                continue
            out.append((model, name))
            if name != "coefficients":
                for inner in nested_models(info.annotation):
                    walk(inner)
    walk(scenario_model())
    return out


# ---------------------------------------------------------------- rendering

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\- ]*[A-Za-z0-9_.]$|^[A-Za-z0-9]$")
_YAML_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "none"}


def flow(v) -> str:
    """A value as one line of YAML (flow style)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return f"{v:g}" if isinstance(v, float) else str(v)
    s = str(v)
    if re.fullmatch(r"\d{4}-\d{2}", s) or (_PLAIN.match(s) and s.lower() not in _YAML_WORDS and ": " not in s):
        return s
    return json.dumps(s, ensure_ascii=False)


def _line(code: str, comment: str = "", commented: bool = False) -> str:
    code = ("# " if commented else "") + code
    return f"{code:<58} # {comment}" if comment else code


def _unwrap(annotation):
    """(the type inside Optional/Annotated, whether None is allowed)."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, optional
        else:
            return annotation, optional


def _range_text(info) -> str:
    lo, hi = bounds_of(info)
    if lo is None and hi is None:
        return ""
    return f"range [{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"


def _placeholder(annotation, metadata=()) -> str:
    """What a value of this type looks like, for commented examples (``metadata``: the field's validators)."""
    base, _ = _unwrap(annotation)
    origin = typing.get_origin(base)
    if isinstance(base, type) and issubclass(base, Param):
        return "{value: <number>, source: <FILE:LINE> | assumption: <why>}"
    if origin is typing.Literal:
        args = typing.get_args(base)
        return "<event type>" if set(args) == set(EVENT_TYPES) else "<" + " | ".join(map(str, args)) + ">"
    if origin in (list, tuple):
        return "[" + ", ".join(_placeholder(a) for a in typing.get_args(base) if a is not Ellipsis) + "]"
    if origin is dict:
        return "{<id>: " + _placeholder(typing.get_args(base)[1]) + "}"
    if base is int:
        return "<whole number>"
    if base is float:
        return "<number>"
    meta = repr(annotation) + repr(list(metadata))
    return "<YYYY-MM>" if "_parse_month" in meta else "<id>" if "_check_id" in meta else "<text>"


def _default_text(info) -> str:
    if info.default_factory is not None:
        return "every entry at its default"
    d = info.default
    if isinstance(d, Param):
        return flow({k: getattr(d, k) for k in ("value", "unit", "source", "assumption", "note")
                     if getattr(d, k) is not None})
    if d in (None, [], {}):
        return "none"
    return flow(d)


def _doc(model, name, info) -> str:
    parts = [field_description(model, name) or "(undocumented field)"]
    parts.append("required" if info.is_required() else f"default {_default_text(info)}")
    rng = _range_text(info)
    return "; ".join(parts + ([rng] if rng else []))


def shape(model: type[BaseModel], indent: str, first_prefix: str = "") -> list[str]:
    """Every field of a model as a commented example, nested models expanded."""
    lines = []
    prefix = first_prefix
    if issubclass(model, Cited):
        lines.append(_line(f"{indent}{prefix}source: <FILE:LINE>", "or assumption: <why> (exactly one); "
                           "optional note: <how a figure became this value>", commented=True))
        prefix = " " * len(prefix)
    for name, info in model.model_fields.items():
        if name in _CITATION and issubclass(model, Cited):
            continue
        lines += _shape_field(model, name, info, indent + prefix)
        prefix = " " * len(prefix)
    return lines


def _shape_field(model, name: str, info, indent: str, doc: str | None = None) -> list[str]:
    base, _ = _unwrap(info.annotation)
    inner = [m for m in nested_models(base) if m is not Param]
    origin = typing.get_origin(base)
    doc = _doc(model, name, info) if doc is None else doc
    if inner and origin is list:
        return [_line(f"{indent}{name}:", doc, commented=True)] + shape(inner[0], indent + "  ", "- ")
    if inner and origin is dict:
        return ([_line(f"{indent}{name}:", doc, commented=True), _line(f"{indent}  <id>:", commented=True)]
                + shape(inner[0], indent + "    "))
    if inner:
        return [_line(f"{indent}{name}:", doc, commented=True)] + shape(inner[0], indent + "  ")
    return [_line(f"{indent}{name}: {_placeholder(info.annotation, info.metadata)}", doc, commented=True)]


# ---------------------------------------------------------------- the sections

def _template_value(value: float, why: str, unit: str | None = None) -> dict:
    """A number the scenario cannot run without, loudly marked as the template's (``run`` warns)."""
    return {"value": value, **({"unit": unit} if unit else {}), "assumption": f"{TEMPLATE_MARK}: {why}"}


def _filled(model, values: dict, indent: str) -> list[str]:
    """A model's fields: given values written out, the rest commented with their defaults."""
    lines = []
    for name, info in model.model_fields.items():
        if name in _CITATION and issubclass(model, Cited) and name not in values:
            continue
        doc = _doc(model, name, info)
        if name in values:
            v = values[name]
            if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()) and "value" not in v:
                lines.append(_line(f"{indent}{name}:", doc))
                lines += [f"{indent}  {k}: {flow(x)}" for k, x in v.items()]
            else:
                lines.append(_line(f"{indent}{name}: {flow(v)}", doc))
        elif info.is_required():
            raise RuntimeError(f"the template has no value for the required field {model.__name__}.{name}")
        elif isinstance(info.default, Param):
            lines.append(_line(f"{indent}{name}: {_default_text(info)}",
                               "; ".join(x for x in (field_description(model, name), _range_text(info)) if x),
                               commented=True))
        elif info.default in ({}, []) or nested_models(_unwrap(info.annotation)[0]):
            lines += _shape_field(model, name, info, indent)
        else:
            lines.append(_line(f"{indent}{name}: {_default_text(info) if info.default is not None else ''}"
                               .rstrip(), doc, commented=True))
    return lines


def _state_values(sid: str, partner: str) -> dict:
    return {"name": sid.replace("_", " ").title(),
            "gdp": _template_value(1000.0, "replace with the state's GDP at the start, bn USD, and cite it",
                                   "bn USD"),
            "growth": _template_value(0.05, "replace with nominal USD growth per year and cite it"),
            "exports": {partner: _template_value(10.0, f"replace with exports to {partner} at the start, "
                                                       "bn USD a year, and cite them", "bn USD/yr")},
            "trust": {partner: _template_value(0.5, "the neutral reference; replace with a judgement and say why")}}


def _states(info, pair) -> list[str]:
    model = nested_models(_unwrap(info.annotation)[0])[0]
    lines = ["states:"]
    for sid, partner in (pair, pair[::-1]):
        lines.append(f"  {sid}:")
        lines += _filled(model, _state_values(sid, partner), "    ")
    lines.append(_line("  # <id>:", "more states (partners, rivals, sanctioners) take the same fields", True))
    return lines


def _events(info) -> list[str]:
    model = nested_models(_unwrap(info.annotation)[0])[0]
    lines = ["# The types (docs/record.md):"]
    lines += [f"#   {name:22s} {t.meaning}" for name, t in EVENT_TYPES.items()]
    lines += ["# events:", "#   <type>:"]
    return lines + shape(model, "    ")


def _coefficients(info) -> list[str]:
    lines = []
    if info.is_required():
        lines += ["# The section must be present; to change a coefficient, put it under `coefficients:` in",
                  "# place of {} (e.g. `coefficients:` then `  trade_noise: {value: 0.05, assumption: why}`).",
                  "coefficients: {}"]
    else:
        lines += ["# To change a coefficient, uncomment `coefficients:` and the line, and cite your value:",
                  "# coefficients:"]
    for mech in mechanisms.registry():
        fields = mech.Coefficients.model_fields
        if not fields:
            continue
        lines.append(f"#   # --- {mech.name}: {mech.title}")
        lines += ["#   # " + w for w in textwrap.wrap(mech.equations, 100)]
        for name, finfo in fields.items():
            rng = _range_text(finfo) or "any value"
            default = _default_text(finfo) if not finfo.is_required() else "<required>"
            lines.append(f"#   {name}: {default}   # {rng}")
    return lines


def _meta(info, pair, start, end, record, seed) -> list[str]:
    model = _unwrap(info.annotation)[0]
    values = {"name": f"{pair[0]}_{pair[1]}",
              "description": f"{pair[0]}-{pair[1]} relations, {start} to {end} (say what the scenario is for)",
              "start": start, "end": end, "seed": seed, "focal": list(pair)}
    if record:
        values["record"] = record
    return ["meta:"] + _filled(model, values, "  ")


def _section(name: str, info, pair, start, end, record, seed) -> list[str]:
    head = [""] + ["# " + w for w in textwrap.wrap(f"{name}: {_doc(scenario_model(), name, info)}", 100)]
    if name == "meta":
        return head + _meta(info, pair, start, end, record, seed)
    if name == "states":
        return head + _states(info, pair)
    if name == "coefficients":
        return head + _coefficients(info)
    if name == "events":
        return head + _events(info)
    inner = nested_models(_unwrap(info.annotation)[0])
    if info.is_required():
        raise RuntimeError(f"the template has no value for the required section '{name}'")
    return head + (_shape_field(scenario_model(), name, info, "", doc="") if inner else
                   [_line(f"{name}: {_placeholder(info.annotation, info.metadata)}", commented=True)])


def scenario_template(pair: tuple[str, str], start: str, end: str, record: str | None = None,
                      seed: int = 1, command: str = "") -> str:
    """The template's text; ``record``: the record folder as meta.record should name it."""
    for sid in pair:
        if not _ID_RE.match(sid):
            raise UserError(f"'{sid}' is not a state id (lowercase letters, digits and _, starting with a letter)",
                            path="--pair")
    if pair[0] == pair[1]:
        raise UserError("the pair names one state twice", path="--pair")
    lines = [f"# Scenario template for the pair {pair[0]}-{pair[1]}, {start} to {end}.",
             f"# Generated by `{command or 'python run.py new-scenario'}` from the scenario schema",
             "# (sim/core/schema.py) and the mechanisms' coefficients (sim/core/mechanisms/): every field is",
             "# listed with what it does and its default; optional fields are commented out. Guide:",
             "# docs/scenarios.md; the equations: docs/model.md. Every number carries `source: FILE:LINE`",
             f"# or `assumption: WHY`. Values marked '{TEMPLATE_MARK}:' make the file run as written and must be",
             "# replaced; `run` lists those that remain."]
    for name, info in scenario_model().model_fields.items():
        lines += _section(name, info, pair, start, end, record, seed)
    return "\n".join(lines) + "\n"


def write_template(out: Path, pair, start: str, end: str, record: Path | None = None, seed: int = 1,
                   command: str = "") -> Path:
    """Write the template; ``record`` (a record folder) is checked to be of the same pair."""
    rel = None
    if record is not None:
        from sim.evidence.record import load_record_meta
        meta = load_record_meta(record)
        if set(meta.pair) != set(pair):
            raise UserError(f"the record is about {'-'.join(meta.pair)}, not {'-'.join(pair)}", path="--record")
        import os
        rel = os.path.relpath(Path(record).resolve(), Path(out).resolve().parent)
    text = scenario_template(tuple(pair), start, end, rel, seed, command)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text)
    return out


def template_values(raw, path: str = "") -> list[str]:
    """Paths of values in a loaded scenario's raw data whose citation still says TEMPLATE."""
    found = []
    if isinstance(raw, dict):
        if str(raw.get("assumption", "")).startswith(TEMPLATE_MARK):
            return [path]
        for k, v in raw.items():
            found += template_values(v, f"{path}.{k}" if path else str(k))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            found += template_values(v, f"{path}[{i}]")
    return found
