"""``run.py sweep``, ``run.py sensitivity`` and ``run.py plot-sweep``: the command-line face of sim.run.sweep."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from sim.cli.common import add_parallel_args, add_quiet, check_out, positive_int, seed_int
from sim.core.errors import UserError
from sim.core.files import atomic_write, write_text


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="run a parameter sweep (grid, random, lhs, sobol, morris)",
        description="Run every point of a sweep file's design, each for its replicates, and write one Parquet "
                    "row per run under OUT/runs/ (plus OUT/manifest.json). Re-running the same command with "
                    "the same --out finishes an interrupted sweep. Sweep files: docs/sweeps.md.",
        epilog="example:\n  python run.py sweep sweeps/small_grid.yaml --out results/sweeps/small_grid\n"
               "  python run.py sweep sweeps/sobol_main.yaml --workers 2\n"
               "  python run.py sweep sweeps/sobol_main.yaml --scheduler tcp://10.0.0.5:8786",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sweep", help="sweep YAML file")
    add_parallel_args(p)
    p.add_argument("--out", help="results folder (default: results/sweeps/<sweep name>)")
    p.add_argument("--seed", type=seed_int, help="sweep seed (default: the file's seed); seeds design and runs")
    p.add_argument("--replicates", type=positive_int, help="replicates per point (default: the file's)")
    add_quiet(p)
    p.set_defaults(func=cmd_sweep)

    s = sub.add_parser(
        "sensitivity", help="Sobol or Morris indices from a sobol/morris sweep's results",
        description="Average each point's replicates, compute Sobol (S1, ST with confidence intervals) or "
                    "Morris (mu*, sigma) indices per output with SALib, print a table, and write a bar chart "
                    "(PNG) with the table beside it (.csv and .json).",
        epilog="example:\n  python run.py sensitivity results/sweeps/sobol_main --output trade_2014",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("results", help="results folder of a sweep")
    s.add_argument("--output", action="append", metavar="NAME", help="output to analyse; repeatable (default: all)")
    s.add_argument("--out", metavar="FILE", help="chart file (default: RESULTS/sensitivity.png)")
    s.add_argument("--seed", type=seed_int, default=0, help="seed of the bootstrap confidence intervals")
    s.set_defaults(func=cmd_sensitivity)

    q = sub.add_parser(
        "plot-sweep", help="scatter (one parameter) or heatmap (two) of a sweep output",
        description="Plot one output of a sweep against one parameter (replicates as dots, point means as a "
                    "line) or two parameters (heatmap of the mean; binned when the points are not on a grid).",
        epilog="example:\n  python run.py plot-sweep results/sweeps/small_grid --x coefficients.trade_diversion "
               "--output trade_2014   (add --y PARAM for a heatmap)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("results", help="results folder of a sweep")
    q.add_argument("--x", required=True, metavar="PARAM", help="parameter on the x axis (dotted path)")
    q.add_argument("--y", metavar="PARAM", help="second parameter: draws a heatmap")
    q.add_argument("--output", required=True, metavar="NAME", help="output to show")
    q.add_argument("--out", metavar="FILE", help="PNG file (default: RESULTS/plot_<output>.png)")
    q.set_defaults(func=cmd_plot)


def cmd_sweep(args) -> int:
    from sim.run.sweep.execute import run_sweep
    from sim.run.sweep.spec import load_sweep

    check_out(args.out)
    sw = load_sweep(args.sweep)
    out = check_out(Path(args.out) if args.out else Path("results") / "sweeps" / sw.spec.name)
    try:
        outcome = run_sweep(sw, out, workers=args.workers, scheduler=args.scheduler, seed=args.seed,
                            replicates=args.replicates, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished chunks are kept in {out}; run the same command again to finish",
              file=sys.stderr)
        return 130
    print(outcome.summary())
    if outcome.failed:
        print(f"{outcome.failed} runs failed; their error text is in the 'error' column")
    return 0


def cmd_sensitivity(args) -> int:
    import pandas as pd

    from sim.report.sweep_charts import sensitivity_chart
    from sim.run.sweep.results import read_manifest
    from sim.run.sweep.sensitivity import sweep_sensitivity

    png = Path(args.out) if args.out else Path(args.results) / "sensitivity.png"
    if png.suffix.lower() != ".png":
        png = png.with_name(png.name + ".png")
    for f in (png, png.with_suffix(".csv"), png.with_suffix(".json")):
        check_out(f, "file")
    manifest = read_manifest(args.results)
    labels = [o["label"] for o in manifest["outputs"]]
    for name in args.output or []:
        if name not in labels:
            raise UserError(f"--output: no output '{name}' in this sweep; outputs: {', '.join(labels)}")
    table = sweep_sensitivity(args.results, args.output, seed=args.seed)
    png.parent.mkdir(parents=True, exist_ok=True)
    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    atomic_write(png.with_suffix(".csv"), lambda tmp: table.to_csv(tmp, index=False))
    write_text(png.with_suffix(".json"), json.dumps({"design": manifest["design"], "problem": manifest["problem"],
                                                     "indices": table.to_dict(orient="records")}, indent=1) + "\n")
    sensitivity_chart(table, manifest["design"]["method"], png)
    print(f"wrote {png}, {png.with_suffix('.csv')}, {png.with_suffix('.json')}")
    return 0


def cmd_plot(args) -> int:
    from sim.report.sweep_charts import sweep_chart
    from sim.run.sweep.results import point_means, read_results

    manifest, runs = read_results(args.results)
    names = manifest["problem"]["names"]
    labels = [o["label"] for o in manifest["outputs"]]
    for flag, value in (("--x", args.x), ("--y", args.y)):
        if value is not None and value not in names:
            raise UserError(f"{flag}: no parameter '{value}' in this sweep; parameters: {', '.join(names)}")
    if args.output not in labels:
        raise UserError(f"--output: no output '{args.output}' in this sweep; outputs: {', '.join(labels)}")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", args.output)
    png = check_out(Path(args.out) if args.out else Path(args.results) / f"plot_{safe}.png", "file")
    table = point_means(manifest, runs).dropna(subset=[args.output])
    if table.empty:
        raise UserError(f"--output {args.output}: no successful run of this sweep has a value for it")
    png.parent.mkdir(parents=True, exist_ok=True)
    sweep_chart(manifest["sweep"], runs[runs["status"] == "ok"], table, args.output, args.x, args.y, png)
    print(f"wrote {png}")
    return 0
