"""Run results folders: streamed in chunks, written whole or refused (sim.core.results): swapped in last, locked,
verified by readers, and a run killed while it writes leaves the previous results intact."""

import fcntl
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.core import results
from sim.core.errors import UserError
from sim.core.loading import load_scenario
from sim.core.results import FolderWriter, read_manifest
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
    with FolderWriter(folder) as w:
        streamed = stream_run(loaded, w.tmp, record=record, progress=False, **kw)
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
    assert len(read_manifest(a)["tables"]["indicators"]) == 3
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
    manifest = read_manifest(folder)
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

def test_a_folder_that_does_not_match_its_manifest_is_refused_in_one_line(tmp_path):
    out = tmp_path / "r"
    assert _cli("run", str(BASELINE), "--replicates", "3", "--no-plots", "--out", str(out)).returncode == 0
    part = sorted((out / "replicates.parquet").glob("*.parquet"))[0]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    proc = _cli("compare", str(out), "--out", str(tmp_path / "c"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "does not match its hash" in proc.stderr
    part.unlink()
    assert "is missing" in _cli("plot", str(out), "--out", str(tmp_path / "p")).stderr


def test_a_folder_of_an_earlier_version_without_hashes_is_refused_with_a_reason(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"scenario": "baseline", "scenario_hash": "x", "seeds": [1],
                                                   "base_seed": 1}))
    proc = _cli("compare", str(old))
    assert proc.returncode == 2 and "no content hashes" in proc.stderr and "older version" in proc.stderr


def test_a_hashed_folder_of_the_single_file_layout_is_still_read(small_run, tmp_path):
    """Folders written before runs streamed (one indicators.parquet and events.parquet, seeds in the manifest)
    read back as the same ensemble and score the same."""
    folder = tmp_path / "old"
    manifest = small_run.manifest(folder)
    for key in ("tables", "columns", "series_replicates", "totals", "chunk_replicates"):
        manifest.pop(key)
    with FolderWriter(folder) as w:
        small_run.indicators.to_parquet(w.tmp / "indicators.parquet", index=False)
        small_run.events.to_parquet(w.tmp / "events.parquet", index=False)
        (w.tmp / "scenario.resolved.json").write_text(
            json.dumps(small_run.loaded.scenario.model_dump(mode="json")) + "\n")
        w.commit(manifest)
    ens, mem = Ensemble.from_folder(folder), Ensemble.from_run(small_run)
    assert list(ens.columns) == list(mem.columns) and (ens.seeds == mem.seeds).all()
    for name in mem.columns:
        assert (ens.columns[name] == mem.columns[name]).all(), name
    record = load_record(small_run.loaded.record_path)
    assert score(ens, record).overall() == score(mem, record).overall()


