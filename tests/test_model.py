"""The dynamics: reproducibility, Mesa conventions, and the direction of key effects."""

import json

import numpy as np
import pandas as pd
import pytest

from sim.core.columns import indicator_columns
from sim.core.compile import compile_scenario
from sim.core.engine import Engine, run_ensemble
from sim.core.loading import load_scenario
from sim.core.mechanisms.events import poisson_from_uniform
from sim.core.seeds import replicate_seeds
from sim.run.runner import run
from tests.conftest import BASELINE, SCENARIOS


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def compiled(baseline):
    return compile_scenario(baseline)


def _year_sum(res, column, year):
    cols = indicator_columns(res.compiled)
    years = np.array([int(m[:4]) for m in res.compiled.months])
    return cols[column](res)[:, years == year].sum(axis=1)


def test_same_seed_same_result_and_different_seeds_differ(compiled):
    a = run_ensemble(compiled, [11, 12])
    b = run_ensemble(compiled, [11, 12])
    for name in ("exports", "trust", "alignment_cells", "capability", "counts", "arms_contracts", "lean"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.exports[0], a.exports[1])
    assert not np.array_equal(a.counts[0], a.counts[1])


def test_member_is_bit_identical_whatever_runs_beside_it(compiled):
    seeds = replicate_seeds(5, 64)
    big = run_ensemble(compiled, seeds)
    for k in (0, 17, 63):
        one = run_ensemble(compiled, [seeds[k]])
        for name in ("exports", "trust", "alignment_cells", "capability", "counts", "arms_deliveries", "lean", "grade"):
            assert np.array_equal(getattr(big, name)[k], getattr(one, name)[0]), (name, k)


def test_mesa_run_equals_ensemble_member(baseline, compiled):
    from sim.core.model import RelationsModel
    model = RelationsModel(baseline, rng=424242).run()
    ens = run_ensemble(compiled, [7, 424242, 9])
    assert model.running is False and model.steps == compiled.n_months
    assert np.array_equal(model.engine.exports[0], ens.exports[1])
    assert np.array_equal(model.engine.counts[0], ens.counts[1])
    table = model.datacollector.get_model_vars_dataframe()
    assert len(table) == compiled.n_months
    trade = indicator_columns(compiled)["trade.china.russia"](ens)[1]
    assert np.array_equal(table["trade.china.russia"].to_numpy(), trade)


def test_mesa_agents_and_agentset(baseline):
    from sim.core.model import OrganisationAgent, RelationsModel, StateAgent
    model = RelationsModel(baseline, rng=1, collect=False)
    assert {a.state_id for a in model.agents_by_type[StateAgent]} == set(baseline.states)
    model.step()
    russia = next(a for a in model.states if a.state_id == "russia")
    assert 0.0 <= russia.trust["china"] <= 1.0 and russia.exports["china"] > 0
    sco = next(a for a in model.agents_by_type[OrganisationAgent] if a.org_id == "sco")
    assert "uzbekistan" not in sco.members        # joins in July 2000 (001:106)
    for _ in range(7):
        model.step()
    assert model.month == "2000-08" and "uzbekistan" in sco.members and "india" not in sco.members


def test_batch_run_drives_the_model_unchanged():
    import mesa

    from sim.core.model import RelationsModel
    out = mesa.batch_run(RelationsModel, parameters={"scenario": [str(BASELINE)],
                                                     "coefficients.trade_diversion": [0.1, 0.6]},
                         rng=[3], number_processes=1, max_steps=1000, display_progress=False)
    assert len(out) == 2
    assert {r["coefficients.trade_diversion"] for r in out} == {0.1, 0.6}
    assert all(r["Step"] == 216 for r in out)


