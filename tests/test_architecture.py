"""The package's shape: layers whose imports point one way, no import cycles, short functions, lint-clean.

Layers, left to right: core <- evidence <- run <- report <- api <- cli. A module may
import from its own layer and the layers to its left, never to its right, so
that the dynamics can be used without the record, scoring without sweeps, and
running without a plotting library. Every import counts, at module level or
inside a function: a function-level import is a dependency all the same.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sim"
LAYERS = ["core", "evidence", "run", "report", "api", "cli"]
#: Entry points that may import anything: the package itself (its public names) and ``python -m sim``.
ENTRY_POINTS = {"sim", "sim.__main__"}
MAX_FUNCTION_LINES = 60

# Files whose functions may be longer than the limit. None: keep it that way.
LONG_FUNCTIONS_ALLOWED: set[str] = set()


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str) -> set[str]:
    """The package's modules that ``module`` imports anywhere in its body."""
    path = MODULES[module]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, path.name == "__init__.py")
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return {m for m in found if m == "sim" or m.startswith("sim.")}


def layer_of(module: str) -> int | None:
    """Index in LAYERS; None for the package's own ``sim/__init__.py`` (the public API); ``python -m sim`` is last."""
    if module == "sim":
        return None
    if module == "sim.__main__":
        return len(LAYERS) - 1
    return LAYERS.index(module.split(".")[1])


GRAPH = {m: imports_of(m) for m in MODULES}


def test_every_module_belongs_to_a_layer():
    strays = [m for m in MODULES if m not in ENTRY_POINTS and m.split(".")[1] not in LAYERS]
    assert not strays, f"modules outside the layers {LAYERS}: {strays}"


def test_imports_point_one_way():
    wrong = []
    for module, targets in GRAPH.items():
        for target in targets:
            if target == "sim":
                if module != "sim":
                    wrong.append(f"{module} imports the package's public API (sim); import the module itself")
                continue
            src, dst = layer_of(module), layer_of(target)
            allowed = LAYERS.index("run") if src is None else src      # the public API exposes core and run
            if dst > allowed:
                wrong.append(f"{module} ({LAYERS[src] if src is not None else 'api'}) imports {target} "
                             f"({LAYERS[dst]})")
    assert not wrong, "imports against the layer order core <- evidence <- run <- report <- api <- cli:\n" + \
        "\n".join(sorted(wrong))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    assert not cycles, "modules that import each other (directly or round a loop):\n" + \
        "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_check_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_sim_run_is_the_function_even_after_the_subpackage_is_imported():
    # ``sim.run`` names both run() and the subpackage; the API promises the function.
    code = ("import sim.run.sweep.execute\nfrom sim.run.runner import run as r\nimport sim\nfrom sim import run\n"
            "assert run is r and sim.run is r, sim.run\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_no_plain_import_of_the_run_subpackage():
    """``import sim.run.x`` binds ``sim``, whose attribute ``run`` is the function: use ``from sim.run.x import``."""
    bad = []
    for folder in ("sim", "tests", "scripts", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    bad += [f"{path.relative_to(ROOT)}:{node.lineno}" for a in node.names
                            if a.name == "sim.run" or a.name.startswith("sim.run.")]
    assert not bad, bad


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """(name, line, length) of the functions and methods longer than ``limit`` lines, ``def`` to last line."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            if n > limit:
                out.append((node.name, node.lineno, n))
    return out


def test_functions_are_short():
    assert all((ROOT / f).exists() for f in LONG_FUNCTIONS_ALLOWED), "the allowlist names a file that is gone"
    found = [f"{path.relative_to(ROOT)}:{line} {name} ({n} lines)" for path in MODULES.values()
             if str(path.relative_to(ROOT)) not in LONG_FUNCTIONS_ALLOWED
             for name, line, n in long_functions(path)]
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines (split them into named steps):\n" + "\n".join(found)


def test_the_length_check_counts_from_def_to_the_last_line(tmp_path):
    def body(indent: str) -> str:
        return "\n".join(f"{indent}x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 1))

    probe = tmp_path / "probe.py"   # fits: def + 59 lines; too_long (a method): def + 60 lines
    probe.write_text(f"def fits():\n{body('    ')}\n\n\nclass C:\n    def too_long(self):\n{body('        ')}\n"
                     "        return 0\n")
    assert [(name, n) for name, _, n in long_functions(probe)] == [("too_long", MAX_FUNCTION_LINES + 1)]


def test_ruff_is_clean():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]'); the lint check did not run")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "sim", "tests", "scripts", "benchmarks", "run.py"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
