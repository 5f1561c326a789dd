"""``run.py new-scenario``: a commented scenario template for any pair, generated from the schema."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sim.cli.common import check_out, seed_int
from sim.core.errors import UserError


def _month(text: str) -> str:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise argparse.ArgumentTypeError(f"expected a month like 2005-01, got '{text}'")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def register(sub) -> None:
    p = sub.add_parser(
        "new-scenario", help="write a commented scenario template for a pair of states",
        description="Write a scenario YAML for the pair A B that lists every field of the scenario schema with "
                    "what it does and its default (optional fields commented out) and every coefficient with its "
                    "mechanism's equation and cited default. It loads and runs as written; the few values marked "
                    "'TEMPLATE:' are neutral numbers to replace (run lists those left).",
        epilog="example:\n  python run.py new-scenario --pair india japan --start 2005-01 --end 2017-12 "
               "--out scenarios/india_japan.yaml\n"
               "  python run.py new-scenario --pair brazil india --start 2000-01 --end 2017-12 "
               "--record my_record --out brazil_india.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", nargs=2, metavar=("A", "B"), required=True, help="the two state ids (focal pair)")
    p.add_argument("--start", type=_month, required=True, help="first month, YYYY-MM")
    p.add_argument("--end", type=_month, required=True, help="last month, YYYY-MM")
    p.add_argument("--record", metavar="DIR", help="record folder of the same pair, named in meta.record")
    p.add_argument("--seed", type=seed_int, default=1, help="meta.seed (default 1)")
    p.add_argument("--out", metavar="FILE", help="file to write (default: A_B.yaml here); never overwritten "
                                                 "without --force")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_new_scenario)


def cmd_new_scenario(args) -> int:
    from sim.report.template import write_template

    if args.end <= args.start:
        raise UserError(f"--end {args.end} must come after --start {args.start}", path="--end")
    out = Path(args.out) if args.out else Path(f"{args.pair[0]}_{args.pair[1]}.yaml")
    check_out(out, kind="file")
    if out.exists() and not args.force:
        raise UserError("file exists; choose another --out or pass --force", file=str(out))
    command = "python run.py new-scenario " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    write_template(out, args.pair, args.start, args.end, Path(args.record) if args.record else None, args.seed,
                   command)
    print(f"wrote {out}: run it with `python run.py run {out}`, then replace the values marked TEMPLATE:")
    return 0
