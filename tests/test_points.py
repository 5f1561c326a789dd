"""Parameter points compiled as one table: every member equals the single run with its seed and overrides."""

import numpy as np
import pandas as pd
import pytest

from sim.core import mechanisms
from sim.core.errors import UserError
from sim.core.loading import load_scenario
from sim.core.mechanisms.base import CoefficientSet, Mechanism
from sim.core.model import RelationsModel
from sim.core.params import NonNeg, Param
from sim.run.points import compile_points, run_groups
from sim.run.sweep.execute import run_sweep
from sim.run.sweep.results import read_results
from sim.run.sweep.spec import load_sweep
from tests.conftest import BASELINE
from tests.test_sweep import write_sweep


def _timeline_index(ident: str) -> int:
    return [e.id for e in load_scenario(BASELINE).scenario.timeline].index(ident)


# One path of every kind of number the compilation reads: a coefficient, a state's cited number, a driver
# point, a timeline effect, a sanction's plain-float intensity, a calendar's probability, an event rate.
KINDS = {
    "coefficients.trade_diversion": (0.0, 0.3),
    "states.russia.trust.china": (0.3, 0.7),
    "drivers.oil_price.points.5": (40.0, 120.0),
    f"timeline.{_timeline_index('treaty_2001')}.effects.0": (0.0, 0.2),
    f"timeline.{_timeline_index('crimea_sanctions_2014')}.sanctions.0.intensity": (0.1, 0.9),
    "calendar.0.probability": (0.5, 1.0),
    "events.visit.rate.value": (0.5, 2.0),
}


def _points(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(lo, hi, n) for lo, hi in KINDS.values()])


def _assert_members_equal_single_runs(points, values, seeds, paths):
    checked = 0
    for rows, result in run_groups(points, seeds):
        R = seeds.shape[1]
        for k, row in enumerate(rows):
            for r in range(R):
                overrides = {p: float(v) for p, v in zip(paths, values[row], strict=True)}
                single = RelationsModel(BASELINE, rng=int(seeds[row, r]), collect=False, **overrides).run().result()
                m = k * R + r
                for name, arr in single.records.items():
                    assert np.array_equal(result.records[name][m], arr[0]), (row, r, name)
                checked += 1
    assert checked == len(values) * seeds.shape[1]


def test_numbers_of_every_kind_compile_as_one_table_and_match_single_runs():
    paths, values = list(KINDS), _points(5)
    seeds = np.arange(10, dtype=np.int64).reshape(5, 2) + 1000
    points = compile_points(BASELINE, paths, values)
    assert points.table and len(points.groups) == 1 and points.ok.all()
    assert points.groups[0].compiled.n_points == 5
    _assert_members_equal_single_runs(points, values, seeds, paths)


def test_a_point_outside_its_range_fails_with_the_loaders_own_message():
    paths = ["coefficients.trade_diversion", "states.russia.trust.china"]
    values = np.array([[0.1, 0.5], [0.1, 1.5], [0.2, 0.6], [-0.1, 0.6]])
    points = compile_points(BASELINE, paths, values, skip_invalid=True)
    assert points.table and list(points.ok) == [True, False, True, False]
    for row in (1, 3):
        with pytest.raises(UserError) as exc:
            load_scenario(BASELINE, dict(zip(paths, values[row], strict=True)))
        assert points.errors[row] == f"UserError: {exc.value}"
    assert "above the maximum 1.0" in points.errors[1] and "below the minimum" in points.errors[3]
    with pytest.raises(UserError, match="above the maximum"):
        compile_points(BASELINE, paths, values)


def test_a_point_the_model_rejects_fails_alone_and_the_rest_stay_in_the_table():
    paths = ["drivers.oil_price.points.5"]
    values = np.array([[60.0], [70.0], [-5.0], [80.0], [90.0], [100.0], [65.0], [75.0], [85.0], [95.0]])
    points = compile_points(BASELINE, paths, values, skip_invalid=True)
    assert list(np.flatnonzero(~points.ok)) == [2] and "oil_price" in points.errors[2]
    assert points.table and len(points.groups) == 1 and sorted(points.groups[0].rows) == [0, 1, 3, 4, 5, 6, 7, 8, 9]


def test_paths_a_table_cannot_hold_are_compiled_point_by_point_and_still_match():
    paths = ["calendar.0.months.0"]           # a whole number: a structure the table does not vary
    values = np.array([[3.0], [9.0]])
    seeds = np.array([[11], [12]], dtype=np.int64)
    points = compile_points(BASELINE, paths, values)
    assert not points.table and points.ok.all()
    _assert_members_equal_single_runs(points, values, seeds, paths)


class _ReadsBehindTheTable(Mechanism):
    """A mechanism that reads its coefficient straight from the scenario, bypassing the table."""

    class Coefficients(CoefficientSet):
        sneaky: NonNeg = Param(value=1.0, assumption="test only")

    name, order = "sneaky", 66

    def prepare(self, b):
        b.put("sneaky_level", np.full((1, len(b.states)), b.sc.coefficients.sneaky.value))


@pytest.fixture
def sneaky():
    mech = _ReadsBehindTheTable()
    mechanisms.register(mech)
    yield mech
    mechanisms.unregister(mech)


