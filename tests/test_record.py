"""Historical record: loader validation, helpers and provenance of every row."""

from __future__ import annotations

import csv
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.core.errors import UserError
from sim.core.taxonomy import EVENT_TYPES
from sim.evidence.record import DEFAULT_FOLDER, REPO_ROOT, load_aliases, load_record, load_record_meta


def seeds_folder() -> Path:
    """DYADSIM_SEEDS, else the source folder record.yaml names."""
    if os.environ.get("DYADSIM_SEEDS"):
        return Path(os.environ["DYADSIM_SEEDS"])
    return load_record_meta().sources_folder or REPO_ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="module")
def record():
    return load_record()


# --------------------------------------------------------------------------- loader on the real record

def test_record_loads_with_typed_columns(record):
    ev, win, obs = record.events, record.windows, record.observations
    assert pd.api.types.is_datetime64_any_dtype(ev["start"]) and pd.api.types.is_datetime64_any_dtype(ev["end"])
    assert isinstance(ev["type"].dtype, pd.CategoricalDtype)
    assert pd.api.types.is_datetime64_any_dtype(obs["period_start"])
    assert obs["value"].dtype == float
    assert (ev["end"] >= ev["start"]).all()
    assert set(win["id"]) >= {"chron_2000q3", "chron_2011q1", "chron_2012q4", "chron_2017q4", "narrative"}
    typed = ev[ev["type"].astype(str).isin(EVENT_TYPES)]
    assert (typed["goldstein"] == typed["type"].astype(str).map(lambda t: EVENT_TYPES[t].goldstein)).all()


def test_chronology_counts_per_window(record):
    # one row per dated chronology entry (see docs/record.md)
    sizes = record.events.groupby("window", observed=True).size()
    assert sizes["chron_2000q3"] == 26
    assert sizes["chron_2011q1"] == 15
    assert sizes["chron_2012q4"] == 12
    assert sizes["chron_2017q4"] == 29


def test_helpers(record):
    w = record.events_in_window("chron_2012q4")
    assert len(w) == 12 and w["start"].min() >= pd.Timestamp("2012-09-01")
    assert record.pair == ("china", "russia")
    counts = record.event_counts(actors=("china", "russia"))
    assert counts.equals(record.event_counts())                 # the default is the record's pair
    assert list(counts.columns) == list(EVENT_TYPES)
    assert counts.loc["chron_2017q4", "leader_meeting"] == 4
    # Putin-Clinton call (2000) does not involve China, so the dyad count excludes it
    assert counts.loc["chron_2000q3", "phone_call"] == 1
    trade = record.observations(quantity="trade_total", actors="china;russia", kind="observation")
    by_year = {r.period_start.year: r.value for r in trade.itertuples() if r.period_end.month == 12
               and r.period_start.month == 1}
    assert by_year[1999] == 5 and by_year[2010] == 55 and by_year[2014] == 95 and by_year[2016] == 69.5
    target = record.observations(quantity="trade_total", kind="target")
    assert target["value"].tolist() == [100]
    h1 = record.observations(quantity="trade_total").set_index("id").loc["trade_h1_2000"]
    assert h1["period_start"] == pd.Timestamp("2000-01-01") and h1["period_end"] == pd.Timestamp("2000-06-30")
    with pytest.raises(UserError):
        record.events_in_window("nope")


def test_aliases_cover_required_ids():
    al = load_aliases()
    for sid in ["china", "russia", "usa", "japan", "india", "kazakhstan", "kyrgyzstan", "tajikistan", "uzbekistan",
                "pakistan", "mongolia", "iran", "afghanistan", "belarus", "armenia", "brazil", "south_africa",
                "north_korea", "south_korea", "vietnam"]:
        assert sid in al.states
    for oid in ["sco", "brics", "apec", "eaeu", "csto", "un", "cis", "asean", "g20", "ric", "eef"]:
        assert oid in al.organisations
    assert "Shanghai Five" in al.organisations["sco"] and "BRIC" in al.organisations["brics"]
    for name in ["Putin", "Medvedev", "Lavrov", "Shoigu", "Kasyanov", "Ivanov"]:
        assert name in al.states["russia"]
    for name in ["Jiang", "Hu", "Xi", "Wang Yi", "Li Keqiang", "Wen Jiabao", "Zhu Rongji", "Chang Wanquan",
                 "Yang Jiechi", "Dai Bingguo"]:
        assert name in al.states["china"]


