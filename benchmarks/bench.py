"""Speed and memory at scale: the project's ensembles against mesa.batch_run on the same points.

Prints, in one run:

(a) a sweep of 40 points x 100 replicates (a 5 x 8 grid over two coefficients);
(b) a sweep of 1,000 Latin-hypercube points x 1 replicate over five parameters;
(c) one ABC-SMC generation of 1,000 particles (the hindcast calibration's eleven
    priors, one replicate each);

each run three times (interleaved; ``--repeat``) with two worker processes, the best
shown, and against ``mesa.batch_run(number_processes=2)``
on the same points (one run per point: a batch run's cost per run does not
depend on replicates). batch_run manages about 5 runs a second on two processes, so
``--batch-points N`` (default 100) gives batch_run the first N of each
regime's points (all 40 of (a)); its rate per run does not depend on how
many points it is given beyond its pool's start-up, which the smaller number
charges it more of. Rates are runs per second of wall time, start-up
included; the ratio is ours / batch_run's. Then: 1, 100 and 1,000 replicates
of the baseline through the engine in this process (compile included, best
of three, with a profile of where the time goes at 1,000, and what drawing
their random numbers alone costs) and 1,000 in a fresh process (imports
included), and the wall time and peak
memory (max RSS of the process) of ``run.py run`` at 10^4 and 10^5
replicates, and 10^6 with ``--million``.

    PYTHONPATH=. python benchmarks/bench.py [--workers 2] [--batch-points 100] [--repeat 3] [--million]
                                            [--skip-batch-run]
    PYTHONPATH=. python benchmarks/bench.py --engine-only
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.core.compile import compile_scenario  # noqa: E402
from sim.core.engine import Engine, run_ensemble  # noqa: E402
from sim.core.loading import load_scenario  # noqa: E402
from sim.core.model import RelationsModel  # noqa: E402
from sim.core.seeds import replicate_seeds  # noqa: E402
from sim.run.sweep.execute import run_sweep  # noqa: E402
from sim.run.sweep.results import read_results  # noqa: E402
from sim.run.sweep.spec import load_sweep  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.yaml"
CALIBRATION = ROOT / "calibration" / "hindcast_2012.yaml"
DIVERSION = [0.0, 0.075, 0.15, 0.225, 0.3]
REVERSION = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
LHS = {"coefficients.trade_diversion": (0.0, 0.3), "coefficients.trust_reversion": (0.2, 0.9),
       "states.russia.trust.china": (0.3, 0.7), "coefficients.trade_oil_elasticity": (0.0, 1.2),
       "events.visit.rate": (0.3, 2.5)}


class PointModel(RelationsModel):
    """The Mesa model at one parameter point: how batch_run runs a list of points rather than a product."""

    def __init__(self, scenario=str(BASELINE), *, point: dict, rng=None):
        super().__init__(scenario, rng=rng, **point)


def batch_run(points: list[dict], workers: int) -> tuple[int, float]:
    import mesa
    t0 = time.perf_counter()
    rows = mesa.batch_run(PointModel, parameters={"scenario": [str(BASELINE)], "point": points}, rng=[12345],
                          number_processes=workers, display_progress=False)
    return len(rows), time.perf_counter() - t0


def sweep(folder: Path, name: str, parameters: str, design: str, replicates: int, chunk_runs: int,
          workers: int) -> tuple[int, float, list[dict]]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nscenario: {os.path.relpath(BASELINE, folder)}\nparameters:\n{parameters}"
                    f"design: {design}\nreplicates: {replicates}\nseed: 1\nchunk_runs: {chunk_runs}\n"
                    "outputs:\n  - {name: trade_2014, column: trade.china.russia, stat: mean, year: 2014}\n"
                    "  - {name: events, column: events.total, stat: sum}\n")
    sw = load_sweep(path)
    t0 = time.perf_counter()
    run_sweep(sw, folder / name, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    manifest, runs = read_results(folder / name)
    assert (runs["status"] == "ok").all()
    names = manifest["problem"]["names"]
    points = runs.groupby("point")[names].first()
    return len(runs), wall, [{k: float(v) for k, v in row.items()} for _, row in points.iterrows()]


def abc_generation(folder: Path, particles: int, workers: int) -> tuple[int, float, list[dict], float]:
    """One generation of ``particles`` (prior draws, one run each) through the calibration's own simulator:
    (particles, wall seconds of the whole calibration, the particles, seconds spent evaluating them)."""
    from sim.run.calibrate.outputs import run_calibration
    from sim.run.calibrate.priors import load_calibration
    from sim.run.calibrate.simulate import ParticleSimulator
    folder.mkdir(parents=True, exist_ok=True)
    text = CALIBRATION.read_text().replace("../scenarios/", f"{(ROOT / 'scenarios').as_posix()}/")
    text = text.split("budget:")[0] + (f"budget: {{particles: {particles}, generations: 1, initial_factor: 1, "
                                       f"max_simulations: {particles}, replicates: 1}}\nseed: 2012\n"
                                       "chunk_runs: 250\n")             # the chunks of (b)
    (folder / "abc.yaml").write_text(text)
    cal = load_calibration(folder / "abc.yaml")
    asked, spent = [], []
    original = ParticleSimulator.__call__

    def recording(self, values, generation, batch):
        asked.append(values.copy())
        t0 = time.perf_counter()
        out = original(self, values, generation, batch)
        spent.append(time.perf_counter() - t0)
        return out

    ParticleSimulator.__call__ = recording
    try:
        t0 = time.perf_counter()
        run_calibration(cal, folder / "abc", workers=workers, log=lambda s: None)
        wall = time.perf_counter() - t0
    finally:
        ParticleSimulator.__call__ = original
    values = np.concatenate(asked)
    return len(values), wall, [dict(zip(cal.paths, map(float, row), strict=True)) for row in values], sum(spent)


def hindcast_months() -> str:
    from sim.evidence.record import load_record
    from sim.run.calibrate.outputs import _targets
    from sim.run.calibrate.priors import load_calibration
    cal = load_calibration(CALIBRATION)
    base = load_scenario(cal.base)
    _, months = _targets(cal, base, load_record(cal.record_path))
    return f"{months} of {compile_scenario(base).n_months}"


def replicates_in_process(n: int = 1000, profile: bool = True) -> tuple[float, str]:
    load_scenario(BASELINE)                       # reading the file is not what is measured
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        run_ensemble(compile_scenario(load_scenario(BASELINE)), replicate_seeds(1, n))
        best = min(best, time.perf_counter() - t0)
    if not profile:
        return best, ""
    prof = cProfile.Profile()
    prof.enable()
    run_ensemble(compile_scenario(load_scenario(BASELINE)), replicate_seeds(1, n))
    prof.disable()
    stats = pstats.Stats(prof)
    rows = sorted(((v[2], f"{Path(k[0]).name}:{k[2]}") for k, v in stats.stats.items()), reverse=True)[:8]
    total = sum(v[2] for v in stats.stats.values())
    return best, ", ".join(f"{name} {t / total:.0%}" for t, name in rows)


def cold_start(n: int = 1000) -> float:
    """Wall seconds of a fresh process that imports the package, loads, compiles and runs n replicates."""
    code = ("import time; t0 = time.perf_counter(); from sim.core.compile import compile_scenario; "
            "from sim.core.engine import run_ensemble; from sim.core.loading import load_scenario; "
            "from sim.core.seeds import replicate_seeds; "
            f"run_ensemble(compile_scenario(load_scenario({str(BASELINE)!r})), replicate_seeds(1, {n})); "
            "print(time.perf_counter() - t0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def random_numbers(n: int = 1000) -> tuple[float, int]:
    """Best-of-3 seconds to draw every random number n replicates of the baseline use, and how many streams.

    This is a floor under any implementation that keeps the model's numbers: the draws are fixed by the
    streams' keys and the SplitMix64 and Box-Muller arithmetic (sim/core/streams.py).
    """
    cp = compile_scenario(load_scenario(BASELINE))
    eng = Engine(cp, replicate_seeds(1, n))
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for t in range(eng.T):
            eng.t = t
            eng._draws()
        best = min(best, time.perf_counter() - t0)
    return best, len(eng._normals.keys) + len(eng._uniforms.keys)


def engine_rows() -> None:
    for n in (1, 100, 1000):
        best, where = replicates_in_process(n, profile=n == 1000)
        print(f"{n:,} replicate(s) of the baseline, one process, compile included: {best:.3f} s (best of 3)")
        if where:
            print(f"    where the time goes (share of the time spent in each function itself): {where}")
    draws, streams = random_numbers()
    print(f"    of which drawing the random numbers alone ({streams} streams a month): {draws:.3f} s (best of 3)")
    print(f"1,000 replicates in a fresh process, imports and first touch of memory included: {cold_start():.2f} s")


def run_memory(n: int, folder: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of ``run.py run`` with n replicates (default flags: scores and figures)."""
    cmd = [sys.executable, str(ROOT / "run.py"), "run", str(BASELINE), "--replicates", str(n),
           "--out", str(folder / f"run_{n}"), "--force"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"run with {n} replicates failed")
    return wall, usage.ru_maxrss / 2**20            # ru_maxrss is in KiB on Linux


