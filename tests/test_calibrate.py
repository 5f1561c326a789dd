"""Calibration: the sampler recovers known parameters, priors are validated, resume, and the hindcast split."""

import json
import shutil
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
from sim.evidence.targets import build_targets
from sim.run.calibrate.abc import abc_smc, weighted_quantile
from sim.run.calibrate.outputs import run_calibration, write_calibrated_scenario
from sim.run.calibrate.priors import Budget, Prior, load_calibration
from tests.conftest import BASELINE, ROOT

# ---------------------------------------------------------------- the sampler on toy models


def _toy(theta_true, noise=1.0, n=20):
    """Summary: the mean of n normal draws around each parameter (one statistic per parameter)."""
    def simulate(values, generation, batch):
        out = np.empty((len(values), 1, values.shape[1]))
        for i, v in enumerate(values):
            rng = np.random.default_rng([generation, batch, i])
            out[i, 0] = v + rng.normal(0, noise, (n, values.shape[1])).mean(axis=0)
        return out
    return simulate, np.asarray(theta_true, dtype=float)


def _interval(state, priors, j):
    last = state.generations[-1]
    x = priors[j].to_x(last.z[:, j])
    return weighted_quantile(x, last.weights, 0.05), weighted_quantile(x, last.weights, 0.95)


def test_abc_smc_recovers_a_known_parameter():
    priors = [Prior(path="theta", dist="uniform", low=-5, high=5)]
    simulate, observed = _toy([1.5])
    state = abc_smc(priors, simulate, observed, Budget(particles=200, generations=5, max_simulations=20000), seed=1)
    lo, hi = _interval(state, priors, 0)
    assert lo < 1.5 < hi and hi - lo < 1.5                # prior 90% width is 9
    eps = [g.epsilon for g in state.generations]
    assert eps == sorted(eps, reverse=True) and len(eps) == 5
    assert all(g.ess > 20 for g in state.generations)


def test_abc_smc_recovers_two_parameters_with_a_log_prior():
    priors = [Prior(path="a", dist="uniform", low=0, high=10), Prior(path="b", dist="loguniform", low=0.01, high=100)]
    simulate, _ = _toy([0, 0], noise=0.3)
    observed = np.array([3.0, 2.0])

    def sim(values, g, b):                    # statistic 2 is log(b): the parameter is identified in log space
        raw = simulate(values, g, b)
        raw[:, 0, 1] = np.log(values[:, 1]) + (raw[:, 0, 1] - values[:, 1])
        return raw
    state = abc_smc(priors, sim, observed, Budget(particles=200, generations=5, max_simulations=30000), seed=3)
    lo, hi = _interval(state, priors, 0)
    assert lo < 3.0 < hi
    lo, hi = _interval(state, priors, 1)
    assert lo < np.exp(2.0) < hi and hi / lo < 100        # prior ratio is 10^4


def test_sampler_is_reproducible():
    priors = [Prior(path="theta", dist="normal", mean=0, sd=3)]
    simulate, observed = _toy([1.0])
    a = abc_smc(priors, simulate, observed, Budget(particles=50, generations=3), seed=7)
    b = abc_smc(priors, simulate, observed, Budget(particles=50, generations=3), seed=7)
    assert np.array_equal(a.generations[-1].z, b.generations[-1].z)


# ---------------------------------------------------------------- calibration files

CAL = """name: tiny
scenario: {scenario}
parameters:
  - {{path: coefficients.trade_income_elasticity, dist: uniform, low: 0.5, high: 1.5}}
  - {{path: events.visit.rate, dist: loguniform, low: 0.3, high: 3.0}}
split: {{calibrate_until: 2012-12}}
budget: {{particles: 30, generations: {gens}, initial_factor: 2, max_simulations: 3000}}
seed: 5
chunk_runs: 40
"""


def _cal(tmp_path, gens=2, record=None, text=None, name="cal.yaml"):
    body = text if text is not None else CAL.format(scenario=BASELINE, gens=gens)
    if record:
        body += f"record: {record}\n"
    path = tmp_path / name
    path.write_text(body)
    return path


