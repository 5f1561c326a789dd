"""Import a Comparative Connections style chronology into event rows.

``parse_chronology(text, source_name, pair=None)`` accepts a whole review or
just its chronology. It finds the section headed "Chronology of <X>-<Y>
Relations" (any two names, joined by -, \u2013 or \u2014; the names are resolved
to state ids through the alias list), splits it into dated entries, and codes
each entry with the alias list and keyword rules of ``calibration/aliases.yaml``.
The pair of states comes from the ``pair`` argument, else from the heading;
without either the importer stops with a UserError.

* date: "Sept. 7, 2012:", "Dec. 4-5, 2012:", "July 24-31, 2000:",
  "Oct. 31-Nov. 2, 2017:", "Sept. 11-19, 2000:" (month names or the usual
  abbreviations, with or without the full stop); an entry without a year takes
  the year of the heading;
* actors / organisation: every state named (names, adjectives, capitals, people)
  and the first organisation named; an entry that names fewer than two states
  gets the pair's missing side(s) (the chronology is of the pair's relations);
* type: the first keyword rule that matches (rules are in priority order).

The result has the columns of ``calibration/record/events.csv`` plus
``confidence`` (high: exactly one rule matched and two or more actors were
found; low otherwise). Entries no rule can code are returned in the second
value (``uncoded``) with the reason; so is any text in the section that is not
a dated entry. Nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.core.errors import UserError
from sim.core.taxonomy import EVENT_TYPES
from sim.evidence.aliases import Aliases, check_pair, load_aliases, state_of_name
from sim.evidence.record import DEFAULT_FOLDER, EVENT_COLUMNS, META_FILE, load_record_meta, record_aliases

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}
_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
_DASH = r"\s*[-\u2013\u2014]\s*"
# "Oct. 31-Nov. 2, 2017:"  "Dec. 4-5, 2012:"  "Sept. 7, 2012:"  (year optional)
DATE_RE = re.compile(
    rf"^\s*(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}})"
    rf"(?:{_DASH}(?:(?P<m2>{_MONTH})\.?\s+)?(?P<d2>\d{{1,2}}))?"
    rf"(?:,\s*(?P<y>\d{{4}}))?\s*:\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
# "Chronology of China - Russia Relations", "Chronology of US-China Relations July-September 2000",
# "Chronology of Japan\u2013Korea Relations": the first dash splits the two names
HEADING_RE = re.compile(r"^\W*chronology\s+of\s+(?P<a>[^-\u2013\u2014]+?)\s*[-\u2013\u2014]\s*"
                        r"(?P<b>[^-\u2013\u2014]+?)\s+relations\b(?P<rest>.*)$", re.IGNORECASE)
_YEAR_RE = re.compile(r"\b(19|20)\d{2}\b")

OUTPUT_COLUMNS = EVENT_COLUMNS + ["confidence"]


@dataclass
class Heading:
    index: int               # 0-based line of the heading in the given text
    names: tuple[str, str]   # the two names as written ("US", "China")
    rest: str                # text after "Relations" on the same line


def find_headings(text: str) -> list[Heading]:
    """Every "Chronology of <X>-<Y> Relations" heading of the text, in order."""
    out = []
    for i, line in enumerate(text.splitlines()):
        h = HEADING_RE.match(line.strip().replace("*", ""))
        if h:
            out.append(Heading(i, (h["a"].strip(), h["b"].strip()), h["rest"]))
    return out


def heading_pair(heading: Heading, aliases: Aliases) -> tuple[str | None, str | None]:
    """The state ids of the heading's two names (None for a name the aliases do not know)."""
    return tuple(state_of_name(aliases, n) for n in heading.names)


@dataclass
class Entry:
    line: int            # 1-based line of the date in the given text
    date_text: str
    text: str            # entry text after the date, wrapped lines joined


def parse_date(date_text: str, default_year: int | None = None):
    """Parse a chronology date prefix; returns (start, end) Timestamps or raises ValueError."""
    m = DATE_RE.match(date_text if date_text.rstrip().endswith(":") else date_text.rstrip() + ":")
    if not m:
        raise ValueError(f"not a chronology date: {date_text!r}")
    return _dates(m, default_year)


