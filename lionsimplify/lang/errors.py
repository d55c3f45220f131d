"""The one exception type that carries a source location.

Every problem with user input (a program file, a runs directory, a config) is raised as a
`ProgramError`; the command line turns it into a compiler-style one-line message
(`path:line:col: error: message  [E201]`, the code from `lang/diagnostics.py` at the end) plus
the source line, a caret and an optional `help:` line, and exits with code 2. Library callers can
catch it and read the fields. `excerpt` is the one drawing of a source line and its caret: parse
errors, errors found by the analyses after parsing and warnings all show their place with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A position in a source file; `line` and `col` are 1-based."""

    path: str
    line: int | None = 1
    col: int | None = 1
    """None for a problem with the whole file (missing, unreadable): no made-up `:1:1`."""

    @classmethod
    def file(cls, path: str) -> Location:
        """The location of a problem with a whole file."""
        return cls(path, None, None)

    def __str__(self) -> str:
        if self.line is None:
            return self.path
        return (
            f"{self.path}:{self.line}"
            if self.col is None
            else f"{self.path}:{self.line}:{self.col}"
        )


def source_lines(text: str) -> list[str]:
    """The lines of a program text as Python counts them (ended by `\n`, `\r\n` or `\r`),
    without their ends: the numbering of every location. `str.splitlines` also ends a line at
    `\v`, `\f`, `\x1c`-`\x1e`, `\x85`, `\u2028` and `\u2029`, which would put every location
    after one such character a line too far; it is used when the counts show none."""
    lines = text.splitlines()
    ends = text.count("\n") + text.count("\r") - text.count("\r\n")
    if len(lines) == ends + (not text.endswith(("\n", "\r"))) and not text.endswith(_OTHER_ENDS):
        return lines
    lines = _LINE_END.split(text)
    return lines[:-1] if lines[-1] == "" else lines


_LINE_END = re.compile(r"\r\n|\r|\n")
_OTHER_ENDS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def excerpt(source_line: str | None, col: int | None) -> list[str]:
    """The source line and a caret under column `col` (1-based), as two `  | ` lines; nothing
    when there is no line to show (a blank one, or a location without a column such as a
    JSON-lines entry's)."""
    if source_line is None or col is None or not source_line.strip():
        return []
    text = source_line.rstrip("\n")
    return [f"  | {text}", "  | " + " " * max(col - 1, 0) + "^"]


class ProgramError(Exception):
    """Bad input: a message tied to a location, with an optional suggestion."""

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        *,
        help: str | None = None,
        source_line: str | None = None,
        caret: int | None = None,
        code: str,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        """A stable code from `lang/diagnostics.py`'s table, e.g. `E201`."""
        self.has_location = location is not None
        """False for errors about options or settings rather than a place in a file."""
        self.location = location or Location("<input>")
        self.help = help
        self.source_line = source_line
        self.caret = caret
        """The caret's column in `source_line` where it is not the location's: a JSON-lines
        entry is located at its line of the file, its source line is its program's."""

    def headline(self) -> str:
        """The one line a user must see: `path:line:col: error: message  [CODE]`."""
        if not self.has_location:
            return f"error: {self.message}  [{self.code}]"
        return f"{self.location}: error: {self.message}  [{self.code}]"

    def render(self) -> str:
        """The headline, the offending source line with a caret, and the help line."""
        lines = [self.headline()]
        if self.has_location:
            lines += excerpt(self.source_line, self.caret or self.location.col)
        if self.help:
            lines.append(f"  = help: {self.help}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.headline()
