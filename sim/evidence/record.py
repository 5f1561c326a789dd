"""The historical record: curated events, observation windows and figures.

``load_record()`` reads a record folder (by default ``calibration/record/``):
``record.yaml`` (the record's name, the pair of states it is about, where its
source documents are described) and ``{events,windows,observations}.csv``,
plus an alias list: ``aliases.yaml`` beside the record folder when there is
one, else the bundled ``calibration/aliases.yaml``. It validates every row and
returns a :class:`Record` of typed pandas DataFrames. Any bad input raises
:class:`~sim.core.errors.UserError` naming the file, the line and the field.

Nothing here is tied to one pair of states: the pair comes from ``record.yaml``.

Window semantics: a chronology window is the period one review's chronology
covers. Inside it the chronology is (editorially) complete; outside every
window the record is silent, which is *not* the same as zero events. The
pseudo-window ``narrative`` holds dated facts picked from the narrative text;
it is selective and must never be read as a complete count.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.core.bundle import data_root
from sim.core.errors import UserError
from sim.core.files import read_text
from sim.core.taxonomy import EVENT_TYPES
from sim.core.yamlio import format_path, load_yaml
from sim.evidence.aliases import (  # noqa: F401 - DEFAULT_ALIASES and state_of_name re-exported
    DEFAULT_ALIASES,
    REPO_ROOT,
    Aliases,
    check_pair,
    load_aliases,
    shared_aliases_for,
    state_of_name,
)
from sim.evidence.citations import SourceChecker, parse_citation

DEFAULT_FOLDER = data_root() / "calibration" / "record"
#: A record folder's own alias file, merged over the shared one (unless record.yaml names another).
RECORD_ALIASES = "aliases.yaml"

#: Type of a chronology entry that has no content about the pair (or any dyad);
#: kept so that counts per window reproduce the chronology, ignored by type counts.
OTHER_TYPE = "other"
PRECISIONS = ("day", "month", "year")
WINDOW_KINDS = ("chronology", "narrative")
OBS_KINDS = ("observation", "target", "derived")

EVENT_COLUMNS = ["id", "start", "end", "precision", "actors", "organisation", "type", "goldstein",
                 "window", "source", "note"]
WINDOW_COLUMNS = ["id", "start", "end", "kind", "source", "first_line", "last_line", "note"]
OBS_COLUMNS = ["id", "quantity", "exporter", "importer", "actors", "unit", "period_start", "period_end",
               "value", "kind", "source", "note"]

META_FILE = "record.yaml"
META_KEYS = ("name", "pair", "description", "sources", "aliases")
SOURCES_KEYS = ("description", "folder", "index")

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PERIOD_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
MAX_CSV_BYTES = 64 * 2**20


# --------------------------------------------------------------------------- reading

def _read_csv(path: Path, columns: list[str]) -> tuple[list[dict], list[int]]:
    """Rows as dicts of stripped strings plus the CSV line number of each row."""
    text = read_text(path, MAX_CSV_BYTES, "CSV file")
    rows, lines = [], []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
        missing = [c for c in columns if c not in header]
        if missing:
            raise UserError(f"missing column(s): {', '.join(missing)}", file=str(path), line=1,
                            path=missing[0])
        for row in reader:
            if None in row:  # more fields than header
                raise UserError("more fields than the header has", file=str(path), line=reader.line_num)
            rows.append({k: (v or "").strip() for k, v in row.items()})
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise UserError(f"malformed CSV: {exc}", file=str(path), line=reader.line_num) from None
    return rows, lines


def _fail(msg: str, path: Path, line: int, column: str):
    raise UserError(msg, file=str(path), line=line, path=column)


def _day(value: str, path: Path, line: int, column: str) -> pd.Timestamp:
    if not _DAY_RE.match(value):
        _fail(f"'{value}' is not a date (YYYY-MM-DD)", path, line, column)
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        _fail(f"'{value}' is not a valid date", path, line, column)


def _period(value: str, path: Path, line: int, column: str, end: bool) -> pd.Timestamp:
    """YYYY, YYYY-MM or YYYY-MM-DD; an end period resolves to its last day."""
    if not _PERIOD_RE.match(value):
        _fail(f"'{value}' is not a period (YYYY, YYYY-MM or YYYY-MM-DD)", path, line, column)
    try:
        if len(value) == 4:
            p = pd.Period(value, freq="Y")
        elif len(value) == 7:
            p = pd.Period(value, freq="M")
        else:
            return pd.Timestamp(value)
    except (ValueError, TypeError):
        _fail(f"'{value}' is not a valid period", path, line, column)
    return p.end_time.normalize() if end else p.start_time


def _ids(value: str) -> list[str]:
    return [a.strip() for a in value.split(";") if a.strip()]


def _check_unique(rows, lines, path):
    seen: dict[str, int] = {}
    for row, line in zip(rows, lines, strict=True):
        rid = row["id"]
        if not rid:
            _fail("empty id", path, line, "id")
        if rid in seen:
            _fail(f"duplicate id '{rid}' (first on line {seen[rid]})", path, line, "id")
        seen[rid] = line


def _check_source(value: str, path: Path, line: int, checker: SourceChecker, column: str = "source"):
    """A row's citation: well formed, and a cited document exists in the sources folder with that line."""
    try:
        cit = parse_citation(value)
    except ValueError as exc:
        _fail(str(exc), path, line, column)
    problem = checker.problem(cit)
    if problem:
        _fail(problem, path, line, column)
    return cit