def test_the_probe_catches_a_number_read_behind_the_tables_back(sneaky, tmp_path):
    scenario = tmp_path / "sneaky.yaml"
    scenario.write_text(f"extends: {BASELINE}\ncoefficients:\n  sneaky: {{value: 0.5, assumption: test}}\n")
    values = np.array([[1.0], [2.0], [3.0]])
    points = compile_points(scenario, ["coefficients.sneaky"], values)
    assert not points.table and points.ok.all()
    cp, where = points.single()
    levels = cp.arrays["sneaky_level"][where, 0]
    np.testing.assert_array_equal(levels, [1.0, 2.0, 3.0])     # each point's own value, not the base's


def _sweep_table(folder):
    _, runs = read_results(folder)
    return runs.drop(columns=["chunk"])


def test_a_table_sweep_does_not_depend_on_chunking_or_executor_and_matches_single_runs(tmp_path):
    params = "".join(f"  - {{path: {p}, range: [{lo}, {hi}]}}\n" for p, (lo, hi) in KINDS.items())
    a = load_sweep(write_sweep(tmp_path, "{method: lhs, points: 6}", params, replicates=2, chunk_runs=4,
                               name="a.yaml"))
    b = load_sweep(write_sweep(tmp_path, "{method: lhs, points: 6}", params, replicates=2, chunk_runs=100,
                               name="b.yaml"))
    run_sweep(a, tmp_path / "a1", workers=1, progress=False)
    run_sweep(a, tmp_path / "a2", workers=2, progress=False)
    run_sweep(b, tmp_path / "b1", workers=1, progress=False)
    one = _sweep_table(tmp_path / "a1")
    assert len(one) == 12 and (one["status"] == "ok").all()
    pd.testing.assert_frame_equal(one, _sweep_table(tmp_path / "a2"))
    pd.testing.assert_frame_equal(one, _sweep_table(tmp_path / "b1"))
    from sim.run.sweep.outputs import output_values
    for _, row in one.iloc[[0, 5, 11]].iterrows():
        overrides = {p: row[p] for p in a.param_paths}
        model = RelationsModel(BASELINE, rng=int(row["seed"]), collect=False, **overrides).run()
        single = output_values(model.result(), a.spec.outputs)
        for o in a.spec.outputs:
            assert single[o.label][0] == row[o.label], o.label


def test_calibration_particles_run_as_one_table_and_a_rejected_one_gets_nan():
    from sim.core.columns import indicator_columns, month_index_values
    from sim.core.compile import compile_scenario
    from sim.evidence.ensemble import Ensemble
    from sim.evidence.record import load_record
    from sim.evidence.targets import build_targets, statistics
    from sim.run.calibrate.simulate import ParticleChunk, run_particle_chunk
    loaded = load_scenario(BASELINE)
    cp = compile_scenario(loaded)
    targets = tuple(build_targets(load_record(loaded.record_path), month_index_values(cp), ("china", "russia"),
                                  set(indicator_columns(cp)), None))
    paths = ("coefficients.trade_diversion", "events.visit.rate")
    values = np.array([[0.1, 1.0], [0.2, -1.0], [0.25, 2.0]])          # the second: a negative rate
    seeds = np.array([[101, 102], [103, 104], [105, 106]], dtype=np.int64)
    _, stats = run_particle_chunk(ParticleChunk(0, str(BASELINE), paths, values, seeds, targets))
    assert np.isnan(stats[1]).all() and np.isfinite(stats[[0, 2]]).all()
    model = RelationsModel(BASELINE, rng=106, collect=False, **dict(zip(paths, values[2], strict=True))).run()
    single = statistics(Ensemble.from_result("one", model.result(), {t.column for t in targets}), list(targets))
    np.testing.assert_array_equal(stats[2, 1], single[0])


def test_a_power_of_one_number_per_member_is_the_lone_members_whatever_runs_beside_it():
    # numpy's power takes a shortcut (sqrt for 0.5, square for 2) for an exponent repeated along the loop; a
    # member run alone has a one-element loop and gets the vector pow, which rounds differently in places
    from sim.core.numerics import member_power
    x = np.random.default_rng(7).uniform(0.2, 3.0, (20_000, 1))
    for e in (-1.0, 0.5, 1.0, 2.0, 0.7):
        k = np.array([[e]])
        together = member_power(x, k)
        per_point = member_power(x, np.full_like(x, e))
        alone = np.concatenate([member_power(x[m:m + 1], k) for m in range(len(x))])
        assert np.array_equal(together, alone) and np.array_equal(per_point, alone), e
    wide = np.random.default_rng(8).uniform(0.2, 3.0, (50, 6))
    alone = np.concatenate([member_power(wide[m:m + 1], np.array([[0.5]])) for m in range(50)])
    assert np.array_equal(member_power(wide, np.array([[0.5]])), alone)


def test_a_coefficient_the_file_leaves_to_its_default_goes_into_the_table():
    paths = ["coefficients.trade_adjustment", "coefficients.trade_diversion"]
    assert "trade_adjustment" not in load_scenario(BASELINE).raw["coefficients"]
    values = np.array([[0.5, 0.1], [2.0, 0.2], [1.2, 0.05]])
    points = compile_points(BASELINE, paths, values)
    assert points.table and len(points.groups) == 1 and points.ok.all()
    _assert_members_equal_single_runs(points, values, np.array([[11], [12], [13]]), paths)
