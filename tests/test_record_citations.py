"""Records cite documents of any name, datasets or assumptions; cited files are checked; aliases live
with the record."""

from __future__ import annotations

import pytest

from sim.cli import main
from sim.core.errors import UserError
from sim.evidence.chronology import parse_chronology
from sim.evidence.citations import parse_citation
from sim.evidence.record import load_aliases, load_record, record_aliases

RECORD_YAML = """name: Japan-Israel test record
pair: [japan, israel]
sources: {folder: docs}
"""
WINDOWS_CSV = """id,start,end,kind,source,first_line,last_line,note
w2011,2011-01-01,2011-03-31,chronology,notes.md,1,3,hand-made list
w2012,2012-01-01,2012-03-31,chronology,assumption: a hand-made list from general knowledge,,,no document
narrative,2000-01-01,2012-12-31,narrative,,,,selective
"""
EVENTS_CSV = """id,start,end,precision,actors,organisation,type,goldstein,window,source,note
e1,2011-01-10,2011-01-10,day,japan;israel,,visit,,w2011,notes.md:2,visit
e2,2012-02-01,2012-02-01,day,japan;israel,,consultation,,w2012,assumption: talks held that month,talks
"""
OBS_CSV = """id,quantity,exporter,importer,actors,unit,period_start,period_end,value,kind,source,note
t2011,trade_total,,,japan;israel,bn USD,2011,2011,2.5,observation,dataset: IMF DOTS; exports by partner; 2019,x
t2012,trade_total,,,japan;israel,bn USD,2012,2012,2.4,observation,report 2012.pdf:7,a pdf page
"""
ALIASES = """states:
  israel:
    names: [Israel, Israeli, Jerusalem]
    people:
      - {name: Benjamin Netanyahu, short: [Netanyahu], title: Prime Minister, leader: true}
  japan:
    people:
      - {name: Naoto Kan, short: [Kan], title: Prime Minister (2010-11), leader: true}
"""


@pytest.fixture
def folder(tmp_path):
    f = tmp_path / "record"
    (f / "docs").mkdir(parents=True)
    for name, text in [("record.yaml", RECORD_YAML), ("windows.csv", WINDOWS_CSV), ("events.csv", EVENTS_CSV),
                       ("observations.csv", OBS_CSV), ("aliases.yaml", ALIASES)]:
        (f / name).write_text(text, encoding="utf-8")
    (f / "docs" / "notes.md").write_text("# notes\n2011-01-10 visit\nlast line\n", encoding="utf-8")
    (f / "docs" / "report 2012.pdf").write_bytes(b"%PDF\0binary")
    return f


@pytest.mark.parametrize("value, kind, field, expect", [
    ("001_e7aa02c26cd915e1.txt:54", "document", "line", 54),
    ("notes.md:3-7", "document", "last_line", 7),
    ("report 2012.pdf:7", "document", "file", "report 2012.pdf"),
    ("dataset: SIPRI Arms Transfers Database; TIV of transfers, Russia to India; 2023", "dataset", "year", 2023),
    ("Dataset: IMF DOTS; exports by partner; 2019", "dataset", "table", "exports by partner"),
    ("assumption: general knowledge, rounded", "assumption", "text", "general knowledge, rounded"),
])
def test_citation_forms(value, kind, field, expect):
    cit = parse_citation(value)
    assert cit.kind == kind and getattr(cit, field) == expect


@pytest.mark.parametrize("value, words", [
    ("somefile", "is not a citation"),
    ("notes.md:0", "is not a citation"),
    ("notes.md:9-3", "ends before it starts"),
    ("dataset: IMF DOTS; 2019", "NAME; TABLE; YEAR"),
    ("dataset: IMF DOTS; exports; last year", "not a year"),
    ("assumption:   ", "says why"),
])
def test_bad_citations_say_what_is_wrong(value, words):
    with pytest.raises(ValueError, match=words):
        parse_citation(value)