# --------------------------------------------------------------------------- record

class ObservationTable(pd.DataFrame):
    """The observations DataFrame; calling it filters: ``rec.observations(quantity="trade_total")``."""

    @property
    def _constructor(self):
        return ObservationTable

    def __call__(self, quantity: str | None = None, kind: str | None = None, **equals) -> pd.DataFrame:
        mask = pd.Series(True, index=self.index)
        if quantity is not None:
            mask &= self["quantity"].astype(str) == quantity
        if kind is not None:
            mask &= self["kind"].astype(str) == kind
        for col, val in equals.items():
            if col not in self.columns:
                raise KeyError(col)
            mask &= self[col].astype(str) == str(val)
        return pd.DataFrame(self[mask])


@dataclass
class RecordMeta:
    """The contents of ``record.yaml``."""

    name: str
    pair: tuple[str, str]
    description: str = ""
    sources: dict = field(default_factory=dict)
    path: str = ""
    aliases_file: Path | None = None    # the record's own alias file, merged over the shared one

    @property
    def sources_folder(self) -> Path | None:
        """The folder holding the cited documents (``sources.folder``, relative to record.yaml)."""
        folder = self.sources.get("folder")
        if not folder:
            return None
        return (Path(self.path).parent / folder).resolve()

    @property
    def citation_folder(self) -> Path:
        """Where cited ``FILE:LINE`` documents are looked up: the sources folder, else the record's own."""
        return self.sources_folder or Path(self.path).parent.resolve()


def _record_aliases_file(folder: Path, data: dict, where) -> Path | None:
    """The record-level alias file: ``aliases:`` of record.yaml, else ``aliases.yaml`` beside it if present."""
    declared = data.get("aliases")
    if declared is None:
        own = folder / RECORD_ALIASES
        return own if own.is_file() else None
    file = str(folder / META_FILE)
    if not isinstance(declared, str) or not declared.strip():
        raise UserError("expected a file name", file=file, line=where("aliases"), path="aliases")
    path = folder / declared
    if not path.is_file():
        raise UserError(f"alias file '{declared}' not found (looked at {path})", file=file,
                        line=where("aliases"), path="aliases")
    return path


def _read_meta(folder: Path) -> tuple[dict, object]:
    path = folder / META_FILE
    if not path.exists():
        raise UserError(f"{META_FILE} not found: a record folder declares its name and pair there",
                        file=str(path))
    data, origins = load_yaml(path)

    def where(*p):
        for k in range(len(p), -1, -1):
            if p[:k] in origins:
                return origins[p[:k]][1]
        return None

    if not isinstance(data, dict):
        raise UserError("expected a mapping with name, pair, ...", file=str(path), line=1)
    return data, where


def load_record_meta(folder: str | Path | None = None, aliases: str | Path | Aliases | None = None) -> RecordMeta:
    """Read and validate ``record.yaml`` of a record folder."""
    return _meta_and_aliases(Path(folder) if folder else DEFAULT_FOLDER, aliases)[0]