def _dates(m: re.Match, default_year: int | None):
    year = int(m["y"]) if m["y"] else default_year
    if year is None:
        raise ValueError("date has no year and no heading year is known")
    m1 = MONTHS[m["m1"].lower()]
    start = pd.Timestamp(year=year, month=m1, day=int(m["d1"]))
    if m["d2"]:
        m2 = MONTHS[m["m2"].lower()] if m["m2"] else m1
        y2 = year + 1 if m2 < m1 else year   # "Dec. 30-Jan. 2" crosses the year
        end = pd.Timestamp(year=y2, month=m2, day=int(m["d2"]))
    else:
        end = start
    if end < start:
        raise ValueError("range ends before it starts")
    return start, end


# --------------------------------------------------------------------------- splitting

def split_entries(text: str, heading: Heading | None = None) -> tuple[list[Entry], list[dict], int | None, int]:
    """Dated entries of the chronology section, stray text, heading year, first line used.

    The section starts after ``heading`` (default: the first chronology heading; none:
    the whole text) and ends at the next chronology heading.
    """
    lines = text.splitlines()
    headings = find_headings(text)
    if heading is None and headings:
        heading = headings[0]
    begin, heading_year, stop = 0, None, len(lines)
    if heading is not None:
        i = heading.index
        begin = i + 1
        later = [h.index for h in headings if h.index > i]
        stop = later[0] if later else len(lines)
        candidates = [heading.rest]
        for j in range(i + 1, min(i + 4, len(lines))):   # "September — December 2012" on a later line
            if DATE_RE.match(lines[j].strip()):
                break
            candidates.append(lines[j])
        for cand in candidates:
            years = [y.group(0) for y in _YEAR_RE.finditer(cand)]
            if years:
                heading_year = int(years[-1])
                break
    entries: list[Entry] = []
    stray: list[dict] = []
    current: Entry | None = None
    blank_before = False
    for idx in range(begin, stop):
        raw = lines[idx]
        line = raw.strip().replace("**", "")
        if not line:
            blank_before = True
            continue
        m = DATE_RE.match(line)
        if m:
            current = Entry(idx + 1, line[: m.start("rest")].strip(), m["rest"].strip())
            entries.append(current)
        elif current is not None and (not blank_before or line[:1].islower()
                                      or not current.text.rstrip().endswith((".", "!", "?", "\u201d", '"'))):
            current.text = f"{current.text} {line}".strip()   # wrapped line
        elif entries or begin:
            if begin and not entries and (_YEAR_RE.search(line) and len(line) < 60):
                pass   # sub-heading such as "September — December 2012"
            else:
                stray.append({"line": idx + 1, "text": line, "reason": "text without a date"})
        blank_before = False
    return entries, stray, heading_year, begin


# --------------------------------------------------------------------------- coding

