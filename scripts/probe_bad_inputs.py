"""Run the bad-input corpus (tests/bad_inputs.py) against a checkout, each case in its own process.

Counts how the command line meets each case: a clear one-line error, or a
traceback, a hang, exhausted memory, a silent accept, a write outside --out.
Each process gets a time limit and an address-space limit, so that the
corpus can be run against code that still hangs or explodes on it::

    python scripts/probe_bad_inputs.py                      # this checkout
    python scripts/probe_bad_inputs.py --code /tmp/old      # another checkout (its run.py and sim/)
    python scripts/probe_bad_inputs.py --json results/probe.json --only yaml,numbers
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.bad_inputs import CASES, TEMPLATES, Case, Outcome, classify, escaped, fill, judge, make_workspace  # noqa: E402


def _limits(memory_gb: float):
    def apply() -> None:
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def invoke(code: Path, argv: list[str], cwd: Path, timeout: float, memory_gb: float) -> tuple[int | None, str, float]:
    env = dict(os.environ, PYTHONPATH=str(code), MPLBACKEND="Agg")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(code / "run.py"), *argv], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout, preexec_fn=_limits(memory_gb), errors="replace")
    except subprocess.TimeoutExpired:
        return None, "", time.perf_counter() - t0
    return proc.returncode, proc.stderr, time.perf_counter() - t0


def build_templates(code: Path, root: Path) -> Path:
    ws = make_workspace(root)
    for name, argv in TEMPLATES.items():
        rc, err, _ = invoke(code, [fill(a, ws) for a in argv], ws / "work", 300, 8)
        if rc != 0:
            raise SystemExit(f"building the {name} results folder failed:\n{err}")
    return ws / "results"


def run_case(case: Case, code: Path, templates: Path, timeout: float, memory_gb: float) -> dict:
    if case.unless_root and os.geteuid() == 0:
        # root writes into read-only folders, so the case cannot fail as it should (the test suite skips it too)
        return {"id": case.id, "category": case.category, "rc": None, "seconds": 0.0, "outcome": "skipped",
                "problems": ["needs an ordinary user (root ignores the read-only folder)"], "stderr": ""}
    with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
        root = Path(tmp)
        ws = make_workspace(root)
        for need in case.needs:
            shutil.copytree(templates / need, ws / "results" / need)
        for step in case.setup:
            step(ws)
        out = Path(case.fill(case.out, ws))
        before = _snapshot(root)
        rc, err, secs = invoke(code, [case.fill(a, ws) for a in case.argv], ws / "work", timeout, memory_gb)
        outcome = Outcome(rc, err, secs, escaped(before, _snapshot(root), root, out))
        problems = judge(case, outcome, ws)
        _restore_permissions(root)
    return {"id": case.id, "category": case.category, "rc": rc, "seconds": round(secs, 2),
            "outcome": classify(problems), "problems": problems, "stderr": err[-600:]}


def _snapshot(root: Path) -> dict:
    from tests.bad_inputs import snapshot
    return snapshot(root)


def _restore_permissions(root: Path) -> None:
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout to test (default: this one)")
    ap.add_argument("--only", help="comma-separated categories or case ids")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as a hang")
    ap.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per process")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write every case's outcome here")
    args = ap.parse_args()
    wanted = set(args.only.split(",")) if args.only else None
    cases = [c for c in CASES if wanted is None or c.category in wanted or c.id in wanted]
    with tempfile.TemporaryDirectory(prefix="probe-templates-") as tmp:
        templates = build_templates(args.code.resolve(), Path(tmp))
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(lambda c: run_case(c, args.code.resolve(), templates, args.timeout,
                                                    args.memory_gb), cases))
    by_cat: dict[str, Counter] = {}
    for r in rows:
        by_cat.setdefault(r["category"], Counter())[r["outcome"]] += 1
    total = Counter(r["outcome"] for r in rows)
    print(f"{len(rows)} cases: " + ", ".join(f"{k} {v}" for k, v in total.most_common()))
    for cat, counts in by_cat.items():
        print(f"  {cat:22s} {sum(counts.values()):3d}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    for r in rows:
        if r["outcome"] != "clear":
            print(f"  {r['outcome']:9s} {r['id']}: {'; '.join(r['problems'])[:150]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