@pytest.mark.parametrize("line,expect", [
    ("  - {path: coefficients.trade_noise, dist: uniform, low: 0.3, high: 0.1}", "low (0.3) must be below high"),
    ("  - {path: coefficients.trade_noise, dist: normal, mean: 0.1}", "needs 'sd'"),
    ("  - {path: coefficients.trade_noise, dist: gamma, low: 0, high: 1}", "dist"),
    ("  - {path: coefficients.no_such_thing, dist: uniform, low: 0, high: 1}", "no_such_thing"),
    ("  - {path: coefficients.trust_reference, dist: uniform, low: 0.5, high: 1.5}", "rejects"),
    ("  - {path: timeline.3.effects.0.value, dist: uniform, low: 0, high: 1}", "list indices"),
])
def test_bad_priors_are_clear_errors(tmp_path, line, expect):
    text = CAL.format(scenario=BASELINE, gens=2).replace(
        "  - {path: events.visit.rate, dist: loguniform, low: 0.3, high: 3.0}", line)
    path = _cal(tmp_path, text=text)
    with pytest.raises(UserError) as err:
        load_calibration(path)
    msg = str(err.value)
    assert expect in msg and "cal.yaml:5" in msg and "parameters[1]" in msg


def test_calibrate_cli_bad_file_exits_2(tmp_path):
    path = _cal(tmp_path, text="name: x\nscenario: nowhere.yaml\nparameters: []\n")
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "calibrate", str(path)], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "cal.yaml" in proc.stderr


# ---------------------------------------------------------------- the hindcast split


def test_split_keeps_post_2012_evidence_out_of_the_targets(tmp_path):
    cal = load_calibration(_cal(tmp_path))
    from sim.core.columns import indicator_columns, month_index_values
    from sim.core.compile import compile_scenario
    from sim.evidence.record import load_record
    cp = compile_scenario(load_scenario(BASELINE))
    rec = load_record(cal.record_path)
    held = build_targets(rec, month_index_values(cp), ("china", "russia"), set(indicator_columns(cp)), cal.until)
    full = build_targets(rec, month_index_values(cp), ("china", "russia"), set(indicator_columns(cp)), None)
    assert held and all(t.end <= pd.Timestamp("2012-12-31") for t in held)
    assert any(t.end > pd.Timestamp("2012-12-31") for t in full)     # the filter is what removes them
    names = {t.name for t in held}
    assert "trade_2010" in names and "trade_2014" not in names and "chron_2017q4:total" not in names


def test_changing_post_2012_record_leaves_the_calibration_unchanged(tmp_path):
    """The decisive check: falsify everything after 2012; a leak would change the posterior."""
    src = ROOT / "calibration" / "record"
    fake = tmp_path / "record"
    shutil.copytree(src, fake)
    (fake / "record.yaml").write_text((src / "record.yaml").read_text().replace(
        "folder: ../../../shared/seeds", f"folder: {ROOT.parent / 'shared' / 'seeds'}"))
    obs = pd.read_csv(fake / "observations.csv", dtype=str, keep_default_na=False)
    late = obs["period_start"].str[:4].astype(int) >= 2013
    obs.loc[late, "value"] = "999"
    obs.to_csv(fake / "observations.csv", index=False)
    ev = pd.read_csv(fake / "events.csv", dtype=str, keep_default_na=False)
    ev = ev[~(ev["window"] == "chron_2017q4")].copy()             # the 2017 window now records nothing
    ev.to_csv(fake / "events.csv", index=False)
    a = run_calibration(load_calibration(_cal(tmp_path, gens=2, name="a.yaml")), tmp_path / "a", workers=1,
                        log=lambda s: None)
    b = run_calibration(load_calibration(_cal(tmp_path, gens=2, record=fake, name="b.yaml")), tmp_path / "b",
                        workers=1, log=lambda s: None)
    pa = pd.read_parquet(tmp_path / "a" / "posterior.parquet")
    pb = pd.read_parquet(tmp_path / "b" / "posterior.parquet")
    pd.testing.assert_frame_equal(pa, pb)
    assert [t.name for t in a.targets] == [t.name for t in b.targets]