def test_membership_dates_respected(compiled):
    res = run_ensemble(compiled, replicate_seeds(3, 20))
    ev = pd.DataFrame([(c.organisation, c.origin) for c in compiled.channels], columns=["org", "origin"])
    brics = [i for i, c in enumerate(compiled.channels) if c.organisation == "brics" and c.origin == "summit"]
    assert brics, "the focal pair meets in BRICS"
    first = compiled.months.index("2009-06")
    assert res.counts[:, :first, brics].sum() == 0           # BRIC first meets in 2009 (003:127)
    assert res.counts[:, first:, brics].sum() > 0
    k_sco = compiled.orgs.index("sco")
    india = compiled.states.index("india")
    assert not compiled.arrays["members"][0, compiled.months.index("2017-05"), india, k_sco]
    assert compiled.arrays["members"][0, compiled.months.index("2017-06"), india, k_sco]
    assert len(ev) == len(compiled.channels)


def _russia_china_share(res, year):
    china = _year_sum(res, "exports.russia.china", year)
    total = sum(_year_sum(res, f"exports.russia.{p}", year) for p in ("china", "eu", "usa", "kazakhstan", "india"))
    return china / total


def test_sanctions_shift_russian_trade_toward_china():
    seeds = replicate_seeds(9, 200)
    with_s = run_ensemble(compile_scenario(load_scenario(BASELINE)), seeds)
    without = run_ensemble(compile_scenario(load_scenario(SCENARIOS / "no_2014_sanctions.yaml")), seeds)
    for year in (2015, 2017):
        diff = _russia_china_share(with_s, year) - _russia_china_share(without, year)
        assert np.median(diff) > 0.01 and (diff > 0).mean() > 0.95
    before = _russia_china_share(with_s, 2013) - _russia_china_share(without, 2013)
    assert np.all(before == 0)                               # identical until the sanctions start


def test_high_oil_keeps_russian_exports_up():
    seeds = replicate_seeds(2, 100)
    base = run_ensemble(compile_scenario(load_scenario(BASELINE)), seeds)
    high = run_ensemble(compile_scenario(load_scenario(SCENARIOS / "high_oil.yaml")), seeds)
    ratio = _year_sum(high, "exports.russia.china", 2016) / _year_sum(base, "exports.russia.china", 2016)
    assert np.median(ratio) > 1.2
    assert np.array_equal(_year_sum(high, "exports.russia.china", 2013), _year_sum(base, "exports.russia.china", 2013))


def test_more_trust_more_cooperative_events():
    seeds = replicate_seeds(4, 200)
    lo = run_ensemble(compile_scenario(load_scenario(BASELINE, {"states.china.trust.russia": 0.2,
                                                                 "states.russia.trust.china": 0.2})), seeds)
    hi = run_ensemble(compile_scenario(load_scenario(BASELINE, {"states.china.trust.russia": 0.9,
                                                                 "states.russia.trust.china": 0.9})), seeds)
    cols = indicator_columns(lo.compiled)
    assert cols["events.visit"](hi)[:, :24].sum() > 1.3 * cols["events.visit"](lo)[:, :24].sum()
    assert cols["events.friction"](hi)[:, :24].sum() < cols["events.friction"](lo)[:, :24].sum()


def test_fear_of_copying_cuts_arms_contracts():
    seeds = replicate_seeds(6, 200)
    fear = "states.russia.arms_clients.china.copy_fear"
    lo = run_ensemble(compile_scenario(load_scenario(BASELINE, {fear: 0.1})), seeds)
    hi = run_ensemble(compile_scenario(load_scenario(BASELINE, {fear: 0.9})), seeds)
    col = "arms_contracts.russia.china"
    assert indicator_columns(lo.compiled)[col](lo).sum() > 2 * indicator_columns(hi.compiled)[col](hi).sum()


def test_pipeline_jump_raises_russian_exports_at_its_date(compiled):
    res = run_ensemble(compiled, replicate_seeds(8, 50))
    k = compiled.trade_pairs.index((compiled.states.index("russia"), compiled.states.index("china")))
    t = compiled.months.index("2011-01")
    jump = res.exports[:, t, k] - res.exports[:, t - 1, k]
    assert np.all(jump > 8.0)          # +11 bn a year from the pipeline (003:15), less one month's noise


