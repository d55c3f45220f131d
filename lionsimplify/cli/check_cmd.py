"""`lionsimplify check FILE...`: parse and abstract-execute; errors and hazards with lines."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from lionsimplify.analysis.absexec import analyse
from lionsimplify.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_NEGATIVE,
    app,
    console,
    err_console,
    fail,
    parse_params,
    print_json,
)
from lionsimplify.cli.render import diagnostic_text, program_syntax
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ops import SEMANTICS
from lionsimplify.lang.parse import parse_file


@app.command()
def check(
    files: list[Path] = typer.Argument(None, help="Program files to check.", metavar="FILE..."),
    semantics: str = typer.Option(
        "math", help="Arithmetic: `math` (IEEE) or `hero` (Hero library)."
    ),
    param: list[str] = typer.Option(
        None, "--param", help="Hyperparameter value NAME=VALUE (repeatable)."
    ),
    strict: bool = typer.Option(False, help="Exit 1 when any hazard is found."),
    strict_code: list[str] = typer.Option(
        None, "--strict-code", metavar="CODE", help="Exit 1 when a hazard with CODE is found."
    ),
    ignore: list[str] = typer.Option(
        None, "--ignore", metavar="CODE", help="Do not report hazards with CODE (e.g. W101)."
    ),
    explain: str = typer.Option(
        None, "--explain", metavar="CODE", help="Explain a diagnostic code (e.g. E201) and exit."
    ),
    json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per file."),
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
    if semantics not in SEMANTICS:
        raise typer.BadParameter(
            f"expected one of {', '.join(SEMANTICS)}", param_hint="--semantics"
        )
    params = parse_params(param)
    results = []
    code = 0
    for path in files:
        try:
            program = parse_file(path)
        except ProgramError as exc:
            code = EXIT_BAD_INPUT
            results.append(
                {
                    "path": str(path),
                    "valid": False,
                    "diagnostics": [
                        {
                            "severity": "error",
                            "code": exc.code,
                            "message": exc.message,
                            "path": exc.location.path,
                            "line": exc.location.line,
                            "col": exc.location.col,
                            "help": exc.help,
                        }
                    ],
                }
            )
            if not json:
                err_console.print(exc.render(), markup=False, highlight=False, soft_wrap=True)
            continue
        analysis = analyse(program, semantics, params)  # type: ignore[arg-type]
        analysis.diagnostics = [d for d in analysis.diagnostics if d.code not in ignored]
        if analysis.errors:
            code = EXIT_BAD_INPUT
        elif any(strict or d.code in strict_codes for d in analysis.hazards):
            code = max(code, EXIT_NEGATIVE)
        results.append(
            {
                "path": str(path),
                "valid": not analysis.errors,
                "semantics": semantics,
                "inputs": {
                    "weight": program.weight,
                    "grad": program.grad,
                    "state": list(program.state),
                    "lr": program.lr,
                    "extras": list(program.extras),
                },
                "hyperparams": list(program.hyperparams()),
                "statements": len(program.body),
                "outputs": {name: f.describe() for name, f in analysis.outputs.items()},
                "diagnostics": [d.to_json() for d in analysis.diagnostics],
            }
        )
        if not json:
            _render(program, analysis)
    if json:
        print_json(results)
    raise typer.Exit(code)


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
    raise typer.Exit(0)


def _render(program, analysis) -> None:  # noqa: ANN001
    ok = not analysis.errors
    status = "[green]valid[/]" if ok else "[bold red]invalid[/]"
    console.print(
        f"[bold]{program.path}[/]: {status} program, {len(program.body)} statements, "
        f"{analysis.semantics} semantics"
    )
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("role")
    table.add_column("name")
    table.add_row("inputs", ", ".join(program.inputs))
    table.add_row("state", ", ".join(program.state) or "(none)")
    table.add_row("hyperparameters", ", ".join(program.hyperparams()) or "(none)")
    table.add_row("update", f"{program.update}: {analysis.outputs[program.update].describe()}")
    console.print(table)
    for d in analysis.diagnostics:
        target = console if d.severity == "hazard" else err_console
        target.print(diagnostic_text(d), soft_wrap=True)
    if not analysis.diagnostics:
        console.print("no errors or hazards")
