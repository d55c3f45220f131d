"""Where programs come from: files, directories of files, and JSON-lines files.

`load_sources(paths)` turns what a user names on the command line into `Source` items (an id
and the program text), without parsing them, so that callers can parse each one and report
invalid ones without stopping. A directory contributes every program file below it (sorted, so
output is deterministic); a `.jsonl` file contributes one program per line from its `program`
field, with the other fields kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.parse import decode_source

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


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProgramError(
            f"cannot read file: {exc.strerror}", Location(str(path)), code="E001"
        ) from None
    return decode_source(data, str(path))


def iter_jsonl(path: Path) -> Iterator[Source]:
    for n, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ProgramError(
                f"invalid JSON: {exc.msg}", Location(str(path), n, exc.colno), code="E401"
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("program"), str):
            raise ProgramError(
                "each line must be a JSON object with a `program` string",
                Location(str(path), n, 1),
                code="E401",
            )
        fields = {k: v for k, v in obj.items() if k != "program"}
        sid = f"{path}:{n}" if "id" not in obj else f"{path}:{obj['id']}"
        yield Source(sid, obj["program"], f"{path}:{n}<program>", fields)


def load_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Expand files, directories and JSON-lines files into program sources."""
    out: list[Source] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ProgramError("no such file or directory", Location(str(raw)), code="E001")
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
    return [Source(str(p), _read_text(p), str(p))]
