"""``run.py calibrate``: fit free parameters to the record, then check the fit on held-out years."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.run_cli import positive_int, seed_int


def register(sub) -> None:
    p = sub.add_parser(
        "calibrate", help="ABC-SMC calibration against the record, with a hindcast check",
        description="Calibrate the parameters a calibration file names (priors, targets, budget, hindcast split) "
                    "with ABC-SMC over the ensemble engine; write each generation (resumable), the posterior, a "
                    "summary and a calibrated scenario; then score prior and posterior ensembles on the "
                    "calibration period and on the held-out period.",
        epilog="example:\n  python run.py calibrate calibration/hindcast_2012.yaml --out results/calibration/hindcast\n"
               "  python run.py calibrate calibration/full.yaml --scenario-out scenarios/baseline_calibrated.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="calibration YAML file")
    p.add_argument("--out", help="output folder (default: results/calibration/<name>)")
    p.add_argument("--workers", type=positive_int, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 (instead of --workers)")
    p.add_argument("--seed", type=seed_int, help="seed (default: the file's seed)")
    p.add_argument("--replicates", type=positive_int, default=200,
                   help="replicates of the prior and posterior ensembles in the evaluation (default 200)")
    p.add_argument("--scenario-out", help="also write the calibrated scenario here (default: <out>/calibrated.yaml)")
    p.add_argument("--no-evaluate", action="store_true", help="skip the prior/posterior scoring and figures")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args) -> int:
    import sys

    from sim.calibrate import evaluate, headline, load_calibration, run_calibration, write_calibrated_scenario

    cal = load_calibration(args.file)
    out = Path(args.out) if args.out else Path("results") / "calibration" / cal.spec.name
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731 - progress goes to stderr
    outcome = run_calibration(cal, out, workers=args.workers, scheduler=args.scheduler, seed=args.seed, log=log)
    s = outcome.summary
    print(f"calibration {cal.spec.name}: {len(outcome.targets)} targets"
          f"{' up to ' + cal.spec.split.calibrate_until if cal.spec.split.calibrate_until else ''}, "
          f"{s['simulations']} simulations, {len(s['generations'])} generations")
    print("generation  tolerance  acceptance  ESS")
    for g in s["generations"]:
        print(f"  {g['generation']:8d}  {g['epsilon']:9.4f}  {g['acceptance_rate']:10.1%}  {g['ess']:5.0f}")
    print("parameter                                   posterior median   90% interval")
    for path, v in s["parameters"].items():
        print(f"  {path:42s} {v['median']:12.4g}   [{v['q05']:.4g}, {v['q95']:.4g}]")
    targets = [Path(args.scenario_out)] if args.scenario_out else []
    targets.append(out / "calibrated.yaml")
    for t in targets:
        write_calibrated_scenario(cal, s, t, out / "posterior.parquet" if t.parent.resolve() == out.resolve()
                                  else _ship_posterior(out, t))
    if not args.no_evaluate:
        result = evaluate(cal, out, replicates=args.replicates, seed=args.seed)
        print(headline(result))
    print(f"wrote {out}/ (generation-*.parquet, posterior.parquet, summary.json, calibrated.yaml"
          f"{', evaluation.json, figures/' if not args.no_evaluate else ''})"
          + (f" and {args.scenario_out}" if args.scenario_out else ""))
    return 0


def _ship_posterior(out: Path, scenario: Path) -> Path:
    """Copy the posterior beside a scenario written outside the output folder, so it travels with it."""
    import shutil
    target = scenario.with_suffix(".posterior.parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "posterior.parquet", target)
    return target
