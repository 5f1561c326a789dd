"""Command-line interface: a thin layer over the Python API.

Each feature module contributes its subcommands through ``register(subparsers)``;
handlers return an exit code. UserError becomes one line on stderr and exit 2,
argparse errors exit 2, anything else is an internal failure (exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default also exits 2; one line, like every user error
        self.exit(2, f"error: {one_line(f'{self.prog}: {message}')} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="run.py",
        description="Agent-based simulation of a bilateral relationship, scored against the historical record.",
        epilog="example: python run.py run scenarios/baseline.yaml --replicates 20 --out results/baseline",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