# ---------------------------------------------------------------- resume, outputs


def _wait_for_generation(out: Path, proc, n: int, seconds: float = 120) -> None:
    """Until state.json (written after the generation's file) lists generation ``n``."""
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            if len(json.loads((out / "state.json").read_text())["generations"]) > n:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)


def test_resume_after_kill_gives_the_uninterrupted_result_bit_for_bit(tmp_path):
    """Killed after its first generation and resumed, a calibration writes the same bytes as one never stopped:
    every generation file, the posterior, and the summary but for wall times."""
    path = _cal(tmp_path, gens=3)
    cmd = [sys.executable, str(ROOT / "run.py"), "calibrate", str(path), "--workers", "1", "--no-evaluate"]
    ref = subprocess.run(cmd + ["--out", str(tmp_path / "ref")], capture_output=True, text=True, cwd=ROOT)
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen(cmd + ["--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _wait_for_generation(out, proc, 0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(json.loads((out / "state.json").read_text())["generations"])
    assert done < 3, "test setup: the calibration finished before it could be killed"
    again = subprocess.run(cmd + ["--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert f"resuming after generation {done - 1}" in again.stderr
    for name in ("generation-00.parquet", "generation-01.parquet", "generation-02.parquet", "posterior.parquet"):
        assert (out / name).read_bytes() == (tmp_path / "ref" / name).read_bytes(), name

    def timeless(f: Path) -> dict:
        s = json.loads(f.read_text())
        for g in s["generations"]:
            g.pop("wall_time_s")
        return s
    assert timeless(out / "summary.json") == timeless(tmp_path / "ref" / "summary.json")
    assert (out / "calibrated.yaml").read_text() == (tmp_path / "ref" / "calibrated.yaml").read_text()


def test_resume_refuses_another_file(tmp_path):
    run_calibration(load_calibration(_cal(tmp_path, gens=1)), tmp_path / "o", workers=1, log=lambda s: None)
    other = _cal(tmp_path, text=CAL.format(scenario=BASELINE, gens=1).replace("seed: 5", "seed: 6"), name="x.yaml")
    with pytest.raises(UserError, match="different"):
        run_calibration(load_calibration(other), tmp_path / "o", workers=1, log=lambda s: None)


def test_calibrated_scenario_draws_from_the_posterior(tmp_path):
    cal = load_calibration(_cal(tmp_path, gens=1))
    outcome = run_calibration(cal, tmp_path / "o", workers=1, log=lambda s: None)
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert set(summary["parameters"]) == {"coefficients.trade_income_elasticity", "events.visit.rate"}
    for v in summary["parameters"].values():
        assert v["q05"] <= v["median"] <= v["q95"]
    assert summary["generations"][0]["acceptance_rate"] == pytest.approx(0.5)
    target = write_calibrated_scenario(cal, outcome.summary, tmp_path / "o" / "calibrated.yaml",
                                       tmp_path / "o" / "posterior.parquet")
    loaded = load_scenario(target)
    med = summary["parameters"]["coefficients.trade_income_elasticity"]["median"]
    assert loaded.scenario.coefficients.trade_income_elasticity.value == pytest.approx(med, rel=1e-5)
    assert loaded.posterior_path == (tmp_path / "o" / "posterior.parquet")
    from sim.core.model import RelationsModel
    from sim.run.runner import run
    out = run(loaded, replicates=6, seed=3)
    assert out.result.compiled.n_points > 1                    # replicates drew different parameter rows
    model = RelationsModel(loaded, rng=int(out.result.seeds[4])).run()
    assert np.array_equal(model.engine.exports[0], out.result.exports[4])
