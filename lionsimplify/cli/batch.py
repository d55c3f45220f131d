"""The programs PATH... names, read for the commands that run each one (`diff`, `explain`).

Files, folders and `.jsonl` run files are expanded by `lang/sources.py` (the reader `dedup` and
the funnel use, in its order). A program file named on its own that is invalid is bad input:
its error is raised (exit 2). In a folder or a `.jsonl` an invalid program is one skipped
entry, as in `dedup`: it is listed on stderr with its error (source line and caret included)
and the batch goes on; the command then exits 1 (DESIGN.md §5: an invalid program is a negative
finding). A program is valid when it parses, its kinds check, and every hyperparameter has a
value: what running it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from lionsimplify.cli.app import check_param_names, err_console, fail
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Program
from lionsimplify.lang.sources import Source


@dataclass(frozen=True)
class Batch:
    entries: list[tuple[Source, Program | ProgramError]]
    """Every source in order, with its program or, when invalid, its error."""

    @property
    def programs(self) -> list[tuple[Source, Program]]:
        return [(s, p) for s, p in self.entries if isinstance(p, Program)]

    @property
    def skipped(self) -> list[tuple[Source, ProgramError]]:
        return [(s, e) for s, e in self.entries if isinstance(e, ProgramError)]


def skipped_json(source: Source, error: ProgramError) -> dict[str, Any]:
    """A skipped program in JSON: `source`, `error` (its one-line message), `line` and `col`
    (where the error points; null for a whole file)."""
    loc = error.location if error.has_location else None
    return {
        "source": source.id,
        "error": error.headline(),
        "line": loc.line if loc else None,
        "col": loc.col if loc else None,
    }


def no_valid_program(paths: Sequence[Path], total: int, listed: str) -> NoReturn:
    """No valid program to answer about (none found, or every one invalid) is bad input: exit 2,
    as `check` on an invalid one. `listed` says where the errors are."""
    if total == 0:
        where = ", ".join(str(p) for p in paths)
        fail(
            f"no programs found in {where}: name program files (.txt, .py, .prog, .hero), "
            "folders of them or .jsonl files with a `program` field"
        )
    one = total == 1
    fail(
        f"no valid program: {'the only program' if one else f'all {total} programs'} read "
        f"{'is' if one else 'are'} invalid ({'its' if one else 'each'} error {listed}); "
        f"correct {'it' if one else 'them'} and run again (`lionsimplify check FILE` shows "
        "each error with its line)"
    )


def read_batch(
    sources: Sequence[Source],
    paths: Sequence[Path],
    params: dict[str, float],
    *,
    also: Sequence[Program] = (),
) -> Batch:
    """Parse and check every source (see the module docstring); `--param` names are checked
    against the programs read and `also` (e.g. `diff --against`'s program)."""
    from lionsimplify.analysis.absexec import check_kinds
    from lionsimplify.analysis.interp import require_params

    named = {str(p) for p in paths if not p.is_dir() and p.suffix != ".jsonl"}

    def invalid(s: Source, exc: ProgramError) -> ProgramError:
        if s.jsonl_line is None and s.path in named:
            raise exc
        return exc

    entries: list[tuple[Source, Program | ProgramError]] = []
    for s in sources:
        try:
            entries.append((s, s.parse()))
        except ProgramError as exc:
            entries.append((s, invalid(s, exc)))
    check_param_names(params, *(p for _, p in entries if isinstance(p, Program)), *also)
    for i, (s, p) in enumerate(entries):
        if isinstance(p, ProgramError):
            continue
        try:  # what only running it would meet: a missing value, a tensor for a scalar
            check_kinds(p)
            require_params(p, params)
        except ProgramError as exc:
            entries[i] = (s, invalid(s, s.program_error(exc)))
    for _, exc in entries:
        if isinstance(exc, ProgramError):
            err_console.print(f"skipped: {exc.render()}", markup=False, soft_wrap=True)
    return Batch(entries)
