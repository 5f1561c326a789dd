"""Writing result files so that a crash never leaves half a file; reading input files so that none can hang us.

Sweeps and calibrations resume from what is on disk and take a file's
presence as proof that its work is done; so a file is written beside its
target under a temporary name and moved into place in one step (``os.replace``
is atomic on one file system), and is either complete or absent, even after SIGKILL.

Inputs are read through :func:`read_bytes` and :func:`read_text`: a path that
names a FIFO, a device or a huge file is refused before it is read, because a
tiny scenario that says ``extends: /dev/zero`` must not fill the memory or wait
forever on a pipe.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from sim.core.errors import UserError

TMP_GLOB = ".*.tmp-*"


def atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary path)``, then move the file onto ``target``."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, target)


def write_text(target: Path, text: str) -> None:
    """Write a text file whole or not at all (see :func:`atomic_write`)."""
    atomic_write(Path(target), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def remove_stale(folder: Path) -> None:
    """Temporary files a killed writer left behind in ``folder``."""
    for stale in Path(folder).glob(TMP_GLOB) if Path(folder).exists() else []:
        stale.unlink()


# ---------------------------------------------------------------- reading input files safely

MiB = 2**20


def read_bytes(path: str | Path, limit: int, what: str = "file", field: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or a UserError saying why not.

    A FIFO, a device (``/dev/zero``) or a folder is refused before anything is
    read, and the file is opened without blocking, so no input can hang the
    command or fill its memory; ``field`` names the setting that pointed here.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"{what} not found", file=str(path), path=field) from None
    except OSError as exc:
        raise UserError(f"cannot read the {what}: {exc.strerror}", file=str(path), path=field) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe, device or socket"
            raise UserError(f"expected a regular file ({what}), this is {kind}", file=str(path), path=field)
        if st.st_size > limit:
            raise UserError(f"the {what} is {st.st_size / MiB:.1f} MiB, larger than the {limit / MiB:g} MiB limit",
                            file=str(path), path=field)
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise UserError(f"the {what} is larger than the {limit / MiB:g} MiB limit", file=str(path), path=field)
    return data


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(text: str) -> tuple[int, str] | None:
    """(line, U+XXXX) of the first control character other than tab and line ends, or None."""
    m = _CONTROL.search(text)
    if m is None:
        return None
    return text.count("\n", 0, m.start()) + 1, f"U+{ord(m.group()):04X}"


def read_text(path: str | Path, limit: int, what: str = "file", field: str | None = None) -> str:
    """A regular UTF-8 text file of at most ``limit`` bytes without control characters (see :func:`read_bytes`)."""
    data = read_bytes(path, limit, what, field)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=str(path), line=line,
                        path=field) from None
    bad = control_character(text)
    if bad is not None:
        raise UserError(f"control character {bad[1]} in the text; only printable text, tabs and line ends are "
                        "allowed", file=str(path), line=bad[0], path=field)
    return text.removeprefix("\ufeff")


def read_json_object(path: str | Path, limit: int, what: str, hint: str = "") -> dict:
    """A JSON file the project wrote (a manifest, a state) read back as an object, or one line saying why not."""
    try:
        data = json.loads(read_text(path, limit, what))
    except ValueError as exc:
        raise UserError(f"not valid JSON ({exc}){hint}", file=str(path)) from None
    if not isinstance(data, dict):
        raise UserError("expected a JSON object", file=str(path))
    return data
