"""Every bad input of the corpus (tests/bad_inputs.py) ends in one clear line, exit status 2, and no stray file.

Cases run in this process through ``sim.cli.main`` (fast); those marked
``subprocess`` (pipes, alias bombs, devices) run as a real command with a time
and memory limit, so that a regression shows up as a failed test, not a hung suite.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import pytest

from sim.cli import main
from tests.bad_inputs import CASES, TEMPLATES, Case, Outcome, escaped, fill, judge, make_workspace, snapshot
from tests.conftest import ROOT

SECONDS = 60


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> Path:
    """Tiny results folders (two sweeps, a calibration, a run), built once and copied into each case."""
    ws = make_workspace(tmp_path_factory.mktemp("templates"))
    for name, argv in TEMPLATES.items():
        rc, err = _in_process([fill(a, ws) for a in argv], ws / "work")
        assert rc == 0, f"building the {name} results folder failed: {err}"
    return ws / "results"


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: int):
    def ring(signum, frame):
        raise _Hang()
    old = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _memory_cap(extra_gb: float = 4.0):
    """An address-space limit a few GiB above what this process holds, so that a case that explodes
    raises MemoryError here instead of inviting the kernel to kill the test run."""
    status = Path("/proc/self/status")
    if not status.exists():
        yield
        return
    size_kb = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmSize:"))
    old = resource.getrlimit(resource.RLIMIT_AS)
    cap = size_kb * 1024 + int(extra_gb * 2**30)
    if old[1] != resource.RLIM_INFINITY:
        cap = min(cap, old[1])
    resource.setrlimit(resource.RLIMIT_AS, (cap, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, old)


def _in_process(argv: list[str], cwd: Path) -> tuple[int | None, str]:
    err = io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), _deadline(SECONDS), \
                _memory_cap():
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 2
            except _Hang:
                rc = None
            except Exception:  # noqa: BLE001 - a traceback is what the corpus looks for
                print(traceback.format_exc(), file=sys.stderr)
                rc = 1
    finally:
        os.chdir(here)
    return rc, err.getvalue()


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))


def _as_process(argv: list[str], cwd: Path) -> tuple[int | None, str]:
    try:
        proc = subprocess.run([sys.executable, str(ROOT / "run.py"), *argv], cwd=cwd, capture_output=True, text=True,
                              timeout=SECONDS, preexec_fn=_limit_memory, errors="replace")
    except subprocess.TimeoutExpired:
        return None, ""
    return proc.returncode, proc.stderr


def _restore_permissions(root: Path) -> None:
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_clear_line(case: Case, tmp_path, request):
    if case.unless_root and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the case needs an ordinary user")
    ws = make_workspace(tmp_path)
    if case.needs:
        templates = request.getfixturevalue("templates")
        for need in case.needs:
            shutil.copytree(templates / need, ws / "results" / need)
    for step in case.setup:
        step(ws)
    argv = [case.fill(a, ws) for a in case.argv]
    before = snapshot(tmp_path)
    t0 = time.perf_counter()
    rc, err = (_as_process if case.subprocess else _in_process)(argv, ws / "work")
    outcome = Outcome(rc, err, time.perf_counter() - t0,
                      escaped(before, snapshot(tmp_path), tmp_path, Path(case.fill(case.out, ws))))
    _restore_permissions(tmp_path)
    problems = judge(case, outcome, ws)
    assert not problems, f"{case.id}: {problems}; stderr: {err[-800:]}"


def test_the_corpus_covers_every_command_and_category():
    assert len(CASES) >= 150
    assert len({c.id for c in CASES}) == len(CASES)
    commands = {c.argv[0] for c in CASES if c.argv}
    assert commands >= {"run", "compare", "plot", "report", "sweep", "sensitivity", "plot-sweep", "calibrate",
                        "record", "import-chronology", "describe", "new-scenario"}
    per = Counter(c.category for c in CASES)
    assert all(n >= 5 for n in per.values()), per
    assert sum(c.subprocess for c in CASES) >= 5


def test_judge_catches_what_the_corpus_is_for(tmp_path):
    """The checks themselves: a traceback, two lines, a silent accept, a missing field and a stray file all fail."""
    ws = make_workspace(tmp_path)
    case = Case("x", "yaml", ("run",), ("bad.yaml:3",))
    assert judge(case, Outcome(2, "error: bad.yaml:3: meta.name: wrong\n", 0.1), ws) == []
    assert judge(case, Outcome(1, "Traceback (most recent call last):\nValueError\n", 0.1), ws)
    assert judge(case, Outcome(2, "error: bad.yaml:3: one\nerror: two\n", 0.1), ws)
    assert judge(case, Outcome(0, "", 0.1), ws)
    assert judge(case, Outcome(2, "error: meta.name: wrong\n", 0.1), ws)
    assert judge(case, Outcome(None, "", 60), ws)
    before = snapshot(tmp_path)
    (tmp_path / "stray.txt").write_text("x")
    assert escaped(before, snapshot(tmp_path), tmp_path, ws / "out") == ["stray.txt"]
    (ws / "out").mkdir()
    (ws / "out" / "fine.txt").write_text("x")
    assert escaped(before, snapshot(tmp_path), tmp_path, ws / "out") == ["stray.txt"]
