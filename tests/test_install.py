"""The package as pip installs it (a wheel, not this checkout), used from another folder.

The wheel is built from this tree and unpacked with ``pip install --no-deps
--target``; commands then run from an unrelated folder with only that copy on
``sys.path`` ahead of the dependencies (the test checks that the code came
from it). Nothing may be looked up beside the checkout: the bundled example
project, its record and alias list travel inside the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
PY = sys.executable


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([PY, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(ROOT)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((base / "dist").glob("dyadsim-*.whl"))
    target = base / "site"
    inst = subprocess.run([PY, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                          capture_output=True, text=True)
    assert inst.returncode == 0, inst.stderr[-2000:]
    work = base / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    return target, work, env


def _run(installed, *args, cwd=None):
    target, work, env = installed
    return subprocess.run([PY, *args], cwd=cwd or work, env=env, capture_output=True, text=True)


def test_code_comes_from_the_wheel_with_the_example_project(installed):
    target, _, _ = installed
    proc = _run(installed, "-c", "import sim, dyadsim; from sim.core.bundle import data_root; "
                                 "print(sim.__file__); print(data_root()); print(dyadsim.__version__)")
    assert proc.returncode == 0, proc.stderr
    code, data, version = proc.stdout.split()
    assert Path(code).is_relative_to(target) and Path(data) == target / "sim" / "examples"
    assert (target / "sim" / "examples" / "calibration" / "record" / "record.yaml").exists()
    assert (target / "sim" / "examples" / "scenarios" / "examples" / "china_japan" / "record" / "aliases.yaml").exists()
    assert not (target / "sim" / "examples" / "calibration" / "reports").exists()      # outputs stay out
    assert version != "0+unknown"


def test_bundled_example_runs_compares_plots_and_sweeps_from_elsewhere(installed):
    _, work, _ = installed
    assert _run(installed, "-m", "dyadsim", "init", "proj").returncode == 0
    run = _run(installed, "-m", "dyadsim", "run", "proj/scenarios/baseline.yaml", "--replicates", "4", "--quiet",
               "--no-plots", "--out", "res/base")                    # figures: the plot command below
    assert run.returncode == 0, run.stderr
    assert "against the record" in run.stdout and (work / "res" / "base" / "scorecard.json").is_file()
    manifest = json.loads((work / "res" / "base" / "manifest.json").read_text())
    assert Path(manifest["record"]).is_absolute()
    # compare the results folder from yet another folder, by absolute path
    other = work / "other"
    other.mkdir()
    cmp = _run(installed, "-m", "dyadsim", "compare", str(work / "res" / "base"), "--quiet",
               "--out", "cmp", cwd=other)
    assert cmp.returncode == 0, cmp.stderr
    plot = _run(installed, "-m", "dyadsim", "plot", "proj/scenarios/baseline.yaml", "--vs",
                "proj/scenarios/no_2014_sanctions.yaml", "--replicates", "4", "--columns", "trade.china.russia",
                "--quiet", "--out", "figs")
    assert plot.returncode == 0, plot.stderr
    assert len(list((work / "figs").glob("*.svg"))) >= 3
    sweep = _run(installed, "-m", "dyadsim", "sweep", "proj/sweeps/small_grid.yaml", "--replicates", "1",
                 "--workers", "1", "--quiet", "--out", "sw")
    assert sweep.returncode == 0, sweep.stderr
    assert list((work / "sw" / "runs").glob("part-*.parquet"))


def test_notebook_api_and_mesa_model_work_without_the_checkout(installed):
    code = ("import dyadsim as ds\n"
            "r = ds.run('russia_india', replicates=3, seed=2)\n"
            "print(r.score().overall_line())\n"
            "from sim.core.model import RelationsModel\n"
            "m = RelationsModel(rng=1); m.step(); print(m.month)\n")
    proc = _run(installed, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "2000-01"


# ----------------------------------------------------------------------------- declared dependencies

_IMPORTS = """
import json, sys
before = set(sys.modules)
import sim.api, sim.cli, sim.core.model, sim.run.sweep, sim.run.calibrate, sim.report.html, sim.evidence.record
from sim.cli import COMMAND_MODULES
for name in COMMAND_MODULES:
    __import__(name)
print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))
"""


def _requirement_names(requirements) -> set[str]:
    import re
    return {re.split(r"[\s\[<>=!;~(]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements or []
            if "extra ==" not in r}


def _static_imports() -> set[str]:
    """Top-level modules that the package's source imports anywhere, but the extras' (dask for --scheduler,
    solara for viz: imported inside the function that needs them, with a one-line message when missing)."""
    import ast
    found = set()
    for path in (ROOT / "sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - {"dask", "solara"}


def test_declared_dependencies_are_what_the_code_imports():
    """Every third-party distribution imported is declared (or required by one that is), and every
    declared dependency is imported: nothing missing after a plain pip install, nothing unused."""
    import tomllib
    from importlib.metadata import packages_distributions, requires

    declared = _requirement_names(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    proc = subprocess.run([PY, "-c", _IMPORTS], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    top = packages_distributions()
    modules = set(json.loads(proc.stdout)) | _static_imports()        # at import time, and inside functions
    imported = {d.lower().replace("_", "-") for m in modules for d in top.get(m, [])} - {"dyadsim"}
    reachable, todo = set(), list(declared)
    while todo:                                   # declared dependencies and what they require in turn
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        try:
            todo.extend(_requirement_names(requires(name)))
        except Exception:                         # noqa: BLE001 - a requirement not installed here
            continue
    # imported only when installed, inside try/except, by a dependency: not needed, installed here by the extras
    optional = {"cloudpickle": "pyarrow/__init__.py tries it", "charset-normalizer": "numpy.f2py tries it"}
    assert sorted(imported - reachable - set(optional)) == []     # imported but installed only by accident
    assert sorted(declared - imported) == []      # declared but never imported
    assert "networkx" in imported and "dask" not in imported and "tqdm" in imported
