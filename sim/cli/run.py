"""``run.py run``: run a scenario's replicates, print a summary, write the results folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import add_quiet, add_results_folder_args, check_out, parse_sets, positive_int, seed_int


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="run a scenario's replicates and write results",
        description="Run a scenario file's replicates, print a summary and write its results folder "
                    "(indicators.parquet/, events.parquet/, replicates.parquet/, summary.txt, scorecard.json, "
                    "plots/ and manifest.json with a content hash of every file; see docs/results.md). "
                    "Replicates stream through in chunks, so memory does not grow with their number; the "
                    "folder appears, whole, when the run is done.",
        epilog="example:\n  python run.py run scenarios/baseline.yaml --replicates 100 --out results/baseline\n"
               "  python run.py run scenarios/baseline.yaml --set coefficients.trade_diversion=0.3\n"
               "  python run.py run scenarios/baseline.yaml --replicates 1000000 --no-plots",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--replicates", type=positive_int, help="number of replicates (default: meta.replicates)")
    p.add_argument("--seed", type=seed_int, help="base seed (default: meta.seed); replicate seeds derive from it")
    p.add_argument("--out", help="output folder (default: results/<scenario name>)")
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a scenario value; repeatable")
    p.add_argument("--no-plots", action="store_true", help="skip the figures (faster)")
    p.add_argument("--no-compare", action="store_true", help="skip the comparison with the scenario's record")
    add_quiet(p)
    add_results_folder_args(p)
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
    from sim.evidence.record import load_record
    from sim.evidence.scoring import score
    from sim.run.stream import stream_run

    check_out(args.out)
    loaded = load_scenario(args.scenario, parse_sets(args.set))
    _warn_template_values(loaded)
    folder = Path(args.out) if args.out else Path("results") / loaded.scenario.meta.name
    check_out(folder)
    record = load_record(loaded.record_path) if loaded.record_path is not None and not args.no_compare else None
    # the lock is held and the target checked before the run; everything is written aside and swapped in last
    with FolderWriter(folder, force=args.force) as w:
        streamed = stream_run(loaded, w.tmp, replicates=args.replicates, seed=args.seed, record=record,
                              series=args.series)
        print(streamed.summary)
        ens, card = streamed.ensemble(), None
        if record is not None:
            card = score(ens, record)
            card.save(w.tmp)
            print("against the record: " + card.overall_line())
        if not args.no_plots:
            from sim.report.figures import plot_all
            plot_all(ens, record, w.tmp / "plots", card)
        w.commit(streamed.manifest)
    print(f"wrote {folder}/ (manifest.json lists every file with its content hash)")
    return 0
