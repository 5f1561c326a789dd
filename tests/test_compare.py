"""Scoring against the record on hand-made ensembles with known answers, and the figures and report."""

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.core.errors import UserError
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble, score, score_events, score_milestones, score_series
from tests.conftest import BASELINE, ROOT, SCENARIOS

RECORD_YAML = """name: test record
pair: [india, russia]
description: synthetic
sources: {folder: docs, index: INDEX.md}
"""
WINDOWS_CSV = """id,start,end,kind,source,first_line,last_line,note
w2010,2010-04-01,2010-06-30,chronology,t.txt,1,9,three months
w2012,2012-01-01,2012-06-30,chronology,t.txt,10,19,six months
w1990,1990-01-01,1990-03-31,chronology,t.txt,20,29,before the run
narrative,1990-01-01,2014-12-31,narrative,,,,selective facts
"""
EVENTS_CSV = """id,start,end,precision,actors,organisation,type,goldstein,window,source,note
a1,2010-04-10,2010-04-10,day,india;russia,,visit,,w2010,t.txt:2,v
a2,2010-05-10,2010-05-10,day,india;russia,,visit,,w2010,t.txt:3,v
b1,2012-02-01,2012-02-01,day,india;russia,,visit,,w2012,t.txt:11,v
b2,2012-03-01,2012-03-01,day,russia;india,,friction,,w2012,t.txt:12,f
c1,1990-02-01,1990-02-01,day,india;russia,,visit,,w1990,t.txt:21,v
n1,2013-01-01,2013-12-31,year,india;russia,,military_exercise,,narrative,t.txt:30,exercise
"""
OBS_CSV = """id,quantity,exporter,importer,actors,unit,period_start,period_end,value,kind,source,note
t2010,trade_total,,,india;russia,bn USD,2010,2010,10,observation,t.txt:40,trade
t2012,trade_total,,,india;russia,bn USD,2012,2012,17,observation,t.txt:41,trade
t2014,trade_total,,,india;russia,bn USD,2014,2014,30,observation,t.txt:42,trade
th1,trade_total,,,india;russia,bn USD,2011-01,2011-06,6,observation,t.txt:43,half year
tg,trade_growth_yoy,,,india;russia,percent,2011,2011,20,observation,t.txt:44,growth
ex,exports,russia,india,,bn USD,2013,2013,4,observation,t.txt:45,exports
goal,trade_total,,,india;russia,bn USD,2015,2015,50,target,t.txt:46,a goal - never scored
"""


def write_record(folder, observations: str = OBS_CSV):
    """The synthetic India-Russia record folder (with other observations if given)."""
    folder.mkdir()
    for name, text in [("record.yaml", RECORD_YAML), ("windows.csv", WINDOWS_CSV), ("events.csv", EVENTS_CSV),
                       ("observations.csv", observations)]:
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def record(tmp_path):
    return load_record(write_record(tmp_path / "record"))


MONTHS = pd.date_range("2009-01-01", "2014-12-01", freq="MS")


def ensemble(columns: dict, m: int = 10, focal=("india", "russia")) -> Ensemble:
    cols = {k: (np.broadcast_to(v, (m, len(MONTHS))).astype(float).copy()) for k, v in columns.items()}
    return Ensemble("synthetic", MONTHS, cols, focal, np.arange(m))


def _trade_rate(level_by_year: dict) -> np.ndarray:
    """Annual rate per month so that each year's flow equals level_by_year[year]."""
    return np.array([level_by_year.get(d.year, 12.0) for d in MONTHS], dtype=float)


