"""``run.py calibrate``: fit free parameters to the record, then check the fit on held-out years."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from sim.cli.common import add_parallel_args, add_quiet, check_out, positive_int, seed_int


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
    add_parallel_args(p)
    p.add_argument("--seed", type=seed_int, help="seed (default: the file's seed)")
    p.add_argument("--replicates", type=positive_int, default=200,
                   help="replicates of the prior and posterior ensembles in the evaluation (default 200)")
    p.add_argument("--scenario-out", help="also write the calibrated scenario here (default: <out>/calibrated.yaml)")
    p.add_argument("--no-evaluate", action="store_true", help="skip the prior/posterior scoring and figures")
    add_quiet(p)
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args) -> int:
    from sim.run.calibrate.outputs import check_calibration_memory, run_calibration, write_calibrated_scenario
    from sim.run.calibrate.priors import load_calibration
    from sim.run.execution import resolve_workers

    check_out(args.out)
    cal = load_calibration(args.file)
    out = check_out(Path(args.out) if args.out else Path("results") / "calibration" / cal.spec.name)
    if args.scenario_out:
        check_out(args.scenario_out, "file", "--scenario-out")
        check_out(Path(args.scenario_out).with_suffix(".posterior.parquet"), "file", "--scenario-out")
    check_calibration_memory(cal, 1 if args.scheduler else resolve_workers(args.workers),
                             0 if args.no_evaluate else args.replicates)
    outcome = run_calibration(cal, out, workers=args.workers, scheduler=args.scheduler, seed=args.seed,
                              log=(lambda line: None) if args.quiet else _progress)
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
        from sim.report.calibration import evaluation_figures
        from sim.run.calibrate.evaluate import evaluate, headline
        ev = evaluate(cal, out, replicates=args.replicates, seed=args.seed)
        evaluation_figures(ev, out / "figures")
        print(headline(ev.result))
    print(f"wrote {out}/ (generation-*.parquet, posterior.parquet, summary.json, calibrated.yaml"
          f"{', evaluation.json, figures/' if not args.no_evaluate else ''})"
          + (f" and {args.scenario_out}" if args.scenario_out else ""))
    return 0


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)    # progress goes to stderr, results to stdout


def _ship_posterior(out: Path, scenario: Path) -> Path:
    """Copy the posterior beside a scenario written outside the output folder, so it travels with it."""
    target = scenario.with_suffix(".posterior.parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "posterior.parquet", target)
    return target