def compared(points: list[dict], args) -> tuple[int, float] | None:
    """batch_run on the first ``--batch-points`` of the points (None with --skip-batch-run)."""
    return None if args.skip_batch_run else batch_run(points[: args.batch_points], args.workers)


def line(label: str, n: int, wall: float, ref: tuple[int, float] | None) -> str:
    rate = n / wall
    text = f"{label:42s} {n:7d} runs in {wall:7.2f} s = {rate:8.1f} runs/s"
    if ref is not None:
        b_rate = ref[0] / ref[1]
        text += f" | batch_run {ref[0]:5d} runs in {ref[1]:6.1f} s = {b_rate:5.1f} runs/s | ratio {rate / b_rate:4.0f}x"
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--million", action="store_true", help="also run.py run with 10^6 replicates (about 25 min)")
    ap.add_argument("--skip-batch-run", action="store_true", help="skip the mesa.batch_run comparisons")
    ap.add_argument("--batch-points", type=int, default=100, help="points given to batch_run in each regime")
    ap.add_argument("--memory", default="10000,100000", help="replicates of the run.py run measurements")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each of (a), (b) and (c); the best is shown")
    ap.add_argument("--engine-only", action="store_true",
                    help="only the replicates of the baseline in one process (1, 100 and 1,000, and a cold start)")
    args = ap.parse_args()
    w = args.workers
    print(f"cores: {os.cpu_count()}, workers: {w}")
    if args.engine_only:
        engine_rows()
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        grid = (f"  - {{path: coefficients.trade_diversion, values: {DIVERSION}}}\n"
                f"  - {{path: coefficients.trust_reversion, values: {REVERSION}}}\n")
        lhs = "".join(f"  - {{path: {p}, range: [{lo}, {hi}]}}\n" for p, (lo, hi) in LHS.items())
        runs_a, runs_b, runs_c = [], [], []
        for i in range(args.repeat):          # interleaved, so that a noisy stretch hits every regime alike
            runs_a.append(sweep(tmp / str(i), "a", grid, "{method: grid}", 100, 1000, w))
            runs_b.append(sweep(tmp / str(i), "b", lhs, "{method: lhs, points: 1000}", 1, 250, w))
            runs_c.append(abc_generation(tmp / str(i), 1000, w))
        n, wall, pts = min(runs_a, key=lambda r: r[1])
        print(line("(a) sweep, 40 points x 100 replicates", n, wall, compared(pts, args)))
        n, wall_b, pts = min(runs_b, key=lambda r: r[1])
        print(line("(b) sweep, 1,000 points x 1 replicate", n, wall_b, compared(pts, args)))
        n_c, wall_c, pts, eval_c = min(runs_c, key=lambda r: r[1])
        print(line("(c) ABC generation, 1,000 particles", n_c, wall_c, compared(pts, args)))
        print(f"    per particle {1000 * wall_c / n_c:.2f} ms (evaluation alone {1000 * eval_c / n_c:.2f} ms; the rest "
              f"is the calibration's setup and summary) vs per point in (b) {1000 * wall_b / n:.2f} ms "
              f"(each the best of {args.repeat}); particles run the {hindcast_months()} months their statistics "
              "read, (b)'s points the whole period")
        engine_rows()
        sizes = tuple(int(x) for x in args.memory.split(",") if x)
        for n in sizes + ((1_000_000,) if args.million else ()):
            wall, rss = run_memory(n, tmp)
            print(f"run.py run --replicates {n:>9,}: {wall:8.1f} s ({1e3 * wall / n:.2f} ms/replicate), "
                  f"peak RSS {rss:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
