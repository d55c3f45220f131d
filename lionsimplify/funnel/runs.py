"""Intake: read a directory of search runs, check and reduce every candidate, merge duplicates.

Runs format (one sub-directory per run; a directory with no sub-directories is one run):

* `programs.jsonl`: one JSON object per line with `program` (text, paper or Hero format) and
  `fitness` (a finite JSON number on the search proxy; a string such as "0.5" is rejected); optional `step` (search progress) and `id`;
  any other field is kept with the candidate.
* or program files (`.txt .py .prog .hero`) whose leading comment lines carry the fields:
  `# fitness: 0.731`, optionally `# step: 1200` and `# id: name`.
* optional `run.toml` or `meta.json` with `higher_is_better = true|false` (default true) and
  an optional `name`.

Nothing a candidate contains stops intake: an unparseable program, a bad JSON line or a
missing fitness is counted as invalid with its reason. Only a missing `RUNS_DIR` or an
unreadable `run.toml` is an error (exit 2).

Speed: search outputs are mostly duplicates (the Lion paper's hash cache hit 89%), so work is
cached on the exact text (parse + check + dead-code elimination + structural hash) and then on
the structural hash (the behavioural fingerprint, which runs the program). The full reduction
with its verified passes is left to the few candidates that enter the funnel.

Very large inputs (`PARALLEL_MIN` = 100k distinct texts and more) spread that work over
worker processes (`analysis/fingerprint_pool.py`, shared with `dedup`); the merging itself
stays one sequential pass in input order, so the result is the one a single process gives.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lionsimplify.analysis.fingerprint import Fingerprinter, collector_paused
from lionsimplify.analysis.fingerprint_pool import PARALLEL_MIN, cores, precompute
from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.files import MAX_DATA_BYTES, read_bytes
from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import Semantics
from lionsimplify.lang.parse import decode_source
from lionsimplify.lang.sources import PROGRAM_SUFFIXES, Source, split_lines

_HEADER = re.compile(r"^\s*#\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class Entry:
    """One candidate as the search produced it (before merging)."""

    run: str
    id: str
    fitness: float
    step: float | None
    where: str
    """`path` or `path:line`, for messages."""
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Candidate:
    """A unique program (a class of functional duplicates) with every entry that produced it."""

    fingerprint: str
    program: Program
    """The program after dead-code elimination (the representative's)."""
    text: str
    """The representative's source text, so its full reduction can be shown."""
    structural: set[str]
    entries: list[Entry] = field(default_factory=list)
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    source: Source | None = None
    """For a representative from a JSON line: its entry, which places errors found later in
    its program at the file's line (`Source.program_error`); None for a program file."""

    def score(self, entry: Entry) -> float:
        """Search fitness with "higher is better" for every run."""
        return entry.fitness if self.higher_is_better[entry.run] else -entry.fitness

    @property
    def best(self) -> Entry:
        return max(self.entries, key=lambda e: (self.score(e), e.run, e.id))

    @property
    def runs(self) -> list[str]:
        return sorted({e.run for e in self.entries})


@dataclass(frozen=True)
class Invalid:
    run: str
    where: str
    reason: str
    """One line: the error's headline, as the ledger, `--json` and the report show it."""
    error: ProgramError | None = field(default=None, compare=False)
    """The error itself where there is one, for the terminal: its source line and caret."""

    def render(self) -> str:
        """What a terminal shows: the reason, with the source line and caret where known."""
        return self.error.render() if self.error is not None else self.reason

    @classmethod
    def of(cls, run: str, where: str, error: ProgramError) -> Invalid:
        return cls(run, where, error.headline(), error)

    def to_json(self) -> dict[str, str]:
        return {"run": self.run, "where": self.where, "reason": self.reason}


@dataclass
class Intake:
    runs: dict[str, bool]
    """Run name -> higher_is_better."""
    candidates: list[Candidate]
    invalid: list[Invalid]
    read: int
    statements_in: int
    statements_live: int
    duplicate_hits: int
    """Valid entries that matched an earlier one (exact text, structure or behaviour)."""
    rejected: list[Invalid] = field(default_factory=list)
    """Unique candidates chosen for level 1 that could not enter it (the reduction found a
    hyperparameter without a value, say): valid and unique, but not entering."""

    @property
    def valid(self) -> int:
        return self.read - len(self.invalid)

    def to_json(self) -> dict[str, Any]:
        redundant = 1 - self.statements_live / self.statements_in if self.statements_in else 0.0
        return {
            "runs": dict(sorted(self.runs.items())),
            "read": self.read,
            "valid": self.valid,
            "unique": len(self.candidates),
            "redundant_statement_rate": round(redundant, 4),
            "duplicate_rate": round(self.duplicate_hits / self.valid, 4) if self.valid else 0.0,
            "invalid": [i.to_json() for i in self.invalid],
            "rejected": [i.to_json() for i in self.rejected],
        }


# ---------------------------------------------------------------------------------------------
# Reading runs.


def _run_meta(run_dir: Path) -> tuple[str, bool]:
    name = run_dir.name
    toml_path, json_path = run_dir / "run.toml", run_dir / "meta.json"
    meta: dict[str, Any] = {}
    path = None
    try:
        if toml_path.exists():
            path = toml_path
            meta = tomllib.loads(decode_source(read_bytes(path, limit=MAX_DATA_BYTES), str(path)))
        elif json_path.exists():
            path = json_path
            meta = json.loads(decode_source(read_bytes(path, limit=MAX_DATA_BYTES), str(path)))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ProgramError(
            f"cannot read run metadata: {exc}", Location.file(str(path)), code="E401"
        ) from None
    if not isinstance(meta, dict):
        raise ProgramError(
            "run metadata must be a table/object", Location.file(str(path)), code="E401"
        )
    value = meta.get("higher_is_better", True)
    if not isinstance(value, bool):
        raise ProgramError(
            "`higher_is_better` must be true or false", Location.file(str(path)), code="E401"
        )
    return str(meta.get("name", name)), value


#: Marks fields that came from JSON, where numbers must be JSON numbers (a header comment
#: `# fitness: 0.73` is text by nature; a JSON string "0.73" is a mistake worth reporting).
_FROM_JSON = "\x00json"


def _number(value: Any, what: str, json_value: bool = False) -> float:
    if isinstance(value, bool) or (json_value and not isinstance(value, int | float)):
        raise ValueError(f"`{what}` must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{what}` must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"`{what}` must be finite, got {value!r}")
    return number


def _entry_fields(
    run: str, where: str, default_id: str, meta: Mapping[str, Any]
) -> tuple[str, float, float | None, dict[str, Any]]:
    if "fitness" not in meta:
        raise ValueError("missing `fitness`")
    json_value = bool(meta.get(_FROM_JSON))
    fitness = _number(meta["fitness"], "fitness", json_value)
    step = _number(meta["step"], "step", json_value) if meta.get("step") is not None else None
    cid = str(meta.get("id", default_id))
    skip = ("fitness", "step", "id", "program", _FROM_JSON)
    extra = {k: v for k, v in meta.items() if k not in skip}
    return cid, fitness, step, extra


#: (run, where, default id, program text or None, fields or error, source): the source places
#: errors in the program (for a JSON line: the file's line, not `path:line:line:col`).
_Raw = tuple[str, str, str, str | None, dict[str, Any] | str | ProgramError, Source | None]


def _iter_jsonl(run: str, path: Path) -> Iterator[_Raw]:
    try:
        data = read_bytes(path, limit=MAX_DATA_BYTES)
    except ProgramError as exc:
        yield run, str(path), path.stem, None, exc, None
        return
    for n, line in split_lines(data, str(path)):
        where = f"{path}:{n}"
        if isinstance(line, ProgramError):
            yield run, where, str(n), None, line, None
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield (
                run,
                where,
                str(n),
                None,
                f"{where}:{exc.colno}: error: invalid JSON: {exc.msg}",
                None,
            )
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("program"), str):
            yield run, where, str(n), None, "expected an object with a `program` string", None
            continue
        source = Source(where, obj["program"], str(path), jsonl_line=n)
        yield run, where, str(n), obj["program"], {**obj, _FROM_JSON: True}, source


def _file_header(text: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _HEADER.match(line)
        if m is None:
            if line.lstrip().startswith("#"):
                continue
            break
        meta.setdefault(m.group(1).lower(), m.group(2))
    return meta


def _iter_files(run: str, files: list[Path]) -> Iterator[_Raw]:
    for path in files:
        try:
            text = decode_source(read_bytes(path), str(path))
        except ProgramError as exc:
            yield run, str(path), path.stem, None, exc, None
            continue
        yield run, str(path), path.stem, text, _file_header(text), None


def _run_dirs(root: Path, exclude: Path | None = None) -> list[Path]:
    """The runs under `root`: its sub-directories, or `root` itself when it has none. The
    funnel's own `--out` (`funnel . ` in a run's folder writes `./funnel-out`) is not a run:
    read as one, its ledger and winners would replace the real run when the command resumes."""
    skip = exclude.resolve() if exclude is not None else None
    subdirs = sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.resolve() != skip
    )
    return subdirs or [root]


def iter_runs(
    root: str | Path, exclude: Path | None = None
) -> tuple[dict[str, bool], Iterator[_Raw]]:
    """Run names with their direction, and every raw entry in a deterministic order
    (`exclude`: a directory under `root` that is not a run, the funnel's output)."""
    base = Path(root)
    if not base.is_dir():
        raise ProgramError("runs directory not found", Location.file(str(root)), code="E401")
    runs: dict[str, bool] = {}
    plan: list[tuple[str, Path, list[Path]]] = []
    for run_dir in _run_dirs(base, exclude):
        name, higher = _run_meta(run_dir)
        if name in runs:
            raise ProgramError(
                f"two runs are named {name!r}", Location.file(str(run_dir)), code="E401"
            )
        runs[name] = higher
        jsonl = sorted(run_dir.glob("*.jsonl"))
        files = sorted(p for p in run_dir.iterdir() if p.is_file() and p.suffix in PROGRAM_SUFFIXES)
        plan.append((name, run_dir, [*jsonl, *files]))

    def generate() -> Iterator[_Raw]:
        for name, _, paths in plan:
            for path in paths:
                if path.suffix == ".jsonl":
                    yield from _iter_jsonl(name, path)
                else:
                    yield from _iter_files(name, [path])

    return runs, generate()


# ---------------------------------------------------------------------------------------------
# Checking, reducing, merging.


def _usable(entry: _Raw) -> bool:
    """Whether the sequential pass fingerprints this entry (it has a text and valid fields)."""
    run, where, default_id, text, meta, _source = entry
    if text is None or not isinstance(meta, dict):
        return False
    try:
        _entry_fields(run, where, default_id, meta)
    except ValueError:
        return False
    return True


@collector_paused()
def intake(
    root: str | Path,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    workers: int | None = None,
    parallel_min: int = PARALLEL_MIN,
    exclude: Path | None = None,
) -> Intake:
    """Read, check, reduce (dead code) and fingerprint every candidate under `root`.

    With `parallel_min` distinct texts or more, the fingerprints are computed by `workers`
    processes (default: one per available core); the result is the same. `exclude` is a
    directory under `root` that is not a run (the funnel's `--out`).
    """
    runs, raw_iter = iter_runs(root, exclude)
    raw_entries = list(raw_iter)
    fingerprints = Fingerprinter(semantics, params)
    workers = workers or cores()
    texts = list(dict.fromkeys(e[3] for e in raw_entries if _usable(e)))
    if workers > 1 and len(texts) >= parallel_min:
        fingerprints = precompute(texts, semantics, params, workers)  # type: ignore[arg-type]
    # the behavioural hashes, side by side, before the pass that merges
    fingerprints.prepare(fingerprints.structural_many((t, "<intake>") for t in texts))
    seen_texts: set[str] = set()
    by_struct: dict[str, Candidate] = {}
    by_behaviour: dict[str, Candidate] = {}
    candidates: list[Candidate] = []
    invalid: list[Invalid] = []
    read = statements_in = statements_live = hits = 0
    for run, where, default_id, text, meta, source in raw_entries:
        read += 1
        if isinstance(meta, ProgramError):
            invalid.append(Invalid.of(run, where, meta))
            continue
        if text is None or isinstance(meta, str):
            invalid.append(Invalid(run, where, str(meta)))
            continue
        try:
            cid, fitness, step, extra = _entry_fields(run, where, default_id, meta)
        except ValueError as exc:
            invalid.append(Invalid(run, where, str(exc)))
            continue
        try:
            fp = fingerprints.structural(text, where if source is None else source.path)
        except ProgramError as exc:
            invalid.append(Invalid.of(run, where, placed(exc, source)))
            continue
        hit = text in seen_texts
        seen_texts.add(text)
        statements_in += fp.statements_in
        statements_live += len(fp.program.body)
        entry = Entry(run, cid, fitness, step, where, extra)
        cand = by_struct.get(fp.structural)
        if cand is None:
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    b_hash = fingerprints.behavioural(fp)
            except ProgramError as exc:
                invalid.append(Invalid.of(run, where, placed(exc, source)))
                continue
            cand = by_behaviour.get(b_hash)
            if cand is None:
                cand = Candidate(b_hash[-12:], fp.program, text, set(), source=source)
                candidates.append(cand)
                by_behaviour[b_hash] = cand
            else:
                hit = True
            cand.structural.add(fp.structural)
            by_struct[fp.structural] = cand
        else:
            hit = True
        hits += hit
        cand.entries.append(entry)
        cand.higher_is_better[run] = runs[run]
    return Intake(runs, candidates, invalid, read, statements_in, statements_live, hits)


def placed(exc: ProgramError, source: Source | None) -> ProgramError:
    """An error in a candidate's program at its real place (see `_Raw`)."""
    return exc if source is None else source.program_error(exc)
