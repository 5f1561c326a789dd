"""``compare``, ``plot`` and ``report``: runs against the record, as numbers, figures and a page."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.cli.common import add_quiet, positive_int, seed_int
from sim.core.errors import UserError


@dataclass
class Subject:
    """A scenario run here, or a results folder written earlier."""

    label: str
    ensemble: object
    loaded: object | None
    record_path: Path | None


def load_subject(arg: str, replicates: int | None, seed: int | None, record: str | None) -> Subject:
    from sim.evidence.scoring import Ensemble
    from sim.run.runner import record_of_results
    path = Path(arg)
    if path.is_dir():
        ens = Ensemble.from_folder(path)
        manifest = json.loads((path / "manifest.json").read_text())
        rec = Path(record) if record else record_of_results(path, manifest)
        return Subject(ens.name, ens, None, rec)
    from sim.core.loading import load_scenario
    from sim.run.runner import run
    loaded = load_scenario(path)
    out = run(loaded, replicates=replicates, seed=seed)
    rec = Path(record) if record else loaded.record_path
    return Subject(loaded.scenario.meta.name, Ensemble.from_run(out), loaded, rec)


def load_record_for(subject: Subject):
    from sim.evidence.record import load_record
    if subject.record_path is None:
        raise UserError(f"scenario '{subject.label}' names no historical record: set meta.record "
                        "or pass --record DIR")
    return load_record(subject.record_path)


def _period(args):
    if not (args.since or args.until):
        return None
    import pandas as pd
    return (pd.Timestamp(args.since or "1000-01-01"), pd.Timestamp(args.until or "9999-12-31"))


def _common(p, many: bool = True):
    p.add_argument("inputs", nargs="+" if many else 1, metavar="SCENARIO_OR_RESULTS",
                   help="scenario YAML files (run now) or results folders written by 'run'")
    p.add_argument("--replicates", type=positive_int, help="replicates per scenario (default: meta.replicates)")
    p.add_argument("--seed", type=seed_int, help="base seed (default: meta.seed); the same for every scenario")
    p.add_argument("--record", help="record folder (default: the scenario's meta.record)")
    p.add_argument("--out", help="output folder")
    add_quiet(p)


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="score runs against the historical record (and against each other)",
        description="Score each scenario's ensemble against the recorded history: series (CRPS, 50%/90% "
                    "coverage, bias), event counts per chronology window (ignorance, CRPS, 90% interval) and "
                    "milestones (Brier), each against naive baselines. With several inputs, side by side.",
        epilog="example:\n  python run.py compare scenarios/baseline.yaml scenarios/no_2014_sanctions.yaml "
               "--replicates 200 --out results/compare\n"
               "  python run.py compare results/baseline --until 2012-12-31",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p)
    p.add_argument("--since", help="score only evidence from this date on (YYYY-MM-DD)")
    p.add_argument("--until", help="score only evidence up to this date (YYYY-MM-DD)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "plot", help="fan charts, event timeline and counterfactual differences",
        description="Draw fan charts of the main indicators over the recorded figures, the event timeline over "
                    "the recorded chronology, and, with --vs, the difference from another scenario.",
        epilog="example:\n  python run.py plot scenarios/baseline.yaml --out results/plots\n"
               "  python run.py plot scenarios/baseline.yaml --vs scenarios/high_oil.yaml --out results/plots",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p, many=False)
    p.add_argument("--vs", help="counterfactual scenario: plot its difference from the first (paired seeds)")
    p.add_argument("--columns", help="comma-separated indicator columns (default: the focal pair's main ones)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser(
        "report", help="one HTML page: scenario, parameters with sources, scorecard, plots",
        description="Write a self-contained report folder (index.html with its figures) for a scenario, "
                    "optionally beside counterfactuals.",
        epilog="example:\n  python run.py report scenarios/baseline.yaml --vs scenarios/no_2014_sanctions.yaml "
               "--out results/report",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(p, many=False)
    p.add_argument("--vs", action="append", default=[], help="counterfactual scenario; repeatable")
    p.set_defaults(func=cmd_report)


def cmd_compare(args) -> int:
    from sim.evidence.scoring import format_scorecard, score, side_by_side
    from sim.report.figures import save, scorecard_chart
    subjects = [load_subject(a, args.replicates, args.seed, args.record) for a in args.inputs]
    out = Path(args.out) if args.out else Path("results") / ("compare_" + "_vs_".join(s.label for s in subjects))
    cards = []
    for s in subjects:
        card = score(s.ensemble, load_record_for(s), _period(args))
        cards.append(card)
        print(format_scorecard(card))
        print()
        card.save(out / s.label)
    if len(cards) > 1:
        print(side_by_side(cards))
        (out / "comparison.json").write_text(json.dumps([c.overall() for c in cards], indent=1, default=float) + "\n")
    written = save(scorecard_chart(cards), out / "scorecard")
    print(f"wrote {out}/ (scorecard.json per scenario, {', '.join(p.name for p in written)})")
    return 0


def cmd_plot(args) -> int:
    from sim.report import figures as plots
    s = load_subject(args.inputs[0], args.replicates, args.seed, args.record)
    out = Path(args.out) if args.out else Path("results") / s.label / "plots"
    record = load_record_for(s) if s.record_path else None
    from sim.api import UnknownColumn, resolve_column
    try:      # either state order for a pair; an unknown name lists the valid ones
        cols = ([resolve_column(c.strip(), s.ensemble.columns) for c in args.columns.split(",")] if args.columns
                else plots.default_columns(s.ensemble))
    except UnknownColumn as exc:
        raise UserError(exc.message, path="--columns") from None
    written = []
    for c in cols:
        written += plots.save(plots.fan_chart(s.ensemble, c, record), out / f"fan_{plots.safe_name(c)}")
    if record is not None:
        written += plots.save(plots.event_timeline(s.ensemble, record), out / "events_timeline")
    if args.vs:
        other = load_subject(args.vs, len(s.ensemble.seeds), args.seed, args.record)
        _check_paired(s, other)
        written += plots.save(plots.difference_chart(s.ensemble, other.ensemble, cols),
                              out / f"diff_{other.label}_minus_{s.label}")
    print(f"wrote {len(written)} files to {out}/")
    return 0


def _check_paired(a: Subject, b: Subject) -> None:
    if not np.array_equal(a.ensemble.seeds, b.ensemble.seeds):
        raise UserError("the two runs do not share seeds; run both with the same --seed and --replicates "
                        "(scenarios that extend one another inherit meta.seed)")


def cmd_report(args) -> int:
    from sim.evidence.scoring import format_scorecard, score
    from sim.report import figures as plots
    from sim.report.html import render_report
    base = load_subject(args.inputs[0], args.replicates, args.seed, args.record)
    if base.loaded is None:
        raise UserError("report needs a scenario file (it lists the scenario's parameters and sources)")
    out = Path(args.out) if args.out else Path("results") / base.label / "report"
    record = load_record_for(base)
    card = score(base.ensemble, record)
    others = [load_subject(v, len(base.ensemble.seeds), args.seed, args.record) for v in args.vs]
    cards = [card] + [score(o.ensemble, record) for o in others]
    figs = plots.plot_all(base.ensemble, record, out / "figures", None)
    figs += plots.save(plots.scorecard_chart(cards), out / "figures" / "scorecard")
    diffs = []
    for o in others:
        _check_paired(base, o)
        diffs += plots.save(plots.difference_chart(base.ensemble, o.ensemble, plots.default_columns(base.ensemble)[:5]),
                            out / "figures" / f"diff_{o.label}")
    for c in cards:
        c.save(out / "scores" / c.scenario)
    page = render_report(base, card, cards, others, [p for p in figs + diffs if p.suffix == ".svg"], out,
                         record.sources_folder)
    (out / "index.html").write_text(page)
    print(format_scorecard(card))
    print(f"wrote {out / 'index.html'}")
    return 0
