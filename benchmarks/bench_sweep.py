"""Sweep throughput: the project's chunked ensembles against mesa.batch_run on the same points.

Both ways run the same 40 parameter points (a 5 x 8 grid over two
coefficients, which batch_run can express as the product of two lists) on the
same model with two processes. batch_run gets one replicate per point because
each run builds a Mesa model and steps it in Python; the sweep gets 100
replicates per point. Rates are runs per second of wall time, start-up
included; the ratio is sweep rate / batch_run rate.
Also times 1,000 replicates of the baseline through the engine in this process.

    PYTHONPATH=. python benchmarks/bench_sweep.py [--replicates 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.core.compile import compile_scenario  # noqa: E402
from sim.core.engine import run_ensemble  # noqa: E402
from sim.core.loading import load_scenario  # noqa: E402
from sim.core.seeds import replicate_seeds  # noqa: E402
from sim.run.sweep.execute import run_sweep  # noqa: E402
from sim.run.sweep.results import read_results  # noqa: E402
from sim.run.sweep.spec import load_sweep  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.yaml"
DIVERSION = [0.0, 0.075, 0.15, 0.225, 0.3]
REVERSION = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def sweep_file(folder: Path, replicates: int) -> Path:
    path = folder / "bench.yaml"
    path.write_text(
        "name: bench\n"
        f"scenario: {os.path.relpath(BASELINE, folder)}\n"
        "parameters:\n"
        f"  - {{path: coefficients.trade_diversion, values: {DIVERSION}}}\n"
        f"  - {{path: coefficients.trust_reversion, values: {REVERSION}}}\n"
        "design: {method: grid}\n"
        f"replicates: {replicates}\nseed: 1\nchunk_runs: 1000\n"
        "outputs:\n"
        "  - {name: trade_2014, column: trade.china.russia, stat: mean, year: 2014}\n"
        "  - {name: events, column: events.total, stat: sum}\n")
    return path


def bench_engine(replicates: int, workers: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        sw = load_sweep(sweep_file(Path(tmp), replicates))
        t0 = time.perf_counter()
        run_sweep(sw, Path(tmp) / "out", workers=workers, progress=False)
        wall = time.perf_counter() - t0
        _, runs = read_results(Path(tmp) / "out")
        assert (runs["status"] == "ok").all()
        return len(runs), wall


def bench_batch_run(workers: int) -> tuple[int, float]:
    import mesa

    from sim.core.model import RelationsModel
    t0 = time.perf_counter()
    rows = mesa.batch_run(RelationsModel,
                          parameters={"scenario": [str(BASELINE)], "coefficients.trade_diversion": DIVERSION,
                                      "coefficients.trust_reversion": REVERSION},
                          rng=[12345], number_processes=workers, display_progress=False)
    wall = time.perf_counter() - t0
    return len(rows), wall


def bench_replicates(n: int = 1000) -> float:
    load_scenario(BASELINE)                       # file reading is not what is measured
    t0 = time.perf_counter()
    cp = compile_scenario(load_scenario(BASELINE))
    run_ensemble(cp, replicate_seeds(1, n))
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=100, help="sweep replicates per point (default 100)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    n_e, t_e = bench_engine(args.replicates, args.workers)
    n_b, t_b = bench_batch_run(args.workers)
    rate_e, rate_b = n_e / t_e, n_b / t_b
    t_1000 = bench_replicates()
    print(f"points: {len(DIVERSION) * len(REVERSION)}, workers: {args.workers}, cores: {os.cpu_count()}")
    print(f"sweep (chunked ensembles): {n_e:6d} runs in {t_e:6.2f} s = {rate_e:8.1f} runs/s")
    print(f"mesa.batch_run:            {n_b:6d} runs in {t_b:6.2f} s = {rate_b:8.1f} runs/s")
    print(f"ratio: {rate_e / rate_b:.0f}x (target >= 50)")
    print(f"1,000 replicates of the baseline, engine, one process: {t_1000:.2f} s (target < 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
