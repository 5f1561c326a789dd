"""Loading a scenario: ``extends``, overrides, validation and cross-references.

A counterfactual is written as a small file that ``extends`` the baseline, so
that it says only what differs; overrides (``--set``, sweeps, calibration)
change one cited number and record that they did. Whatever the route, a value
keeps the file and line it came from, so every error points at the line to fix.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.core import mechanisms
from sim.core.checks import check_effects
from sim.core.errors import UserError
from sim.core.schema import MAX_MONTHS, Calendar, Scenario, parse_target, scenario_model
from sim.core.seeds import load_samples
from sim.core.time import month_index
from sim.core.yamlio import MAX_BYTES, Origins, deep_merge, format_path, load_yaml, origin_of, validation_error

_LOADER_KEYS = {"extends", "timeline_remove"}
MAX_EXTENDS = 16            # files in one chain of ``extends``
_YAML_SUFFIXES = (".yaml", ".yml")


def _resolve_extends(file: Path, stack: tuple[Path, ...] = ()) -> tuple[dict, Origins]:
    key = file.resolve()
    if key in [p.resolve() for p in stack]:
        chain = " -> ".join(str(p) for p in stack + (file,))
        raise UserError(f"'extends' cycle: {chain}", file=str(stack[-1]), path="extends")
    if len(stack) >= MAX_EXTENDS:
        raise UserError(f"'extends' chain deeper than {MAX_EXTENDS} files", file=str(stack[-1]), path="extends")
    data, origins = load_yaml(file)
    if not isinstance(data, dict):
        raise UserError("a scenario file must be a mapping at the top level", file=str(file), line=1)
    if data.get("extends") is None:
        for key in _LOADER_KEYS & set(data):
            if key != "extends":
                raise UserError(f"'{key}' only makes sense together with 'extends'", file=str(file),
                                line=origins[(key,)][1], path=key)
        return data, origins
    base, base_origins = _resolve_extends(_parent_path(data, origins, file), stack + (file,))
    child = {k: v for k, v in data.items() if k not in _LOADER_KEYS}
    child_origins = {p: o for p, o in origins.items() if not p or p[0] not in _LOADER_KEYS}
    remove = data.get("timeline_remove", [])
    if remove:
        base, base_origins = _remove_timeline(base, base_origins, remove, origins, file)
    if "timeline_add" in child:
        raise UserError("use 'timeline' with the full list, or 'timeline_append'", file=str(file))
    append = child.pop("timeline_append", None)
    append_origins = {p: o for p, o in child_origins.items() if p and p[0] == "timeline_append"}
    child_origins = {p: o for p, o in child_origins.items() if not p or p[0] != "timeline_append"}
    merged, merged_origins = deep_merge(base, child, base_origins, child_origins)
    if append:
        merged = _append_timeline(merged, merged_origins, append, append_origins, file)
    return merged, merged_origins


def _parent_path(data: dict, origins: Origins, file: Path) -> Path:
    """The file ``extends`` names, resolved against the file that names it."""
    parent = data["extends"]
    line = origins[("extends",)][1]
    if not isinstance(parent, str):
        raise UserError("'extends' must be a file path", file=str(file), line=line, path="extends")
    parent_path = Path(os.path.normpath(file.parent / parent))
    if parent_path.suffix.lower() not in _YAML_SUFFIXES:
        raise UserError(f"'extends' names a scenario file ending in .yaml or .yml, got '{parent}'",
                        file=str(file), line=line, path="extends")
    try:
        st = os.stat(parent_path)
    except OSError:
        raise UserError(f"extended file '{parent}' not found (looked at {parent_path})",
                        file=str(file), line=line, path="extends") from None
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"extended file '{parent}' is not a regular file (a folder, pipe or device)",
                        file=str(file), line=line, path="extends")
    if st.st_size > MAX_BYTES:
        raise UserError(f"extended file '{parent}' is larger than the {MAX_BYTES >> 20} MiB limit",
                        file=str(file), line=line, path="extends")
    return parent_path


def _remove_timeline(base: dict, base_origins: Origins, remove: Any, origins: Origins,
                     file: Path) -> tuple[dict, Origins]:
    """The parent's timeline without the entries ``timeline_remove`` names; origins renumbered to match."""
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
    return dict(base, timeline=kept), kept_origins


