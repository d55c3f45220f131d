"""`lionsimplify check PATH...`: parse and abstract-execute; errors and hazards with lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from lionsimplify.api import CheckResult, Diagnostic, check
from lionsimplify.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_NEGATIVE,
    check_param_names,
    command,
    console,
    err_console,
    fail,
    file_argument,
    json_option,
    param_option,
    parse_params,
    print_json,
    semantics_option,
)
from lionsimplify.cli.batch import no_valid_program
from lionsimplify.cli.render import diagnostic_text, program_syntax
from lionsimplify.lang.diagnostics import Severity
from lionsimplify.lang.errors import ProgramError

if TYPE_CHECKING:
    from lionsimplify.lang.sources import Source


@command("check")
@file_argument("paths", nargs=-1, metavar="PATH...")
@semantics_option
@param_option
@click.option("--strict", is_flag=True, help="Exit 1 when any hazard is found.")
@click.option(
    "--strict-code", multiple=True, metavar="CODE", help="Exit 1 when a hazard with CODE is found."
)
@click.option(
    "--ignore", multiple=True, metavar="CODE", help="Do not report hazards with CODE (e.g. W101)."
)
@click.option("--explain", metavar="CODE", help="Explain a diagnostic code (e.g. E201) and exit.")
@json_option("a list, one object per program,")
def command(
    paths: tuple[Path, ...],
    semantics: str,
    param: tuple[str, ...],
    strict: bool,
    strict_code: tuple[str, ...],
    ignore: tuple[str, ...],
    explain: str | None,
    json_out: bool,
) -> None:
    """Parse and abstract-execute programs: report errors and hazards with file:line:col.

    PATH... are program files, folders of them or .jsonl run files, read as `dedup`, `diff` and `explain` read them (in that order); each program is checked on its own, with every option.

    Errors (unknown functions, wrong arity, a tensor where a scalar is needed, ...) make a program invalid. Hazards (sqrt of a value that may be negative, division by a value that may be zero, ...) are warnings; with --strict they exit 1. Every diagnostic ends with its code, e.g. [W102]; docs/diagnostics.md lists them all.

    Exit status: 0 when every program is valid, 1 when a program in a folder or .jsonl is invalid (each is shown with its error) or a hazard is made strict, 2 on bad input (an invalid file named on its own, or no valid program).

    Examples:

      lionsimplify check examples/programs/program8.txt

      lionsimplify check --json --semantics hero examples/programs

      lionsimplify check --strict-code W102 --ignore W101 examples/programs/program8.txt

      lionsimplify check --explain W102
    """
    if explain is not None:
        _explain(explain)
    if not paths:
        fail("give at least one PATH to check (or --explain CODE)")
    ignored = _codes(ignore, "--ignore")
    strict_codes = _codes(strict_code, "--strict-code")
    params = parse_params(param)
    found_all = []
    code = 0
    for named, found in _check_each(paths, semantics, params, ignored):
        found_all.append(found)
        if not found.valid:
            # a program named on its own is the input; one of a batch is a negative finding
            code = max(code, EXIT_BAD_INPUT if named else EXIT_NEGATIVE)
        elif any(strict or d.code in strict_codes for d in found.hazards):
            code = max(code, EXIT_NEGATIVE)
        if json_out:
            continue
        if found.error is not None:
            err_console.print(found.error.render(), markup=False, highlight=False, soft_wrap=True)
        else:
            _render(found)
    if json_out:
        print_json([_json(found) for found in found_all])
    checked = [r.program for r in found_all if r.program is not None]
    if checked:
        check_param_names(params, *checked)
    if code != EXIT_BAD_INPUT and not any(found.valid for found in found_all):
        no_valid_program(paths, len(found_all), "is in the JSON" if json_out else "is shown above")
    raise SystemExit(code)


def _check_each(
    paths: tuple[Path, ...], semantics: str, params: dict[str, float], ignored: set[str]
) -> Iterator[tuple[bool, CheckResult]]:
    """(named on its own, result) for each program, in the order of `lang/sources.py`: a file
    named on its own is checked as it is (so a missing one is its error), a folder or a .jsonl
    file is expanded by the reader the other commands share."""
    from lionsimplify.lang.sources import load_sources

    for path in paths:
        if not path.is_dir() and path.suffix != ".jsonl":
            yield True, check(path, semantics=semantics, params=params, ignore=ignored)
            continue
        for source in load_sources([path]):
            try:
                program = source.parse()
            except ProgramError as exc:
                yield False, CheckResult.of_error(source.id, semantics, exc)
                continue
            found = check(program, semantics=semantics, params=params, ignore=ignored)
            if source.jsonl_line is not None:
                found = replace(
                    found, diagnostics=tuple(_in_entry(d, source) for d in found.diagnostics)
                )
            yield False, found


def _in_entry(d: Diagnostic, source: Source) -> Diagnostic:
    """A diagnostic of a JSON-lines entry's program at the entry's line of the file, its place
    in the program in the message (as `Source.program_error` places an error)."""
    if d.line is None:
        return d
    return replace(
        d,
        path=source.path,
        line=source.jsonl_line,
        col=None,
        message=f"in `program`, line {d.line}{f', col {d.col}' if d.col else ''}: {d.message}",
        caret=d.col,
    )


def _json(found: CheckResult) -> dict[str, object]:
    data: dict[str, object] = {
        "path": found.path,
        "valid": found.valid,
        "diagnostics": [d.to_json() for d in found.diagnostics],
    }
    program = found.program
    if program is not None:
        data.update(
            semantics=found.semantics,
            inputs={
                "weight": program.weight,
                "grad": program.grad,
                "state": list(program.state),
                "lr": program.lr,
                "extras": list(program.extras),
            },
            hyperparams=list(program.hyperparams()),
            statements=len(program.body),
            outputs=dict(found.outputs),
        )
    return data


def _codes(items: list[str] | None, option: str) -> set[str]:
    from lionsimplify.lang.diagnostics import CODES, Severity

    codes = {c.strip().upper() for c in items or []}
    for c in sorted(codes):
        if c not in CODES:
            fail(f"{option} {c}: unknown code (see lionsimplify check --explain CODE)")
        if CODES[c].severity is not Severity.HAZARD:
            fail(f"{option} {c}: only hazards (W codes) can be ignored or made strict")
    return codes


def _explain(code: str) -> None:
    from lionsimplify.lang.diagnostics import CODES, explain

    entry = explain(code)
    if entry is None:
        fail(f"--explain {code}: unknown code; the codes are {', '.join(CODES)}")
    console.print(f"[bold]{entry.code}[/] {entry.name} ({entry.severity}): {entry.summary}")
    console.print()
    console.print(entry.explanation, soft_wrap=True)
    if entry.example:
        console.print()
        console.print("For example:")
        console.print(program_syntax(entry.example), soft_wrap=True)
    raise SystemExit(0)


def _render(found: CheckResult) -> None:
    program = found.program
    assert program is not None
    status = "[green]valid[/]" if found.valid else "[bold red]invalid[/]"
    console.print(
        f"[bold]{program.path}[/]: {status} program, {len(program.body)} statements, "
        f"{found.semantics} semantics"
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("role")
    table.add_column("name", overflow="fold")
    table.add_row("inputs", ", ".join(program.inputs))
    table.add_row("state", ", ".join(program.state) or "(none)")
    table.add_row("hyperparameters", ", ".join(program.hyperparams()) or "(none)")
    table.add_row("update", f"{program.update}: {found.outputs[program.update]}")
    console.print(table)
    for d in found.diagnostics:
        target = console if d.severity is Severity.HAZARD else err_console
        target.print(diagnostic_text(d), soft_wrap=True)
    if not found.diagnostics:
        console.print("no errors or hazards")
