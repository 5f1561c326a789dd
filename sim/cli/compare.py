"""``compare``, ``plot`` and ``report``: runs against the record, as numbers, figures and a page."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.cli.common import add_quiet, check_out, date_arg, positive_int, seed_int
from sim.core.errors import UserError
from sim.core.files import write_text


@dataclass
class Subject:
    """A scenario to run here, or a results folder written earlier; ``ensemble`` is filled by :func:`realise`."""

    label: str
    loaded: object | None
    record_path: Path | None
    folder: Path | None = None
    ensemble: object = None
    scratch: object = None      # a temporary folder a large run streamed into, kept while the subject lives


def open_subject(arg: str, record: str | None) -> Subject:
    """Read what a subject is (cheap): a scenario is loaded and validated, a folder's manifest is read."""
    path = Path(arg)
    if path.is_dir():
        manifest = _run_manifest(path)
        from sim.run.runner import record_of_results
        rec = Path(record) if record else record_of_results(path, manifest)
        return Subject(manifest["scenario"], None, rec, folder=path)
    from sim.core.loading import load_scenario
    loaded = load_scenario(path)
    return Subject(loaded.scenario.meta.name, loaded, Path(record) if record else loaded.record_path)


def _run_manifest(folder: Path) -> dict:
    """The manifest of a run's results folder (files checked against its hashes), with the fields compare
    relies on checked."""
    from pydantic import TypeAdapter, ValidationError

    from sim.core.results import read_manifest
    from sim.core.schema import Name

    if not (folder / "manifest.json").exists():
        raise UserError("not a results folder of 'run' (no manifest.json) and not a scenario file", file=str(folder))
    manifest = read_manifest(folder)
    file = folder / "manifest.json"
    try:
        TypeAdapter(Name).validate_python(manifest.get("scenario"))
    except ValidationError as exc:
        raise UserError(exc.errors()[0]["msg"].removeprefix("Value error, "), file=str(file), path="scenario") \
            from None
    if manifest.get("record") is not None and not isinstance(manifest["record"], str):
        raise UserError("expected a folder path", file=str(file), path="record")
    return manifest


def realise(subject: Subject, replicates: int | None, seed: int | None) -> Subject:
    """Run the scenario (or read the folder's tables) into ``subject.ensemble``."""
    from sim.evidence.scoring import Ensemble
    if subject.ensemble is None:
        if subject.folder is not None:
            subject.ensemble = Ensemble.from_folder(subject.folder)
        elif _streams(subject, replicates):
            _stream_subject(subject, replicates, seed)
        else:
            from sim.run.runner import run
            subject.ensemble = Ensemble.from_run(run(subject.loaded, replicates=replicates, seed=seed))
    return subject


def _replicates(subject: Subject, replicates: int | None) -> int:
    return subject.loaded.scenario.meta.replicates if replicates is None else replicates


def _streams(subject: Subject, replicates: int | None) -> bool:
    """More replicates than a run keeps series of: streamed through a temporary folder (bounded memory)."""
    from sim.run.stream import SERIES_DEFAULT
    return _replicates(subject, replicates) > SERIES_DEFAULT


def check_memory(subjects: list[Subject], replicates: int | None) -> None:
    """Every scenario subject's ensemble is held at once: refuse before running what cannot fit."""
    from sim.core.compile import compile_scenario
    from sim.run.memory import check_fits, member_bytes
    from sim.run.stream import chunk_size, stream_bytes
    need = 0
    for s in subjects:
        if s.loaded is not None:
            n, cp = _replicates(s, replicates), compile_scenario(s.loaded)
            need += stream_bytes(cp, n, chunk_size(cp, n)) if _streams(s, replicates) else n * member_bytes(cp)
    check_fits(need, f"{len(subjects)} ensemble(s) of {replicates or 'meta.replicates'} replicates",
               "ask for fewer with --replicates")


def _stream_subject(subject: Subject, replicates: int | None, seed: int | None) -> None:
    """Run the subject's scenario chunk by chunk into a temporary folder kept as long as the subject."""
    import tempfile

    from sim.evidence.record import load_record
    from sim.run.stream import stream_run
    subject.scratch = tempfile.TemporaryDirectory(prefix="dyadsim-")
    rec = subject.record_path
    streamed = stream_run(subject.loaded, Path(subject.scratch.name), replicates=replicates, seed=seed,
                          record=load_record(rec) if rec is not None else None)
    subject.ensemble = streamed.ensemble()


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
    if args.since and args.until and args.since > args.until:
        raise UserError(f"--since {args.since} comes after --until {args.until}")
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
    p.add_argument("--since", type=date_arg, help="score only evidence from this date on (YYYY-MM-DD)")
    p.add_argument("--until", type=date_arg, help="score only evidence up to this date (YYYY-MM-DD)")
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
    period = _period(args)
    subjects = [open_subject(a, args.record) for a in args.inputs]
    out = Path(args.out) if args.out else Path("results") / ("compare_" + "_vs_".join(s.label for s in subjects))
    check_out(out)
    check_memory(subjects, args.replicates)
    records = [load_record_for(s) for s in subjects]
    cards = []
    for s, record in zip(subjects, records, strict=True):
        realise(s, args.replicates, args.seed)
        card = score(s.ensemble, record, period)
        cards.append(card)
        print(format_scorecard(card))
        print()
        card.save(out / s.label)
    if len(cards) > 1:
        print(side_by_side(cards))
        write_text(out / "comparison.json", json.dumps([c.overall() for c in cards], indent=1, default=float) + "\n")
    written = save(scorecard_chart(cards), out / "scorecard")
    print(f"wrote {out}/ (scorecard.json per scenario, {', '.join(p.name for p in written)})")
    return 0


def cmd_plot(args) -> int:
    from sim.report import figures as plots
    s = open_subject(args.inputs[0], args.record)
    other = open_subject(args.vs, args.record) if args.vs else None
    out = Path(args.out) if args.out else Path("results") / s.label / "plots"
    check_out(out)
    check_memory([s] + ([other] if other else []), args.replicates)
    record = load_record_for(s) if s.record_path else None
    realise(s, args.replicates, args.seed)
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
    if other is not None:
        realise(other, len(s.ensemble.seeds), args.seed)
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
    base = open_subject(args.inputs[0], args.record)
    if base.loaded is None:
        raise UserError("report needs a scenario file (it lists the scenario's parameters and sources)")
    others = [open_subject(v, args.record) for v in args.vs]
    out = Path(args.out) if args.out else Path("results") / base.label / "report"
    check_out(out)
    check_memory([base] + others, args.replicates)
    record = load_record_for(base)
    card = score(realise(base, args.replicates, args.seed).ensemble, record)
    others = [realise(o, len(base.ensemble.seeds), args.seed) for o in others]
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
    write_text(out / "index.html", page)
    print(format_scorecard(card))
    print(f"wrote {out / 'index.html'}")
    return 0
