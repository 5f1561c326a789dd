"""The record and the importer work for any pair of states, not only the first case.

* a synthetic chronology of another pair is parsed with that pair's actors, dates and types;
* a synthetic record folder of another pair loads and counts that pair by default;
* record.yaml is validated with file, line and field;
* no code token in sim/**/*.py names the first case's states, capitals or leaders.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.core.errors import UserError
from sim.core.taxonomy import EVENT_TYPES
from sim.evidence.chronology import find_headings, heading_pair, parse_chronology
from sim.evidence.record import REPO_ROOT, load_aliases, load_record, load_record_meta


def T(s):
    return pd.Timestamp(s)


# --------------------------------------------------------------------------- importer, another pair

JAPAN_CHINA = """Some narrative about the East China Sea.

**Chronology of Japan-China Relations**
September \u2013 December 2012

Sept. 25, 2012: Prime Minister Noda meets President Hu Jintao on the sidelines of the APEC
meeting in Vladivostok.

Oct. 3-4, 2012: A vice foreign minister visits Beijing.

Nov. 5: China protests the purchase of the disputed islands.

Nov 20 \u2013 21, 2012: Chinese and Japanese officials hold talks on fisheries.

Dec. 26, 2012: Prime Minister Abe visits China.

Chronology of US-China Relations
Sept. 26, 2012: This entry belongs to the next chapter and is not read.
"""


def test_synthetic_chronology_of_another_pair():
    events, uncoded = parse_chronology(JAPAN_CHINA, "jc.txt", windows=None)
    assert events.attrs["pair"] == ("japan", "china")
    assert uncoded == []
    assert len(events) == 5                              # the next chapter's heading ends the section
    assert list(events["start"]) == [T("2012-09-25"), T("2012-10-03"), T("2012-11-05"), T("2012-11-20"),
                                     T("2012-12-26")]
    assert list(events["end"]) == [T("2012-09-25"), T("2012-10-04"), T("2012-11-05"), T("2012-11-21"),
                                   T("2012-12-26")]
    assert list(events["type"]) == ["leader_meeting", "visit", "friction", "consultation", "leader_meeting"]
    actors = [set(a.split(";")) for a in events["actors"]]
    assert all(a == {"japan", "china"} for a in actors)   # entries naming one side get the partner
    assert events.loc[0, "organisation"] == "apec"
    assert events.loc[0, "source"] == "jc.txt:6"
    assert list(events["window"].unique()) == ["chron_2012q3"]


def test_other_pair_does_not_borrow_the_project_records_windows():
    # the project record (another pair) has a window covering Sept-Dec 2012; it must not be used
    events, _ = parse_chronology(JAPAN_CHINA, "jc.txt")
    assert set(events["window"]) == {"chron_2012q3"}


def test_en_dash_heading_and_leaders_of_the_pair():
    text = ("Chronology of India\u2013Russia Relations January \u2013 April 2011\n\n"
            "Jan. 14, 2011: Prime Minister Manmohan Singh has a telephone conversation with President Medvedev.\n\n"
            "Feb. 2: Prime Minister Manmohan Singh visits Moscow.\n\n"
            "March 17-18: Indian and Russian navies hold a joint exercise.\n")
    events, uncoded = parse_chronology(text, "ir.txt", windows=None)
    assert events.attrs["pair"] == ("india", "russia") and uncoded == []
    assert list(events["type"]) == ["phone_call", "leader_meeting", "military_exercise"]
    assert list(events["start"]) == [T("2011-01-14"), T("2011-02-02"), T("2011-03-17")]
    assert all(set(a.split(";")) == {"india", "russia"} for a in events["actors"])


@pytest.mark.parametrize("heading,pair", [
    ("Chronology of US-China Relations", ("usa", "china")),
    ("Chronology of U.S.\u2013Japan Relations July-September 2000", ("usa", "japan")),
    ("Chronology of Japan-Korea Relations", ("japan", "south_korea")),
    ("** Chronology of Korea \u2014 China Relations **", ("south_korea", "china")),
    ("Chronology of Sino-Russian Relations", ("china", "russia")),
    ("Chronology of China - Russia Relations", ("china", "russia")),
])
def test_heading_names_resolve_through_aliases(heading, pair):
    al = load_aliases()
    (h,) = find_headings(f"intro\n{heading}\nJan. 1, 2011: text\n")
    assert h.index == 1 and heading_pair(h, al) == pair


def test_pair_argument_heading_and_errors():
    body = "Jan. 14, 2011: Prime Minister Modi meets President Putin.\n"
    # no heading: the pair must be given
    with pytest.raises(UserError) as info:
        parse_chronology(body, "x.txt", windows=None)
    assert "--pair" in str(info.value) and info.value.path == "pair"
    events, _ = parse_chronology(body, "x.txt", pair="india,russia", windows=None)
    assert events.attrs["pair"] == ("india", "russia") and events.loc[0, "type"] == "leader_meeting"
    # a heading name the aliases do not know
    with pytest.raises(UserError) as info:
        parse_chronology("Chronology of US-Southeast Asia Relations 2011\n" + body, "x.txt", windows=None)
    assert "Southeast Asia" in str(info.value)
    # ... which the pair argument overrides
    events, _ = parse_chronology("Chronology of US-Southeast Asia Relations 2011\n" + body, "x.txt",
                                 pair=("usa", "vietnam"), windows=None)
    assert events.attrs["pair"] == ("usa", "vietnam")
    # the pair argument picks its chapter among several
    two = ("Chronology of US-China Relations 2011\nJan. 3, 2011: Obama phones Hu.\n"
           "Chronology of India-Russia Relations 2011\n" + body)
    events, _ = parse_chronology(two, "x.txt", pair=("russia", "india"), windows=None)
    assert list(events["start"]) == [T("2011-01-14")] and events.attrs["pair"] == ("russia", "india")
    # a pair the text has no chronology of, and ids the aliases do not know
    with pytest.raises(UserError):
        parse_chronology(two, "x.txt", pair=("japan", "india"), windows=None)
    with pytest.raises(UserError) as info:
        parse_chronology(body, "x.txt", pair=("india", "atlantis"), windows=None)
    assert "atlantis" in str(info.value)


def test_cli_import_with_pair(tmp_path, capsys):
    src = tmp_path / "chron.txt"
    src.write_text("Jan. 14, 2011: Prime Minister Modi meets President Putin.\n", encoding="utf-8")
    assert main(["import-chronology", str(src)]) == 2
    assert "--pair" in capsys.readouterr().err
    out = tmp_path / "rows.csv"
    assert main(["import-chronology", str(src), "--pair", "india,russia", "--out", str(out)]) == 0
    assert "india-russia" in capsys.readouterr().out
    assert pd.read_csv(out).loc[0, "actors"] == "india;russia"


# --------------------------------------------------------------------------- record folder, another pair

RECORD_YAML = """name: India-Russia test record
pair: [india, russia]
description: synthetic
sources:
  folder: docs
  index: INDEX.md