def record_aliases(folder: str | Path | None = None, aliases: str | Path | Aliases | None = None) -> Aliases:
    """The aliases a record folder uses: the shared file (or ``aliases``) with the record's own merged over it."""
    return _meta_and_aliases(Path(folder) if folder else DEFAULT_FOLDER, aliases)[1]


def _meta_and_aliases(folder: Path, aliases) -> tuple[RecordMeta, Aliases]:
    """record.yaml validated against the aliases it brings (an Aliases object is used as given)."""
    data, where = _read_meta(folder)
    file = str(folder / META_FILE)
    for key in data:
        if key not in META_KEYS:
            raise UserError(f"unknown field '{key}' (known: {', '.join(META_KEYS)})", file=file,
                            line=where(key), path=key)
    own = _record_aliases_file(folder, data, where)
    al = aliases if isinstance(aliases, Aliases) else load_aliases(aliases or shared_aliases_for(folder), own)
    for key in ("name", "pair"):
        if key not in data:
            raise UserError(f"missing field '{key}'", file=file, line=1, path=key)
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise UserError("expected text", file=file, line=where(key), path=key)
    if not data["name"].strip():
        raise UserError("empty name", file=file, line=where("name"), path="name")
    pair = data["pair"]
    if isinstance(pair, list):
        for i, sid in enumerate(pair):
            if isinstance(sid, str) and sid not in al.states:
                raise UserError(f"unknown state id '{sid}' (not in {al.file_names})", file=file,
                                line=where("pair", i), path=format_path(("pair", i)))
    pair = check_pair(pair, al, file=file, line=where("pair"))
    sources = _check_sources_field(data.get("sources") or {}, file, where)
    meta = RecordMeta(data["name"].strip(), pair, str(data.get("description") or "").strip(),
                      dict(sources), file, own)
    return meta, al


def _check_sources_field(sources, file: str, where) -> dict:
    if not isinstance(sources, dict):
        raise UserError("expected a mapping (description, folder, index)", file=file,
                        line=where("sources"), path="sources")
    for key, value in sources.items():
        if key not in SOURCES_KEYS:
            raise UserError(f"unknown field '{key}' (known: {', '.join(SOURCES_KEYS)})", file=file,
                            line=where("sources", key), path=f"sources.{key}")
        if not isinstance(value, str):
            raise UserError("expected text", file=file, line=where("sources", key), path=f"sources.{key}")
    return sources


@dataclass
class Record:
    events: pd.DataFrame
    windows: pd.DataFrame
    observations: ObservationTable
    aliases: Aliases = field(repr=False, default=None)
    folder: str = ""
    meta: RecordMeta | None = None
    #: why cited documents could not be checked ("" when they were)
    sources_unchecked: str = ""

    @property
    def content_hash(self) -> str:
        """SHA-256 over the record's files, so a score says which version of the record it used."""
        import hashlib
        h = hashlib.sha256()
        files = [Path(self.folder) / name for name in ("record.yaml", "windows.csv", "events.csv", "observations.csv")]
        if self.meta is not None and self.meta.aliases_file is not None:
            files.append(self.meta.aliases_file)
        for f in files:
            if f.exists():
                h.update(f.name.encode() + b"\0" + f.read_bytes())
        return h.hexdigest()

    @property
    def pair(self) -> tuple[str, str]:
        """The two states the record is about (from ``record.yaml``)."""
        if self.meta is None:
            raise UserError("this record has no record.yaml, so no pair; pass actors explicitly")
        return self.meta.pair

    @property
    def name(self) -> str:
        return self.meta.name if self.meta else ""

    @property
    def sources_folder(self) -> Path | None:
        return self.meta.sources_folder if self.meta else None

    # -- events
    def events_in_window(self, window_id: str) -> pd.DataFrame:
        if window_id not in set(self.windows["id"]):
            raise UserError(f"unknown window '{window_id}'", path="window")
        return self.events[self.events["window"].astype(str) == window_id].reset_index(drop=True)

    def involving(self, actors=None, events: pd.DataFrame | None = None) -> pd.DataFrame:
        """Events whose actor list contains every id in ``actors`` (default: the record's pair)."""
        ev = self.events if events is None else events
        need = set(self.pair if actors is None else actors)
        mask = ev["actors"].map(lambda s: need.issubset(_ids(s)))
        return ev[mask]

    def event_counts(self, actors=None, windows=None, include_other: bool = False) -> pd.DataFrame:
        """Counts per window x type of events whose actors include all of ``actors``
        (default: the record's pair).

        ``windows`` defaults to the chronology windows only (the narrative pseudo-window
        is selective and not a count). Every taxonomy type appears as a column, zeros
        included, so the frame lines up with simulated counts.
        """
        if windows is None:
            windows = list(self.windows.loc[self.windows["kind"] == "chronology", "id"].astype(str))
        ev = self.involving(actors)
        ev = ev[ev["window"].astype(str).isin(windows)]
        types = list(EVENT_TYPES) + ([OTHER_TYPE] if include_other else [])
        table = pd.crosstab(ev["window"].astype(str), ev["type"].astype(str))
        table = table.reindex(index=list(windows), columns=types, fill_value=0).fillna(0).astype(int)
        table.index.name, table.columns.name = "window", "type"
        return table



