"""``run.py describe``: the model description (ODD+D) for a scenario, generated from the mechanisms."""

from __future__ import annotations

import argparse

from sim.cli.common import check_out


def register(sub) -> None:
    p = sub.add_parser(
        "describe", help="write the model description (ODD+D) for a scenario",
        description="Generate the model description in ODD+D form from the mechanism registry and a scenario's "
                    "values and citations: entities and state variables, schedule, design concepts, submodels "
                    "with their equations and coefficients, and coverage of the documents' mechanisms.",
        epilog="example:\n  python run.py describe scenarios/baseline.yaml --out docs/model.md",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="scenario YAML file whose values fill the coefficient tables")
    p.add_argument("--out", default="docs/model.md", help="Markdown file to write (default: docs/model.md)")
    p.set_defaults(func=cmd_describe)


def cmd_describe(args) -> int:
    from sim.core.loading import load_scenario
    from sim.report.model_doc import write_model_doc

    out = check_out(args.out, "file")
    path = write_model_doc(load_scenario(args.scenario), args.scenario, out)
    print(f"wrote {path}")
    return 0
