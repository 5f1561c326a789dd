"""A calibration's particles run only as far as its evidence reaches, and measure exactly what full runs measure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.compile import compile_scenario
from sim.core.engine import Engine, run_ensemble
from sim.core.loading import load_scenario
from sim.evidence.record import load_record
from sim.evidence.targets import Target, months_read
from sim.run.calibrate.outputs import _targets
from sim.run.calibrate.priors import load_calibration, prior_samples
from sim.run.calibrate.simulate import ParticleChunk, run_particle_chunk
from tests.conftest import BASELINE, ROOT


def _target(end: str, spans: tuple = ()) -> Target:
    return Target("t", "events", "events.total", pd.Timestamp("2001-01-01"), pd.Timestamp(end), False, "sqrt", 1.0,
                  spans)


def test_months_read_reach_the_month_the_last_target_ends_in():
    months = pd.date_range("2000-01-01", "2017-12-01", freq="MS")
    assert months_read([_target("2012-12-31")], months) == 156
    assert months_read([_target("2003-06-30"), _target("2001-01-31")], months) == 42
    assert months_read([_target("2003-06-30", spans=((pd.Timestamp("2004-01-01"), pd.Timestamp("2004-02-29")),))],
                       months) == 50
    assert months_read([_target("2030-12-31")], months) == len(months)
    assert months_read([], months) == len(months)


def test_a_run_cut_short_records_what_the_full_run_records_up_to_the_cut():
    cp = compile_scenario(load_scenario(BASELINE))
    seeds = np.arange(5, dtype=np.uint64)
    full = run_ensemble(cp, seeds)
    full = {k: v.copy() for k, v in full.records.items()}
    cut = Engine(cp, seeds).run(months=100)
    for name, arr in cut.records.items():
        assert np.array_equal(arr[:, :100], full[name][:, :100]), name
        assert not arr[:, 100:].any(), name


def test_hindcast_particles_stop_at_the_split_and_get_the_statistics_of_full_runs():
    cal = load_calibration(ROOT / "calibration" / "hindcast_2012.yaml")
    base = load_scenario(cal.base)
    targets, months = _targets(cal, base, load_record(cal.record_path))
    assert months == 156                       # 2000-01 .. 2012-12 of 2000-01 .. 2017-12
    values = prior_samples(cal.spec.parameters, 24, 7)[cal.paths].to_numpy()
    seeds = np.arange(48).reshape(24, 2)

    def stats(m):
        return run_particle_chunk(ParticleChunk(0, str(cal.base), tuple(cal.paths), values, seeds, tuple(targets),
                                                m))[1]

    cut, whole = stats(months), stats(None)
    assert np.isfinite(cut).mean() > 0.9
    assert cut.tobytes() == whole.tobytes()


def test_a_statistic_past_the_cut_finds_the_month_outside_the_run_not_zeros():
    from sim.evidence.ensemble import Ensemble
    from sim.evidence.targets import statistics

    cp = compile_scenario(load_scenario(BASELINE))
    cut = Engine(cp, np.arange(3, dtype=np.uint64)).run(months=100)
    ens = Ensemble.from_result("cut", cut, {"events.total"})
    assert len(ens.months) == 100 and ens.columns["events.total"].shape == (3, 100)
    assert np.isfinite(statistics(ens, [_target("2001-12-31")])).all()
    assert ens.period_total("events.total", pd.Timestamp("2001-01-01"), pd.Timestamp("2010-12-31"), False) is None
