"""Sweeps: designs, equivalence with single runs, executors, resume after kill, failures, errors, sensitivity."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.core.errors import UserError
from sim.core.loading import load_scenario
from sim.core.model import RelationsModel
from sim.run.sweep.designs import design_points
from sim.run.sweep.execute import run_sweep
from sim.run.sweep.outputs import output_values
from sim.run.sweep.results import read_results
from sim.run.sweep.sensitivity import ishigami, sensitivity_indices
from sim.run.sweep.spec import load_sweep
from tests.conftest import BASELINE, ROOT, line_of

OUTPUTS = """\
outputs:
  - {name: trade_2014, column: trade.china.russia, stat: mean, year: 2014}
  - {column: trust.russia.china, stat: final}
  - {name: events, column: events.total, stat: sum, start: 2005-01, end: 2009-12}
"""


def write_sweep(tmp_path: Path, design: str, parameters: str | None = None, replicates: int = 2,
                chunk_runs: int = 4, extra: str = "", name: str = "s.yaml", scenario: Path = BASELINE) -> Path:
    parameters = parameters or ("  - {path: coefficients.trade_diversion, range: [0.0, 0.3]}\n"
                                "  - {path: states.russia.trust.china, range: [0.3, 0.7]}\n")
    path = tmp_path / name
    path.write_text(f"name: test\nscenario: {os.path.relpath(scenario, tmp_path)}\nparameters:\n{parameters}"
                    f"design: {design}\nreplicates: {replicates}\nseed: 7\nchunk_runs: {chunk_runs}\n"
                    f"{OUTPUTS}{extra}")
    return path


# ---------------------------------------------------------------- designs

@pytest.mark.parametrize("design, expected", [
    ("{method: grid, levels: 4}", 4 * 3),            # 4 levels x 3 listed values
    ("{method: random, points: 17}", 17),
    ("{method: lhs, points: 13}", 13),
    ("{method: sobol, samples: 8}", 8 * (2 + 2)),
    ("{method: sobol, samples: 8, second_order: true}", 8 * (2 * 2 + 2)),
    ("{method: morris, trajectories: 5, levels: 4}", 5 * (2 + 1)),
])
def test_designs_give_the_documented_number_of_points_inside_the_ranges(tmp_path, design, expected):
    params = "  - {path: coefficients.trade_diversion, range: [0.05, 0.3]}\n"
    if "grid" in design or "random" in design:
        params += "  - {path: states.russia.trust.china, values: [0.3, 0.5, 0.7]}\n"
    else:
        params += "  - {path: states.russia.trust.china, range: [0.3, 0.7]}\n"
    sw = load_sweep(write_sweep(tmp_path, design, params), check=False)
    X = design_points(sw.spec)
    assert X.shape == (expected, 2)
    assert X[:, 0].min() >= 0.05 and X[:, 0].max() <= 0.3
    assert X[:, 1].min() >= 0.3 and X[:, 1].max() <= 0.7
    if "grid" in design:
        assert set(np.round(X[:, 0], 12)) == set(np.round(np.linspace(0.05, 0.3, 4), 12))
        assert set(X[:, 1]) == {0.3, 0.5, 0.7}
    if "random" in design:
        assert set(X[:, 1]) <= {0.3, 0.5, 0.7}
    assert len(np.unique(X, axis=0)) > 1
    # the design depends on the seed and nothing else
    np.testing.assert_array_equal(X, design_points(sw.spec))


# ---------------------------------------------------------------- equivalence and executors

def test_a_sweep_member_equals_the_single_run_with_its_seed_and_overrides(tmp_path):
    sw = load_sweep(write_sweep(tmp_path, "{method: lhs, points: 5}", replicates=3, chunk_runs=9))
    run_sweep(sw, tmp_path / "out", workers=1, progress=False)
    _, runs = read_results(tmp_path / "out")
    assert len(runs) == 15 and (runs["status"] == "ok").all()
    assert runs["seed"].nunique() == 15
    for _, row in runs.iloc[[1, 7, 14]].iterrows():
        overrides = {p: row[p] for p in sw.param_paths}
        model = RelationsModel(BASELINE, rng=int(row["seed"]), collect=False, **overrides).run()
        single = output_values(model.result(), sw.spec.outputs)
        for o in sw.spec.outputs:
            assert single[o.label][0] == row[o.label], o.label   # bit-identical, not just close


def test_fit_to_the_record_per_run(tmp_path):
    from sim.core.columns import indicator_columns
    from sim.run.sweep.outputs import fit_targets, fit_values
    a = load_sweep(write_sweep(tmp_path, "{method: random, points: 4}", chunk_runs=2, extra="fit: true\n",
                               name="a.yaml"))
    b = load_sweep(write_sweep(tmp_path, "{method: random, points: 4}", chunk_runs=100, extra="fit: true\n",
                               name="b.yaml"))
    run_sweep(a, tmp_path / "a", workers=1, progress=False)
    run_sweep(b, tmp_path / "b", workers=1, progress=False)
    runs = _table(tmp_path / "a")
    pd.testing.assert_frame_equal(runs, _table(tmp_path / "b"))          # chunking does not move the fit
    assert runs["fit_series"].between(0.01, 5).all() and runs["fit_events"].between(0.01, 5).all()
    row = runs.iloc[5]
    model = RelationsModel(BASELINE, rng=int(row["seed"]), collect=False,
                           **{p: row[p] for p in a.param_paths}).run()
    single = fit_values(model.result(), fit_targets(a), indicator_columns(model.compiled))
    assert single["fit_series"][0] == row["fit_series"] and single["fit_events"][0] == row["fit_events"]


def _table(folder):
    _, runs = read_results(folder)
    return runs.drop(columns=["chunk"])


def test_results_do_not_depend_on_the_executor(tmp_path):
    from dask.distributed import Client, LocalCluster

    sw = load_sweep(write_sweep(tmp_path, "{method: random, points: 6}", replicates=2, chunk_runs=4))
    run_sweep(sw, tmp_path / "w1", workers=1, progress=False)
    run_sweep(sw, tmp_path / "w2", workers=2, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        run_sweep(sw, tmp_path / "dask", client=client, progress=False)
    one = _table(tmp_path / "w1")
    assert len(list((tmp_path / "w1" / "runs").glob("part-*.parquet"))) == 3   # 2 points per chunk
    pd.testing.assert_frame_equal(one, _table(tmp_path / "w2"))
    pd.testing.assert_frame_equal(one, _table(tmp_path / "dask"))


def test_chunking_does_not_change_results(tmp_path):
    a = load_sweep(write_sweep(tmp_path, "{method: random, points: 5}", chunk_runs=2, name="a.yaml"))
    b = load_sweep(write_sweep(tmp_path, "{method: random, points: 5}", chunk_runs=100, name="b.yaml",
                               extra="keep_series: true\n"))
    run_sweep(a, tmp_path / "a", workers=1, progress=False)
    run_sweep(b, tmp_path / "b", workers=1, progress=False)
    pd.testing.assert_frame_equal(_table(tmp_path / "a"), _table(tmp_path / "b"))
    series = pd.read_parquet(tmp_path / "b" / "series")
    assert len(series) == 5 * 2 * 216
    _, runs = read_results(tmp_path / "b")
    row = runs.iloc[3]
    mine = series[(series["point"] == row["point"]) & (series["replicate"] == row["replicate"])]
    assert mine["trust.russia.china"].iloc[-1] == row["trust.russia.china.final"]


# ---------------------------------------------------------------- resume

def _sweep_cmd(sweep: Path, out: Path):
    return [sys.executable, str(ROOT / "run.py"), "sweep", str(sweep), "--out", str(out), "--workers", "1",
            "--quiet"]


def test_resume_after_sigkill_finishes_only_missing_chunks(tmp_path):
    sweep = write_sweep(tmp_path, "{method: random, points: 40}", replicates=1, chunk_runs=1)
    out = tmp_path / "out"
    proc = subprocess.Popen(_sweep_cmd(sweep, out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not list((out / "runs").glob("part-*.parquet")) if (out / "runs").exists() else True:
        assert proc.poll() is None and time.time() < deadline, "sweep ended before writing a chunk"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = sorted(p.name for p in (out / "runs").glob("part-*.parquet"))
    assert 1 <= len(before) < 40, "the kill came too late to test resuming"
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("part-*.parquet")}

    again = subprocess.run(_sweep_cmd(sweep, out), cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"{len(before)} chunks already done" in again.stdout
    for name, t in mtimes.items():                       # finished chunks were not rewritten
        assert (out / "runs" / name).stat().st_mtime_ns == t
    resumed = _table(out)
    assert len(resumed) == 40 and not resumed.duplicated(["point", "replicate"]).any()

    clean = tmp_path / "clean"
    subprocess.run(_sweep_cmd(sweep, clean), cwd=ROOT, check=True, capture_output=True)
    pd.testing.assert_frame_equal(resumed, _table(clean))
    assert not [p for p in out.rglob(".*tmp-*")]


def test_resume_refuses_a_changed_sweep_file(tmp_path):
    sweep = write_sweep(tmp_path, "{method: random, points: 2}", replicates=1)
    sw = load_sweep(sweep)
    run_sweep(sw, tmp_path / "out", workers=1, progress=False)
    sweep.write_text(sweep.read_text().replace("seed: 7", "seed: 8"))
    with pytest.raises(UserError, match="different sweep file"):
        run_sweep(load_sweep(sweep), tmp_path / "out", workers=1, progress=False)
    with pytest.raises(UserError, match="--replicates differs"):
        run_sweep(sw, tmp_path / "out", workers=1, progress=False, replicates=3)


# ---------------------------------------------------------------- failures

def test_a_failing_point_is_recorded_and_the_others_succeed(tmp_path):
    """Each value is valid on its own (the sweep file is checked value by value); one combination drives the
    oil price below zero, so that point fails when its chunk runs, and only that point."""
    base = tmp_path / "dip.yaml"
    base.write_text(f"extends: {BASELINE}\nmeta: {{name: dip, description: an oil dip}}\ntimeline_append:\n"
                    "  - {id: dip, date: 2000-03, description: a dip, assumption: test, effects: "
                    "[{target: drivers.oil_price, op: add, value: -1, duration: 2, assumption: test}]}\n")
    i = len(load_scenario(BASELINE).scenario.timeline)
    params = ("  - {path: drivers.oil_price.points.0.value, values: [26, 2]}\n"
              f"  - {{path: timeline.{i}.effects.0.value, values: [-1, -20]}}\n")
    sw = load_sweep(write_sweep(tmp_path, "{method: grid}", params, replicates=2, chunk_runs=100, scenario=base))
    outcome = run_sweep(sw, tmp_path / "out", workers=1, progress=False)
    assert (outcome.ok, outcome.failed) == (6, 2)
    _, runs = read_results(tmp_path / "out")
    bad = runs[runs["status"] == "failed"]
    assert (bad["drivers.oil_price.points.0.value"] == 2).all() and (bad[f"timeline.{i}.effects.0.value"] == -20).all()
    assert bad["error"].str.contains("drivers.oil_price is -").all()
    assert bad["trade_2014"].isna().all()
    good = runs[runs["status"] == "ok"]
    assert good["trade_2014"].notna().all() and (good["error"] == "").all()


# ---------------------------------------------------------------- bad sweep files

@pytest.mark.parametrize("params, design, needle, message, field", [
    ("  - {path: coefficients.trade_diversoin, range: [0.0, 0.3]}\n", "{method: grid}",
     "trade_diversoin", "unknown scenario path", "parameters[0].path"),
    ("  - {path: coefficients.trade_diversion, range: [0.3, 0.1]}\n", "{method: grid}",
     "range: [0.3, 0.1]", "lo < hi", "parameters[0].range"),
    ("  - {path: coefficients.trade_diversion, range: [0.0, 0.3]}\n", "{method: halton, points: 3}",
     "design:", "unknown design 'halton'", "design"),
    ("  - {path: states.russia.trust.china, range: [0.5, 1.5]}\n", "{method: grid}",
     "range: [0.5, 1.5]", "above the maximum", "parameters[0].range[1]"),
    ("  - {path: coefficients.trade_diversion, values: [0.1, 0.2]}\n", "{method: sobol, samples: 8}",
     "values: [0.1, 0.2]", "needs 'range", "parameters[0].values"),
    ("  - {path: coefficients.trade_diversion, range: [0.0, 0.3]}\n", "{method: sobol, samples: 10}",
     "design:", "power of two", "design.samples"),
])
def test_bad_sweep_files_name_file_line_and_field(tmp_path, params, design, needle, message, field):
    path = write_sweep(tmp_path, design, params)
    with pytest.raises(UserError) as info:
        load_sweep(path)
    err = info.value
    assert message in err.message and err.file == str(path)
    assert err.line == line_of(path, needle), str(err)
    assert err.path == field, str(err)


def test_unknown_output_column_is_named(tmp_path):
    path = write_sweep(tmp_path, "{method: grid}")
    path.write_text(path.read_text().replace("column: events.total", "column: events.totl"))
    with pytest.raises(UserError, match="did you mean events.total") as info:
        load_sweep(path)
    assert info.value.line == line_of(path, "events.totl") and info.value.path == "outputs[2].column"


def test_cli_errors_exit_2_without_traceback(tmp_path):
    path = write_sweep(tmp_path, "{method: halton}")
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "sweep", str(path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{path}:{line_of(path, 'design:')}: design: unknown design 'halton'" in proc.stderr


# ---------------------------------------------------------------- sensitivity

def _ishigami_sweep(tmp_path, design):
    params = "".join(f"  - {{path: coefficients.trade_diversion{k}, range: [-3.141592653589793, "
                     "3.141592653589793]}\n" for k in ("", "_b", "_c"))
    return load_sweep(write_sweep(tmp_path, design, params), check=False)


def test_sobol_analysis_recovers_the_ishigami_ranking(tmp_path):
    sw = _ishigami_sweep(tmp_path, "{method: sobol, samples: 1024}")
    X = design_points(sw.spec)
    idx = sensitivity_indices(sw.spec.design.model_dump(), sw.problem, X, ishigami(X), seed=1)
    s1, st = idx["S1"].to_numpy(), idx["ST"].to_numpy()
    # analytic: S1 = 0.314, 0.442, 0.0; ST = 0.558, 0.442, 0.244
    assert s1[1] > s1[0] > s1[2] and abs(s1[2]) < 0.05
    assert st[0] > st[1] > st[2] > 0.15
    np.testing.assert_allclose(st, [0.558, 0.442, 0.244], atol=0.06)
    assert (idx["S1_conf"] > 0).all() and (idx["ST_conf"] > 0).all()


def test_morris_analysis_separates_the_ishigami_inputs(tmp_path):
    sw = _ishigami_sweep(tmp_path, "{method: morris, trajectories: 200, levels: 4}")
    X = design_points(sw.spec)
    idx = sensitivity_indices(sw.spec.design.model_dump(), sw.problem, X, ishigami(X), seed=1)
    mu_star, sigma = idx["mu_star"].to_numpy(), idx["sigma"].to_numpy()
    assert (mu_star > 0.5).all()
    # x3 acts only through its interaction with x1: its effects vary more than they average
    assert sigma[2] > mu_star[2]
    # x2 acts alone (additively): small spread relative to x3's
    assert sigma[2] / mu_star[2] > sigma[1] / mu_star[1]


def test_sensitivity_and_plot_commands_write_their_files(tmp_path):
    params = ("  - {path: coefficients.trade_diversion, range: [0.0, 0.3]}\n"
              "  - {path: coefficients.trust_reversion, range: [0.2, 1.0]}\n")
    sweep = write_sweep(tmp_path, "{method: morris, trajectories: 4}", params, replicates=2, chunk_runs=100)
    cmd = [sys.executable, str(ROOT / "run.py")]
    res = tmp_path / "res"
    subprocess.run(cmd + ["sweep", str(sweep), "--out", str(res), "--workers", "1"], cwd=ROOT, check=True,
                   capture_output=True)
    sens = subprocess.run(cmd + ["sensitivity", str(res), "--output", "trade_2014"], cwd=ROOT,
                          capture_output=True, text=True)
    assert sens.returncode == 0, sens.stderr
    assert "mu_star" in sens.stdout and "coefficients.trust_reversion" in sens.stdout
    table = pd.read_csv(res / "sensitivity.csv")
    assert list(table["parameter"]) == ["coefficients.trade_diversion", "coefficients.trust_reversion"]
    assert (res / "sensitivity.png").stat().st_size > 0 and (res / "sensitivity.json").exists()
    plot = subprocess.run(cmd + ["plot-sweep", str(res), "--x", "coefficients.trade_diversion", "--y",
                                 "coefficients.trust_reversion", "--output", "events", "--out",
                                 str(tmp_path / "h.png")], cwd=ROOT, capture_output=True, text=True)
    assert plot.returncode == 0 and (tmp_path / "h.png").stat().st_size > 0, plot.stderr
    bad = subprocess.run(cmd + ["plot-sweep", str(res), "--x", "nope", "--output", "events"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no parameter 'nope'" in bad.stderr


# ---------------------------------------------------------------- workers die with their parent

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree through /proc")
def test_killing_only_the_parent_leaves_no_worker_behind(tmp_path):
    """SIGKILL to the sweep's own process (no cleanup runs) must not leave its forkserver and workers holding memory."""
    psutil = pytest.importorskip("psutil")
    path = write_sweep(tmp_path, "{method: grid, levels: 40}", "  - {path: coefficients.trade_diversion, "
                       "range: [0.0, 0.3]}\n", replicates=100, chunk_runs=100)
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "sweep", str(path), "--workers", "2", "--quiet",
                             "--out", str(tmp_path / "out")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 90
    while time.time() < deadline and proc.poll() is None:
        if not list((tmp_path / "out" / "runs").glob("part-*.parquet")):   # wait until workers have done a chunk
            time.sleep(0.05)
            continue
        break
    kids = parent.children(recursive=True)
    assert proc.poll() is None and len(kids) >= 3, "test setup: the sweep should be running with its workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and _alive(psutil, kids):
        time.sleep(0.1)
    assert not _alive(psutil, kids), [(k.pid, k.name()) for k in _alive(psutil, kids)]


def _alive(psutil, procs) -> list:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out
