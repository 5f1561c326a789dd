"""Scenario files: bad input is reported with file, line and field; extends merges as documented."""

import subprocess
import sys

import pytest

from sim.core.errors import UserError
from sim.core.loading import load_scenario
from sim.core.time import month_index
from tests.conftest import BASELINE, ROOT, SCENARIOS, line_of, seeds_dir


def _error(path, overrides=None) -> str:
    with pytest.raises(UserError) as exc:
        load_scenario(path, overrides)
    return str(exc.value)


def test_bundled_scenarios_load():
    names = {load_scenario(p).meta.name for p in SCENARIOS.glob("*.yaml")}
    assert {"baseline", "no_2014_sanctions", "high_oil", "no_us_pivot"} <= names


def test_typo_in_key_names_file_line_and_path(scenario_copy):
    path = scenario_copy("    energy_export_share: {value: 0.55", "    energy_export_shar: {value: 0.55")
    msg = _error(path)
    line = line_of(path, "energy_export_shar:")
    assert f"baseline.yaml:{line}" in msg
    assert "states.russia.energy_export_shar" in msg and "unknown field" in msg


def test_wrong_type(scenario_copy):
    path = scenario_copy("  seed: 20000101", "  seed: twenty")
    msg = _error(path)
    assert f"baseline.yaml:{line_of(path, 'seed: twenty')}" in msg and "meta.seed" in msg


def test_unknown_member_id(scenario_copy):
    path = scenario_copy("{state: uzbekistan, joined: 2000-07", "{state: uzbekistann, joined: 2000-07")
    msg = _error(path)
    assert "organisations.sco.members[5].state" in msg and "uzbekistann" in msg
    assert f"baseline.yaml:{line_of(path, 'uzbekistann')}" in msg


def test_end_before_start(scenario_copy):
    path = scenario_copy("  end: 2017-12", "  end: 1999-12")
    msg = _error(path)
    assert "meta" in msg and "must come after start" in msg and "baseline.yaml:" in msg


def test_negative_trade_value(scenario_copy):
    path = scenario_copy("china: {value: 5.36,", "china: {value: -5.36,")
    msg = _error(path)
    assert "states.russia.exports.china" in msg and "below the minimum" in msg
    assert f"baseline.yaml:{line_of(path, 'value: -5.36')}" in msg


def test_missing_citation_is_rejected(scenario_copy):
    path = scenario_copy('trust_noise: {value: 0.05, assumption: "yearly s.d. of trust shocks; calibrate"}',
                         "trust_noise: {value: 0.05}")
    msg = _error(path)
    assert "coefficients.trust_noise" in msg and "source" in msg


def test_bad_source_format(scenario_copy):
    path = scenario_copy('source: "001_e7aa02c26cd915e1.txt:54", note: "H1 2000 China imports',
                         'source: "somewhere", note: "H1 2000 China imports')
    assert "<file name>:<line>" in _error(path)