def test_crps_of_a_degenerate_ensemble_is_the_absolute_error(record):
    ens = ensemble({"trade.india.russia": _trade_rate({2010: 12.0, 2012: 20.0, 2014: 24.0})})
    s = score_series(ens, record).set_index("id")
    assert s.loc["t2010", "status"] == "scored"
    assert s.loc["t2010", "crps"] == pytest.approx(abs(math.log(12.0) - math.log(10.0)), abs=1e-9)
    assert s.loc["t2014", "crps"] == pytest.approx(abs(math.log(24.0) - math.log(30.0)), abs=1e-9)
    assert s.loc["t2010", "bias"] == pytest.approx(0.2)
    assert not s.loc["t2010", "in90"]
    assert s.loc["goal", "status"] == "not scored" and "target" in s.loc["goal", "reason"]   # a goal, listed


def test_partial_year_is_compared_with_the_same_months(record):
    rate = _trade_rate({})
    rate[(MONTHS.year == 2011) & (MONTHS.month <= 6)] = 12.0          # H1: 6 x 1 bn
    rate[(MONTHS.year == 2011) & (MONTHS.month > 6)] = 120.0          # H2 would spoil a whole-year comparison
    s = score_series(ensemble({"trade.india.russia": rate}), record).set_index("id")
    assert s.loc["th1", "median"] == pytest.approx(6.0) and s.loc["th1", "crps"] == pytest.approx(0.0, abs=1e-12)


def test_growth_rate_uses_the_same_period_a_year_earlier(record):
    rate = _trade_rate({2010: 10.0, 2011: 12.0})
    s = score_series(ensemble({"trade.india.russia": rate}), record).set_index("id")
    assert s.loc["tg", "median"] == pytest.approx(20.0)


def test_leave_one_out_baselines(record):
    ens = ensemble({"trade.india.russia": _trade_rate({2010: 10, 2012: 17, 2014: 30})})
    s = score_series(ens, record).set_index("id")
    # 2012 from the others: interpolation halfway between 10 and 30 -> 20 (H1 2011 lies between, at 12/yr)
    others = np.array([[2010.5, 10.0], [2011.248, 12.0], [2014.5, 30.0]])
    expect = np.interp(2012.5, others[:, 0], others[:, 1])
    assert s.loc["t2012", "crps_interp"] == pytest.approx(abs(math.log(expect) - math.log(17.0)), rel=1e-2)
    b, a = np.polyfit(others[:, 0], np.log(others[:, 1]), 1)
    assert s.loc["t2012", "crps_growth"] == pytest.approx(abs(a + b * 2012.5 - math.log(17.0)), abs=1e-3)


def test_unmodelled_and_out_of_period_series_are_listed_not_scored(record):
    s = score_series(ensemble({"trade.india.russia": _trade_rate({})}), record).set_index("id")
    assert s.loc["ex", "status"] == "not modelled"


def test_event_windows_are_masked_and_scored(record):
    visits = np.zeros(len(MONTHS))
    visits[(MONTHS >= "2010-04-01") & (MONTHS <= "2010-06-01")] = [1, 0, 1]      # 2 in the window
    visits[MONTHS == "2010-07-01"] = 5                                          # outside: must not count
    cols = {"events.visit": visits, "events.friction": np.zeros(len(MONTHS)), "events.total": visits}
    e = score_events(ensemble(cols), record).set_index(["window", "type"])
    row = e.loc[("w2010", "visit")]
    assert row["observed"] == 2 and row["median"] == 2 and row["in90"]
    assert row["ignorance"] == pytest.approx(-math.log2((10 + 0.5) / 11))
    assert row["crps"] == pytest.approx(0.0)
    # Poisson baseline from the other window only (w1990 lies outside the run but is part of the record):
    # visits: 1 in w2012 (6 months) + 1 in w1990 (3 months), plus half an event -> 2.5 / 9 per month
    lam = 2.5 / 9 * 3
    assert row["baseline_rate"] == pytest.approx(lam)
    assert row["ignorance_baseline"] == pytest.approx(-math.log2(math.exp(-lam) * lam ** 2 / 2))
    assert e.loc[("w1990", "visit"), "status"] == "outside simulated period"
    assert e.loc[("w2012", "friction"), "observed"] == 1 and not e.loc[("w2012", "friction"), "in90"]
    assert e.loc[("w2012", "phone_call"), "status"] == "not modelled" if ("w2012", "phone_call") in e.index else True


