"""Chronology importer: date formats, splitting, coding, agreement with the curated record, CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.evidence.chronology import parse_chronology, parse_date, split_entries
from sim.evidence.record import REPO_ROOT, load_record

WINDOWS = {
    "chron_2000q3": "001_e7aa02c26cd915e1.txt",
    "chron_2011q1": "003_3886cf81219507be.txt",
    "chron_2012q4": "000_75864654e862cb18.txt",
    "chron_2017q4": "002_38276b7c24a0592b.txt",
}
# Measured type agreement (importer vs curated), rounded down; the keyword rules were
# written while coding these same chronologies, so this is in-sample agreement.
TYPE_AGREEMENT_MIN = 0.9


def T(s):
    return pd.Timestamp(s)


# --------------------------------------------------------------------------- date formats

@pytest.mark.parametrize("text,start,end", [
    ("Sept. 7, 2012:", "2012-09-07", "2012-09-07"),
    ("Dec. 4-5, 2012:", "2012-12-04", "2012-12-05"),
    ("July 24-31, 2000:", "2000-07-24", "2000-07-31"),
    ("Oct. 31-Nov. 2, 2017:", "2017-10-31", "2017-11-02"),
    ("Sept. 11-19, 2000:", "2000-09-11", "2000-09-19"),
    ("Jan. 1, 2011:", "2011-01-01", "2011-01-01"),
    ("Feb. 14, 2011:", "2011-02-14", "2011-02-14"),
    ("March 17, 2011:", "2011-03-17", "2011-03-17"),
    ("April 13-14, 2011:", "2011-04-13", "2011-04-14"),
    ("May 9, 2015:", "2015-05-09", "2015-05-09"),
    ("June 5-6, 2000:", "2000-06-05", "2000-06-06"),
    ("Aug. 22-24, 2000:", "2000-08-22", "2000-08-24"),
    ("Nov. 20-21, 2012:", "2012-11-20", "2012-11-21"),
    ("Sept 3 \u2013 5, 2017:", "2017-09-03", "2017-09-05"),
    ("Dec. 30-Jan. 2, 2016:", "2016-12-30", "2017-01-02"),
])
def test_date_formats(text, start, end):
    assert parse_date(text) == (T(start), T(end))


def test_date_without_year_uses_default():
    assert parse_date("Oct. 12:", default_year=2012) == (T("2012-10-12"), T("2012-10-12"))
    with pytest.raises(ValueError):
        parse_date("Oct. 12:")
    with pytest.raises(ValueError):
        parse_date("Octember 12, 2012:")
    with pytest.raises(ValueError):
        parse_date("Feb. 30, 2012:")


SAMPLE = """Some narrative text that mentions Sept. 7 in passing.

Chronology of China - Russia Relations

September \u2014 December 2012


Sept. 7, 2012: President Hu Jintao meets President Vladimir Putin in Vladivostok on the sidelines
of the APEC Leaders Meeting.

Oct. 1, 2012:  President Putin sends greetings to President Hu Jintao.