# --------------------------------------------------------------------------- loader on bad input

@pytest.fixture()
def bad_folder(tmp_path):
    dst = tmp_path / "record"
    shutil.copytree(DEFAULT_FOLDER, dst)
    return dst


def _edit(path: Path, row_index: int, column: str, value: str) -> int:
    """Set one cell; return the CSV line number of that row (header = line 1)."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0].keys())
    rows[row_index][column] = value
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return row_index + 2


def _expect(folder: Path, fname: str, line: int, column: str):
    with pytest.raises(UserError) as info:
        load_record(folder)
    msg = str(info.value)
    assert fname in msg and f":{line}" in msg and column in msg, msg
    assert info.value.line == line and info.value.path == column
    return msg


def test_duplicate_id(bad_folder):
    first = list(csv.DictReader((bad_folder / "events.csv").open()))[0]["id"]
    line = _edit(bad_folder / "events.csv", 5, "id", first)
    assert "duplicate" in _expect(bad_folder, "events.csv", line, "id")


def test_end_before_start(bad_folder):
    line = _edit(bad_folder / "events.csv", 3, "end", "2000-07-01")
    assert "before" in _expect(bad_folder, "events.csv", line, "end")


def test_invalid_date(bad_folder):
    line = _edit(bad_folder / "events.csv", 2, "start", "2000-02-30")
    _expect(bad_folder, "events.csv", line, "start")


def test_unknown_type(bad_folder):
    line = _edit(bad_folder / "events.csv", 7, "type", "hug")
    assert "hug" in _expect(bad_folder, "events.csv", line, "type")


def test_unknown_actor(bad_folder):
    line = _edit(bad_folder / "events.csv", 9, "actors", "china;atlantis")
    assert "atlantis" in _expect(bad_folder, "events.csv", line, "actors")


def test_unknown_organisation(bad_folder):
    line = _edit(bad_folder / "events.csv", 9, "organisation", "nato2")
    _expect(bad_folder, "events.csv", line, "organisation")


def test_event_outside_its_window(bad_folder):
    line = _edit(bad_folder / "events.csv", 0, "start", "2000-06-20")
    assert "outside window" in _expect(bad_folder, "events.csv", line, "start")


def test_non_numeric_value(bad_folder):
    line = _edit(bad_folder / "observations.csv", 4, "value", "about five")
    assert "not a number" in _expect(bad_folder, "observations.csv", line, "value")


def test_bad_period_and_kind(bad_folder, tmp_path):
    line = _edit(bad_folder / "observations.csv", 1, "period_end", "2000-13")
    _expect(bad_folder, "observations.csv", line, "period_end")


def test_bad_window_row(bad_folder):
    line = _edit(bad_folder / "windows.csv", 1, "end", "2010-01-01")
    _expect(bad_folder, "windows.csv", line, "end")


def test_missing_column(bad_folder):
    path = bad_folder / "observations.csv"
    text = path.read_text().replace(",unit,", ",units,", 1)
    path.write_text(text)
    with pytest.raises(UserError) as info:
        load_record(bad_folder)
    assert "observations.csv:1" in str(info.value) and "unit" in str(info.value)


def test_missing_folder(tmp_path):
    with pytest.raises(UserError):
        load_record(tmp_path / "absent")


# --------------------------------------------------------------------------- provenance

MONTHS = {
    1: ["Jan", "January"], 2: ["Feb", "February"], 3: ["Mar", "March"], 4: ["Apr", "April"], 5: ["May"],
    6: ["Jun", "June"], 7: ["Jul", "July"], 8: ["Aug", "August"], 9: ["Sep", "Sept", "September"],
    10: ["Oct", "October"], 11: ["Nov", "November"], 12: ["Dec", "December"],
}
WORDS = {1: ["one", "first"], 2: ["two", "second"], 3: ["three", "third"], 4: ["four", "fourth"],
         5: ["five", "fifth"], 6: ["six", "sixth"], 7: ["seven", "seventh"], 8: ["eight", "eighth"],
         9: ["nine", "ninth"], 10: ["ten", "tenth"], 11: ["eleven", "eleventh"], 12: ["twelve", "twelfth"],
         50: ["half"]}


class Seeds:
    def __init__(self, folder: Path):
        self.folder = folder
        self._cache: dict[str, list[str]] = {}

    def line(self, source: str) -> str:
        fname, num = source.rsplit(":", 1)
        if fname not in self._cache:
            path = self.folder / fname
            assert path.exists(), f"cited document {fname} not in {self.folder}"
            self._cache[fname] = path.read_text(encoding="utf-8").splitlines()
        lines = self._cache[fname]
        n = int(num)
        assert 1 <= n <= len(lines), f"{source}: line out of range"
        return lines[n - 1]


@pytest.fixture(scope="module")
def seeds():
    folder = seeds_folder()
    if not folder.is_dir():
        pytest.skip(f"seed documents not found at {folder} (set DYADSIM_SEEDS to the folder holding "
                    "000_*.txt..004_*.txt); provenance cannot be checked")
    return Seeds(folder)


def _has_month(text: str, month: int) -> bool:
    return any(re.search(rf"\b{m}\b", text) for m in MONTHS[month])


def _has_int(text: str, n: int) -> bool:
    return re.search(rf"(?<![\d.]){n}(?!\d)", text) is not None


def _normalise(text: str) -> str:
    text = text.replace("\\", "")
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def _number_forms(v: float) -> list[str]:
    forms = []
    for x in (v, v * 1000, v / 1000):
        if abs(x - round(x)) < 1e-9:
            forms.append(str(int(round(x))))
        else:
            forms.append(f"{x:g}")
    return forms


def _has_number(text: str, v: float) -> bool:
    text = _normalise(text)
    for form in _number_forms(abs(v)):
        if re.search(rf"(?<![\d.]){re.escape(form)}(?![\d]|\.\d)", text):
            return True
    if abs(v - round(v)) < 1e-9 and int(round(v)) in WORDS:
        return any(re.search(rf"\b{w}\b", text, re.IGNORECASE) for w in WORDS[int(round(v))])
    return False


def test_event_provenance(record, seeds):
    problems = []
    for ev in record.events.itertuples():
        text = seeds.line(ev.source)
        s, e = ev.start, ev.end
        ok = True
        if ev.precision == "day":
            ok = _has_month(text, s.month) and _has_int(text, s.day)
            if ok and e != s:
                ok = _has_int(text, e.day) and (e.month == s.month or _has_month(text, e.month))
            if ok and str(ev.window) != "narrative":
                # a chronology entry starts with its own date
                ok = any(text.lstrip().startswith(m) for m in MONTHS[s.month]) and _has_int(text, s.year)
        elif ev.precision == "month":
            ok = _has_month(text, s.month) and _has_int(text, s.year)
        else:
            ok = _has_int(text, s.year)
        if not ok:
            problems.append(f"{ev.id}: {ev.source} lacks {s:%Y-%m-%d}..{e:%Y-%m-%d} ({ev.precision})")
    assert not problems, "\n".join(problems)


def test_chronology_events_cite_their_window_lines(record):
    win = record.windows.set_index("id")
    for ev in record.events.itertuples():
        if str(ev.window) == "narrative":
            continue
        w = win.loc[str(ev.window)]
        fname, num = ev.source.rsplit(":", 1)
        assert fname == w["source"], ev.id
        assert w["first_line"] <= int(num) <= w["last_line"], ev.id


def test_observation_provenance(record, seeds):
    problems = []
    for ob in record.observations.itertuples():
        text = seeds.line(ob.source)
        assert text.strip(), f"{ob.id}: {ob.source} is blank"
        if ob.kind == "derived":
            continue  # computed from figures on the cited line; see its note
        if not _has_number(text, ob.value):
            problems.append(f"{ob.id}: {ob.source} lacks {ob.value:g}")
    assert not problems, "\n".join(problems)


def test_window_lines_are_the_chronology(record, seeds):
    for w in record.windows.itertuples():
        if w.kind != "chronology":
            continue
        first = seeds.line(f"{w.source}:{w.first_line}")
        last = seeds.line(f"{w.source}:{w.last_line}")
        assert re.match(r"^[A-Z][a-z]+\.? \d", first) and re.match(r"^[A-Z][a-z]+\.? \d", last)
