"""The command line as a user meets it."""

import subprocess
import sys

import pandas as pd

from tests.conftest import BASELINE, ROOT


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True, text=True, cwd=cwd)


def test_run_writes_results_and_prints_summary(tmp_path):
    proc = _run("run", str(BASELINE), "--replicates", "3", "--seed", "5", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert "trade china–russia" in proc.stdout and "events between china and russia" in proc.stdout
    for name in ("indicators.parquet", "events.parquet", "manifest.json", "summary.txt"):
        assert (tmp_path / "r" / name).stat().st_size > 0
    assert pd.read_parquet(tmp_path / "r" / "indicators.parquet")["replicate"].nunique() == 3


def test_help_has_an_example():
    proc = _run("run", "--help")
    assert proc.returncode == 0 and "example:" in proc.stdout


def test_bad_flag_exits_2():
    proc = _run("run", str(BASELINE), "--replicates", "many")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_missing_file_exits_2():
    proc = _run("run", "no/such.yaml")
    assert proc.returncode == 2 and "no/such.yaml" in proc.stderr and "not found" in proc.stderr


def test_bad_override_exits_2():
    proc = _run("run", str(BASELINE), "--set", "states.russia.trust.china=high")
    assert proc.returncode == 2 and "states.russia.trust.china" in proc.stderr


def test_every_subcommand_spells_shared_flags_the_same_way():
    """A flag two subcommands share means the same and is spelt the same (-q wherever --quiet is)."""
    import argparse

    from sim.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        flags = {s: a for a in parser._actions for s in a.option_strings}
        if "--quiet" in flags:
            assert flags.get("-q") is flags["--quiet"], f"{name}: --quiet without -q"
        if "--out" in flags:
            assert flags["--out"].help, f"{name}: --out without help"
        assert "example" in (parser.epilog or ""), f"{name}: --help shows no example"