Dec. 4-5, 2012:  The 11th Shanghai Cooperation Organization (SCO) Prime Ministers Meeting is held
in Bishkek.
Oct. 31-Nov. 2, 2012: Something no rule knows about happens between the two sides
Nov. 9: Russian and Chinese officials meet in Moscow.
"""


def test_split_heading_wrapped_and_blank_lines():
    entries, stray, year, begin = split_entries(SAMPLE)
    assert year == 2012 and begin == 3          # 0-based index of the line after the heading
    assert [e.date_text for e in entries] == ["Sept. 7, 2012:", "Oct. 1, 2012:", "Dec. 4-5, 2012:",
                                             "Oct. 31-Nov. 2, 2012:", "Nov. 9:"]
    assert entries[0].text.endswith("APEC Leaders Meeting.")     # wrapped line joined
    assert entries[2].text.endswith("in Bishkek.")
    assert entries[0].line == 8
    assert stray == []


def test_parse_sample_codes_and_lists_uncoded():
    events, uncoded = parse_chronology(SAMPLE, "sample.txt", windows=None)
    assert len(events) == 5                                      # uncoded entries stay as rows too
    assert list(events["type"][:3]) == ["leader_meeting", "greeting", "multilateral_meeting"]
    assert events.loc[0, "organisation"] == "apec" and events.loc[2, "organisation"] == "sco"
    assert events.loc[0, "actors"].split(";")[:2] == ["china", "russia"]
    assert events.loc[4, "start"] == T("2012-11-09")            # year from the heading
    assert [u["source"] for u in uncoded] == ["sample.txt:17"]
    assert uncoded[0]["reason"] == "no keyword rule matched"
    assert events.loc[3, "type"] == "" and events.loc[3, "confidence"] == "low"
    assert set(events["confidence"]) <= {"high", "low"}
    assert events.loc[0, "source"] == "sample.txt:8"


def test_stray_text_is_listed_not_dropped():
    text = ("Chronology of China-Russia Relations July-September 2000\n\n"
            "July 4, 2000: Foreign ministers meet in Dushanbe.\n\n"
            "About the author: a short note that is not an entry.\n")
    events, uncoded = parse_chronology(text, "x.txt", windows=None)
    assert len(events) == 1
    assert uncoded == [{"source": "x.txt:5", "date": "", "text": "About the author: a short note that is not an entry.",
                        "reason": "text without a date"}]


# --------------------------------------------------------------------------- the four seed chronologies

def _seeds() -> Path:
    folder = Path(os.environ.get("DYADSIM_SEEDS", REPO_ROOT.parent / "shared" / "seeds"))
    if not folder.is_dir():
        pytest.skip(f"seed documents not found at {folder} (set DYADSIM_SEEDS)")
    return folder


@pytest.fixture(scope="module")
def record():
    return load_record()


@pytest.fixture(scope="module")
def imported():
    folder = _seeds()
    out = {}
    for window, fname in WINDOWS.items():
        text = (folder / fname).read_text(encoding="utf-8")
        out[window] = parse_chronology(text, fname)
    return out


@pytest.mark.parametrize("window", list(WINDOWS))
def test_import_reproduces_curated_dates_and_count(window, record, imported):
    events, uncoded = imported[window]
    curated = record.events_in_window(window)
    assert len(events) == len(curated)
    assert list(events["window"].unique()) == [window]
    assert list(events["start"]) == list(curated["start"])
    assert list(events["end"]) == list(curated["end"])
    assert list(events["source"]) == list(curated["source"])
    assert list(events["id"]) == list(curated["id"])
    # every entry the importer cannot code is listed
    assert {u["source"] for u in uncoded} == set(events.loc[events["type"] == "", "source"])


def test_type_agreement(record, imported):
    agree = total = 0
    per_window = {}
    for window, (events, _) in imported.items():
        curated = record.events_in_window(window)
        same = (events["type"].values == curated["type"].astype(str).values)
        per_window[window] = same.mean()
        agree += same.sum()
        total += len(same)
    overall = agree / total
    print("type agreement per window:", {k: round(v, 3) for k, v in per_window.items()},
          "overall", round(overall, 3))
    assert overall >= TYPE_AGREEMENT_MIN
    assert min(per_window.values()) >= 0.85


def test_import_just_the_chronology_section(imported):
    folder = _seeds()
    text = (folder / WINDOWS["chron_2012q4"]).read_text(encoding="utf-8").splitlines()
    only = "\n".join(text[106:])           # from the heading on
    events, _ = parse_chronology(only, WINDOWS["chron_2012q4"])
    full = imported["chron_2012q4"][0]
    assert list(events["start"]) == list(full["start"])
    assert list(events["type"]) == list(full["type"])


# --------------------------------------------------------------------------- CLI

def test_cli_import_and_record(tmp_path, capsys):
    src = tmp_path / "chron.txt"
    src.write_text(SAMPLE, encoding="utf-8")
    out = tmp_path / "out" / "events.csv"
    assert main(["import-chronology", str(src), "--source", "sample.txt", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "parsed 5" in text and "4 coded" in text and "uncoded sample.txt:17" in text
    frame = pd.read_csv(out)
    assert list(frame.columns[-1:]) == ["confidence"] and len(frame) == 5
    assert frame.loc[0, "start"] == "2012-09-07"
    summary = tmp_path / "summary.json"
    assert main(["record", "--out", str(summary)]) == 0
    assert '"observations"' in summary.read_text()


def test_cli_missing_file(tmp_path, capsys):
    assert main(["import-chronology", str(tmp_path / "absent.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent.txt" in err and "not found" in err
