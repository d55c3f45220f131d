"""The append-only ledger: one JSON line per finished evaluation, flushed and fsynced.

`OUT/ledger.jsonl` is the funnel's memory. Each run of the command appends a `header` line
(config hash, code version, the config itself) and then one `eval` line per evaluation as it
finishes, written by the coordinating process only (workers return results, they never write),
so a dead worker cannot corrupt it. Every line is flushed and fsynced before the next job is
counted as done: `kill -9` at any moment loses at most the evaluations still in flight, and at
worst leaves one torn last line, which reading reports and skips (the next append starts on a
fresh line).

An evaluation is identified by its `key`: the candidate's fingerprint (or the baseline's name),
the level's evaluation hash (proxy, seeds, multipliers, time limit, semantics, parameters) and
the code version. Resuming skips every key already recorded; a record whose key no longer
matches (the config or the code changed) is not reused, and the reader reports how many such
stale records it found and why.

An exclusive `flock` on the file stops two funnels from writing the same ledger at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lionsimplify.lang.errors import Location, ProgramError

LEDGER_NAME = "ledger.jsonl"

#: Files whose contents change the numbers an evaluation produces (the program evaluated is
#: the reduced one, so the passes count too).
_CODE_FILES = ("ops.py", "ir.py", "parse.py", "reduce.py", "to_optax.py", "funnel/evaluate.py")
_CODE_DIRS = ("proxies", "passes")


def code_version() -> str:
    """A short hash of the package version and of the sources evaluation depends on."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.blake2b(digest_size=6)
    try:
        from importlib.metadata import version

        h.update(version("lionsimplify").encode())
    except Exception:  # not installed: the sources alone identify the code
        pass
    files = [root / f for f in _CODE_FILES]
    for d in _CODE_DIRS:
        files += sorted((root / d).rglob("*.py")) if (root / d).is_dir() else []
    for f in files:
        if f.is_file():
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def eval_key(subject: str, eval_hash: str, code: str) -> str:
    return f"{subject}@{eval_hash}@{code}"


@dataclass
class LedgerState:
    """What a ledger holds, as read back."""

    headers: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Latest `eval` record per key."""
    torn_lines: list[int] = field(default_factory=list)
    duplicates: int = 0

    @property
    def last_header(self) -> dict[str, Any] | None:
        return self.headers[-1] if self.headers else None


def read_ledger(path: str | Path) -> LedgerState:
    """Every header and eval record; torn or foreign lines are noted, never fatal."""
    state = LedgerState()
    p = Path(path)
    if not p.exists():
        return state
    with p.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                state.torn_lines.append(n)
                continue
            if not isinstance(obj, dict):
                state.torn_lines.append(n)
            elif obj.get("kind") == "header":
                state.headers.append(obj)
            elif obj.get("kind") == "eval" and isinstance(obj.get("key"), str):
                if obj["key"] in state.records:
                    state.duplicates += 1
                state.records[obj["key"]] = obj
            else:
                state.torn_lines.append(n)
    return state


class Ledger:
    """An open ledger for appending; use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[bytes] | None = None

    def __enter__(self) -> Ledger:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.path.open("ab")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise ProgramError(
                "another funnel is writing this ledger", Location(str(self.path)), code="E404"
            ) from None
        self._file = f
        if f.tell() > 0:  # a torn last line from a kill: start the next record on a fresh line
            with self.path.open("rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    self._write(b"\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def _write(self, data: bytes) -> None:
        assert self._file is not None, "ledger is not open"
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line, durably, before returning (NaN/inf become null)."""
        line = json.dumps(json_safe(record), sort_keys=True, ensure_ascii=False, allow_nan=False)
        self._write(line.encode() + b"\n")
