"""``run.py run``: run a scenario's replicates, print a summary, write the results."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import add_quiet, check_out, parse_sets, positive_int, seed_int


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
    add_quiet(p)
    p.add_argument("--force", action="store_true",
                   help="replace --out even if it holds files and is not a results folder of 'run'")
    p.set_defaults(func=cmd_run)


def _warn_template_values(loaded) -> None:
    """A scenario written from the template still holding its neutral numbers runs, but says so."""
    import sys

    from sim.report.template import TEMPLATE_MARK, template_values
    left = template_values(loaded.raw)
    if left:
        print(f"warning: {len(left)} value(s) still carry the template's '{TEMPLATE_MARK}:' numbers: "
              + ", ".join(left[:6]) + (" ..." if len(left) > 6 else ""), file=sys.stderr)


def cmd_run(args) -> int:
    from sim.core.loading import load_scenario
    from sim.core.results import FolderWriter

    check_out(args.out)
    loaded = load_scenario(args.scenario, parse_sets(args.set))
    _warn_template_values(loaded)
    folder = Path(args.out) if args.out else Path("results") / loaded.scenario.meta.name
    check_out(folder)
    # the lock is held and the target checked before the run; everything is written aside and swapped in last
    with FolderWriter(folder, force=args.force) as w:
        out, written, card_line = _run_and_write(loaded, args, w.tmp)
        w.commit(out.manifest(folder))
    paths = {k: folder / Path(v).relative_to(w.tmp) for k, v in written.items()}
    print(out.summary())
    if card_line:
        print("against the record: " + card_line)
    if (folder / "plots").is_dir():
        paths["plots"] = Path(f"{folder / 'plots'}/ ({len(list((folder / 'plots').iterdir()))} files)")
    paths["manifest"] = folder / "manifest.json"
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _run_and_write(loaded, args, tmp: Path):
    """Run the replicates and write tables, scores and figures under ``tmp`` (the manifest comes last)."""
    from sim.run.runner import run
    out = run(loaded, replicates=args.replicates, seed=args.seed)
    paths = dict(out.write_files(tmp))
    card = record = ens = None
    if loaded.record_path is not None and not args.no_compare:
        from sim.evidence.record import load_record
        from sim.evidence.scoring import Ensemble, score
        record = load_record(loaded.record_path)
        ens = Ensemble.from_run(out)
        card = score(ens, record)
        paths.update({f"scores_{k}": v for k, v in card.save(tmp).items()})
    if not args.no_plots:
        from sim.evidence.scoring import Ensemble
        from sim.report.figures import plot_all
        plot_all(ens or Ensemble.from_run(out), record, tmp / "plots", card)
    return out, paths, card.overall_line() if card else None
