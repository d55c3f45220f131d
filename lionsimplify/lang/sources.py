"""Where programs come from: files, directories of files, and JSON-lines files.

`load_sources(paths)` turns what a user names on the command line into `Source` items (an id
and the program text), without parsing them, so that callers can parse each one and report
invalid ones without stopping. A directory contributes every program file below it (sorted, so
output is deterministic); a `.jsonl` file contributes one program per line from its `program`
field, with the other fields kept. A bad entry (an unreadable file, a JSON line that is not
JSON, holds a NUL byte or invalid UTF-8) is a `Source` with an `error` at its location, so one
bad line never stops a whole directory. Errors inside a JSON line's program are shown at the
file's line, with the position inside the `program` string in the message (and the program's
line with a caret under it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.files import MAX_DATA_BYTES, read_bytes
from lionsimplify.lang.ir import Program
from lionsimplify.lang.parse import decode_source, parse_text

#: Suffixes of program files inside a directory.
PROGRAM_SUFFIXES = (".txt", ".py", ".prog", ".hero")


@dataclass(frozen=True)
class Source:
    id: str
    """Where the program came from: a path, or `path:line` for a JSON-lines entry."""
    text: str
    path: str
    """The path to use in error messages."""
    fields: dict[str, Any] = field(default_factory=dict)
    line_offset: int = 0
    error: ProgramError | None = None
    """Why this entry holds no program (unreadable, bad JSON, a NUL byte, invalid UTF-8)."""
    jsonl_line: int | None = None
    """For a JSON-lines entry: its line in the file, where errors in its program are shown."""

    def program_error(self, exc: ProgramError) -> ProgramError:
        """`exc` (from parsing `text`) at a real place; see the module docstring."""
        if self.jsonl_line is None:
            return exc
        inner = exc.location
        where = f"in `program`, line {inner.line}, col {inner.col}: " if inner.line else ""
        return ProgramError(
            where + exc.message,
            Location(self.path, self.jsonl_line, None),
            help=exc.help,
            source_line=exc.source_line,
            caret=inner.col,
            code=exc.code,
        )

    def parse(self) -> Program:
        """The program, or the entry's error as a `ProgramError` at its real location. A
        JSON-lines entry's program is named by its id (`runs.jsonl:lion-003`), not by the
        file that holds every entry, so outputs that name programs tell them apart."""
        if self.error is not None:
            raise self.error
        try:
            program = parse_text(self.text, self.path)
        except ProgramError as exc:
            raise self.program_error(exc) from None
        return program if self.jsonl_line is None else replace(program, path=self.id)


#: What `bytes.strip()` strips (str.strip() would strip Unicode spaces as well).
_ASCII_SPACE = " \t\n\r\x0b\x0c"


def split_lines(data: bytes, path: str) -> Iterator[tuple[int, str | ProgramError]]:
    """Non-empty lines of a JSON-lines file, each decoded on its own: a NUL byte or invalid
    UTF-8 spoils one line (an error at its location), not the file. A file with neither (the
    usual case) is decoded at once, with the same lines as a result."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" not in data:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            for n, line in enumerate(text.split("\n"), start=1):
                line = line.rstrip("\r")
                if line.strip(_ASCII_SPACE):
                    yield n, line.removeprefix("\ufeff")  # as `utf-8-sig` reads each line
            return
    for n, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            yield n, decode_source(raw, path)
        except ProgramError as exc:
            yield (
                n,
                ProgramError(
                    exc.message, Location(path, n, exc.location.col), help=exc.help, code=exc.code
                ),
            )


def iter_jsonl(path: Path) -> Iterator[Source]:
    """One `Source` per non-empty line; a bad line is a `Source` with an `error`."""
    data = read_bytes(path, limit=MAX_DATA_BYTES)
    where = str(path)
    named: set[str] = set()
    for n, line in split_lines(data, where):
        if isinstance(line, ProgramError):
            yield Source(f"{where}:{n}", "", where, error=line, jsonl_line=n)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            error = ProgramError(
                f"invalid JSON: {exc.msg}", Location(where, n, exc.colno), code="E401"
            )
            yield Source(f"{where}:{n}", "", where, error=error, jsonl_line=n)
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("program"), str):
            error = ProgramError(
                "each line must be a JSON object with a `program` string",
                Location(where, n, 1),
                code="E401",
            )
            yield Source(f"{where}:{n}", "", where, error=error, jsonl_line=n)
            continue
        program = obj.pop("program")
        sid = f"{where}:{obj['id']}" if "id" in obj else f"{where}:{n}"
        if sid in named:  # a repeated `id` (a restarted search): the line tells them apart
            sid = f"{sid} (line {n})"
        named.add(sid)
        yield Source(sid, program, where, obj, jsonl_line=n)


def load_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Expand files, directories and JSON-lines files into program sources."""
    out: list[Source] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ProgramError("no such file or directory", Location.file(str(raw)), code="E001")
        if p.is_dir():
            files = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix in (*PROGRAM_SUFFIXES, ".jsonl")
            )
            for f in files:
                out.extend(_file_sources(f))
        else:
            out.extend(_file_sources(p))
    return out


def _file_sources(p: Path) -> list[Source]:
    if p.suffix == ".jsonl":
        return list(iter_jsonl(p))
    try:
        return [Source(str(p), decode_source(read_bytes(p), str(p)), str(p))]
    except ProgramError as exc:
        return [Source(str(p), "", str(p), error=exc)]
