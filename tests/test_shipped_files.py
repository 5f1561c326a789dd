"""Scenario, sweep and calibration files that worked keep working: every shipped file loads and runs.

Sweeps run with one replicate and their design cut to its smallest size, calibrations with a budget of
one small generation and a small evaluation: the point is that the files, as written, still load,
validate against their scenario and go through the code end to end, not the numbers.
"""

from __future__ import annotations

import dataclasses

import pytest

from sim.core.loading import load_scenario
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble, score
from sim.run.calibrate.outputs import run_calibration
from sim.run.calibrate.priors import Budget, load_calibration
from sim.run.runner import run
from sim.run.sweep.execute import run_sweep
from sim.run.sweep.spec import load_sweep
from tests.conftest import ROOT

SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
SWEEP_FILES = sorted((ROOT / "sweeps").glob("*.yaml"))
CALIBRATION_FILES = sorted(p for p in (ROOT / "calibration").glob("*.yaml") if p.name != "aliases.yaml")


def test_every_kind_of_file_is_shipped():
    assert len(SCENARIO_FILES) >= 5 and SWEEP_FILES and CALIBRATION_FILES


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_shipped_scenario_runs_and_scores(path):
    loaded = load_scenario(path)
    out = run(loaded, replicates=2, seed=1)
    assert out.result.n_members == 2
    if loaded.record_path is not None:
        card = score(Ensemble.from_run(out), load_record(loaded.record_path))
        assert card.overall()["series_scored"] > 0


def _smallest(design):
    for key, small in (("samples", 2), ("points", 2), ("trajectories", 2), ("levels", 2)):
        if hasattr(design, key):
            design = design.model_copy(update={key: small})
    return design


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_shipped_sweep_runs(path, tmp_path):
    sw = load_sweep(path)
    small = dataclasses.replace(sw, spec=sw.spec.model_copy(update={"design": _smallest(sw.spec.design)}))
    outcome = run_sweep(small, tmp_path / "s", workers=1, replicates=1, progress=False)
    assert outcome.failed == 0 and outcome.ok == outcome.n_runs > 0


@pytest.mark.parametrize("path", CALIBRATION_FILES, ids=lambda p: p.name)
def test_shipped_calibration_runs_and_evaluates(path, tmp_path):
    from sim.report.figures import save, scorecard_chart
    from sim.run.calibrate.evaluate import evaluate
    cal = load_calibration(path)
    budget = Budget(particles=10, generations=1, initial_factor=1, max_simulations=100)
    small = dataclasses.replace(cal, spec=cal.spec.model_copy(update={"budget": budget}))
    run_calibration(small, tmp_path, workers=1, log=lambda s: None)
    ev = evaluate(small, tmp_path, replicates=4)
    assert set(ev.result) >= {"calibration/prior", "calibration/posterior"}
    for period in ev.periods:     # the figure a held-out period without a window used to crash
        assert save(scorecard_chart([ev.cards[(period, "prior")], ev.cards[(period, "posterior")]]),
                    tmp_path / f"scorecard_{period}")
