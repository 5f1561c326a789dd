"""Argument types, options and checks shared by the subcommands.

A bad flag must end in one line and exit status 2 like any other user error,
so flag values are checked by argparse types here rather than deep in the library;
and where a command will write (``--out``) is checked before it computes
anything, so that an unwritable folder costs a second, not the whole run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import tempfile
from pathlib import Path

from sim.core.errors import UserError
from sim.core.yamlio import parse_value

MAX_SEED = 2**32 - 1


def parse_sets(items: list[str] | None) -> dict:
    """``--set states.russia.trust.china=0.6`` -> {path: value}; values are read as YAML scalars."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set expects PATH=VALUE, got '{item[:80]}'")
        path, raw = item.split("=", 1)
        if not re.fullmatch(r"[A-Za-z0-9_*]+(\.[A-Za-z0-9_*]+)*", path):
            raise UserError(f"--set: '{path[:80]}' is not a dotted scenario path")
        out[path] = parse_value(raw, f"--set {path}")
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
    v = _whole_number(text, 0, "seeds are non-negative")
    if v > MAX_SEED:
        raise argparse.ArgumentTypeError(f"seeds are at most {MAX_SEED} (2**32 - 1), got {text}")
    return v


def workers_int(text: str) -> int:
    """Local worker processes: at least 1, at most 4 per core (each holds its own copy of the model)."""
    v = positive_int(text)
    most = max(8, 4 * (os.cpu_count() or 1))
    if v > most:
        raise argparse.ArgumentTypeError(f"{v} workers on {os.cpu_count()} cores; at most {most} (4 per core)")
    return v


def date_arg(text: str) -> _dt.date:
    """A calendar date YYYY-MM-DD (--since, --until)."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            raise ValueError(text)
        return _dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got '{text[:40]}'") from None


def scheduler_address(text: str) -> str:
    """A Dask scheduler address: [scheme://]host:port with a port from 1 to 65535."""
    m = re.fullmatch(r"(?:(tcp|tls|ws|wss|inproc|ucx)://)?([A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})", text.strip())
    if not m or not 1 <= int(m.group(3)) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a scheduler address like tcp://host:8786, got '{text[:60]}'")
    return text.strip()


def add_parallel_args(p: argparse.ArgumentParser) -> None:
    """--workers and --scheduler: where chunks run (sweeps and calibration)."""
    p.add_argument("--workers", type=workers_int,
                   help="local worker processes (default: all cores; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", type=scheduler_address,
                   help="run the chunks on a Dask cluster, e.g. tcp://host:8786 (workers need this project)")


def series_count(text: str) -> int | None:
    """``--series N`` or ``all`` (None): how many replicates keep their monthly series."""
    if text.strip().lower() == "all":
        return None
    return _whole_number(text, 1, "expected a number of replicates (at least 1, for the figures) or 'all', got {v}")


def add_results_folder_args(p: argparse.ArgumentParser) -> None:
    """--force and --series: how a run writes its results folder (docs/results.md)."""
    p.add_argument("--force", action="store_true",
                   help="replace --out even if it holds files and is not a results folder of 'run' (an earlier "
                        "run's results folder is always replaced whole)")
    p.add_argument("--series", type=series_count, default=10_000, metavar="N|all",
                   help="replicates whose monthly series and events are kept (default 10000; every replicate's "
                        "window totals, seed and scores are always kept)")


def add_quiet(p: argparse.ArgumentParser) -> None:
    """--quiet: commands that can take more than a few seconds report progress on stderr unless told not to."""
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (default: a bar on a terminal, a line every few seconds otherwise)")


def quiet_requested(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def check_out(path: str | Path | None, kind: str = "folder", flag: str = "--out") -> Path | None:
    """Refuse, before any computing, an output the command could not write (exit 2, one line).

    ``kind`` is "folder" or "file". An existing path must be of that kind; a
    missing one must be creatable: its nearest existing parent is a folder we
    may write in, checked by creating (and removing) the path's first missing
    part, which works where permission bits say yes but the file system says
    no (read-only mounts, /proc, root on a protected folder).
    """
    if path is None:
        return None
    p = Path(path)
    if not str(path).strip():
        raise UserError(f"{flag}: empty path")
    if p.exists():
        _check_existing(p, kind, flag)
        return p
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{flag} {p}: {parent} is a file, so nothing can be created under it")
    first = p
    while first.parent != parent:
        first = first.parent
    try:
        if kind == "file" and first == p:
            os.close(os.open(first, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            os.unlink(first)
        else:
            os.mkdir(first)
            os.rmdir(first)
    except OSError as exc:
        raise UserError(f"{flag} {p}: cannot create it in {parent} ({exc.strerror})") from None
    return p


def _check_existing(p: Path, kind: str, flag: str) -> None:
    if kind == "folder" and not p.is_dir():
        raise UserError(f"{flag} {p}: exists and is not a folder")
    if kind == "file" and p.is_dir():
        raise UserError(f"{flag} {p}: is a folder; give a file name")
    if kind == "file" and not p.is_file():
        raise UserError(f"{flag} {p}: is not a regular file (a device or pipe)")
    where = p if kind == "folder" else p.parent
    try:
        if kind == "folder":
            fd, probe = tempfile.mkstemp(dir=where, prefix=".write-check-")
            os.close(fd)
            os.unlink(probe)
        elif not os.access(p, os.W_OK) or not os.access(where, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise UserError(f"{flag} {p}: not writable ({exc.strerror})") from None
