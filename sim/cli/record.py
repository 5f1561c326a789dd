"""CLI for the historical record: ``record`` (summary) and ``import-chronology``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.cli.common import check_out
from sim.core.errors import UserError
from sim.core.files import MiB, read_text, write_text

MAX_CHRONOLOGY_BYTES = 16 * MiB


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "record",
        help="summarise the curated historical record (events, windows, figures)",
        description="Load and validate a record folder (record.yaml and the three CSV files) and print "
                    "counts per window, per event type and per actor, the counts per window and type "
                    "of events involving the record's pair, and the number of quantitative figures.",
        epilog="example: python run.py record --out results/record_summary.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--folder", metavar="DIR", default=None,
                   help="record folder (default: the bundled calibration/record)")
    p.add_argument("--aliases", metavar="FILE", default=None,
                   help="shared alias file (default: aliases.yaml beside the record folder, else the bundled "
                        "one); the record folder's own aliases.yaml is merged over it")
    p.add_argument("--out", metavar="FILE", default=None, help="also write the summary as JSON to FILE")
    p.set_defaults(func=cmd_record)

    q = subparsers.add_parser(
        "import-chronology",
        help="parse a review's chronology into event rows (CSV)",
        description="Find the dated chronology in FILE (a whole review or just its chronology), "
                    "code each entry with the alias list and keyword rules, and write the rows with "
                    "the columns of events.csv plus 'confidence'. Entries that cannot be coded are "
                    "listed, never dropped. The pair of states comes from --pair, else from the "
                    "heading 'Chronology of X-Y Relations' (names resolved through the aliases).",
        epilog="example: python run.py import-chronology ../shared/seeds/002_38276b7c24a0592b.txt "
               "--source 002_38276b7c24a0592b.txt --out results/chron_2017.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("file", metavar="FILE", help="text file holding the chronology")
    q.add_argument("--source", metavar="NAME", default=None,
                   help="document name used in citations NAME:LINE (default: the file's name)")
    q.add_argument("--pair", metavar="A,B", default=None,
                   help="the two state ids the chronology is about (default: from its heading)")
    q.add_argument("--aliases", metavar="FILE", default=None,
                   help="alias file (default: calibration/aliases.yaml)")
    q.add_argument("--record", metavar="DIR", default=None,
                   help="record folder the rows are for: its aliases.yaml is merged over the shared aliases and "
                        "its windows are used when it is of the same pair (default: calibration/record)")
    q.add_argument("--out", metavar="FILE", default=None, help="write the coded rows as CSV to FILE")
    q.set_defaults(func=cmd_import_chronology)


def _summary(rec) -> dict:
    ev = rec.events
    per_window = {str(k): int(v) for k, v in ev.groupby("window", observed=False).size().items()}
    per_type = {str(k): int(v) for k, v in ev["type"].astype(str).value_counts().sort_index().items()}
    per_actor: dict[str, int] = {}
    for actors in ev["actors"]:
        for a in actors.split(";"):
            per_actor[a] = per_actor.get(a, 0) + 1
    obs = rec.observations
    return {
        "name": rec.name,
        "pair": list(rec.pair),
        "events": int(len(ev)),
        "events_per_window": per_window,
        "events_per_type": per_type,
        "events_per_actor": dict(sorted(per_actor.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pair_counts": {w: {t: int(n) for t, n in row.items() if n}
                        for w, row in rec.event_counts().iterrows()},
        "windows": [{"id": str(w.id), "kind": str(w.kind), "start": f"{w.start:%Y-%m-%d}",
                     "end": f"{w.end:%Y-%m-%d}"} for w in rec.windows.itertuples()],
        "observations": int(len(obs)),
        "observations_per_kind": {str(k): int(v) for k, v in obs["kind"].value_counts().sort_index().items()},
        "quantities": int(obs["quantity"].nunique()),
        "citations": {k: int(v) for k, v in _citation_kinds(rec).items()},
        "sources_checked": not rec.sources_unchecked,
        "sources_unchecked": rec.sources_unchecked,
    }


def _citation_kinds(rec) -> dict[str, int]:
    """How many rows cite a document, a dataset or an assumption."""
    from sim.evidence.citations import parse_citation
    kinds: dict[str, int] = {}
    for value in list(rec.events["source"]) + list(rec.observations["source"]):
        kind = parse_citation(value).kind
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def cmd_record(args) -> int:
    from sim.evidence.record import load_record

    out = check_out(args.out, "file")
    rec = load_record(args.folder, args.aliases)
    s = _summary(rec)
    pair = "-".join(s["pair"])
    print(f"record: {s['name']} (pair {pair})")
    print(f"events: {s['events']}  observations: {s['observations']} "
          f"({', '.join(f'{k} {v}' for k, v in s['observations_per_kind'].items())}; "
          f"{s['quantities']} quantities)")
    print("citations: " + ", ".join(f"{k} {v}" for k, v in s["citations"].items())
          + ("" if not s["citations"].get("document") else
             "; cited documents checked: every file exists and holds the cited lines" if s["sources_checked"]
             else f"; cited documents NOT checked: {s['sources_unchecked']}"))
    print("events per window (outside the chronology windows the record is silent, not zero):")
    for w in s["windows"]:
        print(f"  {w['id']:<14} {w['kind']:<10} {w['start']}..{w['end']}  {s['events_per_window'].get(w['id'], 0):>4}")
    print("events per type:")
    for t, n in s["events_per_type"].items():
        print(f"  {t:<22} {n:>4}")
    print("events per actor:")
    for a, n in s["events_per_actor"].items():
        print(f"  {a:<16} {n:>4}")
    print(f"events involving {pair} per chronology window and type:")
    for w, counts in s["pair_counts"].items():
        detail = ", ".join(f"{t} {n}" for t, n in counts.items()) or "none"
        print(f"  {w:<14} {sum(counts.values()):>4}  ({detail})")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, json.dumps(s, indent=2) + "\n")
        print(f"wrote {out}")
    return 0


def cmd_import_chronology(args) -> int:
    from sim.evidence.chronology import parse_chronology

    out = check_out(args.out, "file")
    path = Path(args.file)
    text = read_text(path, MAX_CHRONOLOGY_BYTES, "chronology")
    if not text.strip():
        raise UserError("the file is empty", file=str(path))
    source = args.source or path.name
    events, uncoded = parse_chronology(text, source, pair=args.pair, aliases=args.aliases, record=args.record)
    coded = int((events["type"] != "").sum()) if len(events) else 0
    if len(events) == 0:
        raise UserError("no dated chronology entries found (expected lines like 'Sept. 7, 2012: ...')",
                        file=str(path))
    low = int((events["confidence"] == "low").sum())
    pair = events.attrs.get("pair")
    if pair:
        print(f"chronology of {'-'.join(pair)} relations")
    print(f"parsed {len(events)} dated entries: {coded} coded ({low} with low confidence), "
          f"{len(events) - coded} uncoded; {len(uncoded)} item(s) listed below")
    for u in uncoded:
        print(f"  uncoded {u['source']}: {u['date']} {u['text'][:90]} [{u['reason']}]")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame = events.copy()
        for col in ("start", "end"):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
        frame.to_csv(out, index=False)
        print(f"wrote {out}")
    return 0
