"""Where a row of a record comes from: a line of a document, a dataset, or an assumption.

A record built from documents cites ``FILE:LINE`` (or ``FILE:LINE-LINE``);
a record built from statistics cites the dataset (``dataset: NAME; TABLE;
YEAR``, the year of the edition used); a figure from general knowledge says
so (``assumption: WHY``). Cited files are looked up in the record's sources
folder, so that a typo in a file name or a line past the end of the file is
found when the record loads, not when someone tries to check the figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

KINDS = ("document", "dataset", "assumption")
FORMS = "FILE:LINE, 'dataset: NAME; TABLE; YEAR' or 'assumption: WHY'"

_DOC_RE = re.compile(r"^(?P<file>[^:;\s](?:[^:;]*[^:;\s])?):(?P<line>[1-9][0-9]*)(?:-(?P<last>[1-9][0-9]*))?$")
_YEAR_RE = re.compile(r"^[12][0-9]{3}$")


@dataclass(frozen=True)
class Citation:
    kind: str                # document | dataset | assumption
    file: str = ""
    line: int = 0
    last_line: int = 0
    dataset: str = ""
    table: str = ""
    year: int = 0
    text: str = ""           # the assumption's reason


def parse_citation(value: str) -> Citation:
    """The citation a ``source`` cell holds; ValueError saying what is wrong otherwise."""
    value = value.strip()
    head, sep, rest = value.partition(":")
    key = head.strip().lower()
    if sep and key == "assumption":
        if not rest.strip():
            raise ValueError("an assumption says why: 'assumption: WHY'")
        return Citation("assumption", text=rest.strip())
    if sep and key == "dataset":
        parts = [p.strip() for p in rest.split(";")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"'{value}': a dataset citation is 'dataset: NAME; TABLE; YEAR'")
        if not _YEAR_RE.match(parts[2]):
            raise ValueError(f"'{value}': the dataset's year '{parts[2]}' is not a year (YYYY)")
        return Citation("dataset", dataset=parts[0], table=parts[1], year=int(parts[2]))
    m = _DOC_RE.match(value)
    if not m:
        raise ValueError(f"'{value}' is not a citation: use {FORMS}")
    line = int(m["line"])
    last = int(m["last"]) if m["last"] else line
    if last < line:
        raise ValueError(f"'{value}': the line range ends before it starts")
    return Citation("document", file=m["file"], line=line, last_line=last)


class SourceChecker:
    """Checks cited documents against a folder: the file exists and holds the cited line(s).

    ``folder`` None (or missing) means the documents are not at hand: nothing
    can be checked, and ``unchecked`` says why, so that callers can report it.
    """

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.unchecked = ""
        if folder is None:
            self.unchecked = "the record names no sources folder"
        elif not folder.is_dir():
            self.unchecked = f"sources folder {folder} not found"
        self._lines: dict[str, int | None] = {}

    def problem(self, cit: Citation) -> str | None:
        """What is wrong with a citation (None when nothing is, or nothing can be checked)."""
        if cit.kind != "document" or self.unchecked:
            return None
        n = self._count(cit.file)
        if n == -1:
            return f"cited file '{cit.file}' not found in {self.folder}"
        if n is not None and cit.last_line > n:
            return f"'{cit.file}' has {n} lines; line {cit.last_line} is cited"
        return None

    def _count(self, name: str) -> int | None:
        """Lines of a text file; None for a binary file (no line check); -1 when missing."""
        if name not in self._lines:
            path = self.folder / name
            if not path.is_file():
                self._lines[name] = -1
            else:
                data = path.read_bytes()
                if b"\0" in data[:8192]:
                    self._lines[name] = None
                else:
                    self._lines[name] = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
        return self._lines[name]
