"""docs/model.md is generated from the mechanisms: it must match what the code says now."""

from pathlib import Path

from sim.core.loading import load_scenario
from sim.core.mechanisms.catalog import CATALOG
from sim.report.model_doc import coverage, render_model_doc, status_of
from tests.conftest import BASELINE, ROOT

DOC = ROOT / "docs" / "model.md"


def test_docs_model_md_is_current():
    expected = render_model_doc(load_scenario(BASELINE), "scenarios/baseline.yaml", "docs/model.md")
    assert DOC.read_text() == expected, ("docs/model.md is stale: run "
                                         "`python run.py describe scenarios/baseline.yaml --out docs/model.md`")


def test_every_mechanism_id_is_accounted_for():
    cov = coverage()
    assert set(cov) == set(CATALOG) and len(CATALOG) == 63, "mechanisms claim ids MECHANISMS.md does not have"
    text = DOC.read_text()
    for mid in CATALOG:
        assert f"| {mid} |" in text
    statuses = {mid: status_of(entries) for mid, entries in cov.items()}
    assert sum(s == "rule" for s in statuses.values()) >= 45, "at least 45 state-dependent rules with feedback"
    for mid, status in statuses.items():
        if status != "rule":
            assert CATALOG[mid][1], f"{mid} is {status} and the catalogue does not say why it is not a rule"


def test_describe_command_writes_the_file(tmp_path):
    from sim.cli import main
    out = tmp_path / "m.md"
    assert main(["describe", str(BASELINE), "--out", str(out)]) == 0
    assert "## 7. Submodels" in Path(out).read_text()
