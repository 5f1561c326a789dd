"""A run's results folder is whole or refused (sim.core.results): swapped in last, locked, verified by readers,
and a run killed while it writes leaves the previous results intact."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.core import results
from sim.core.errors import UserError
from sim.core.results import FolderWriter, read_manifest
from sim.evidence.ensemble import Ensemble
from sim.run.runner import run
from tests.conftest import BASELINE, ROOT


@pytest.fixture(scope="module")
def small_run():
    return run(BASELINE, replicates=2, seed=5)


def test_the_manifest_lists_every_file_with_its_hash(small_run, tmp_path):
    folder = tmp_path / "r"
    small_run.save(folder)
    manifest = read_manifest(folder)
    assert set(manifest["files"]) == {"indicators.parquet", "events.parquet", "summary.txt", "scenario.resolved.json"}
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
    data = (folder / "events.parquet").read_bytes()
    (folder / "events.parquet").write_bytes(data[:-10])
    with pytest.raises(UserError, match="events.parquet does not match its hash"):
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
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    cmd = [sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "--replicates", "2", "--no-compare",
           "--out", str(folder)]

    def tmp_files() -> list[Path]:
        return [p for d in tmp_path.glob(".r.tmp-*") for p in d.rglob("*") if p.is_file()]
    moments = {"temporary folder made": lambda: any(tmp_path.glob(".r.tmp-*")),
               "tables written": lambda: any(p.name == "events.parquet" for p in tmp_files()),
               "figures being drawn": lambda: sum(p.parent.name == "plots" for p in tmp_files()) >= 4}
    for moment, reached in moments.items():
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert _wait_for(reached), f"the run never reached: {moment}"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before, moment
        read_manifest(folder)
        rc = main(["compare", str(folder), "--out", str(tmp_path / f"cmp_{len(moment)}")])
        assert rc == 0, moment
    proc = subprocess.run(cmd + ["--no-plots"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob(".r.*")), "leftovers of the killed runs were not removed"
    assert json.loads((folder / "manifest.json").read_text())["base_seed"] != 5
