"""Scoring handles any split and any record: periods without windows, one-point series, values near zero,
baselines that do not extrapolate silently, scheduled events kept out of their own predictions, and every
record row accounted for."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.core import mechanisms
from sim.core.mechanisms.base import Mechanism, Observable
from sim.evidence.baselines import series_baselines
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble, score, score_events, score_milestones, score_series
from sim.report.figures import save, scorecard_chart
from tests.test_compare import write_record

# One early figure (2002) below a steep later line: a line extended backwards from 2010-2012
# would fall below zero there.
OBS_CSV = """id,quantity,exporter,importer,actors,unit,period_start,period_end,value,kind,source,note
t2002,trade_total,,,india;russia,bn USD,2002,2002,1.0,observation,assumption: early year,early
t2010,trade_total,,,india;russia,bn USD,2010,2010,8,observation,assumption: x,x
t2012,trade_total,,,india;russia,bn USD,2012,2012,11,observation,assumption: x,x
ex2011,exports,russia,india,,bn USD,2011,2011,0.002,observation,assumption: near zero,tiny
ex2012,exports,russia,india,,bn USD,2012,2012,0,observation,assumption: nothing,zero
im2011,exports,india,russia,,m USD,2011,2011,900,observation,assumption: one point,single
rub,exports,india,russia,,tn RUB,2012,2012,1,observation,assumption: other currency,rub
deliv,arms_delivery_value,russia,india,,m USD,2011,2011,800,observation,dataset: SIPRI; TIV; 2023,SIPRI-style
goal,trade_total,,,india;russia,bn USD,2014,2014,30,target,assumption: goal,goal
"""
MONTHS = pd.date_range("2001-01-01", "2014-12-01", freq="MS")


@pytest.fixture
def record(tmp_path):
    return load_record(write_record(tmp_path / "record", OBS_CSV))


def ensemble(columns: dict, m: int = 10, **kw) -> Ensemble:
    cols = {k: np.broadcast_to(v, (m, len(MONTHS))).astype(float).copy() for k, v in columns.items()}
    return Ensemble("synthetic", MONTHS, cols, ("india", "russia"), np.arange(m), **kw)


def flat(v: float) -> np.ndarray:
    return np.full(len(MONTHS), v)


def test_straight_line_baseline_is_flat_outside_the_data_and_says_so(record):
    s = score_series(ensemble({"trade.india.russia": flat(6.0)}), record).set_index("id")
    # from 2010 (8) and 2012 (11), the 2002 figure is predicted flat at 8, not by the line to 2002 (-4 -> clipped)
    assert s.loc["t2002", "crps_interp"] == pytest.approx(math.log(8.0), rel=1e-6)
    assert s.loc["t2002", "baseline_extrapolated"] and not s.loc["t2010", "baseline_extrapolated"]
    card = score(ensemble({"trade.india.russia": flat(6.0)}), record)
    assert card.overall()["series_baseline_extrapolated"] == 2        # 2002 and 2012 lie outside the others
    assert "baseline rows extrapolated" in card.overall_line()


def test_constant_growth_needs_positive_figures():
    g = pd.DataFrame({"start": pd.to_datetime(["2001-01-01", "2002-01-01", "2003-01-01", "2004-01-01"]),
                      "end": pd.to_datetime(["2001-12-31", "2002-12-31", "2003-12-31", "2004-12-31"]),
                      "value": [1.0, 0.0, 4.0, 8.0]})
    b = series_baselines(g)
    assert np.isnan(b.loc[0, "baseline_growth"])                 # the others include a zero: no log-linear fit
    assert b.loc[1, "baseline_growth"] > 0 and b.loc[1, "baseline_interp"] == pytest.approx(2.5, rel=1e-3)


def test_one_point_series_near_zero_values_and_units(record):
    ens = ensemble({"trade.india.russia": flat(6.0), "exports.russia.india": flat(0.002),
                    "exports.india.russia": flat(0.9)})
    s = score_series(ens, record).set_index("id")
    assert s.loc["im2011", "status"] == "scored" and s.loc["im2011", "crps"] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(s.loc["im2011", "crps_interp"])                # one point: no baseline, and no crash
    assert s.loc["ex2011", "status"] == "scored" and np.isfinite(s.loc["ex2011", "crps"])
    assert s.loc["ex2012", "status"] == "not scored" and "log scale" in s.loc["ex2012", "reason"]
    assert s.loc["rub", "status"] == "not scored" and "tn RUB" in s.loc["rub", "reason"]
    scored = s[s["status"] == "scored"]
    assert np.isfinite(scored["crps"]).all() and (scored["crps_interp"].dropna() < 5).all()


def test_unmodelled_quantities_are_listed_from_the_mechanisms_declarations(record):
    s = score_series(ensemble({"trade.india.russia": flat(6.0)}), record).set_index("id")
    assert s.loc["deliv", "status"] == "not modelled"
    assert s.loc["deliv", "reason"] == "no mechanism simulates 'arms_delivery_value'"

    class Deliveries(Mechanism):
        name, order = "toy_deliveries", 99
        observables = (Observable("arms_delivery_value", lambda a, e, i: f"arms_deliveries.{e}.{i}", False, "log1p"),)

    mech = Deliveries()
    mechanisms.register(mech)
    try:
        ens = ensemble({"trade.india.russia": flat(6.0), "arms_deliveries.russia.india": flat(0.8 / 12)})
        s = score_series(ens, record).set_index("id")
        assert s.loc["deliv", "status"] == "scored" and s.loc["deliv", "median"] == pytest.approx(0.8)
    finally:
        mechanisms.unregister(mech)


def test_every_record_row_is_scored_or_listed_with_a_reason(record):
    card = score(ensemble({"trade.india.russia": flat(6.0), "events.visit": flat(0.2),
                           "events.total": flat(0.2)}), record)
    cov = card.coverage.set_index(["table", "id"])
    ids = {("observations", i) for i in record.observations["id"]} | {("events", i) for i in record.events["id"]}
    assert set(cov.index) == ids
    unused = cov[~cov["status"].str.startswith("scored")]
    assert (unused["reason"].str.len() > 0).all()
    assert cov.loc[("observations", "deliv"), "status"] == "not modelled"
    assert cov.loc[("events", "a1"), "status"] == "scored: count in w2010"
    assert cov.loc[("events", "c1"), "status"] == "outside simulated period"


def test_a_period_with_no_window_scores_no_events_and_still_draws(record, tmp_path):
    ens = ensemble({"trade.india.russia": flat(6.0), "events.visit": flat(0.2), "events.total": flat(0.2)})
    card = score(ens, record, period=("2013-01-01", "2014-12-31"))
    assert len(card.events) == 0 and "window" in card.events.columns
    assert "no chronology window in the period" in card.overall_line()
    files = save(scorecard_chart([card, card]), tmp_path / "sc")
    assert all(p.stat().st_size > 5_000 for p in files)
    empty = score(ens, record, period=("2013-01-01", "2013-02-28"))      # nothing at all in the period
    assert "no recorded series" in empty.overall_line()
    save(scorecard_chart([empty]), tmp_path / "empty")


def _scheduled_ensemble(stochastic_visits: np.ndarray) -> Ensemble:
    """Visits: one scheduled each April (a calendar) plus unscheduled ones; multilateral meetings only scheduled."""
    sched = np.zeros(len(MONTHS))
    sched[MONTHS.month == 4] = 1.0
    visits = sched + stochastic_visits
    cols = {"events.visit": visits, "events.multilateral_meeting": sched, "events.friction": flat(0.0),
            "events.total": visits + sched}
    m = 10
    scheduled = {"visit": np.broadcast_to(sched, (m, len(MONTHS))).copy(),
                 "multilateral_meeting": np.broadcast_to(sched, (m, len(MONTHS))).copy()}
    return ensemble(cols, m, scheduled=scheduled, predicted=frozenset({"visit", "friction"}))


def test_scheduled_events_are_not_scored_as_their_own_predictions(record):
    unscheduled = np.zeros(len(MONTHS))
    unscheduled[MONTHS == "2010-05-01"] = 1
    e = score_events(_scheduled_ensemble(unscheduled), record).set_index(["window", "type"])
    row = e.loc[("w2010", "visit")]
    # 2 recorded visits in Apr-Jun 2010, 1 of them the scheduled April one: 1 left to predict,
    # and the model's unscheduled channels produced exactly 1
    assert (row["recorded"], row["scheduled"], row["observed"], row["median"]) == (2, 1, 1, 1)
    assert row["crps"] == pytest.approx(0.0)
    # a recorded count below the schedule is compared as zero, never negative
    assert e.loc[("w2012", "visit"), "scheduled"] == 1 and e.loc[("w2012", "visit"), "observed"] == 0
    assert e.loc[("w2010", "multilateral_meeting"), "status"] == "scheduled only"
    total = e.loc[("w2010", "total")]
    assert total["observed"] == 1 and total["median"] == 1         # the schedule is out of the total too


def test_milestones_the_scenario_schedules_are_inputs(record):
    ens = _scheduled_ensemble(np.zeros(len(MONTHS)))
    ens.columns["events.military_exercise"] = np.zeros((10, len(MONTHS)))
    ens.scheduled["military_exercise"] = np.zeros((10, len(MONTHS)))
    ens.scheduled["military_exercise"][:, MONTHS == "2013-07-01"] = 1
    ens.predicted = frozenset({"visit", "friction", "military_exercise"})
    m = score_milestones(ens, record).set_index("id")
    assert m.loc["n1", "status"] == "scheduled" and "input" in m.loc["n1", "reason"]
    assert "milestones_scored" not in score(ens, record).overall()