def test_poisson_from_uniform_matches_poisson_moments():
    rng = np.random.default_rng(0)
    lam = np.full(200_000, 2.5)
    k = poisson_from_uniform(lam, rng.random(lam.shape))
    assert abs(k.mean() - 2.5) < 0.02 and abs(k.var() - 2.5) < 0.05
    assert poisson_from_uniform(np.array([0.0]), np.array([0.999]))[0] == 0


def test_poisson_from_uniform_is_the_inverse_cdf_for_every_rate():
    """Counts carried on only while they climb are the smallest k with u <= CDF(k), as scipy's ppf gives."""
    from scipy.stats import poisson
    rng = np.random.default_rng(3)
    lam = rng.choice([0.0, 0.01, 0.7, 3.0, 25.0], size=(400, 7)) * rng.random((400, 7))
    u = rng.random(lam.shape)
    k = poisson_from_uniform(lam, u)
    assert k.shape == lam.shape and k.dtype == np.int32
    np.testing.assert_array_equal(k, poisson.ppf(u, lam).astype(int))


def test_a_held_result_is_never_overwritten_by_later_runs(compiled):
    """Record memory is reused between runs only once no array of the earlier result is alive."""
    first = run_ensemble(compiled, [11, 12])
    trust = first.records["trust"]
    before = trust.copy()
    del first                                   # the result goes, one of its arrays stays
    later = [run_ensemble(compiled, [11, 12]) for _ in range(3)]
    np.testing.assert_array_equal(trust, before)
    assert not any(np.shares_memory(trust, r.records["trust"]) for r in later)
    del later
    eng = Engine(compiled, [11, 12])            # a reused block: months not yet stepped read zero
    for _ in range(5):
        eng.step()
    assert not eng.records["trust"][:, 5:].any() and not eng.records["counts"][:, 5:].any()
    np.testing.assert_array_equal(eng.records["trust"][:, :5], before[:, :5])


def test_saved_results_are_reproducible_with_manifest(tmp_path, baseline):
    a = run(baseline, replicates=5, seed=77)
    b = run(baseline, replicates=5, seed=77)
    pd.testing.assert_frame_equal(a.indicators, b.indicators)
    pd.testing.assert_frame_equal(a.events, b.events)
    paths = a.save(tmp_path)
    manifest = json.loads(paths["manifest"].read_text())
    assert manifest["scenario_hash"] == baseline.hash and manifest["base_seed"] == 77
    assert manifest["seeds"] == [int(s) for s in replicate_seeds(77, 5)]
    assert {"python", "numpy", "mesa", "pandas"} <= set(manifest["versions"])
    back = pd.read_parquet(paths["indicators"])
    assert back.shape == a.indicators.shape and set(back["replicate"]) == set(range(5))
    ev = pd.read_parquet(paths["events"])
    assert {"date", "type", "actors", "organisation"} <= set(ev.columns) and len(ev) > 0


def test_replicate_seeds_are_a_prefix():
    assert list(replicate_seeds(1, 3)) == list(replicate_seeds(1, 10)[:3])


def test_engine_refuses_to_step_past_the_end(compiled):
    eng = Engine(compiled, [1])
    eng.run()
    with pytest.raises(RuntimeError):
        eng.step()


def test_allocator_tuning_is_once_per_process_and_can_be_declined():
    """The engine sets glibc's heap once per process; DYADSIM_MALLOC=default or glibc's own variables decline."""
    import os
    import subprocess
    import sys
    code = "from sim.core.allocator import tune_allocator as t; print(t(), t())"
    def ask(**env):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "DYADSIM_MALLOC"))}
        out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True,
                             cwd=str(BASELINE.parent.parent), check=True)
        return out.stdout.split()
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    first, again = ask()
    assert again == "False" and first == ("True" if glibc and glibc.startswith("glibc") else "False")
    assert ask(DYADSIM_MALLOC="default") == ["False", "False"]
    assert ask(MALLOC_TOP_PAD_="1048576") == ["False", "False"]
