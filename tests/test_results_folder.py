"""Run results folders: streamed in chunks, written whole or not at all, checked when read back."""

import fcntl
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.core.errors import UserError
from sim.core.folder import verified_manifest, writing
from sim.core.loading import load_scenario
from sim.evidence.ensemble import Ensemble
from sim.evidence.record import load_record
from sim.evidence.scoring import score
from sim.run.runner import run
from sim.run.stream import stream_run
from tests.conftest import BASELINE, ROOT, SCENARIOS

stream = importlib.import_module("sim.run.stream")   # sim.run is the function run()


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd)


def _streamed(folder: Path, scenario=BASELINE, record=None, **kw) -> Path:
    loaded = load_scenario(scenario)
    with writing(folder) as w:
        streamed = stream_run(loaded, w.path, record=record, progress=False, **kw)
        w.commit(streamed.manifest)
    return folder


def _table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{name}.parquet")


# ---------------------------------------------------------------- streaming

def test_chunking_changes_nothing_and_matches_the_run_held_in_memory(tmp_path):
    loaded = load_scenario(BASELINE)
    record = load_record(loaded.record_path)
    a = _streamed(tmp_path / "a", replicates=12, seed=4, record=record, chunk=5)
    b = _streamed(tmp_path / "b", replicates=12, seed=4, record=record, chunk=12)
    assert len(verified_manifest(a)["tables"]["indicators"]) == 3
    for name in ("indicators", "events", "replicates"):
        pd.testing.assert_frame_equal(_table(a, name), _table(b, name), check_categorical=False)
    mem = run(loaded, replicates=12, seed=4)
    pd.testing.assert_frame_equal(_table(a, "indicators"), mem.indicators, check_dtype=False)
    pd.testing.assert_frame_equal(_table(a, "events"), mem.events, check_categorical=False, check_dtype=False)
    folder_card = score(Ensemble.from_folder(a), record).overall()
    assert folder_card == score(Ensemble.from_run(mem), record).overall()
    summary = (a / "summary.txt").read_text().splitlines()
    assert summary[1:] == mem.summary().splitlines()[1:]           # all but the wall time


def test_memory_is_bounded_by_the_chunk_not_the_run(tmp_path, monkeypatch):
    sizes = []

    class Counting(stream.Engine):
        def __init__(self, cp, seeds, points=None):
            sizes.append(len(seeds))
            super().__init__(cp, seeds, points)

    monkeypatch.setattr(stream, "Engine", Counting)
    monkeypatch.setattr(stream, "CHUNK_BYTES", 12 * 2 * 260_000)       # about 12 replicates' arrays
    folder = _streamed(tmp_path / "r", replicates=50, seed=1)
    manifest = verified_manifest(folder)
    assert manifest["chunk_replicates"] <= 12 and max(sizes[1:]) == manifest["chunk_replicates"]
    assert sum(sizes[1:]) == 50 and len(manifest["tables"]["indicators"]) == len(sizes) - 1
    assert _table(folder, "replicates")["replicate"].tolist() == list(range(50))


def test_a_run_beyond_its_series_sample_scores_every_replicate(tmp_path):
    loaded = load_scenario(BASELINE)
    record = load_record(loaded.record_path)
    folder = _streamed(tmp_path / "r", replicates=20, seed=2, record=record, series=5, chunk=8)
    assert set(_table(folder, "indicators")["replicate"]) == set(range(5))
    assert len(_table(folder, "replicates")) == 20
    ens = Ensemble.from_folder(folder)
    assert ens.sampled and ens.n_members == 20 and ens.columns["trade.china.russia"].shape == (5, 216)
    everyone = Ensemble.from_run(run(loaded, replicates=20, seed=2))
    card, whole = score(ens, record), score(everyone, record)
    assert card.overall() == whole.overall()   # totals of all 20, not 5
    # every cell too, the scheduled events taken off both sides (stored as scheduled.TYPE totals) included
    assert (card.events["scheduled"] > 0).any()
    for table in ("series", "events", "milestones"):
        pd.testing.assert_frame_equal(getattr(card, table), getattr(whole, table))
    from sim.report.figures import fan_chart
    assert "first 5 of 20 replicates" in fan_chart(ens, "trade.china.russia").axes[0].get_title()
    with pytest.raises(UserError, match="5 of its 20 replicates"):
        ens.period_total("trade.china.russia", "2003-02-01", "2003-04-30", rate=True)   # a window not stored


def test_replicates_drawing_from_a_posterior_stream_like_the_run_in_memory(tmp_path):
    scenario = SCENARIOS / "baseline_calibrated.yaml"
    folder = _streamed(tmp_path / "r", scenario=scenario, replicates=9, seed=3, chunk=4)
    mem = run(load_scenario(scenario), replicates=9, seed=3)
    assert _table(folder, "replicates")["sample_row"].tolist() == mem.sample_rows.tolist()
    pd.testing.assert_frame_equal(_table(folder, "indicators"), mem.indicators.drop(columns="point"),
                                  check_dtype=False)


# ---------------------------------------------------------------- the folder as a whole

