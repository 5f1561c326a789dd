"""User-facing errors.

A user's mistake (bad file, bad field, bad flag) must end in one readable line
and exit status 2, never a traceback; internal failures keep exit status 1.
Everything that can be blamed on input raises UserError with the place to look.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """Text as one printable line: line breaks and runs of spaces become one space, control characters
    are shown as escapes (a message may quote a user's bytes, which must not drive the terminal)."""
    text = " ".join(str(text).split())
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class UserError(Exception):
    """A mistake in the user's input: names the file, the line and the field path."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
        if self.path:
            where = f"{where}: {self.path}" if where else self.path
        return one_line(f"{where}: {self.message}" if where else self.message)