def load_record(folder: str | Path | None = None, aliases: str | Path | Aliases | None = None) -> Record:
    """Read and validate a record folder. ``aliases``: the shared alias file (or an Aliases object used
    as given); the record's own alias file is merged over a file, never over an object."""
    folder = Path(folder) if folder else DEFAULT_FOLDER
    if not folder.is_dir():
        raise UserError("record folder not found", file=str(folder))
    meta, al = _meta_and_aliases(folder, aliases)
    checker = SourceChecker(meta.citation_folder)
    windows = _load_windows(folder / "windows.csv", checker)
    events = _load_events(folder / "events.csv", windows, al, checker)
    observations = _load_observations(folder / "observations.csv", al, checker)
    return Record(events, windows, observations, al, str(folder), meta, checker.unchecked)


def _chronology_lines(row: dict, path: Path, line: int, checker: SourceChecker):
    """First and last line of a chronology window's document (NA for a window cited otherwise)."""
    src = row["source"]
    if not src:
        _fail("a chronology window names its source: the file holding the chronology (with first_line and "
              "last_line), or 'dataset: NAME; TABLE; YEAR' or 'assumption: WHY'", path, line, "source")
    if src.split(":", 1)[0].strip().lower() in ("dataset", "assumption") and ":" in src:
        _check_source(src, path, line, checker)
        return pd.NA, pd.NA
    for col in ("first_line", "last_line"):
        if not row[col].isdigit():
            _fail(f"'{row[col]}' is not a line number", path, line, col)
    first, last = int(row["first_line"]), int(row["last_line"])
    if last < first:
        _fail("last_line is before first_line", path, line, "last_line")
    _check_source(f"{src}:{first}-{last}", path, line, checker)
    return first, last


def _load_windows(path: Path, checker: SourceChecker) -> pd.DataFrame:
    rows, lines = _read_csv(path, WINDOW_COLUMNS)
    _check_unique(rows, lines, path)
    out = []
    for row, line in zip(rows, lines, strict=True):
        start = _day(row["start"], path, line, "start")
        end = _day(row["end"], path, line, "end")
        if end < start:
            _fail(f"end {row['end']} is before start {row['start']}", path, line, "end")
        if row["kind"] not in WINDOW_KINDS:
            _fail(f"kind '{row['kind']}' is not one of {', '.join(WINDOW_KINDS)}", path, line, "kind")
        first = last = pd.NA
        if row["kind"] == "chronology":
            first, last = _chronology_lines(row, path, line, checker)
        out.append({**row, "start": start, "end": end, "first_line": first, "last_line": last,
                    "csv_line": line})
    df = pd.DataFrame(out, columns=WINDOW_COLUMNS + ["csv_line"])
    df["first_line"] = df["first_line"].astype("Int64")
    df["last_line"] = df["last_line"].astype("Int64")
    df["kind"] = pd.Categorical(df["kind"], categories=list(WINDOW_KINDS))
    return df