def test_a_rerun_needs_force_and_then_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "r"
    assert _cli("run", str(BASELINE), "--replicates", "3", "--no-plots", "--out", str(out)).returncode == 0
    (out / "stale_scorecard.json").write_text("{}")
    before = (out / "manifest.json").read_text()
    again = _cli("run", str(BASELINE), "--replicates", "4", "--no-plots", "--out", str(out))
    assert again.returncode == 2 and "--force" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert (out / "manifest.json").read_text() == before
    forced = _cli("run", str(BASELINE), "--replicates", "4", "--no-plots", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (out / "stale_scorecard.json").exists() and verified_manifest(out)["replicates"] == 4
    assert not list(tmp_path.glob(".r.tmp-*")) and not list(tmp_path.glob(".r.old-*"))
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    refused = _cli("run", str(BASELINE), "--replicates", "2", "--out", str(other), "--force")
    assert refused.returncode == 2 and "refusing" in refused.stderr and (other / "mine.txt").exists()


def test_a_folder_that_does_not_match_its_manifest_is_refused_in_one_line(tmp_path):
    out = tmp_path / "r"
    assert _cli("run", str(BASELINE), "--replicates", "3", "--no-plots", "--out", str(out)).returncode == 0
    part = sorted((out / "replicates.parquet").glob("*.parquet"))[0]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    proc = _cli("compare", str(out), "--out", str(tmp_path / "c"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "has changed" in proc.stderr
    part.unlink()
    assert "is missing" in _cli("plot", str(out), "--out", str(tmp_path / "p")).stderr


def test_a_folder_of_an_earlier_version_is_refused_with_a_reason(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"scenario": "baseline", "scenario_hash": "x", "seeds": [1],
                                                   "base_seed": 1}))
    proc = _cli("compare", str(old))
    assert proc.returncode == 2 and "earlier dyadsim" in proc.stderr


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    out = tmp_path / "r"
    with open(tmp_path / ".r.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("4242\n")
        lock.flush()
        proc = _cli("run", str(BASELINE), "--replicates", "2", "--no-plots", "--out", str(out))
    assert proc.returncode == 2 and "another process (pid 4242) is writing" in proc.stderr
    assert not out.exists()
    assert _cli("run", str(BASELINE), "--replicates", "2", "--no-plots", "--out", str(out)).returncode == 0


def test_compare_finds_the_record_from_any_working_folder(tmp_path):
    out = tmp_path / "deep" / "r"
    assert _cli("run", str(BASELINE), "--replicates", "3", "--no-plots", "--out", str(out)).returncode == 0
    manifest = verified_manifest(out)
    assert not os.path.isabs(manifest["record"]) and not os.path.isabs(manifest["scenario_path"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _cli("compare", str(out.resolve()), "--out", "c", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((elsewhere / "c" / "baseline" / "scorecard.json").read_text())["overall"] == \
        json.loads((out / "scorecard.json").read_text())["overall"]


def _kill_when(proc, ready, what: str, limit: float = 120.0) -> None:
    deadline = time.time() + limit
    while not ready():
        assert proc.poll() is None, f"the run ended before {what}: {proc.stderr.read()[-300:]}"
        assert time.time() < deadline, f"no {what} within {limit} s"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_sigkill_mid_write_leaves_the_previous_results_intact(tmp_path):
    out = tmp_path / "r"
    assert _cli("run", str(BASELINE), "--replicates", "3", "--no-plots", "--out", str(out)).returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def tmp_has(pattern):
        return lambda: any(t.glob(pattern) for t in tmp_path.glob(".r.tmp-*"))

    cmd = [sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "--out", str(out), "--force"]
    for extra, pattern, what in ((["--replicates", "2500", "--no-plots"], "indicators.parquet/part-*", "a chunk"),
                                 (["--replicates", "40"], "plots/*.png", "a figure")):
        proc = subprocess.Popen(cmd + extra, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _kill_when(proc, tmp_has(pattern), what)
        assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
        assert verified_manifest(out)["replicates"] == 3
    assert list(tmp_path.glob(".r.tmp-*"))                          # what the killed runs left, out of sight
    done = _cli("run", str(BASELINE), "--replicates", "5", "--no-plots", "--out", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert verified_manifest(out)["replicates"] == 5 and not list(tmp_path.glob(".r.tmp-*"))


def test_an_old_folder_caught_between_two_renames_is_put_back(tmp_path):
    out = tmp_path / "r"
    _streamed(out, replicates=2, seed=1)
    os.rename(out, tmp_path / ".r.old-999")              # a writer without an atomic exchange died here
    with pytest.raises(UserError, match="already holds the results"):
        with writing(out):
            pass
    assert verified_manifest(out)["replicates"] == 2 and not list(tmp_path.glob(".r.old-*"))
    shutil.rmtree(out)


def test_compare_streams_a_scenario_with_more_replicates_than_a_run_keeps_series_of(monkeypatch):
    from sim.cli.compare import load_subject
    monkeypatch.setattr(stream, "SERIES_DEFAULT", 6)
    big = load_subject(str(BASELINE), 8, 1, None)
    assert big.scratch is not None and Path(big.scratch.name, "replicates.parquet").is_dir()
    record = load_record(big.record_path)
    mem = Ensemble.from_run(run(load_scenario(BASELINE), replicates=8, seed=1))
    assert score(big.ensemble, record).overall() == score(mem, record).overall()


def test_series_flag_is_checked_and_all_keeps_every_replicate(tmp_path):
    bad = _cli("run", str(BASELINE), "--series", "0", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "at least 1" in bad.stderr and not (tmp_path / "x").exists()
    folder = _streamed(tmp_path / "r", replicates=4, seed=1, series=None, chunk=3)
    assert set(_table(folder, "indicators")["replicate"]) == {0, 1, 2, 3}
    assert not Ensemble.from_folder(folder).sampled
