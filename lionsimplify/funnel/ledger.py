"""The append-only ledger: one JSON line per finished evaluation, flushed and fsynced.

`OUT/ledger.jsonl` is the funnel's memory. Each run of the command appends a `header` line
(config hash, code version, the config itself) and then one `eval` line per evaluation as it
finishes, written by the coordinating process only (workers return results, they never write),
so a dead worker cannot corrupt it. Every line is flushed and fsynced before the next job is
counted as done: `kill -9` at any moment loses at most the evaluations still in flight, and at
worst leaves one torn last line, which reading notes and the funnel reports (the next append
starts on a fresh line; the torn evaluation runs again). A line that is valid JSON but not a
well-formed record (a string or null metric in an `ok` record) is treated the same way.

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
from lionsimplify.lang.files import MAX_DATA_BYTES, make_dir, read_bytes

LEDGER_NAME = "ledger.jsonl"

#: Files whose contents change the numbers an evaluation produces (the program evaluated is
#: the reduced one, so the passes count too).
_CODE_FILES = (
    "lang/ops.py",
    "lang/ir.py",
    "lang/parse.py",
    "emit/optax_runtime.py",
    "emit/lifting.py",
    "funnel/proxy_evaluator.py",
)
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
    """Every header and eval record; torn, foreign or malformed lines are noted (and reported
    by the funnel, their evaluations run again), never fatal. A ledger path that is not a
    regular file is a `ProgramError`."""
    state = LedgerState()
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        return state
    data = read_bytes(p, limit=MAX_DATA_BYTES)
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            state.torn_lines.append(n)
            continue
        if not isinstance(obj, dict):
            state.torn_lines.append(n)
        elif obj.get("kind") == "header":
            state.headers.append(obj)
        elif obj.get("kind") == "eval" and _valid_eval(obj):
            if obj["key"] in state.records:
                state.duplicates += 1
            state.records[obj["key"]] = obj
        else:
            state.torn_lines.append(n)
    return state


def _number_or_null(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _valid_eval(obj: dict[str, Any]) -> bool:
    """An eval record the funnel can reuse: a key, and numbers where numbers go (an `ok` record
    has a metric). Anything else (a hand-edited `"metric": "0.9"`) is malformed."""
    if not isinstance(obj.get("key"), str) or not isinstance(obj.get("status", ""), str):
        return False
    if not (_number_or_null(obj.get("metric")) and _number_or_null(obj.get("metric_sd"))):
        return False
    if obj.get("status") == "ok" and obj.get("metric") is None:
        return False
    per_seed = obj.get("per_seed")
    if per_seed is not None and not (
        isinstance(per_seed, list) and all(isinstance(p, dict) and "seed" in p for p in per_seed)
    ):
        return False
    return isinstance(obj.get("higher_is_better", True), bool)


class Ledger:
    """An open ledger for appending; use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[bytes] | None = None

    def __enter__(self) -> Ledger:
        make_dir(self.path.parent)
        try:
            f = self.path.open("ab")
        except OSError as exc:
            raise ProgramError(
                f"cannot open the ledger: {exc.strerror}",
                Location.file(str(self.path)),
                code="E404",
            ) from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise ProgramError(
                "another funnel is writing this ledger", Location.file(str(self.path)), code="E404"
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
        try:
            self._file.write(data)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise ProgramError(
                f"cannot write the ledger: {exc.strerror}",
                Location.file(str(self.path)),
                help="free space or choose another --out; every evaluation already written "
                "is kept and reused on the next run",
                code="E404",
            ) from None

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as one line, durably, before returning (NaN/inf become null)."""
        line = json.dumps(json_safe(record), sort_keys=True, ensure_ascii=False, allow_nan=False)
        self._write(line.encode() + b"\n")
