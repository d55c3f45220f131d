"""`lionsimplify check FILE...`: parse and abstract-execute; errors and hazards with lines."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from lionsimplify.api import CheckResult, check
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
from lionsimplify.cli.render import diagnostic_text, program_syntax
from lionsimplify.lang.diagnostics import Severity


@command("check")
@file_argument("files", nargs=-1)
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
@json_option("a list, one object per file,")
def command(
    files: tuple[Path, ...],
    semantics: str,
    param: tuple[str, ...],
    strict: bool,
    strict_code: tuple[str, ...],
    ignore: tuple[str, ...],
    explain: str | None,
    json_out: bool,
) -> None:
    """Parse and abstract-execute programs: report errors and hazards with file:line:col.

    Errors (unknown functions, wrong arity, a tensor where a scalar is needed, ...) exit 2.
    Hazards (sqrt of a value that may be negative, division by a value that may be zero, ...)
    are warnings; with --strict they exit 1. Every diagnostic ends with its code, e.g. [W102];
    docs/diagnostics.md lists them all.

    Examples:

      lionsimplify check examples/programs/program8.txt

      lionsimplify check --json --semantics hero examples/programs/*.txt

      lionsimplify check --strict-code W102 --ignore W101 examples/programs/program8.txt

      lionsimplify check --explain W102
    """
    if explain is not None:
        _explain(explain)
    if not files:
        fail("give at least one FILE to check (or --explain CODE)")
    ignored = _codes(ignore, "--ignore")
    strict_codes = _codes(strict_code, "--strict-code")
    params = parse_params(param)
    results = []
    found_all = []
    code = 0
    for path in files:
        found = check(path, semantics=semantics, params=params, ignore=ignored)
        found_all.append(found)
        if not found.valid:
            code = EXIT_BAD_INPUT
        elif any(strict or d.code in strict_codes for d in found.hazards):
            code = max(code, EXIT_NEGATIVE)
        results.append(_json(found))
        if json_out:
            continue
        if found.error is not None:
            err_console.print(found.error.render(), markup=False, highlight=False, soft_wrap=True)
        else:
            _render(found)
    if json_out:
        print_json(results)
    checked = [r.program for r in found_all if r.program is not None]
    if checked:
        check_param_names(params, *checked)
    raise SystemExit(code)


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