def test_a_record_citing_any_file_a_dataset_or_an_assumption_loads(folder):
    rec = load_record(folder)
    assert rec.pair == ("japan", "israel") and rec.sources_unchecked == ""
    assert rec.event_counts().loc["w2012", "consultation"] == 1
    assert set(rec.observations["id"]) == {"t2011", "t2012"}


@pytest.mark.parametrize("csv, old, new, line, words", [
    ("observations.csv", "report 2012.pdf:7", "report 2013.pdf:7", 3, "cited file 'report 2013.pdf' not found"),
    ("events.csv", "notes.md:2", "notes.md:9", 2, "'notes.md' has 3 lines; line 9 is cited"),
    ("windows.csv", "notes.md,1,3", "notes.md,1,4", 2, "line 4 is cited"),
    ("events.csv", "notes.md:2", "notes.md", 2, "is not a citation"),
    ("windows.csv", "notes.md,1,3", ",1,3", 2, "names its source"),
])
def test_citation_mistakes_name_the_csv_file_and_line(folder, csv, old, new, line, words):
    path = folder / csv
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(UserError) as info:
        load_record(folder)
    err = info.value
    assert err.file == str(path) and err.line == line and words in str(err), str(err)
    assert "\n" not in str(err)
    assert main(["record", "--folder", str(folder)]) == 2


def test_documents_not_at_hand_are_reported_not_failed(folder, capsys):
    (folder / "record.yaml").write_text(RECORD_YAML.replace("folder: docs", "folder: elsewhere"))
    rec = load_record(folder)
    assert "elsewhere" in rec.sources_unchecked
    assert main(["record", "--folder", str(folder)]) == 0
    assert "cited documents NOT checked" in capsys.readouterr().out


def test_record_aliases_merge_over_the_shared_file(folder):
    shared = load_aliases()
    assert "israel" not in shared.states
    al = record_aliases(folder)
    assert "israel" in al.states and "Netanyahu" in al.leaders["israel"]
    # names are added to a state the shared file has, not replacing its own
    assert {"Kan", "Noda", "Abe"} <= set(al.leaders["japan"]) and "Tokyo" in al.states["japan"]
    assert al.type_rules == shared.type_rules


def test_record_aliases_code_the_records_own_leaders(folder, tmp_path):
    text = "Chronology of Japan-China Relations\nJan. 5, 2011: Kan and Wen hold talks in Tokyo.\n"
    shared, _ = parse_chronology(text, "jc.txt", windows=None)
    assert shared.loc[0, "type"] == "consultation"           # Kan is no leader in the shared list
    own, _ = parse_chronology(text, "jc.txt", windows=None, record=folder)
    assert own.loc[0, "type"] == "leader_meeting"
    src = tmp_path / "jc.txt"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "rows.csv"
    assert main(["import-chronology", str(src), "--record", str(folder), "--out", str(out)]) == 0
    assert "leader_meeting" in out.read_text()


def test_record_yaml_names_its_alias_file(folder):
    (folder / "aliases.yaml").rename(folder / "names.yaml")
    with pytest.raises(UserError, match="unknown state id 'israel'"):
        load_record(folder)
    (folder / "record.yaml").write_text(RECORD_YAML + "aliases: names.yaml\n")
    assert load_record(folder).pair == ("japan", "israel")
    (folder / "record.yaml").write_text(RECORD_YAML + "aliases: nothere.yaml\n")
    with pytest.raises(UserError) as info:
        load_record(folder)
    assert info.value.line == 4 and info.value.path == "aliases"


def test_bad_record_alias_file_names_its_line(folder):
    (folder / "aliases.yaml").write_text("states:\n  israel: [Israel]\n")
    with pytest.raises(UserError) as info:
        load_record(folder)
    assert info.value.file.endswith("aliases.yaml") and info.value.line == 2 and info.value.path == "states.israel"
