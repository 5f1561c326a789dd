"""``run.py sweep``, ``run.py sensitivity`` and ``run.py plot-sweep``: the command-line face of sim.sweep."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from sim.errors import UserError
from sim.run_cli import positive_int, seed_int


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
    p.add_argument("--workers", type=positive_int,
                   help="local worker processes (default: all cores; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the chunks on a Dask cluster, e.g. tcp://host:8786 (workers need this project)")
    p.add_argument("--out", help="results folder (default: results/sweeps/<sweep name>)")
    p.add_argument("--seed", type=seed_int, help="sweep seed (default: the file's seed); seeds design and runs")
    p.add_argument("--replicates", type=positive_int, help="replicates per point (default: the file's)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
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
    from sim.sweep import load_sweep, run_sweep

    sw = load_sweep(args.sweep)
    out = Path(args.out) if args.out else Path("results") / "sweeps" / sw.spec.name
    try:
        outcome = run_sweep(sw, out, workers=args.workers, scheduler=args.scheduler, seed=args.seed,
                            replicates=args.replicates, progress=not args.quiet)
    except KeyboardInterrupt:
        import sys
        print(f"\ninterrupted: finished chunks are kept in {out}; run the same command again to finish",
              file=sys.stderr)
        return 130
    print(outcome.summary())
    if outcome.failed:
        print(f"{outcome.failed} runs failed; their error text is in the 'error' column")
    return 0


def cmd_sensitivity(args) -> int:
    from sim.sweep import read_results, sweep_sensitivity

    table = sweep_sensitivity(args.results, args.output, seed=args.seed)
    manifest, _ = read_results(args.results)
    png = Path(args.out) if args.out else Path(args.results) / "sensitivity.png"
    if png.suffix.lower() != ".png":
        png = png.with_name(png.name + ".png")
    png.parent.mkdir(parents=True, exist_ok=True)
    import pandas as pd
    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    table.to_csv(png.with_suffix(".csv"), index=False)
    png.with_suffix(".json").write_text(json.dumps({"design": manifest["design"], "problem": manifest["problem"],
                                                    "indices": table.to_dict(orient="records")}, indent=1) + "\n")
    _bar_chart(table, manifest["design"]["method"], png)
    print(f"wrote {png}, {png.with_suffix('.csv')}, {png.with_suffix('.json')}")
    return 0


def _bar_chart(table, method: str, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(len(outputs), 1, figsize=(8, 0.4 * len(table) + 1.2 * len(outputs)), squeeze=False)
    for ax, name in zip(axes[:, 0], outputs):
        t = table[table["output"] == name]
        y = np.arange(len(t))
        if method == "sobol":
            ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label="S1 (first order)")
            ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label="ST (total)")
            ax.set_xlabel("Sobol index")
        else:
            ax.barh(y - 0.2, t["mu_star"], 0.4, xerr=t["mu_star_conf"], label="mu* (mean |effect|)")
            ax.barh(y + 0.2, t["sigma"], 0.4, label="sigma (non-linearity / interaction)")
            ax.set_xlabel("Morris elementary effect")
        ax.set_yticks(y, t["parameter"], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def cmd_plot(args) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from sim.sweep import point_means, read_results

    manifest, runs = read_results(args.results)
    names = manifest["problem"]["names"]
    labels = [o["label"] for o in manifest["outputs"]]
    for flag, value in (("--x", args.x), ("--y", args.y)):
        if value is not None and value not in names:
            raise UserError(f"{flag}: no parameter '{value}' in this sweep; parameters: {', '.join(names)}")
    if args.output not in labels:
        raise UserError(f"--output: no output '{args.output}' in this sweep; outputs: {', '.join(labels)}")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", args.output)
    png = Path(args.out) if args.out else Path(args.results) / f"plot_{safe}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    ok = runs[runs["status"] == "ok"]
    table = point_means(manifest, runs).dropna(subset=[args.output])
    fig, ax = plt.subplots(figsize=(7, 5))
    if args.y is None:
        ax.scatter(ok[args.x], ok[args.output], s=8, alpha=0.35, label="runs")
        means = table.groupby(args.x)[args.output].mean()
        if len(means) <= 50:
            ax.plot(means.index, means.values, "o-", color="k", label="mean over runs")
        ax.set_xlabel(args.x)
        ax.set_ylabel(args.output)
        ax.legend()
    else:
        xs, ys = np.unique(table[args.x]), np.unique(table[args.y])
        if len(xs) <= 50 and len(ys) <= 50:          # a grid: one cell per level pair
            grid = table.pivot_table(index=args.y, columns=args.x, values=args.output, aggfunc="mean")
            img = ax.imshow(grid.values, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(grid.columns)), [f"{v:.3g}" for v in grid.columns], rotation=45)
            ax.set_yticks(range(len(grid.index)), [f"{v:.3g}" for v in grid.index])
        else:                                        # scattered points: mean in 20 x 20 bins
            sums, xe, ye = np.histogram2d(table[args.x], table[args.y], bins=20, weights=table[args.output])
            counts, _, _ = np.histogram2d(table[args.x], table[args.y], bins=[xe, ye])
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = sums / counts
            img = ax.imshow(mean.T, origin="lower", aspect="auto", cmap="viridis",
                            extent=[xe[0], xe[-1], ye[0], ye[-1]])
        fig.colorbar(img, ax=ax, label=f"{args.output} (mean over replicates)")
        ax.set_xlabel(args.x)
        ax.set_ylabel(args.y)
    ax.set_title(f"{manifest['sweep']}: {args.output}")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    print(f"wrote {png}")
    return 0
