"""Writing result files so that a crash never leaves half a file.

Sweeps and calibrations resume from what is on disk and take a file's
presence as proof that its work is done; so a file is written beside its
target under a temporary name and moved into place in one step (``os.replace``
is atomic on one file system), and is either complete or absent, even after SIGKILL.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

TMP_GLOB = ".*.tmp-*"


def atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary path)``, then move the file onto ``target``."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    write(tmp)
    os.replace(tmp, target)


def remove_stale(folder: Path) -> None:
    """Temporary files a killed writer left behind in ``folder``."""
    for stale in Path(folder).glob(TMP_GLOB) if Path(folder).exists() else []:
        stale.unlink()