class Coder:
    """Codes entries of a chronology of ``pair``'s relations."""

    def __init__(self, aliases: Aliases, pair: tuple[str, str]):
        self.al = aliases
        self.pair = tuple(pair)
        self._state_re, self._state_of = self._build(aliases.states)
        self._org_re, self._org_of = self._build(aliases.organisations)
        self._leader_re = {sid: self._alt(names) for sid, names in aliases.leaders.items()}
        # "visits <country or capital>" of each side of the pair
        self._visit_re = {sid: re.compile(r"\bvisits? " + self._alt(aliases.places.get(sid, [])).pattern)
                          for sid in self.pair}
        self._diplomat_re = re.compile(
            r"foreign minist|ambassador|" + self._alt(aliases.diplomats).pattern, re.IGNORECASE)
        self._rules = [(r["type"], re.compile(r["pattern"], re.IGNORECASE), r.get("condition"))
                       for r in aliases.type_rules]

    @staticmethod
    def _alt(names):
        names = sorted({n for n in names if n}, key=len, reverse=True)
        if not names:
            return re.compile(r"(?!x)x")
        return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w])")

    def _build(self, table):
        owner = {}
        for key, names in table.items():
            for n in names:
                owner.setdefault(n, key)
        return self._alt(owner), owner

    def states(self, text: str) -> list[str]:
        found = []
        for m in self._state_re.finditer(text):
            sid = self._state_of[m.group(0)]
            if sid not in found:
                found.append(sid)
        return found

    def organisation(self, text: str) -> tuple[str, int]:
        m = self._org_re.search(text)
        return (self._org_of[m.group(0)], m.start()) if m else ("", -1)

    def _leaders(self, text: str) -> bool:
        """A leader of each side is named, or a leader of one side visits the other side."""
        a, b = self.pair
        has = {sid: bool(self._leader_re.get(sid) and self._leader_re[sid].search(text)) for sid in self.pair}
        if has[a] and has[b]:
            return True
        if has[b] and self._visit_re[a].search(text):
            return True
        if has[a] and self._visit_re[b].search(text):
            return True
        return False

    def _condition(self, cond: str | None, text: str, org_pos: int) -> bool:
        if cond is None:
            return True
        if cond == "leaders":
            return self._leaders(text)
        if cond == "org_subject":
            return 0 <= org_pos < 40 or (org_pos >= 0 and re.search(r"\bsummit\b", text, re.IGNORECASE) is not None)
        if cond == "diplomats":
            return self._diplomat_re.search(text) is not None
        raise UserError(f"unknown rule condition '{cond}'", file=self.al.path, path="type_rules")

    def code(self, text: str) -> tuple[str | None, list[str], str, list[str], str]:
        """(type or None, actors, organisation, all matching rule types, keyword that decided)."""
        actors = self.states(text)
        org, pos = self.organisation(text)
        matched, keyword = [], ""
        for etype, pattern, cond in self._rules:
            m = pattern.search(text)
            if m and self._condition(cond, text, pos):
                if not matched:
                    keyword = m.group(0)
                matched.append(etype)
        etype = matched[0] if matched else None
        return etype, actors, org, matched, keyword


# --------------------------------------------------------------------------- main entry

def _window_for(source_name: str, start: pd.Timestamp | None, windows: pd.DataFrame | None) -> str:
    if windows is not None and len(windows):
        name = Path(source_name).name
        hit = windows[(windows["kind"] == "chronology") & (windows["source"] == name)]
        if len(hit):
            return str(hit.iloc[0]["id"])
        if start is not None:
            hit = windows[(windows["kind"] == "chronology") & (windows["start"] <= start) & (windows["end"] >= start)]
            if len(hit):
                return str(hit.iloc[0]["id"])
    if start is not None:
        return f"chron_{start.year}q{start.quarter}"
    return "chron_unknown"


def _default_windows(pair: tuple[str, str], aliases: Aliases, folder: Path = DEFAULT_FOLDER) -> pd.DataFrame | None:
    """A record's windows (by default the project record's), if that record is of the same pair."""
    path = folder / "windows.csv"
    if not path.exists() or not (folder / META_FILE).exists():
        return None
    if set(load_record_meta(folder, aliases).pair) != set(pair):
        return None
    df = pd.read_csv(path, dtype=str).fillna("")
    df["start"] = pd.to_datetime(df["start"])
    df["end"] = pd.to_datetime(df["end"])
    return df


def choose_heading(text: str, aliases: Aliases, pair=None,
                   source_name: str = "") -> tuple[tuple[str, str], Heading | None]:
    """The pair of states and the chronology heading to read.

    With ``pair`` given, the first heading naming that pair (either order) is used;
    failing that the first heading whose names are not both known states; a text
    whose headings all name other pairs is refused. Without ``pair`` the first
    heading gives it; its names must resolve to two state ids.
    """
    headings = find_headings(text)
    if pair is not None:
        pair = check_pair(pair, aliases)
        if not headings:
            return pair, None
        resolved = [(h, heading_pair(h, aliases)) for h in headings]
        for h, ids in resolved:
            if set(ids) == set(pair):
                return pair, h
        for h, ids in resolved:
            if None in ids:
                return pair, h
        names = ", ".join("-".join(h.names) for h in headings)
        raise UserError(f"the text has chronologies of {names}, none of the pair {pair[0]},{pair[1]}",
                        file=source_name or None, path="pair")
    if not headings:
        raise UserError("no heading 'Chronology of <X>-<Y> Relations' found, so the pair of states is "
                        "unknown: give it (--pair A,B)", file=source_name or None, path="pair")
    h = headings[0]
    ids = heading_pair(h, aliases)
    for name, sid in zip(h.names, ids, strict=True):
        if sid is None:
            raise UserError(f"the heading on line {h.index + 1} names '{name}', which is not a state in "
                            f"{aliases.file_names} (add it to a state's names, or give --pair A,B)",
                            file=source_name or None, path="pair")
    if ids[0] == ids[1]:
        raise UserError(f"the heading on line {h.index + 1} names '{ids[0]}' twice; give --pair A,B",
                        file=source_name or None, path="pair")
    return (ids[0], ids[1]), h


