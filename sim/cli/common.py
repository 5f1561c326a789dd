"""Argument types and options shared by the subcommands.

A bad flag must end in one line and exit status 2 like any other user error,
so flag values are checked by argparse types here rather than deep in the library.
"""

from __future__ import annotations

import argparse
import re

import yaml

from sim.core.errors import UserError


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


def _whole_number(text: str, minimum: int, too_small: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if v < minimum:
        raise argparse.ArgumentTypeError(too_small.format(v=v))
    return v


def positive_int(text: str) -> int:
    return _whole_number(text, 1, "expected a number of at least 1, got {v}")


def seed_int(text: str) -> int:
    return _whole_number(text, 0, "seeds are non-negative")


def add_parallel_args(p: argparse.ArgumentParser) -> None:
    """--workers and --scheduler: where chunks run (sweeps and calibration)."""
    p.add_argument("--workers", type=positive_int,
                   help="local worker processes (default: all cores; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the chunks on a Dask cluster, e.g. tcp://host:8786 (workers need this project)")


def add_quiet(p: argparse.ArgumentParser) -> None:
    """--quiet: commands that can take more than a few seconds report progress on stderr unless told not to."""
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (default: a bar on a terminal, a line every few seconds otherwise)")


def quiet_requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))
