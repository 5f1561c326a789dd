"""``run.py run``: run a scenario's replicates, print a summary, write the results."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from sim.errors import UserError


def parse_sets(items: list[str] | None) -> dict:
    """``--set states.russia.trust.china=0.6`` -> {path: value}; values are read as YAML scalars."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects PATH=VALUE, got '{item}'")
        path, raw = item.split("=", 1)
        if not re.fullmatch(r"[A-Za-z0-9_.*]+", path):
            raise UserError(f"--set: '{path}' is not a dotted scenario path")
        try:
            out[path] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise UserError(f"--set: cannot read the value '{raw}'") from None
    return out


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {v}")
    return v


def seed_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if v < 0:
        raise argparse.ArgumentTypeError("seeds are non-negative")
    return v


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="run a scenario's replicates and write results",
        description="Run a scenario file's replicates, print a summary and write Parquet results "
                    "(indicators.parquet, events.parquet), manifest.json and summary.txt.",
        epilog="example:\n  python run.py run scenarios/baseline.yaml --replicates 100 --out results/baseline\n"
               "  python run.py run scenarios/baseline.yaml --set coefficients.trade_diversion=0.3",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--replicates", type=positive_int, help="number of replicates (default: meta.replicates)")
    p.add_argument("--seed", type=seed_int, help="base seed (default: meta.seed); replicate seeds derive from it")
    p.add_argument("--out", help="output folder (default: results/<scenario name>)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a scenario value; repeatable")
    p.add_argument("--no-plots", action="store_true", help="skip the figures (faster)")
    p.add_argument("--no-compare", action="store_true", help="skip the comparison with the scenario's record")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from sim.runner import run
    from sim.scenario import load_scenario

    loaded = load_scenario(args.scenario, parse_sets(args.set))
    out = run(loaded, replicates=args.replicates, seed=args.seed)
    folder = Path(args.out) if args.out else Path("results") / loaded.scenario.meta.name
    paths = out.save(folder)
    print(out.summary())
    card = record = ens = None
    if loaded.record_path is not None and not args.no_compare:
        from sim.compare import Ensemble, score
        from sim.record import load_record
        record = load_record(loaded.record_path)
        ens = Ensemble.from_run(out)
        card = score(ens, record)
        paths.update({f"scores_{k}": v for k, v in card.save(folder).items()})
        print("against the record: " + card.overall_line())
    if not args.no_plots:
        from sim import plots
        from sim.compare import Ensemble
        ens = ens or Ensemble.from_run(out)
        figures = plots.plot_all(ens, record, folder / "plots", card)
        paths["plots"] = Path(f"{folder / 'plots'}/ ({len(figures)} files)")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