def test_extends_cycle(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    msg = _error(tmp_path / "a.yaml")
    assert "cycle" in msg and "a.yaml" in msg and "b.yaml" in msg


def test_missing_file(tmp_path):
    msg = _error(tmp_path / "nope.yaml")
    assert "nope.yaml" in msg and "not found" in msg


def test_missing_extended_file(tmp_path):
    (tmp_path / "a.yaml").write_text("# child\nextends: gone.yaml\n")
    msg = _error(tmp_path / "a.yaml")
    assert "a.yaml:2" in msg and "gone.yaml" in msg


def test_malformed_yaml(scenario_copy):
    path = scenario_copy("meta:\n  name: baseline", "meta:\n  name: [baseline")
    msg = _error(path)
    assert "malformed YAML" in msg and "baseline.yaml:" in msg


def test_yaml_is_loaded_safely(tmp_path):
    (tmp_path / "x.yaml").write_text("meta: !!python/object/apply:os.system ['echo hacked']\n")
    assert "malformed YAML" in _error(tmp_path / "x.yaml")


def test_unknown_effect_target(scenario_copy):
    path = scenario_copy("target: states.china.threat.usa, op: add, value: 0.15",
                         "target: states.china.threat.mars, op: add, value: 0.15")
    msg = _error(path)
    assert "unknown state 'mars'" in msg and "timeline[" in msg and "effects[0].target" in msg


def test_timeline_date_outside_period(scenario_copy):
    path = scenario_copy("    date: 2013-03\n", "    date: 2019-03\n")
    assert "outside the period" in _error(path)


def test_extends_overrides_only_what_differs():
    base = load_scenario(BASELINE)
    cf = load_scenario(SCENARIOS / "no_2014_sanctions.yaml")
    assert cf.meta.name == "no_2014_sanctions"
    assert cf.states == base.states and cf.coefficients == base.coefficients
    base_ids = [e.id for e in base.timeline]
    cf_ids = [e.id for e in cf.timeline]
    assert "crimea_sanctions_2014" in base_ids and "crimea_sanctions_2014" not in cf_ids
    assert cf_ids[-1] == "crimea_2014" and len(cf_ids) == len(base_ids)
    assert base.hash != cf.hash


def test_extends_error_points_at_the_child_file(tmp_path, scenario_copy):
    scenario_copy()
    child = tmp_path / "child.yaml"
    child.write_text("extends: baseline.yaml\nstates:\n  russia:\n    growth: {value: 0.1}\n")
    msg = _error(child)
    assert "child.yaml:4" in msg and "states.russia.growth" in msg


def test_deep_merge_keeps_siblings(tmp_path, scenario_copy):
    scenario_copy()
    child = tmp_path / "child.yaml"
    child.write_text("extends: baseline.yaml\nstates:\n  russia:\n"
                     "    growth: {value: 0.1, assumption: test}\n")
    sc = load_scenario(child)
    assert sc.states["russia"].growth.value == 0.1
    assert sc.states["russia"].exports["china"].value == 5.36


def test_override_replaces_value_and_records_it():
    sc = load_scenario(BASELINE, {"states.russia.trust.china": 0.7})
    p = sc.states["russia"].trust["china"]
    assert p.value == 0.7 and p.source is None and "override" in p.assumption


def test_override_is_validated():
    with pytest.raises(UserError, match="above the maximum"):
        load_scenario(BASELINE, {"states.russia.trust.china": 1.7})


def test_hash_is_stable_and_content_based(tmp_path, scenario_copy):
    a = load_scenario(BASELINE).hash
    assert a == load_scenario(BASELINE).hash
    moved = scenario_copy("# Baseline: China", "# A comment changed: China")
    assert load_scenario(moved).hash == a          # comments do not change the content


def test_cli_user_error_exit_code_and_no_traceback(scenario_copy):
    path = scenario_copy("  seed: 20000101", "  seed: -3")
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(path), "--out", str(path.parent / "o")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "meta.seed" in proc.stderr


def test_every_cited_line_exists():
    """Each `source:` in the bundled scenarios names a seed document and a line inside it."""
    import re
    folder = seeds_dir()
    if not folder.is_dir():
        pytest.skip(f"seed documents not found at {folder} (set DYADSIM_SEEDS)")
    lengths = {f.name: len(f.read_text(encoding="utf-8").splitlines()) for f in folder.glob("*.txt")}
    for path in SCENARIOS.glob("*.yaml"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for file, a, b in re.findall(r'source: "([^":]+):(\d+)(?:-(\d+))?"', line):
                assert file in lengths, f"{path.name}:{n}: unknown document {file}"
                for ln in (int(a), int(b or a)):
                    assert 1 <= ln <= lengths[file], f"{path.name}:{n}: {file} has no line {ln}"


def test_month_index_orders_months():
    assert month_index("2000-12") + 1 == month_index("2001-01")


MINIMAL = """
meta: {name: minimal, description: two states that trade and nothing else, start: 2005-01, end: 2007-12,
       seed: 1, focal: [aa, bb]}
states:
  aa:
    name: A
    gdp: {value: 100, assumption: test}
    growth: {value: 0.05, assumption: test}
    exports: {bb: {value: 10, assumption: test}}
  bb:
    name: B
    gdp: {value: 50, assumption: test}
    growth: {value: 0.03, assumption: test}
    exports: {aa: {value: 5, assumption: test}}
coefficients: {}
"""


def test_only_what_a_scenario_uses_is_required(tmp_path):
    """No drivers, no arms, no organisations, no coefficients: defaults (cited as assumptions) fill in."""
    from sim.run.runner import run
    f = tmp_path / "minimal.yaml"
    f.write_text(MINIMAL)
    loaded = load_scenario(f)
    c = loaded.scenario.coefficients
    elasticity = c.trade_income_elasticity
    assert elasticity.value > 0 and (elasticity.source or elasticity.assumption)
    assert loaded.scenario.states["aa"].energy_export_share.assumption.startswith("default")
    out = run(loaded, replicates=3, seed=2)
    ind = out.indicators
    assert "trade.aa.bb" in ind and "oil_price" not in ind and not any(c.startswith("arms_") for c in ind)
    assert (ind["trade.aa.bb"] > 0).all()