def _append_timeline(merged: dict, merged_origins: Origins, append: Any, append_origins: Origins,
                     file: Path) -> dict:
    """``timeline_append`` added after the inherited timeline; ``merged_origins`` gains the new entries."""
    if not isinstance(append, list):
        raise UserError("timeline_append must be a list", file=str(file),
                        line=append_origins[("timeline_append",)][1], path="timeline_append")
    offset = len(merged.get("timeline", []))
    merged = dict(merged, timeline=list(merged.get("timeline", [])) + append)
    for p, o in append_origins.items():
        if len(p) >= 2:
            merged_origins[("timeline", offset + p[1]) + p[2:]] = o
    return merged


def _set_path(data: dict, dotted: str, value: Any, origins: Origins, label: str) -> None:
    """Apply one override: a dotted path to a number (a Param's value) or any field."""
    parts = dotted.split(".")
    _fill_defaulted_coefficient(data, parts)
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
    # errors in the new value point at the override, not at the line it replaced
    loc = tuple(trail) + (last,)
    for p in [p for p in origins if p[: len(loc)] == loc]:
        del origins[p]
    origins[loc] = (f"--set {dotted}", None)


def _fill_defaulted_coefficient(data: dict, parts: list[str]) -> None:
    """A coefficient the file leaves to its cited default can still be overridden, swept and calibrated."""
    if len(parts) != 2 or parts[0] != "coefficients":
        return
    fields = mechanisms.coefficient_fields()
    if parts[1] not in fields:
        near = difflib.get_close_matches(parts[1], fields, n=3)
        hint = f" (did you mean {', '.join(near)}?)" if near else " (run.py describe lists them)"
        raise UserError(f"override '{'.'.join(parts)}': no coefficient '{parts[1]}'{hint}", path=".".join(parts))
    section = data.get("coefficients")
    if section is None:
        section = data["coefficients"] = {}
    if isinstance(section, dict) and parts[1] not in section:
        section[parts[1]] = mechanisms.coefficient_default(parts[1])


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
    loaded = LoadedScenario(scenario, str(path), raw, origins, overrides or {})
    _check_posterior(loaded)
    return loaded


def _check_posterior(loaded: LoadedScenario) -> None:
    """meta.posterior must be a readable Parquet sample whose columns are paths of this scenario."""
    path = loaded.posterior_path
    if path is None:
        return
    file, line = origin_of(loaded.origins, ("meta", "posterior"))
    try:
        samples = load_samples(path)
    except UserError as exc:
        raise UserError(f"{exc.message} ({path})", file=file, line=line, path="meta.posterior") from None
    for col in samples.columns:
        if col != "weight" and not _has_path(loaded.raw, col):
            raise UserError(f"the sample {path.name} has a column '{col}' that is not a value of this scenario",
                            file=file, line=line, path="meta.posterior")


def _has_path(data: Any, dotted: str) -> bool:
    node = data
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return not isinstance(node, (dict, list)) or (isinstance(node, dict) and "value" in node)


# ---------------------------------------------------------------- cross-references

def _cross_check(sc: Scenario, origins: Origins, file: str) -> None:
    """References between sections: ids must exist, dates must fit the period."""

    def fail(loc: tuple, msg: str):
        f, line = origin_of(origins, loc)
        raise UserError(msg, file=f or file, line=line, path=format_path(loc))

    _check_meta_and_drivers(sc, fail)
    _check_states(sc, fail)
    _check_organisations(sc, fail)
    for i, cal in enumerate(sc.calendar):
        _check_calendar(cal, ("calendar", i), fail, sc)
    _check_timeline(sc, fail)
    _check_agents(sc, fail)
    check_effects(sc, fail)


