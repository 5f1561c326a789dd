"""Mechanisms are the unit of change: one module adds coefficients, state, dynamics and columns."""

import numpy as np
import pytest

from sim import load_scenario, run
from sim.core import mechanisms
from sim.core.columns import indicator_columns, unit_of
from sim.core.compile import compile_scenario
from sim.core.errors import UserError
from sim.core.mechanisms.base import CoefficientSet, ColumnFamily, Coverage, Mechanism, StateVar, recorded
from sim.core.params import NonNeg, Param
from tests.conftest import BASELINE


class ToyCoefficients(CoefficientSet):
    toy_drift: NonNeg = Param(value=0.0, assumption="a toy: no drift unless a scenario says so")


class Toy(Mechanism):
    """A toy level per state that drifts upward by ``toy_drift`` a month."""

    name = "toy"
    order = 65
    title = "Toy drift"
    equations = "toy_level(t) = toy_level(t-1) + toy_drift"
    ids = {"T11": Coverage("scripted", "a toy claim, only while the test runs")}
    Coefficients = ToyCoefficients
    state_vars = (StateVar("toy_level", "states", "toy0", lo=0.0, unit="toy units"),)
    families = (ColumnFamily("toy", "toy units", "a toy level per state"),)

    def prepare(self, b):
        b.put("toy0", np.ones((1, len(b.states))))

    def step(self, eng, month):
        eng.state["toy_level"] += eng.k["toy_drift"]

    def columns(self, cp):
        return {f"toy.{s}": recorded("toy_level", (i,)) for i, s in enumerate(cp.states)}


@pytest.fixture
def toy():
    mech = Toy()
    mechanisms.register(mech)
    yield mech
    mechanisms.unregister(mech)


def _with_coefficient(tmp_path, value):
    f = tmp_path / "toy.yaml"
    f.write_text(f"extends: {BASELINE}\ncoefficients:\n  toy_drift: {{value: {value}, assumption: test}}\n")
    return f


def test_a_toy_mechanism_is_one_module(toy, tmp_path):
    loaded = load_scenario(_with_coefficient(tmp_path, 0.01))
    out = run(loaded, replicates=2, seed=3)
    toy_col = out.indicators["toy.china"].to_numpy().reshape(2, -1)
    months = np.arange(1, toy_col.shape[1] + 1)
    np.testing.assert_allclose(toy_col[0], 1.0 + 0.01 * months)
    assert unit_of("toy.china") == "toy units"
    # it reads nothing and feeds nothing: every other column is unchanged
    plain = run(load_scenario(BASELINE), replicates=2, seed=3).indicators
    for col in (c for c in plain.columns if not c.startswith("toy.")):
        assert np.array_equal(plain[col].to_numpy(), out.indicators[col].to_numpy()), col
    from sim.core.model import RelationsModel
    model = RelationsModel(loaded, rng=1)
    model.step()
    assert model.state_of("toy_level", "russia") == pytest.approx(1.01)
    from sim.report.model_doc import render_model_doc
    doc = render_model_doc(loaded, "x", "y")
    assert "`toy_drift`" in doc and "Toy drift" in doc


def test_a_toy_coefficient_has_a_default_so_old_files_still_load(toy):
    loaded = load_scenario(BASELINE)
    assert loaded.scenario.coefficients.toy_drift.value == 0.0
    assert "toy.china" in indicator_columns(compile_scenario(loaded))


def test_without_the_module_its_coefficient_is_unknown(tmp_path):
    with pytest.raises(UserError, match="toy_drift"):
        load_scenario(_with_coefficient(tmp_path, 0.01))


def test_coefficient_ranges_come_from_the_mechanism(toy, tmp_path):
    with pytest.raises(UserError, match="below the minimum"):
        load_scenario(_with_coefficient(tmp_path, -1))


def test_registry_order_and_unique_coefficients():
    reg = mechanisms.registry()
    assert [m.order for m in reg] == sorted(m.order for m in reg)
    names = mechanisms.coefficient_fields()
    assert "trade_oil_elasticity" in names and mechanisms.owner_of("trade_oil_elasticity").name == "trade"


def test_per_point_values_compile_like_separate_scenarios():
    """A table of points compiles to the same arrays as one compilation per point."""
    from sim.core.compile import Values, stack_points
    table = {"coefficients.trade_diversion": [0.05, 0.2, 0.3], "states.russia.trust.china": [0.4, 0.5, 0.6]}
    together = compile_scenario(load_scenario(BASELINE), Values(table))
    apart = stack_points([compile_scenario(load_scenario(BASELINE, {k: v[i] for k, v in table.items()}))
                          for i in range(3)])
    assert together.n_points == apart.n_points == 3
    for name in apart.arrays:
        a, b = together.arrays[name], apart.arrays[name]
        assert np.array_equal(np.broadcast_to(a, (3,) + a.shape[1:]), np.broadcast_to(b, (3,) + b.shape[1:]),
                              equal_nan=True), name
    for name in apart.coef:
        assert np.array_equal(np.broadcast_to(together.coef[name], 3), np.broadcast_to(apart.coef[name], 3)), name


def test_a_path_nothing_reads_is_an_error():
    from sim.core.compile import Values
    with pytest.raises(ValueError, match="no part of the model reads coefficients.trade_divertion"):
        compile_scenario(load_scenario(BASELINE), Values({"coefficients.trade_divertion": [0.1, 0.2]}))
