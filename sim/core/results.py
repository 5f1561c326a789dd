"""A run's results folder is whole or refused: written aside, hashed, swapped into place, verified on reading.

A ``run`` killed while it writes over an earlier run must not leave new
indicators beside an old manifest, and two runs into one folder must not mix
their tables. So :class:`FolderWriter`

* takes a lock beside the target (``.<name>.lock``, an advisory ``flock`` the
  kernel drops when the holder dies) and refuses a second writer with one line;
* writes every file into a temporary folder beside the target
  (``.<name>.tmp-<pid>``), the manifest last, with the SHA-256 of every other
  file under ``files``;
* swaps the temporary folder with the target in one step (``renameat2`` with
  ``RENAME_EXCHANGE`` on Linux; elsewhere two renames, with the old folder kept
  as ``.<name>.old-<pid>`` until the new one is in place and put back by the
  next writer if a kill falls between them), then removes the old copy.

A kill at any moment leaves the previous folder at the target, whole, or the
new one; the leftovers beside it are removed by the next writer. Readers call
:func:`read_manifest`, which refuses (one line) a folder whose files do not
match its manifest's hashes. A folder that exists, holds files and is not a
run's results folder is replaced only with ``--force``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

from sim.core.errors import UserError

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 2**20
# Files a reader takes as data: one not listed in the manifest was not written by that run.
DATA_SUFFIXES = (".parquet", ".json", ".csv")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` but the manifest, by path relative to it (sorted)."""
    out = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(block)
            out[p.relative_to(folder).as_posix()] = h.hexdigest()
    return out


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a run's results folder, after checking every file against its hash (one line if not)."""
    from sim.core.files import read_json_object

    folder = Path(folder)
    file = folder / MANIFEST
    if not file.is_file():
        raise UserError("not a results folder of 'run' (no manifest.json)", file=str(folder))
    manifest = read_json_object(file, MAX_MANIFEST_BYTES, "manifest")
    verify(folder, manifest)
    return manifest


def verify(folder: Path, manifest: dict) -> None:
    """Every file the manifest lists is there with its hash, and no data file is there that it does not list."""
    where = str(Path(folder) / MANIFEST)
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not listed or not all(isinstance(v, str) for v in listed.values()):
        raise UserError("the manifest lists no content hashes ('files'): the folder was not written whole by "
                        "'run' (or by an older version); run the scenario again", file=where, path="files")
    actual = file_hashes(folder)
    for rel, digest in listed.items():
        if rel not in actual:
            raise UserError(f"{rel} is missing: the folder is incomplete; run the scenario again", file=where,
                            path="files")
        if actual[rel] != digest:
            raise UserError(f"{rel} does not match its hash: the folder was changed or half-written; run the "
                            "scenario again", file=where, path="files")
    extra = [rel for rel in actual if rel not in listed and rel.endswith(DATA_SUFFIXES)]
    if extra:
        raise UserError(f"{extra[0]} is not one of the files this run wrote (left by another run?); run the "
                        "scenario again into a fresh folder", file=where, path="files")


class FolderWriter:
    """``with FolderWriter(target) as w:`` write under ``w.tmp``, then ``w.commit(manifest)``.

    Leaving the block without ``commit`` (an error, Ctrl-C) removes the
    temporary folder and leaves the target as it was.
    """

    def __init__(self, target: str | Path, force: bool = False):
        target = Path(target).absolute()
        self.target = target.resolve() if target.is_symlink() else target   # swap the folder, not the link
        self.force = force
        name = self.target.name
        self.lock_path = self.target.with_name(f".{name}.lock")
        self.tmp = self.target.with_name(f".{name}.tmp-{os.getpid()}")
        self._fd: int | None = None

    def __enter__(self) -> FolderWriter:
        self._check_target()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._recover()
            self.tmp.mkdir()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.tmp.exists():
                shutil.rmtree(self.tmp, ignore_errors=True)
        finally:
            self._unlock()

    def commit(self, manifest: dict) -> None:
        """Write the manifest (with the hashes of every other file) last, then swap the folder into place."""
        manifest = dict(manifest, files=file_hashes(self.tmp))
        with open(self.tmp / MANIFEST, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(manifest, indent=2) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if not self.target.exists():
            os.rename(self.tmp, self.target)
        elif not _exchange(self.tmp, self.target):
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.rename(self.target, old)
            os.rename(self.tmp, self.target)
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)   # after an exchange: the previous folder

    def _check_target(self) -> None:
        t = self.target
        if t.exists() and not t.is_dir():
            raise UserError(f"--out {t}: exists and is not a folder")
        if t.is_dir() and not self.force and any(t.iterdir()) and not (t / MANIFEST).is_file():
            raise UserError(f"--out {t}: exists, holds files and is not a results folder of 'run'; choose another "
                            "folder or pass --force to replace it")

    def _lock(self) -> None:
        import fcntl
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as exc:
                raise UserError(f"--out {self.target}: cannot write beside it in {self.target.parent} "
                                f"({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise UserError(f"--out {self.target}: another run is writing this folder (lock "
                                f"{self.lock_path.name}); wait for it or choose another folder") from None
            # the holder before us may have removed the file between our open and our lock: lock the new one
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)

    def _unlock(self) -> None:
        if self._fd is not None:
            try:
                os.unlink(self.lock_path)
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None

    def _recover(self) -> None:
        """Leftovers of killed writers: an old folder put back if the target is gone, temporary folders removed."""
        parent, name = self.target.parent, self.target.name
        olds = sorted(parent.glob(f".{name}.old-*"))
        if olds and not self.target.exists():
            os.rename(olds.pop(), self.target)
        for stale in olds + sorted(parent.glob(f".{name}.tmp-*")):
            shutil.rmtree(stale, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


# ---------------------------------------------------------------- what a manifest names, what a folder holds

def relative_to_folder(path: Path | None, target: Path) -> tuple[str | None, str | None]:
    """(path relative to the results folder, absolute path), so that a moved folder still finds it."""
    if path is None:
        return None, None
    absolute = os.path.abspath(path)
    return os.path.relpath(absolute, os.path.abspath(target)), absolute


def read_column(folder: Path, parts: list[str], name: str):
    """One column of a table stored as Parquet parts, in part order (the other columns are never read)."""
    import numpy as np
    import pyarrow.parquet as pq
    chunks = [pq.read_table(Path(folder) / p, columns=[name]).column(0).to_numpy() for p in parts]
    return np.concatenate(chunks) if chunks else np.empty(0)
