"""A scenario and a record for another pair run through the same code, unchanged."""

import subprocess
import sys

import numpy as np
import yaml

from sim.core.loading import load_scenario
from sim.evidence.record import load_record
from sim.evidence.scoring import Ensemble, score
from sim.run.runner import run
from tests.conftest import BASELINE, ROOT
from tests.test_compare import write_record

A = {"assumption": "test value"}


def _p(v):
    return {"value": v, **A}


def _state(name, gdp, growth, energy, cap, exports=None, trust=None, threat=None, alignment=None, clients=None):
    return {"name": name, "gdp": _p(gdp), "growth": _p(growth), "energy_export_share": _p(energy),
            "arms_capability": _p(cap), "arms_capability_growth": _p(0.01), "sanctions_exposure": _p(0.2),
            "exports": {k: _p(v) for k, v in (exports or {}).items()},
            "trust": {k: _p(v) for k, v in (trust or {}).items()},
            "threat": {k: _p(v) for k, v in (threat or {}).items()},
            "alignment": {k: _p(v) for k, v in (alignment or {}).items()},
            "arms_clients": {k: {"copy_fear": _p(v)} for k, v in (clients or {}).items()}}


def write_pair(tmp_path):
    write_record(tmp_path / "record")
    base = yaml.safe_load(BASELINE.read_text())
    doc = {
        "meta": {"name": "india_russia", "description": "another pair", "start": "2005-01", "end": "2014-12",
                 "seed": 11, "replicates": 30, "focal": ["india", "russia"], "record": "record"},
        "drivers": {"oil_price": {"unit": "USD", "description": "oil",
                                  "points": [{"date": "2005-01", "value": 50, **A},
                                             {"date": "2014-12", "value": 60, **A}]}},
        "states": {
            "india": _state("India", 800, 0.1, 0.05, 0.3, {"russia": 2.0}, {"russia": 0.7}, {"usa": 0.2},
                            {"brics": 0.5}),
            "russia": _state("Russia", 760, 0.1, 0.55, 0.9, {"india": 6.0}, {"india": 0.7}, {"usa": 0.4},
                             {"brics": 0.5}, {"india": 0.1}),
            "usa": _state("United States", 13000, 0.04, 0.03, 1.0, {"india": 20.0, "russia": 3.0}),
        },
        "organisations": {"brics": {
            "name": "BRICS", "founded": "2009-06", **A, "agenda": {"security": _p(0.3), "economy": _p(0.7)},
            "members": [{"state": "india", "joined": "2009-06", **A}, {"state": "russia", "joined": "2009-06", **A}],
            "summits": [{"type": "multilateral_meeting", "months": [4], **A}]}},
        "coefficients": base["coefficients"],
        "events": {k: base["events"][k] for k in ("visit", "consultation", "friction", "military_exercise")},
        "calendar": [{"name": "annual summit", "type": "leader_meeting", "months": [12], **A}],
        "timeline": [{"id": "sanctions", "date": "2014-03", "description": "test", **A,
                      "sanctions": [{"by": ["usa"], "against": ["russia"], "intensity": 0.5, **A}]}],
    }
    path = tmp_path / "india_russia.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return path


def test_another_pair_runs_and_scores_unchanged(tmp_path):
    path = write_pair(tmp_path)
    loaded = load_scenario(path)
    out = run(loaded)
    assert out.result.exports.shape[0] == 30
    ens = Ensemble.from_run(out)
    assert "trade.india.russia" in ens.columns and "events.visit" in ens.columns
    card = score(ens, load_record(loaded.record_path))
    s = card.series.set_index("id")
    assert s.loc["t2010", "status"] == "scored" and np.isfinite(s.loc["t2010", "crps"])
    assert set(card.events.loc[card.events["status"] == "scored", "window"]) == {"w2010", "w2012"}
    brics = ens.columns["events.multilateral_meeting"]
    assert brics[:, ens.months < "2009-06-01"].sum() == 0 and brics[:, ens.months >= "2010-04-01"].sum() > 0


def test_another_pair_through_the_command_line(tmp_path):
    path = write_pair(tmp_path)
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "run", str(path), "--replicates", "5",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "trade india–russia" in proc.stdout and "against the record" in proc.stdout
    assert (tmp_path / "out" / "plots" / "fan_trade_india_russia.png").stat().st_size > 10_000
