"""What users of other tools expect: a notebook API, Mesa's conventions, a CLI that behaves like one."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from tests.conftest import BASELINE, ROOT

PY = sys.executable


@pytest.fixture(scope="module")
def pair():
    import sim.api as ds
    return ds.run("baseline", replicates=12, seed=3), ds.run("no_2014_sanctions", replicates=12, seed=3)


# ----------------------------------------------------------------------------- notebook API

def test_api_tables_have_a_month_column_and_accept_either_state_order(pair):
    base, _ = pair
    q = base.quantiles("trade.russia.china")
    assert list(q.columns) == ["month", "q05", "q25", "q50", "q75", "q95"] and len(q) == 216
    assert q["month"].iloc[0].strftime("%Y-%m") == "2000-01"
    assert q.equals(base.quantiles("trade.china.russia"))
    s = base.series("trade.china.russia")
    assert s.columns[0] == "month" and s.shape == (216, 13)
    assert "month" in base.indicators.columns


def test_api_unknown_column_lists_valid_names(pair):
    import sim.api as ds
    base, _ = pair
    with pytest.raises(KeyError) as exc:
        base.quantiles("trade.russia.chna")
    text = str(exc.value)
    assert "trade.china.russia" in text and "did you mean" in text
    assert isinstance(exc.value, ds.UserError)
    with pytest.raises(ds.UnknownColumn, match="families: .*exports"):
        base.plot("exprts.x.y")


def test_api_matches_the_command_line_run(pair, tmp_path):
    """A notebook run and `run` with the same seed give the same numbers."""
    import pandas as pd
    base, _ = pair
    proc = subprocess.run([PY, "run.py", "run", str(BASELINE), "--replicates", "12", "--seed", "3", "--no-plots",
                           "--no-compare", "--quiet", "--out", str(tmp_path / "r")], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""                      # --quiet: no progress lines
    cli = pd.read_parquet(tmp_path / "r" / "indicators.parquet")
    assert np.array_equal(cli["trade.china.russia"].to_numpy(), base.indicators["trade.china.russia"].to_numpy())


def test_api_compare_difference_and_loading_overrides(pair):
    import sim.api as ds
    base, cf = pair
    table = ds.compare(base, cf)
    assert list(table.index) == ["baseline", "no_2014_sanctions"] and "series_crps_log" in table.columns
    diff = ds.difference(base, cf, "trade.russia.china").table
    assert (diff.loc[diff["month"] < "2014-01-01", "q50"] == 0).all()
    assert diff["q50"].iloc[-1] < 0                 # without sanctions, less trade turns toward the partner
    loaded = ds.load("baseline", **{"coefficients.trade_diversion": 0.3})
    assert loaded.scenario.coefficients.trade_diversion.value == 0.3
    with pytest.raises(ds.UserError, match="bundled: baseline"):
        ds.load("no_such_example")


def test_figures_never_change_the_users_backend(tmp_path):
    """A notebook's backend stays what it was; nothing is left open in pyplot."""
    code = ("import matplotlib; matplotlib.use('pdf')\n"
            "import matplotlib.pyplot as plt\n"
            "import sim.api as ds, sim.report.figures as f, sim.report.sweep_charts, sim.report.calibration\n"
            "r = ds.run('baseline', replicates=4, seed=1)\n"
            "fig = r.plot(); fig2 = r.plot_events()\n"
            "f.save(fig, r'%s')\n"
            "assert matplotlib.get_backend() == 'pdf', matplotlib.get_backend()\n"
            "assert plt.get_fignums() == [], plt.get_fignums()\n"
            "print(type(fig).__name__)\n") % (tmp_path / "fan")
    proc = subprocess.run([PY, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Figure" and (tmp_path / "fan.png").stat().st_size > 10_000


# ----------------------------------------------------------------------------- Mesa conventions

def test_rng_takes_int_generator_and_none_like_mesa():
    from sim.core.model import RelationsModel
    a = RelationsModel(BASELINE, rng=np.random.default_rng(5), collect=False)
    b = RelationsModel(BASELINE, rng=np.random.default_rng(5), collect=False)
    assert a.seed == b.seed                                 # a seeded Generator is reproducible
    fresh = [RelationsModel(BASELINE, collect=False).seed for _ in range(2)]
    assert fresh[0] != fresh[1]                             # None = fresh entropy, as in Mesa
    again = RelationsModel(BASELINE, rng=fresh[0], collect=False).run()
    first = RelationsModel(BASELINE, rng=fresh[0], collect=False).run()
    assert np.array_equal(again.engine.exports, first.engine.exports)    # the recorded seed repeats the run
    with pytest.raises(TypeError, match="integer seed, a numpy Generator or None"):
        RelationsModel(BASELINE, rng="five")


def test_batch_run_iterations_give_distinct_runs_with_their_seeds():
    import mesa

    from sim.core.model import RelationsModel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa deprecates iterations= in favour of rng=
        out = mesa.batch_run(RelationsModel, parameters={"coefficients.trade_diversion": [0.2]}, iterations=3,
                             number_processes=1, data_collection_period=-1, display_progress=False)
    out2 = mesa.batch_run(RelationsModel, parameters={}, rng=[None] * 2, number_processes=1,
                          data_collection_period=-1, display_progress=False)
    assert len({r["trade.china.russia"] for r in out}) == 3 and len({r["seed"] for r in out}) == 3
    assert len({r["trade.china.russia"] for r in out2}) == 2
    row = out[1]
    again = RelationsModel(rng=row["seed"], **{"coefficients.trade_diversion": 0.2}).run()
    assert again.datacollector.get_model_vars_dataframe()["trade.china.russia"].iloc[-1] == row["trade.china.russia"]


def test_model_re_created_the_way_solaraviz_resets_it():
    """Mesa 3.5's Reset calls type(model)(**params, scenario=<mesa Scenario>)."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

    from sim.core.model import RelationsModel
    params = {"scenario_file": str(BASELINE), "rng": 7, "coefficients.trade_diversion": 0.4}
    model = RelationsModel(**params)
    _check_model_params(model, params)
    kwargs = _build_model_init_kwargs(model, params, add_scenario_when_empty=True, require_model_accepts_scenario=True)
    assert "scenario" in kwargs
    again = type(model)(**kwargs)
    assert again.seed == 7 and again.loaded.overrides == {"coefficients.trade_diversion": 0.4}
    old_style = RelationsModel(str(BASELINE), rng=7, **{"coefficients.trade_diversion": 0.4})
    assert old_style.loaded.hash == again.loaded.hash
    with pytest.raises(TypeError, match="give the scenario once"):
        RelationsModel(str(BASELINE), scenario_file=str(BASELINE))


def test_agents_read_like_mesa_agents_and_refuse_writes_loudly():
    from sim.core.model import RelationsModel, StateAgent
    model = RelationsModel(BASELINE, rng=1, collect=False)
    model.step()
    states = model.agents_by_type[StateAgent]
    assert len(states.get("gdp")) == len(model.loaded.scenario.states)
    agent = next(a for a in states if a.state_id == "russia")
    before = dict(agent.trust)
    with pytest.raises(TypeError, match=r"read-only.*states\.russia\.trust\.china"):
        agent.trust["china"] = 0.9
    with pytest.raises(AttributeError, match="read-only"):
        agent.trust = {"china": 0.9}
    assert dict(agent.trust) == before
    with pytest.raises(KeyError, match="entries:"):
        agent.trust["atlantis"]


# ----------------------------------------------------------------------------- command line

@pytest.mark.parametrize("argv,prog", [(["run.py"], "run.py"), (["-m", "sim"], "python -m sim"),
                                       (["-m", "dyadsim"], "python -m dyadsim")])
def test_entry_points_share_the_commands(argv, prog):
    proc = subprocess.run([PY, *argv, "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: {prog} ")
    assert "init" in proc.stdout and "viz" in proc.stdout


def test_installed_script_says_its_name_and_version():
    script = ROOT / ".venv" / "bin" / "dyadsim"
    if not script.exists():
        pytest.skip("no .venv/bin/dyadsim: run scripts/bootstrap.sh")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert proc.stdout.startswith("usage: dyadsim ") and "dyadsim run scenarios/baseline.yaml" in proc.stdout
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True).stdout
    from importlib.metadata import version as dist_version
    assert version.strip() == f"dyadsim {dist_version('dyadsim')}"


def test_progress_lines_with_eta_when_not_a_terminal(tmp_path):
    import os
    proc = subprocess.run([PY, "run.py", "report", str(BASELINE), "--replicates", "5", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "DYADSIM_PROGRESS_EVERY": "0"})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert any("baseline: 5 replicates: 216/216 months (100%)" in ln and "ETA" in ln for ln in lines), lines
    assert any(ln.startswith("figures of baseline:") and "ETA" in ln for ln in lines), lines


def test_init_writes_an_example_project_that_runs_elsewhere(tmp_path):
    proc = subprocess.run([PY, str(ROOT / "run.py"), "init", "proj"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "proj" / "calibration" / "aliases.yaml").exists()
    again = subprocess.run([PY, str(ROOT / "run.py"), "init", "proj"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    aliases = tmp_path / "proj" / "calibration" / "aliases.yaml"      # the project's own list is the one used
    aliases.write_text(aliases.read_text().replace("\nstates:\n", "\nstates:\n  atlantis:\n    names: [Atlantis]\n", 1))
    rec = subprocess.run([PY, str(ROOT / "run.py"), "record", "--folder", "proj/calibration/record"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert rec.returncode == 0, rec.stderr
    from sim.evidence.record import load_record
    assert "atlantis" in load_record(tmp_path / "proj" / "calibration" / "record").aliases.states


def test_agents_show_the_mechanisms_state_and_say_what_a_scenario_lacks():
    from sim.core.model import RelationsModel, StateAgent
    from tests.conftest import SCENARIOS
    model = RelationsModel(BASELINE, rng=1, collect=False)
    model.step()
    russia = next(a for a in model.agents_by_type[StateAgent] if a.state_id == "russia")
    assert set(russia.state) >= {"gdp", "lean", "exports", "trust", "grade", "capability", "alignment"}
    assert russia.state["lean"]["china"] == russia.lean["china"] and 0 <= russia.lean["china"] <= 1
    assert russia.gdp == model.engine.state["gdp"][0, model.compiled.states.index("russia")]
    with pytest.raises(AttributeError, match="read-only"):
        russia.lean = {}
    cj = RelationsModel(SCENARIOS / "examples" / "china_japan" / "scenario.yaml", rng=1, collect=False)
    cj.step()
    japan = next(a for a in cj.agents_by_type[StateAgent] if a.state_id == "japan")
    assert dict(japan.arms_grade) == {}                        # no arms pair: nothing to show, nothing invented
    assert japan.gdp > 0


def test_results_folder_is_replaced_whole_and_travels(tmp_path):
    import json
    import shutil

    import sim.api as ds
    from sim.run.runner import record_of_results
    r = ds.run("baseline", replicates=2, seed=1)
    folder = tmp_path / "res"
    r.save(folder)
    (folder / "stale.png").write_text("from an older run")
    r.save(folder)
    assert not (folder / "stale.png").exists()                 # a rerun leaves nothing of the last one
    manifest = json.loads((folder / "manifest.json").read_text())
    assert record_of_results(folder, manifest) == r.scenario.record_path.resolve()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ds.UserError, match="not a results folder"):
        r.save(other)
    assert (other / "notes.txt").exists()
    moved = {**manifest, "record": "/nowhere/record"}          # moved with its record beside it
    shutil.copytree(r.scenario.record_path, tmp_path / "rec")
    moved["record_relative"] = "../rec"
    assert record_of_results(folder, moved) == (tmp_path / "rec")
    with pytest.raises(ds.UserError, match="pass --record"):
        record_of_results(folder, {**moved, "record_relative": "../gone"})


def test_progress_is_silent_for_quick_work_and_says_eta_for_long_work():
    import io

    from sim.run.execution import Progress
    quick, slow = io.StringIO(), io.StringIO()
    with Progress(10, every_s=60, stream=quick, label="quick") as bar:
        for _ in range(10):
            bar.update()
    with Progress(3, every_s=0, stream=slow, label="slow", unit="month") as bar:
        for _ in range(3):
            bar.update()
    assert quick.getvalue() == ""                        # done before a line was due: an error stays one line
    lines = slow.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("slow: 3/3 months (100%)") and "ETA 0 s" in lines[-1]
