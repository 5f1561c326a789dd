"""``new-scenario``: a commented template generated from the schema loads and runs as written, lists every
field and coefficient, and its commented defaults are the real defaults."""

from __future__ import annotations

import re
import subprocess
import sys

from sim.core import mechanisms
from sim.core.loading import load_scenario
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble, score
from sim.report.template import field_description, scenario_template, schema_fields, template_values
from sim.run.runner import run
from tests.conftest import ROOT


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd)


def test_every_schema_field_is_described_and_in_the_template():
    missing = [f"{m.__name__}.{n}" for m, n in schema_fields() if not field_description(m, n)]
    assert not missing, f"describe these fields (Field(description=...) or DESCRIPTIONS): {missing}"
    text = scenario_template(("aa", "bb"), "2001-01", "2003-12")
    for model, name in schema_fields():
        assert re.search(rf"^#?\s*(- )?{name}:", text, re.M), f"{model.__name__}.{name} not in the template"
    for name in mechanisms.coefficient_fields():
        assert f"#   {name}: " in text, name


def test_template_loads_and_runs_as_written(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(scenario_template(("aa", "bb"), "2001-01", "2003-12"))
    loaded = load_scenario(path)
    out = run(loaded, replicates=3, seed=1)
    assert "trade.aa.bb" in out.indicators
    assert set(template_values(loaded.raw)) == {"states.aa.gdp", "states.aa.growth", "states.aa.exports.bb",
                                                 "states.aa.trust.bb", "states.bb.gdp", "states.bb.growth",
                                                 "states.bb.exports.aa", "states.bb.trust.aa"}


def _uncomment_defaults(text: str) -> str:
    """Uncomment every line that shows a concrete default: coefficients, state fields, meta.replicates."""
    text = text.replace("\n# coefficients:\n", "\ncoefficients:\n")
    text = re.sub(r"^#   (\w+): (\{value: [-0-9.e]+, .*\})   # .*$", r"  \1: \2", text,
                  flags=re.M)
    text = re.sub(r"^#     (\w+): (\{value: [-0-9.e]+, assumption: \"default: [^\"]*\"\}) .*$", r"    \1: \2", text,
                  flags=re.M)
    return re.sub(r"^#   replicates: (\d+) .*$", r"  replicates: \1", text, flags=re.M)


def test_commented_defaults_are_the_real_defaults(tmp_path):
    text = scenario_template(("aa", "bb"), "2001-01", "2003-12")
    plain, explicit = tmp_path / "plain.yaml", tmp_path / "explicit.yaml"
    plain.write_text(text)
    explicit.write_text(_uncomment_defaults(text))
    a, b = load_scenario(plain), load_scenario(explicit)
    assert set(b.raw["coefficients"]) == set(mechanisms.coefficient_fields())
    assert "energy_export_share" in b.raw["states"]["aa"] and b.raw["meta"]["replicates"] == 20
    # the same scenario, written out or left to the defaults (citations included)
    assert a.hash == b.hash


def test_cli_writes_a_template_for_a_records_pair(tmp_path):
    record = ROOT / "scenarios" / "examples" / "china_japan" / "record"
    out = tmp_path / "cj.yaml"
    proc = _cli("new-scenario", "--pair", "china", "japan", "--start", "2005-01", "--end", "2017-12",
                "--record", str(record), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    loaded = load_scenario(out)
    assert loaded.record_path.resolve() == record.resolve()
    card = score(Ensemble.from_run(run(loaded, replicates=4)), load_record(loaded.record_path))
    assert card.overall()["series_scored"] >= 5
    proc = _cli("run", str(out), "--replicates", "2", "--no-plots", "--no-compare", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0 and "still carry the template's 'TEMPLATE:' numbers" in proc.stderr


def test_cli_template_mistakes_are_one_line_exit_2(tmp_path):
    out = tmp_path / "x.yaml"
    out.write_text("keep me")
    for args, words in ((["--pair", "China", "japan"], "not a state id"),
                        (["--pair", "aa", "aa"], "twice"),
                        (["--pair", "aa", "bb", "--out", str(out)], "file exists"),
                        (["--pair", "china", "japan", "--record", str(ROOT / "calibration" / "record")],
                         "the record is about china-russia")):
        proc = _cli("new-scenario", *args, "--start", "2005-01", "--end", "2006-12", cwd=tmp_path)
        assert proc.returncode == 2 and words in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert out.read_text() == "keep me"
    proc = _cli("new-scenario", "--pair", "aa", "bb", "--start", "2005-13", "--end", "2006-12", cwd=tmp_path)
    assert proc.returncode == 2 and "2005-13" in proc.stderr


def test_the_minimal_scenario_in_the_docs_runs(tmp_path):
    doc = (ROOT / "docs" / "scenarios.md").read_text()
    block = doc.split("<!-- minimal-scenario")[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "minimal.yaml"
    path.write_text(block)
    loaded = load_scenario(path)
    assert not loaded.scenario.drivers and not loaded.scenario.organisations
    ind = run(loaded, replicates=2, seed=1).indicators
    assert "trade.japan.south_korea" in ind and not any(c.startswith(("arms_", "oil")) for c in ind)