"""
WINDOWS_CSV = """id,start,end,kind,source,first_line,last_line,note
chron_2011q1,2011-01-01,2011-03-31,chronology,ir.txt,3,9,test window
narrative,2000-01-01,2011-12-31,narrative,,,,selective facts
"""
EVENTS_CSV = """id,start,end,precision,actors,organisation,type,goldstein,window,source,note
chron_2011q1_01,2011-01-14,2011-01-14,day,india;russia,,phone_call,1.0,chron_2011q1,ir.txt:3,call
chron_2011q1_02,2011-02-02,2011-02-03,day,india;russia,,leader_meeting,,chron_2011q1,ir.txt:5,visit of PM
chron_2011q1_03,2011-03-01,2011-03-01,day,china;russia,sco,multilateral_meeting,,chron_2011q1,ir.txt:7,not the pair
chron_2011q1_04,2011-03-17,2011-03-18,day,russia;india,,military_exercise,,chron_2011q1,ir.txt:9,exercise
narr_01,2005-01-01,2005-12-31,year,india;russia,,military_exercise,,narrative,ir.txt:1,first exercise
"""
OBS_CSV = """id,quantity,exporter,importer,actors,unit,period_start,period_end,value,kind,source,note
trade_2010,trade_total,,,india;russia,bn USD,2010,2010,8.5,observation,ir.txt:2,trade
"""


@pytest.fixture()
def other_folder(tmp_path):
    folder = tmp_path / "record"
    folder.mkdir()
    for name, text in [("record.yaml", RECORD_YAML), ("windows.csv", WINDOWS_CSV), ("events.csv", EVENTS_CSV),
                       ("observations.csv", OBS_CSV)]:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_synthetic_record_of_another_pair(other_folder):
    rec = load_record(other_folder)
    assert rec.pair == ("india", "russia") and rec.name == "India-Russia test record"
    assert rec.sources_folder == (other_folder / "docs").resolve()
    assert list(rec.involving()["id"]) == ["chron_2011q1_01", "chron_2011q1_02", "chron_2011q1_04", "narr_01"]
    counts = rec.event_counts()
    assert list(counts.index) == ["chron_2011q1"] and list(counts.columns) == list(EVENT_TYPES)
    assert counts.loc["chron_2011q1"].sum() == 3                   # china;russia row and narrative left out
    assert counts.loc["chron_2011q1", "leader_meeting"] == 1
    assert counts.loc["chron_2011q1", "multilateral_meeting"] == 0
    assert rec.event_counts(actors=("china", "russia")).loc["chron_2011q1", "multilateral_meeting"] == 1


def test_record_cli_reports_the_records_pair(other_folder, tmp_path, capsys):
    out = tmp_path / "summary.json"
    assert main(["record", "--folder", str(other_folder), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "india-russia" in text
    summary = json.loads(out.read_text())
    assert summary["pair"] == ["india", "russia"]
    assert summary["pair_counts"] == {"chron_2011q1": {"phone_call": 1, "leader_meeting": 1,
                                                       "military_exercise": 1}}


def test_project_record_declares_its_pair():
    meta = load_record_meta()
    assert len(meta.pair) == 2 and meta.name
    assert load_record().event_counts().equals(load_record().event_counts(actors=meta.pair))


@pytest.mark.parametrize("yaml_text,line,path,words", [
    ("name: x\npair:\n  - india\n  - atlantis\n", 4, "pair[1]", "atlantis"),
    ("name: x\npair: [india, atlantis]\n", 2, "pair[1]", "atlantis"),
    ("name: x\npair: [india]\n", 2, "pair", "two state ids"),
    ("name: x\npair: [india, india]\n", 2, "pair", "twice"),
    ("name: x\n", 1, "pair", "missing"),
    ("name: x\npair: [india, russia]\ncolour: red\n", 3, "colour", "unknown field"),
    ("name: x\npair: [india, russia]\nsources:\n  folder: docs\n  shelf: 3\n", 5, "sources.shelf", "unknown field"),
    ("name: [x]\npair: [india, russia]\n", 1, "name", "expected text"),
])
def test_record_yaml_validation(other_folder, yaml_text, line, path, words):
    meta = other_folder / "record.yaml"
    meta.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_record(other_folder)
    err = info.value
    assert err.file == str(meta) and err.line == line and err.path == path, str(err)
    assert words in str(err) and f"record.yaml:{line}" in str(err)


def test_record_yaml_missing(other_folder):
    (other_folder / "record.yaml").unlink()
    with pytest.raises(UserError) as info:
        load_record(other_folder)
    assert "record.yaml" in str(info.value)


# --------------------------------------------------------------------------- no pair in the code

BANNED = {"china", "russia", "beijing", "moscow", "putin", "jiang", "xi", "medvedev"}


def _docstring_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of string expressions used as statements (docstrings)."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            spans.append(((node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)))
    return spans


def _words(token: str) -> set[str]:
    # split on everything but letters, and at camelCase humps: "china_russia", "ChinaRussia"
    token = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", token)
    return {w.lower() for w in re.findall(r"[A-Za-z]+", token)}


def pair_mentions(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    spans = _docstring_spans(source)
    hits = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.NAME, tokenize.STRING):
            continue
        if tok.type == tokenize.STRING and any(a <= tok.start and tok.end <= b for a, b in spans):
            continue
        bad = _words(tok.string) & BANNED
        if bad:
            hits.append(f"{path.name}:{tok.start[0]}: {', '.join(sorted(bad))} in {tok.string[:60]}")
    return hits


def test_the_checker_sees_code_not_docstrings(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('"""About China."""\n# Russia in a comment\n\ndef f(x):\n    """Putin."""\n'
                     '    return x.get("china") + xiMax + chinaRussia\n\nMAXIMUM = "exit"\n')
    hits = pair_mentions(probe)
    assert [h.split(":")[1] for h in hits] == ["6", "6", "6"], hits      # "china", xiMax, chinaRussia


def test_no_code_names_the_first_pair():
    files = sorted((REPO_ROOT / "sim").rglob("*.py"))
    assert len(files) > 10
    hits = [h for f in files for h in pair_mentions(f)]
    assert not hits, "code names states of the first case:\n" + "\n".join(hits)
