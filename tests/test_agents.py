"""Agents perceive, decide and act on each other; nothing looks ahead; counterfactuals stay paired."""

import numpy as np
import pytest

from scripts.propagation import PERTURBATIONS, run_all
from sim.core.columns import indicator_columns
from sim.core.compile import compile_scenario
from sim.core.engine import run_ensemble
from sim.core.loading import load_scenario
from sim.core.seeds import replicate_seeds
from tests.conftest import BASELINE

SEEDS = replicate_seeds(21, 30)


@pytest.fixture(scope="module")
def propagation():
    return run_all(BASELINE, 30)


@pytest.mark.parametrize("name", list(PERTURBATIONS))
def test_what_a_third_party_does_reaches_the_focal_pair(propagation, name):
    base, other = propagation["baseline"], propagation[name]
    changed = [o for o in base if base[o] is not None and not np.array_equal(base[o], other[o])]
    assert {"trade", "trust a>b", "trust b>a", "events"} <= set(changed), changed


def _up(propagation, name, output):
    return propagation[name][output].mean() > propagation["baseline"][output].mean()


def test_ties_broken_with_the_west_turn_it_toward_the_partner(propagation):
    """X10: with no trust in the hegemon, it leans toward, trusts and trades with the partner more."""
    name = "a's trust in the hegemon -> 0"
    assert all(_up(propagation, name, o) for o in ("lean a>b", "trust a>b", "trade"))


@pytest.mark.parametrize("name", ["client's trust in a -> 0", "a's fear of the client copying -> 0.9",
                                  "client's arms capability -> 0.9"])
def test_a_client_turning_away_pushes_arms_sales_to_the_partner(propagation, name):
    """A6 (000:59): when another client buys less, the seller sells more to the partner."""
    assert _up(propagation, name, "arms a>b")


def test_dependence_on_western_markets_caps_the_turn(propagation):
    """X2 (001:78-80): more trade with the hegemon, less leaning toward the partner."""
    assert not _up(propagation, "hegemon's exports to a x10", "lean a>b")


def test_a_dominant_partner_makes_a_state_hedge(propagation):
    """P5 (000:29-41): a much larger partner makes the smaller side lean less."""
    assert not _up(propagation, "b's GDP x10", "lean a>b")


def _run(overrides=None, scenario=BASELINE, seeds=SEEDS):
    return run_ensemble(compile_scenario(load_scenario(scenario, overrides)), seeds)


def _columns(res):
    return {name: np.asarray(fn(res), dtype=float) for name, fn in indicator_columns(res.compiled).items()}


def _identical_until(a, b, t):
    ca, cb = _columns(a), _columns(b)
    bad = [k for k in ca if k in cb and not np.array_equal(ca[k][:, :t], cb[k][:, :t])]
    counts = np.array_equal(a.counts[:, :t], b.counts[:, :t]) if a.counts.shape == b.counts.shape else None
    return bad, counts


def _with_timeline(tmp_path, text, name="cf.yaml"):
    f = tmp_path / name
    f.write_text(f"extends: {BASELINE}\n{text}")
    return f


def test_nothing_dated_after_a_month_changes_that_month(tmp_path):
    """Remove, alter or add timeline entries after t: every output up to t is bit-identical."""
    base = _run()
    t = base.compiled.months.index("2014-03")
    cases = {
        "remove 2014 sanctions and later": "timeline_remove: [crimea_sanctions_2014, gas_deal_2014, s400_contract_2015,"
                                           " thaad_2016, dprk_tests_2017, su35_contract_2015]\n",
        "a late shock": ("timeline_append:\n  - {id: late, date: 2016-01, description: x, assumption: test,\n"
                         "     effects: [{target: states.china.growth, op: set, value: -0.5, assumption: x}],\n"
                         "     emits: [{type: visit, actors: [china, russia]}]}\n"),
        "a late oil path": ("timeline_append:\n  - {id: oil, date: 2015-01, description: x, assumption: test,\n"
                            "     effects: [{target: drivers.oil_price, op: set, value: 300, assumption: x}]}\n"),
    }
    for label, text in cases.items():
        other = _run(scenario=_with_timeline(tmp_path, text))
        bad, counts = _identical_until(base, other, t)
        assert not bad, (label, bad[:5])
        other_cols, base_cols = _columns(other), _columns(base)
        assert any(not np.array_equal(base_cols[k][:, t:], other_cols[k][:, t:]) for k in base_cols), label


def test_removing_a_late_emits_only_entry_leaves_every_earlier_month_identical(tmp_path):
    """Keyed streams: one fewer event channel changes nothing before its month, events included."""
    base = _run()
    other = _run(scenario=_with_timeline(tmp_path, "timeline_remove: [dprk_tests_2017, su35_contract_2015]\n"))
    t = base.compiled.months.index("2015-11")
    bad, _ = _identical_until(base, other, t)
    assert not bad
    keep = [c for c, ch in enumerate(base.compiled.channels) if ch.name not in ("dprk_tests_2017#0",)]
    same = [c for c, ch in enumerate(other.compiled.channels)]
    assert len(same) <= len(keep)
    by_key = {ch.key: c for c, ch in enumerate(other.compiled.channels)}
    for c, ch in enumerate(base.compiled.channels):
        if ch.key in by_key:
            assert np.array_equal(base.counts[:, :t, c], other.counts[:, :t, by_key[ch.key]]), ch.key


def test_adding_an_unrelated_state_does_not_reshuffle_anyone_elses_draws(tmp_path):
    """A new state with no ties adds streams of its own and changes no one else's numbers."""
    f = _with_timeline(tmp_path, "states:\n  newland:\n    name: Newland\n    gdp: {value: 1, assumption: t}\n"
                                 "    growth: {value: 0.0, assumption: t}\n")
    base, other = _run(), _run(scenario=f)
    cb, co = _columns(base), _columns(other)
    bad = [k for k in cb if not np.array_equal(cb[k], co[k])]
    assert not bad, bad[:5]


def test_events_respond_to_the_2014_crisis_and_the_2008_crash():
    """X6, X5, T8, E3: consultations, exercises and agreements rise after March 2014 (over the year
    before); T7: economic cooperation rises in the slump after October 2008."""
    res = _run(seeds=replicate_seeds(5, 60))
    cols = _columns(res)
    months = res.compiled.months

    def per_month(col, start, end):
        a, b = months.index(start), months.index(end) + 1
        return cols[col][:, a:b].sum() / (b - a)

    for typ in ("consultation", "military_exercise", "agreement_signed", "economic_cooperation"):
        assert per_month(f"events.{typ}", "2014-03", "2015-02") > 1.3 * per_month(f"events.{typ}", "2013-03",
                                                                                   "2014-02"), typ
    assert per_month("events.economic_cooperation", "2008-10", "2009-09") > per_month(
        "events.economic_cooperation", "2007-10", "2008-09")


def test_trust_is_asymmetric_and_alignment_varies_across_members():
    res = _run()
    cols = _columns(res)
    ab, ba = cols["trust.russia.china"], cols["trust.china.russia"]
    assert not np.allclose(ab, ba)
    align = cols["alignment.russia.sco"]
    assert align[:, -1].std() > 0.01


def test_a_dated_contract_adds_its_value_in_its_month():
    res = _run()
    cols = _columns(res)
    t = res.compiled.months.index("2015-04")
    assert (cols["arms_contracts.russia.china"][:, t] >= 3.0).all()
