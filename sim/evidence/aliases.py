"""Names of states and organisations, and the keyword rules that code chronology entries.

The shared list ``calibration/aliases.yaml`` holds what the first records
needed. A record of another pair brings its own names (leaders, places,
organisations) in a record-level file, merged over the shared one, so that a
new pair needs no edit of the repository:

* a state or organisation id the shared file lacks is added;
* for an id both files have, the record's ``names``, ``places`` and ``people``
  are added to the shared ones (a name already there is not repeated) and its
  other fields replace the shared ones;
* the record's ``type_rules`` are tried before the shared ones (first match
  wins, so the record's own rules take precedence).

Every section of a record-level file is optional; the shared file must have
all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sim.core.bundle import SOURCE_ROOT, data_root
from sim.core.errors import UserError
from sim.core.taxonomy import EVENT_TYPES
from sim.core.yamlio import format_path, load_yaml, origin_of

REPO_ROOT = SOURCE_ROOT
#: The bundled shared list (the checkout's own in a checkout, the wheel's copy when installed).
DEFAULT_ALIASES = data_root() / "calibration" / "aliases.yaml"
SHARED_FILE = "aliases.yaml"
SECTIONS = ("states", "organisations", "type_rules")
_LIST_FIELDS = ("names", "places", "people")
RULE_CONDITIONS = (None, "leaders", "org_subject", "diplomats")


@dataclass
class Aliases:
    """Names -> ids, plus the ordered keyword rules for event types."""

    states: dict[str, list[str]]            # id -> names (people included)
    leaders: dict[str, list[str]]           # id -> names of heads of state/government
    diplomats: list[str]                    # names of foreign ministers, deputies, ambassadors
    organisations: dict[str, list[str]]     # id -> names
    type_rules: list[dict]                  # [{type, pattern, condition?}] in priority order
    path: str = ""                          # the file(s) read, joined by " + "
    places: dict[str, list[str]] = field(default_factory=dict)   # id -> country name(s) and capital(s)

    @property
    def state_ids(self) -> set[str]:
        return set(self.states)

    @property
    def org_ids(self) -> set[str]:
        return set(self.organisations)

    @property
    def file_names(self) -> str:
        """The alias file name(s), for messages ("not in aliases.yaml + aliases.yaml")."""
        return " + ".join(Path(p).name for p in self.path.split(" + ")) if self.path else "aliases"


def read_alias_file(path: str | Path, required: bool = True) -> tuple[dict, dict]:
    """The raw sections of an alias file, checked for shape (file, line and field on error)."""
    path = Path(path)
    if not path.exists():
        raise UserError("alias file not found", file=str(path))
    data, origins = load_yaml(path)
    data = data or {}
    if not isinstance(data, dict):
        raise UserError("an alias file is a mapping (states, organisations, type_rules)", file=str(path), line=1)
    for key in data:
        if key not in SECTIONS:
            raise UserError(f"unknown section '{key}' (known: {', '.join(SECTIONS)})", file=str(path),
                            line=origins[(key,)][1], path=key)
    for key in SECTIONS:
        if required and key not in data:
            raise UserError(f"missing section '{key}'", file=str(path), path=key)
        kind = list if key == "type_rules" else dict
        data[key] = data.get(key) or kind()
        if not isinstance(data[key], kind):
            raise UserError(f"expected a {'list' if kind is list else 'mapping'}", file=str(path),
                            line=origins[(key,)][1], path=key)
    for section in ("states", "organisations"):
        for sid, entry in (data.get(section) or {}).items():
            _check_entry(entry, (section, sid), str(path), origins)
    return data, origins


def _check_entry(entry, loc: tuple, file: str, origins) -> None:
    """A state's or organisation's entry: lists of names (text) and people with a name each."""
    def fail(where: tuple, msg: str):
        _, line = origin_of(origins, where)
        raise UserError(msg, file=file, line=line, path=format_path(where))

    if entry is None:
        return
    if not isinstance(entry, dict):
        fail(loc, "expected a mapping (names, places, people ...)")
    for key in ("names", "places"):
        if not _texts(entry.get(key)):
            fail(loc + (key,), "expected a list of names (text)")
    people = entry.get("people")
    if people is not None and not isinstance(people, list):
        fail(loc + ("people",), "expected a list of people")
    for k, person in enumerate(people or []):
        if not isinstance(person, dict) or not isinstance(person.get("name"), str) or not person["name"].strip():
            fail(loc + ("people", k), "each person needs a 'name' (text)")
        if not _texts(person.get("short")):
            fail(loc + ("people", k, "short"), "expected a list of names (text)")


def _texts(value) -> bool:
    """Absent, or a list of non-empty strings."""
    return value is None or (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value))


def merge_alias_data(base: dict, extra: dict) -> dict:
    """``extra`` over ``base`` (see the module docstring for the rules)."""
    out = {"type_rules": list(extra.get("type_rules") or []) + list(base.get("type_rules") or [])}
    for section in ("states", "organisations"):
        merged = {k: dict(v or {}) for k, v in (base.get(section) or {}).items()}
        for sid, entry in (extra.get(section) or {}).items():
            target = merged.setdefault(sid, {})
            for key, value in (entry or {}).items():
                if key in _LIST_FIELDS:
                    have = list(target.get(key) or [])
                    target[key] = have + [v for v in (value or []) if v not in have]
                else:
                    target[key] = value
        out[section] = merged
    return out


def shared_aliases_for(folder: str | Path) -> Path:
    """The shared list a record folder is read with: ``aliases.yaml`` beside the folder, else the bundled one.

    Looked up relative to the record, not the working directory, so that a
    project copied elsewhere (``dyadsim init``) uses its own, editable list.
    """
    beside = Path(folder).resolve().parent / SHARED_FILE
    return beside if beside.is_file() else DEFAULT_ALIASES


def load_aliases(path: str | Path | None = None, extra: str | Path | None = None) -> Aliases:
    """The shared alias file (``path``, default calibration/aliases.yaml), with ``extra`` merged over it."""
    path = Path(path) if path else DEFAULT_ALIASES
    data, origins = read_alias_file(path)
    where = [(str(path), origins[("type_rules", i)][1]) for i in range(len(data["type_rules"]))]
    label = str(path)
    if extra is not None:
        more, more_origins = read_alias_file(extra, required=False)
        where = [(str(extra), more_origins[("type_rules", i)][1]) for i in range(len(more["type_rules"]))] + where
        data = merge_alias_data(data, more)
        label += f" + {extra}"
    return _build(data, where, label)


def _people(entry: dict) -> tuple[list[str], list[str], list[str]]:
    """(all names, leaders' names, diplomats' names) of a state's people."""
    names, leaders, diplomats = [], [], []
    for person in entry.get("people", []) or []:
        pnames = [person["name"], *person.get("short", [])]
        names.extend(pnames)
        if person.get("leader"):
            leaders.extend(pnames)
        title = str(person.get("title", "")).lower()
        if "foreign minister" in title or "ambassador" in title:
            diplomats.extend(pnames)
    return names, leaders, diplomats