def test_compare_finds_the_record_from_any_working_folder(tmp_path):
    out = tmp_path / "deep" / "r"
    assert _cli("run", str(BASELINE), "--replicates", "3", "--no-plots", "--out", str(out)).returncode == 0
    manifest = read_manifest(out)
    assert os.path.isabs(manifest["record"]) and not os.path.isabs(manifest["record_relative"])
    assert not os.path.isabs(manifest["scenario_path_relative"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _cli("compare", str(out.resolve()), "--out", "c", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((elsewhere / "c" / "baseline" / "scorecard.json").read_text())["overall"] == \
        json.loads((out / "scorecard.json").read_text())["overall"]


def test_compare_streams_a_scenario_with_more_replicates_than_a_run_keeps_series_of(monkeypatch):
    from sim.cli.compare import open_subject, realise
    monkeypatch.setattr(stream, "SERIES_DEFAULT", 6)
    big = realise(open_subject(str(BASELINE), None), 8, 1)
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


# ---------------------------------------------------------------- the writer (sim.core.results)

@pytest.fixture(scope="module")
def small_run():
    return run(BASELINE, replicates=2, seed=5)


def test_the_manifest_lists_every_file_with_its_hash(small_run, tmp_path):
    folder = tmp_path / "r"
    small_run.save(folder)
    manifest = read_manifest(folder)
    assert set(manifest["files"]) == {"indicators.parquet/part-00000.parquet", "events.parquet/part-00000.parquet",
                                      "replicates.parquet/part-00000.parquet", "summary.txt",
                                      "scenario.resolved.json"}
    assert manifest["files"] == results.file_hashes(folder)
    assert Ensemble.from_folder(folder).columns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]      # no lock or temporary folder left beside it


def test_a_rerun_replaces_the_whole_folder(small_run, tmp_path):
    folder = tmp_path / "r"
    small_run.save(folder)
    (folder / "scorecard.json").write_text("{}")         # an earlier run's scorecard
    with pytest.raises(UserError, match="scorecard.json is not one of the files"):
        read_manifest(folder)
    small_run.save(folder)
    assert not (folder / "scorecard.json").exists()
    read_manifest(folder)


def test_a_changed_file_is_refused(small_run, tmp_path):
    folder = tmp_path / "r"
    small_run.save(folder)
    part = folder / "events.parquet" / "part-00000.parquet"
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(UserError, match="events.parquet/part-00000.parquet does not match its hash"):
        Ensemble.from_folder(folder)


def test_a_second_writer_is_refused_in_one_line(tmp_path, capsys):
    folder = tmp_path / "r"
    with open(tmp_path / ".r.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        rc = main(["run", str(BASELINE), "--replicates", "2", "--no-plots", "--no-compare", "--out", str(folder)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "another run is writing" in err
    assert not folder.exists()


def test_force_replaces_a_folder_that_is_not_a_results_folder(small_run, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    with pytest.raises(UserError, match="--force"):
        small_run.save(folder)
    assert (folder / "notes.txt").exists()
    small_run.save(folder, force=True)
    assert not (folder / "notes.txt").exists()
    read_manifest(folder)


def test_without_an_atomic_exchange_the_two_renames_recover(small_run, tmp_path, monkeypatch):
    """Where renameat2 is missing the old folder is moved aside first; a kill between the two renames leaves
    it as .<name>.old-<pid>, and the next writer puts it back before doing anything else."""
    folder = tmp_path / "r"
    small_run.save(folder)
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)
    small_run.save(folder)
    read_manifest(folder)
    saved = (folder / "manifest.json").read_bytes()
    os.rename(folder, tmp_path / ".r.old-999")                  # as if killed between the renames
    (tmp_path / ".r.tmp-998").mkdir()
    with FolderWriter(folder) as w:
        assert (folder / "manifest.json").exists() and not (tmp_path / ".r.old-999").exists()
        assert not (tmp_path / ".r.tmp-998").exists()
        assert w.tmp.is_dir()
    assert (folder / "manifest.json").read_bytes() == saved     # put back whole; leaving without commit keeps it
    read_manifest(folder)


def _wait_for(cond, seconds: float = 120.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.slow
def test_a_run_killed_while_writing_leaves_the_previous_results_whole(small_run, tmp_path):
    """SIGKILL at three moments of writing over an earlier run: each time the folder is the earlier run, whole,
    and compare accepts it; the next run cleans up what the killed one left and replaces it."""
    folder = tmp_path / "r"
    small_run.save(folder)
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    cmd = [sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "--replicates", "2", "--no-compare",
           "--out", str(folder)]

    def tmp_files() -> list[Path]:
        return [p for d in tmp_path.glob(".r.tmp-*") for p in d.rglob("*") if p.is_file()]
    moments = {"temporary folder made": lambda: any(tmp_path.glob(".r.tmp-*")),
               "a chunk's tables written": lambda: any(p.parent.name == "events.parquet" for p in tmp_files()),
               "figures being drawn": lambda: sum(p.parent.name == "plots" for p in tmp_files()) >= 4}
    for moment, reached in moments.items():
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert _wait_for(reached), f"the run never reached: {moment}"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before, moment
        read_manifest(folder)
        rc = main(["compare", str(folder), "--out", str(tmp_path / f"cmp_{len(moment)}")])
        assert rc == 0, moment
    proc = subprocess.run(cmd + ["--no-plots"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob(".r.*")), "leftovers of the killed runs were not removed"
    assert json.loads((folder / "manifest.json").read_text())["base_seed"] != 5


def test_series_are_stored_exactly_with_float_columns_byte_stream_split(tmp_path):
    import numpy as np
    import pyarrow.parquet as pq

    folder = _streamed(tmp_path / "a", replicates=3, seed=9)
    part = folder / read_manifest(folder)["tables"]["indicators"][0]
    meta = pq.ParquetFile(part).metadata.row_group(0)
    by_name = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "BYTE_STREAM_SPLIT" in by_name["trade.china.russia"]
    assert not any("DICTIONARY" in e or "RLE_DICTIONARY" in e for e in by_name["trade.china.russia"])
    stored = pq.read_table(part).to_pandas()
    mem = run(load_scenario(BASELINE), replicates=3, seed=9).indicators
    for col in mem.columns:
        if col != "month":
            assert np.array_equal(stored[col].to_numpy(), mem[col].to_numpy()), col
