"""Two more pairs of different shape run, score, plot, sweep and calibrate through the same commands.

* China-Japan (scenarios/examples/china_japan): no arms trade, no energy exporter, no drivers, one
  shared organisation; its record brings its own aliases (Japanese prime ministers).
* Russia-India (scenarios/examples/russia_india): arms sales and an oil exporter, no organisation;
  its record lists SIPRI-style delivery values the model does not simulate, and an early trade year
  below a steep later line (the case that made the old straight-line baseline cost 14 units).

Both calibrate with a split after the last chronology window, so the held-out years have no window.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from sim.cli import main
from sim.core.loading import load_scenario
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble, score
from sim.run.runner import run
from tests.conftest import ROOT

EXAMPLES = ROOT / "scenarios" / "examples"
PAIRS = {"china_japan": ("china", "japan"), "russia_india": ("russia", "india")}


def _cli(capsys, *args) -> tuple[int, str]:
    """A command run in this process (as ``run.py`` would run it): exit status and what it printed."""
    code = main(list(args))
    return code, capsys.readouterr().out


def _last_window_end(name: str) -> pd.Timestamp:
    rec = load_record(EXAMPLES / name / "record")
    return rec.windows.loc[rec.windows["kind"] == "chronology", "end"].max()


def test_china_japan_uses_no_arms_no_oil_and_its_own_aliases():
    loaded = load_scenario(EXAMPLES / "china_japan" / "scenario.yaml")
    assert not loaded.scenario.drivers
    assert all(st.energy_export_share.value == 0 and not st.arms_clients for st in loaded.scenario.states.values())
    ens = Ensemble.from_run(run(loaded, replicates=4))
    assert "trade.china.japan" in ens.columns and not any(c.startswith("arms_") for c in ens.columns)
    rec = load_record(loaded.record_path)
    assert "Kan" in rec.aliases.leaders["japan"]          # from the record's aliases.yaml, not the shared file


def test_russia_india_has_arms_and_no_organisation():
    loaded = load_scenario(EXAMPLES / "russia_india" / "scenario.yaml")
    assert not loaded.scenario.organisations
    out = run(loaded, replicates=4)
    card = score(Ensemble.from_run(out), load_record(loaded.record_path))
    s = card.series.set_index("id")
    assert s.loc["t90_2001", "status"] == "scored"                           # arms contract values are scored
    assert s.loc["deliveries_2010_14", "status"] == "not modelled"            # delivery values are listed
    assert "arms_delivery_value" in s.loc["deliveries_2010_14", "reason"]
    # the early year: the straight line is held at the nearest figure (5.4), not extended below zero
    assert s.loc["ri_trade_2000", "baseline_extrapolated"]
    assert s.loc["ri_trade_2000", "crps_interp"] == pytest.approx(math.log(5.4 / 1.6), abs=1e-9)
    e = card.events.set_index(["window", "type"])
    # the annual summit is a calendar input: December's scheduled meeting is taken off the recorded one
    assert e.loc[("chron_2010q4", "leader_meeting"), "scheduled"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_pair_runs_scores_plots_and_compares_after_the_last_window(name, tmp_path, capsys):
    scenario = EXAMPLES / name / "scenario.yaml"
    assert _cli(capsys, "run", str(scenario), "--replicates", "6", "--out", str(tmp_path / "run"))[0] == 0
    card = json.loads((tmp_path / "run" / "scorecard.json").read_text())
    assert card["overall"]["series_scored"] >= 5 and card["overall"]["event_cells_scored"] >= 4
    a, b = sorted(PAIRS[name])
    for png in (f"fan_trade_{a}_{b}.png", "events_timeline.png", "scorecard.png"):
        assert (tmp_path / "run" / "plots" / png).stat().st_size > 10_000, png
    since = (_last_window_end(name) + pd.Timedelta(days=1)).date().isoformat()
    code, out = _cli(capsys, "compare", str(tmp_path / "run"), "--since", since, "--out", str(tmp_path / "late"))
    assert code == 0 and "no chronology window in the period" in out
    assert (tmp_path / "late" / "scorecard.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_pair_sweeps_and_calibrates_with_a_split_after_the_last_window(name, tmp_path, capsys):
    folder = EXAMPLES / name
    code, out = _cli(capsys, "sweep", str(folder / "sweep.yaml"), "--workers", "1", "--out", str(tmp_path / "sweep"))
    assert code == 0 and "0 failed" in out
    code, _ = _cli(capsys, "calibrate", str(folder / "calibration.yaml"), "--workers", "1", "--replicates", "10",
                   "--out", str(tmp_path / "cal"))
    assert code == 0
    evaluation = json.loads((tmp_path / "cal" / "evaluation.json").read_text())
    held = pd.Timestamp(evaluation["periods"]["hindcast"][0])
    assert held > _last_window_end(name)
    hindcast = evaluation["hindcast/posterior"]
    assert "event_cells_scored" not in hindcast and hindcast["series_scored"] >= 2
    assert (tmp_path / "cal" / "figures" / "scorecard_hindcast.png").stat().st_size > 10_000


def test_a_coefficient_the_file_leaves_to_its_default_can_be_overridden(capsys, tmp_path):
    path = EXAMPLES / "china_japan" / "scenario.yaml"
    assert "coefficients" not in load_scenario(path).raw
    base = load_scenario(path, {"coefficients.trust_noise": 0.0})
    assert base.scenario.coefficients.trust_noise.value == 0.0
    assert "was 0.05" in base.scenario.coefficients.trust_noise.assumption
    a, b = run(load_scenario(path), replicates=2, seed=3), run(base, replicates=2, seed=3)
    assert not a.indicators["trust.japan.china"].equals(b.indicators["trust.japan.china"])
    code = main(["run", str(path), "--set", "coefficients.trust_nosie=0.1", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "no coefficient 'trust_nosie'" in err and "trust_noise" in err
    assert not (tmp_path / "x").exists()