def _build(data: dict, where: list[tuple[str, int]], label: str) -> Aliases:
    states: dict[str, list[str]] = {}
    leaders: dict[str, list[str]] = {}
    diplomats: list[str] = []
    places: dict[str, list[str]] = {}
    for sid, entry in data["states"].items():
        entry = entry or {}
        names = list(entry.get("names", []))
        # places: what "visits X" may name (country, capital); defaults to the names,
        # and a place not listed under names is still a name of the state
        own = [str(n) for n in (entry.get("places") or [])]
        places[str(sid)] = own or [str(n) for n in names]
        names.extend(n for n in own if n not in names)
        pnames, lnames, dnames = _people(entry)
        names.extend(pnames)
        if lnames:
            leaders[str(sid)] = lnames
        diplomats.extend(dnames)
        states[str(sid)] = names
    orgs = {str(oid): list((entry or {}).get("names", [])) for oid, entry in data["organisations"].items()}
    rules = [_check_rule(i, rule, *where[i]) for i, rule in enumerate(data["type_rules"])]
    return Aliases(states, leaders, diplomats, orgs, rules, label, places)


def _check_rule(i: int, rule, file: str, line: int) -> dict:
    """A rule as a dict, checked; ``i`` is its place in the merged list, ``file:line`` where it was written."""
    where = f"type_rules[{i}]"
    if not isinstance(rule, dict) or "type" not in rule or "pattern" not in rule:
        raise UserError("each rule needs 'type' and 'pattern'", file=file, line=line, path=where)
    if rule["type"] not in EVENT_TYPES:
        raise UserError(f"unknown event type '{rule['type']}'", file=file, line=line, path=f"{where}.type")
    if not isinstance(rule["pattern"], str):
        raise UserError("a pattern is a regular expression (text)", file=file, line=line, path=f"{where}.pattern")
    if rule.get("condition") not in RULE_CONDITIONS:
        raise UserError(f"unknown condition '{rule.get('condition')}'; known: "
                        f"{', '.join(c for c in RULE_CONDITIONS if c)}", file=file, line=line,
                        path=f"{where}.condition")
    try:
        re.compile(rule["pattern"])
    except re.error as exc:
        raise UserError(f"bad regular expression: {exc}", file=file, line=line, path=f"{where}.pattern") from None
    return dict(rule)


def state_of_name(aliases: Aliases, name: str) -> str | None:
    """The state id a name stands for (id itself, name, adjective, capital), case-insensitive."""
    key = " ".join(name.split()).casefold()
    if not key:
        return None
    for sid in aliases.states:
        if sid.casefold() == key or sid.replace("_", " ").casefold() == key:
            return sid
    for sid, names in aliases.states.items():
        if any(" ".join(str(n).split()).casefold() == key for n in names):
            return sid
    return None


def check_pair(pair, aliases: Aliases, *, file: str | None = None, line: int | None = None,
               path: str = "pair") -> tuple[str, str]:
    """Validate a pair of state ids (a sequence or "a,b"); returns it as a tuple."""
    if isinstance(pair, str):
        pair = [p.strip() for p in pair.split(",")]
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(p, str) and p for p in pair):
        raise UserError(f"a pair is two state ids, got {pair!r}", file=file, line=line, path=path)
    for i, sid in enumerate(pair):
        if sid not in aliases.states:
            raise UserError(f"unknown state id '{sid}' (not in {aliases.file_names})",
                            file=file, line=line, path=f"{path}[{i}]")
    if pair[0] == pair[1]:
        raise UserError(f"the pair names '{pair[0]}' twice", file=file, line=line, path=path)
    return (pair[0], pair[1])