def parse_chronology(text: str, source_name: str, pair=None, aliases: Aliases | str | Path | None = None,
                     windows: pd.DataFrame | None | bool = True, record: str | Path | None = None):
    """Parse and code a chronology. Returns ``(events DataFrame, uncoded list of dicts)``;
    the pair used is in ``events.attrs["pair"]``.

    ``source_name`` is the document's file name, used in ``source`` (``NAME:LINE``)
    and to find the window. ``pair``: the two state ids the chronology is about
    (a tuple or "a,b"); by default read from the "Chronology of X-Y Relations"
    heading. ``windows``: a windows table (as in ``calibration/record/windows.csv``),
    True for the record's own (used only if that record is of the same pair), or
    None. ``record``: the record folder the rows are for (default: the project
    record); its own alias file is merged over the shared one, so that its
    leaders and places code the entries.
    """
    folder = Path(record) if record is not None else DEFAULT_FOLDER
    if isinstance(aliases, Aliases):
        al = aliases
    else:
        al = record_aliases(folder, aliases) if record is not None else load_aliases(aliases)
    pair, heading = choose_heading(text, al, pair, source_name)
    coder = Coder(al, pair)
    if windows is True:
        windows = _default_windows(pair, al, folder)
    entries, stray, heading_year, _ = split_entries(text, heading)
    uncoded = [_uncoded(source_name, item["line"], "", item["text"], item["reason"]) for item in stray]
    parsed = []
    for e in entries:
        try:
            start, end = parse_date(e.date_text, heading_year)
        except ValueError as exc:
            uncoded.append(_uncoded(source_name, e.line, e.date_text, e.text, f"bad date: {exc}"))
            continue
        parsed.append((e, start, end))
    first = parsed[0][1] if parsed else None
    window = _window_for(source_name, first, windows if isinstance(windows, pd.DataFrame) else None)
    rows = [_coded_row(coder, f"{window}_{n:02d}", window, e, start, end, source_name, uncoded)
            for n, (e, start, end) in enumerate(parsed, 1)]
    frame = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    frame.attrs["pair"] = pair
    return frame, uncoded


def _uncoded(source_name: str, line: int, date: str, text: str, reason: str) -> dict:
    return {"source": f"{source_name}:{line}", "date": date, "text": text, "reason": reason}


def _coded_row(coder: Coder, row_id: str, window: str, e: Entry, start, end, source_name: str,
               uncoded: list[dict]) -> dict:
    """One events.csv row for a dated entry; an entry no rule codes is also listed in ``uncoded``."""
    etype, actors, org, matched, keyword = coder.code(e.text)
    if etype is None:
        uncoded.append(_uncoded(source_name, e.line, e.date_text, e.text, "no keyword rule matched"))
    distinct = list(dict.fromkeys(matched))
    confidence = "high" if (etype and len(distinct) == 1 and len(actors) >= 2) else "low"
    if len(actors) < 2:
        # the chronology is of the pair's relations: the unnamed side is the partner
        for sid in coder.pair:
            if sid not in actors:
                actors.append(sid)
    return {
        "id": row_id,
        "start": start, "end": end, "precision": "day",
        "actors": ";".join(actors), "organisation": org,
        "type": etype or "", "goldstein": EVENT_TYPES[etype].goldstein if etype else float("nan"),
        "window": window, "source": f"{source_name}:{e.line}", "note": _note(etype, keyword, matched, actors, org),
        "confidence": confidence,
    }


def _note(etype, keyword, matched, actors, org) -> str:
    """How the entry was coded (never a copy of the entry's text; see the project rule on sources)."""
    if not etype:
        return "uncoded: no keyword rule matched"
    others = [t for t in dict.fromkeys(matched) if t != etype]
    note = f"rule {etype} on '{keyword}'"
    if others:
        note += f"; also matched {'/'.join(others)}"
    return note