def _check_agents(sc: Scenario, fail) -> None:
    """Relations, dated contracts and driver effects name things that exist and make sense."""
    focal = set(sc.meta.focal)
    seen: set[frozenset] = set()
    for n, rel in enumerate(sc.relations):
        for k, sid in enumerate(rel.pair):
            if sid not in sc.states:
                fail(("relations", n, "pair", k), f"unknown state '{sid}'")
        key = frozenset(rel.pair)
        if len(key) == 1:
            fail(("relations", n, "pair"), "a relation needs two different states")
        if key == focal:
            fail(("relations", n, "pair"), "the focal pair's events go under 'events:', not 'relations:'")
        if key in seen:
            fail(("relations", n, "pair"), f"relation {rel.pair[0]}-{rel.pair[1]} listed twice")
        seen.add(key)
    for i, ev in enumerate(sc.timeline):
        for n, c in enumerate(ev.contracts):
            loc = ("timeline", i, "contracts", n)
            for role in ("seller", "buyer"):
                if getattr(c, role) not in sc.states:
                    fail(loc + (role,), f"unknown state '{getattr(c, role)}'")
            if c.buyer not in sc.states[c.seller].arms_clients:
                fail(loc + ("buyer",), f"'{c.buyer}' is not among {c.seller}'s arms_clients")
    energy = [("drivers", "oil_price")] if "oil_price" in sc.drivers and not sc.drivers["oil_price"].effects else []
    for did, drv in sc.drivers.items():
        if not drv.effects and did != "oil_price":
            fail(("drivers", did), f"driver '{did}' acts on nothing: declare its effects (energy_price or "
                                   "exchange_rate with a state)")
        for n, eff in enumerate(drv.effects):
            loc = ("drivers", did, "effects", n)
            if eff.kind == "exchange_rate" and eff.state not in sc.states:
                fail(loc + ("state",), "an exchange_rate effect names the state whose currency it is"
                     + (f"; unknown state '{eff.state}'" if eff.state else ""))
            if eff.kind == "energy_price":
                if eff.state is not None:
                    fail(loc + ("state",), "the energy price is one world price: no state")
                energy.append(loc)
    if len(energy) > 1:
        fail(energy[1], f"only one driver can be the energy price, and {energy[0][1]} is already")


def _check_meta_and_drivers(sc: Scenario, fail) -> None:
    if month_index(sc.meta.end) - month_index(sc.meta.start) >= MAX_MONTHS:
        fail(("meta", "end"), f"the period {sc.meta.start}..{sc.meta.end} is longer than {MAX_MONTHS // 12} years")
    for i, sid in enumerate(sc.meta.focal):
        if sid not in sc.states:
            fail(("meta", "focal", i), f"unknown state '{sid}'")
    for did, drv in sc.drivers.items():
        dates = [month_index(p.date) for p in drv.points]
        if dates != sorted(dates) or len(set(dates)) != len(dates):
            fail(("drivers", did, "points"), "points must be in strictly increasing date order")


def _check_states(sc: Scenario, fail) -> None:
    for sid, st in sc.states.items():
        for fld in ("exports", "trust", "threat", "rivalry", "arms_clients"):
            for other in getattr(st, fld):
                if other not in sc.states:
                    fail(("states", sid, fld, other), f"unknown state '{other}'")
                if other == sid:
                    fail(("states", sid, fld, other), "a state cannot relate to itself")
        for oid in st.alignment:
            if oid not in sc.organisations:
                fail(("states", sid, "alignment", oid), f"unknown organisation '{oid}'")
        for other in st.export_energy_share:
            if other not in st.exports:
                fail(("states", sid, "export_energy_share", other),
                     f"'{other}' is not among {sid}'s exports: a fuel share needs a flow to apply to")


def _check_organisations(sc: Scenario, fail) -> None:
    for oid, org in sc.organisations.items():
        for kind in ("members", "observers"):
            seen = set()
            for i, mem in enumerate(getattr(org, kind)):
                loc = ("organisations", oid, kind, i)
                if mem.state not in sc.states:
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
            _check_calendar(cal, ("organisations", oid, "summits", i), fail, sc)


def _check_timeline(sc: Scenario, fail) -> None:
    start, end = month_index(sc.meta.start), month_index(sc.meta.end)
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
                    if sid not in sc.states:
                        fail(loc + ("sanctions", j, k, n), f"unknown state '{sid}'")
        for j, emit in enumerate(ev.emits):
            for n, sid in enumerate(emit.actors):
                if sid not in sc.states:
                    fail(loc + ("emits", j, "actors", n), f"unknown state '{sid}'")
            if emit.organisation and emit.organisation not in sc.organisations:
                fail(loc + ("emits", j, "organisation"), f"unknown organisation '{emit.organisation}'")


def _check_calendar(cal: Calendar, loc: tuple, fail, sc: Scenario) -> None:
    if bool(cal.months) == bool(cal.dates):
        fail(loc, "give either 'months' (recurring every year) or 'dates' (an explicit list), not both")
    if cal.start and cal.end and month_index(cal.end) < month_index(cal.start):
        fail(loc + ("end",), "end comes before start")
    start, end = month_index(sc.meta.start), month_index(sc.meta.end)
    for k, d in enumerate(cal.dates):
        if not start <= month_index(d) <= end:
            fail(loc + ("dates", k), f"{d} lies outside the period {sc.meta.start}..{sc.meta.end}")