def _load_events(path: Path, windows: pd.DataFrame, al: Aliases, checker: SourceChecker) -> pd.DataFrame:
    rows, lines = _read_csv(path, EVENT_COLUMNS)
    _check_unique(rows, lines, path)
    win = windows.set_index("id")
    out = []
    for row, line in zip(rows, lines, strict=True):
        start = _day(row["start"], path, line, "start")
        end = _day(row["end"] or row["start"], path, line, "end")
        if end < start:
            _fail(f"end {row['end']} is before start {row['start']}", path, line, "end")
        if row["precision"] not in PRECISIONS:
            _fail(f"precision '{row['precision']}' is not one of {', '.join(PRECISIONS)}", path, line, "precision")
        actors = _ids(row["actors"])
        if not actors:
            _fail("no actors", path, line, "actors")
        for a in actors:
            if a not in al.states:
                _fail(f"unknown actor '{a}' (not in {al.file_names})", path, line, "actors")
        org = row["organisation"]
        if org and org not in al.organisations:
            _fail(f"unknown organisation '{org}' (not in {al.file_names})", path, line, "organisation")
        etype = row["type"]
        if etype != OTHER_TYPE and etype not in EVENT_TYPES:
            _fail(f"unknown event type '{etype}' (see sim/core/taxonomy.py)", path, line, "type")
        expected = EVENT_TYPES[etype].goldstein if etype in EVENT_TYPES else float("nan")
        if row["goldstein"]:
            try:
                g = float(row["goldstein"])
            except ValueError:
                _fail(f"'{row['goldstein']}' is not a number", path, line, "goldstein")
            if etype in EVENT_TYPES and abs(g - expected) > 1e-9:
                _fail(f"goldstein {g} differs from the weight of '{etype}' ({expected})", path, line, "goldstein")
        wid = row["window"]
        if wid not in win.index:
            _fail(f"unknown window '{wid}' (not in windows.csv)", path, line, "window")
        w = win.loc[wid]
        if w["kind"] == "chronology" and (start < w["start"] or end > w["end"]):
            _fail(f"event {row['start']}..{row['end']} lies outside window {wid} "
                  f"({w['start']:%Y-%m-%d}..{w['end']:%Y-%m-%d})", path, line, "start")
        _check_source(row["source"], path, line, checker)
        out.append({**row, "start": start, "end": end, "goldstein": expected, "csv_line": line})
    df = pd.DataFrame(out, columns=EVENT_COLUMNS + ["csv_line"])
    df["precision"] = pd.Categorical(df["precision"], categories=list(PRECISIONS))
    df["type"] = pd.Categorical(df["type"], categories=list(EVENT_TYPES) + [OTHER_TYPE])
    df["organisation"] = pd.Categorical(df["organisation"].replace("", pd.NA),
                                        categories=sorted(al.organisations))
    df["window"] = pd.Categorical(df["window"], categories=list(windows["id"]))
    df["goldstein"] = df["goldstein"].astype(float)
    return df


def _load_observations(path: Path, al: Aliases, checker: SourceChecker) -> ObservationTable:
    rows, lines = _read_csv(path, OBS_COLUMNS)
    _check_unique(rows, lines, path)
    out = []
    for row, line in zip(rows, lines, strict=True):
        if not row["quantity"]:
            _fail("empty quantity", path, line, "quantity")
        if not row["unit"]:
            _fail("empty unit", path, line, "unit")
        for col in ("exporter", "importer"):
            if row[col] and row[col] not in al.states:
                _fail(f"unknown actor '{row[col]}'", path, line, col)
        for a in _ids(row["actors"]):
            if a not in al.states:
                _fail(f"unknown actor '{a}'", path, line, "actors")
        start = _period(row["period_start"], path, line, "period_start", end=False)
        end = _period(row["period_end"] or row["period_start"], path, line, "period_end", end=True)
        if end < start:
            _fail(f"period_end {row['period_end']} is before period_start {row['period_start']}",
                  path, line, "period_end")
        try:
            value = float(row["value"])
        except ValueError:
            _fail(f"'{row['value']}' is not a number", path, line, "value")
        if value != value:  # NaN
            _fail("value is NaN", path, line, "value")
        if row["kind"] not in OBS_KINDS:
            _fail(f"kind '{row['kind']}' is not one of {', '.join(OBS_KINDS)}", path, line, "kind")
        _check_source(row["source"], path, line, checker)
        out.append({**row, "period_start": start, "period_end": end, "value": value, "csv_line": line})
    df = pd.DataFrame(out, columns=OBS_COLUMNS + ["csv_line"])
    for col in ("quantity", "unit"):
        df[col] = df[col].astype("category")
    df["kind"] = pd.Categorical(df["kind"], categories=list(OBS_KINDS))
    df["value"] = df["value"].astype(float)
    return ObservationTable(df)