def test_milestone_brier(record):
    ex = np.zeros((10, len(MONTHS)))
    ex[:3, MONTHS == "2013-05-01"] = 1                   # 3 of 10 members hold an exercise in 2013
    ens = Ensemble("synthetic", MONTHS, {"events.military_exercise": ex, "events.total": ex},
                   ("india", "russia"), np.arange(10))
    m = score_milestones(ens, record)
    assert len(m) == 1 and m.loc[0, "span"] == "year"
    assert m.loc[0, "probability"] == pytest.approx(0.3) and m.loc[0, "brier"] == pytest.approx(0.49)


def test_period_filter_keeps_only_evidence_inside(record):
    ens = ensemble({"trade.india.russia": _trade_rate({}), "events.visit": np.zeros(len(MONTHS)),
                    "events.total": np.zeros(len(MONTHS))})
    card = score(ens, record, period=("2009-01-01", "2011-12-31"))
    assert set(card.series["id"]) == {"t2010", "th1", "tg"}
    assert set(card.events["window"]) == {"w2010"}


def test_pair_mismatch_is_a_user_error(record):
    with pytest.raises(UserError, match="focal pair"):
        score(ensemble({"events.total": np.zeros(len(MONTHS))}, focal=("china", "japan")), record)


def test_scorecard_json_has_every_number(record, tmp_path):
    ens = ensemble({"trade.india.russia": _trade_rate({2010: 12.0}), "events.visit": np.ones(len(MONTHS)),
                    "events.total": np.ones(len(MONTHS))})
    card = score(ens, record)
    paths = card.save(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["overall"]["series_scored"] == len(card.series[card.series["status"] == "scored"])
    assert {"series", "events", "milestones"} <= set(data)
    assert pd.read_parquet(paths["series"]).shape[0] == len(card.series)


def _cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=ROOT)


def test_compare_two_scenarios_side_by_side(tmp_path):
    proc = _cli("compare", str(BASELINE), str(SCENARIOS / "no_2014_sanctions.yaml"), "--replicates", "20",
                "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "side by side" in proc.stdout and "no_2014_sanctions" in proc.stdout
    both = json.loads((tmp_path / "comparison.json").read_text())
    assert [o["scenario"] for o in both] == ["baseline", "no_2014_sanctions"]
    assert (tmp_path / "scorecard.png").stat().st_size > 10_000


def test_run_then_compare_the_results_folder(tmp_path):
    assert _cli("run", str(BASELINE), "--replicates", "8", "--no-plots", "--out", str(tmp_path / "r")).returncode == 0
    a = json.loads((tmp_path / "r" / "scorecard.json").read_text())["overall"]
    proc = _cli("compare", str(tmp_path / "r"), "--out", str(tmp_path / "c"))
    assert proc.returncode == 0, proc.stderr
    b = json.loads((tmp_path / "c" / "baseline" / "scorecard.json").read_text())["overall"]
    assert a == b                       # the folder reproduces the scores of the run that wrote it


def test_plot_and_report_files(tmp_path):
    proc = _cli("report", str(BASELINE), "--vs", str(SCENARIOS / "high_oil.yaml"), "--replicates", "10",
                "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "index.html").read_text()
    assert "Scorecard" in page and page.count("<img") >= 10 and "001_e7aa02c26cd915e1.txt:54" in page
    assert '<a href="#scorecard">' in page and "<pre>" not in page          # contents; tables, not text blocks
    assert 'src="figures/fan_trade_china_russia.svg"' in page and 'href="scores/baseline/scorecard.json"' in page
    for name in ("fan_trade_china_russia.png", "events_timeline.png", "scorecard.png", "diff_high_oil.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000, name
    assert (tmp_path / "figures" / "fan_trade_china_russia.svg").read_text().startswith("<?xml")
