"""Command-line interface: a thin layer over the Python API.

Each feature module contributes its subcommands through ``register(subparsers)``;
handlers return an exit code. UserError becomes one line on stderr and exit 2,
argparse errors exit 2, anything else is an internal failure (exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from sim.cli.common import quiet_requested
from sim.core.errors import UserError, one_line

# Modules that add subcommands, in the order they appear in --help.
COMMAND_MODULES = [
    "sim.cli.run",
    "sim.cli.record",
    "sim.cli.compare",
    "sim.cli.sweep",
    "sim.cli.calibrate",
    "sim.cli.describe",
    "sim.cli.template",
    "sim.cli.init",
    "sim.cli.viz",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default also exits 2; one line, like every user error
        self.exit(2, f"error: {one_line(f'{self.prog}: {message}')} (see {self.prog} --help)\n")


def program_name() -> str:
    """What the user typed: ``dyadsim`` (installed script), ``run.py`` or ``python -m sim``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "dyadsim"
    if name == "__main__.py":
        return "python -m " + Path(sys.argv[0]).parent.name
    return name if name == "run.py" else "dyadsim"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return f"dyadsim {version('dyadsim')}"
    except PackageNotFoundError:
        return "dyadsim (not installed: run from a checkout without pip install)"


def build_parser() -> argparse.ArgumentParser:
    prog = program_name()
    example = "python run.py" if prog == "run.py" else prog
    parser = _Parser(
        prog=prog,
        description="Agent-based simulation of a bilateral relationship, scored against the historical record.",
        epilog=f"example: {example} run scenarios/baseline.yaml --replicates 20 --out results/baseline\n"
               f"         {example} init my_project   (writes the example scenarios, record and sweeps)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    for p in sub.choices.values():       # examples are written for run.py; show what this user types
        if p.epilog:
            p.epilog = p.epilog.replace("python run.py", example)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Figures are drawn without pyplot; should a library pull pyplot in, it must not look for a display.
    os.environ.setdefault("MPLBACKEND", "Agg")
    from sim.run.execution import set_progress
    set_progress(not quiet_requested(args))
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
