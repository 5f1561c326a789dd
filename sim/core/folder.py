"""A run's results folder: written whole or not at all, and checked when it is read back.

A results folder is evidence: a scorecard in it must belong to the tables
beside it, and a reader must not mistake half a folder for a whole one. So a
run writes into a temporary folder beside the target and moves it into place
as its very last step (a rerun replaces the whole folder; nothing of the old
one survives); ``manifest.json`` is written last and holds the SHA-256 of
every file, and readers refuse a folder whose files do not match it. A lock
file beside the target (``.NAME.lock``, held with ``flock`` and released by
the kernel when the writer dies, even by SIGKILL) refuses a second concurrent
writer. See docs/results.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sim.core.errors import UserError

FORMAT = "dyadsim.run/2"
MANIFEST = "manifest.json"


class FolderWriter:
    """Where a run writes (``path``, a temporary folder) until ``commit`` moves it onto the target."""

    def __init__(self, target: Path, tmp: Path):
        self.target, self.path, self.committed = target, tmp, False

    def commit(self, manifest: dict) -> Path:
        """Hash every file, write the manifest last, then put the folder in place of the target in one step."""
        files = {}
        for p in sorted(q for q in self.path.rglob("*") if q.is_file()):
            rel = p.relative_to(self.path).as_posix()
            files[rel] = {"sha256": file_digest(p, sync=True), "bytes": p.stat().st_size}
        body = {"format": FORMAT, **manifest, "files": files}
        with open(self.path / MANIFEST, "w") as f:
            f.write(json.dumps(body, indent=1, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(self.path)
        _swap_into_place(self.path, self.target)
        self.committed = True
        return self.target


@contextlib.contextmanager
def writing(target: str | Path, force: bool = False) -> Iterator[FolderWriter]:
    """A temporary folder beside ``target`` that becomes ``target`` on ``commit``; removed if the block fails.

    An existing results folder of a run is replaced only with ``force``
    (``--force``); a folder that holds anything else is never replaced.
    """
    target = Path(os.path.abspath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target):
        _recover(target)
        _check_target(target, force)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        tmp.mkdir()
        writer = FolderWriter(target, tmp)
        try:
            yield writer
        finally:
            if not writer.committed:
                shutil.rmtree(tmp, ignore_errors=True)


def file_digest(path: Path, sync: bool = False) -> str:
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
        if sync:
            os.fsync(f.fileno())
    return digest


# ---------------------------------------------------------------- reading

def verified_manifest(folder: str | Path) -> dict:
    """The manifest of a run's results folder, after checking every file against it (one-line UserError if not)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such results folder")
    manifest = _manifest_of(folder)
    if manifest is None:
        raise UserError(f"{folder} is not a results folder of a run (no readable {MANIFEST})")
    if manifest.get("format") != FORMAT:
        if _is_old_run(manifest):
            raise UserError(f"{folder} was written by an earlier dyadsim (no content hashes in {MANIFEST}); "
                            "run the scenario again to rewrite it")
        raise UserError(f"{folder} is not a results folder of a run ({MANIFEST} is of another kind)")
    for rel, info in manifest.get("files", {}).items():
        p = folder / rel
        if not p.is_file():
            raise UserError(f"{folder} does not match its {MANIFEST}: {rel} is missing; rerun to rewrite the folder")
        if p.stat().st_size != info["bytes"] or file_digest(p) != info["sha256"]:
            raise UserError(f"{folder} does not match its {MANIFEST}: {rel} has changed since the run wrote it; "
                            "rerun to rewrite the folder")
    return manifest


def linked_path(folder: Path, manifest: dict, key: str) -> Path | None:
    """A path the manifest names (the record, the scenario): relative to the folder, else as written absolute."""
    rel = manifest.get(key)
    if rel is None:
        return None
    here = Path(os.path.normpath(Path(folder).absolute() / rel))
    absolute = manifest.get(f"{key}_absolute")
    if here.exists() or not absolute:
        return here
    return Path(absolute)


def relative_to_folder(path: Path | None, target: Path) -> tuple[str | None, str | None]:
    """(path relative to the results folder, absolute path), so that a moved folder still finds it."""
    if path is None:
        return None, None
    absolute = os.path.abspath(path)
    return os.path.relpath(absolute, os.path.abspath(target)), absolute


def read_column(folder: Path, parts: list[str], name: str) -> np.ndarray:
    """One column of a table stored as Parquet parts, in part order (the other columns are never read)."""
    import pyarrow.parquet as pq
    chunks = [pq.read_table(Path(folder) / p, columns=[name]).column(0).to_numpy() for p in parts]
    return np.concatenate(chunks) if chunks else np.empty(0)


# ---------------------------------------------------------------- the target, the lock, the swap

def _manifest_of(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_old_run(manifest: dict) -> bool:
    return {"scenario_hash", "seeds", "base_seed"} <= set(manifest)


def _check_target(target: Path, force: bool) -> None:
    if not target.exists():
        return
    if not target.is_dir():
        raise UserError(f"{target} is a file; choose another --out")
    if not any(target.iterdir()):
        return
    manifest = _manifest_of(target)
    if manifest is None or not (manifest.get("format") == FORMAT or _is_old_run(manifest)):
        raise UserError(f"{target} is not empty and does not hold the results of a run; refusing to replace it "
                        "(choose another --out)")
    if not force:
        raise UserError(f"{target} already holds the results of a run (scenario {manifest.get('scenario')}, "
                        f"{manifest.get('created', 'date unknown')}); pass --force to replace the whole folder, "
                        "or choose another --out")


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold ``.NAME.lock`` beside the target; a second writer is refused, not queued."""
    import fcntl
    lock = target.parent / f".{target.name}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise UserError(f"another process (pid {holder}) is writing {target}; wait for it to finish "
                            "or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)          # closing releases the lock; the lock file stays (removing it would race)


def _recover(target: Path) -> None:
    """Clear what a killed writer left beside the target; put back an old folder caught between two renames."""
    olds = sorted(target.parent.glob(f".{target.name}.old-*"))
    if olds and not target.exists():
        os.rename(olds.pop(), target)
    for left in olds + sorted(target.parent.glob(f".{target.name}.tmp-*")):
        shutil.rmtree(left, ignore_errors=True)


def _swap_into_place(tmp: Path, target: Path) -> None:
    """``tmp`` becomes ``target`` in one step (an atomic exchange where the system has one)."""
    if not target.exists():
        os.rename(tmp, target)
    elif _exchange(tmp, target):
        shutil.rmtree(tmp)                       # tmp now holds the previous folder
    else:
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old)
    _fsync_dir(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Linux's renameat2(RENAME_EXCHANGE): swap two paths atomically; False where it is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
