"""`lionsimplify check FILE...`: parse and abstract-execute; errors and hazards with lines."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from lionsimplify.analysis.absexec import analyse
from lionsimplify.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_NEGATIVE,
    app,
    check_param_names,
    console,
    err_console,
    parse_params,
    print_json,
)
from lionsimplify.cli.render import diagnostic_text
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ops import SEMANTICS
from lionsimplify.lang.parse import parse_file


@app.command()
def check(
    files: list[Path] = typer.Argument(..., help="Program files to check."),
    semantics: str = typer.Option(
        "math", help="Arithmetic: `math` (IEEE) or `hero` (Hero library)."
    ),
    param: list[str] = typer.Option(
        None, "--param", help="Hyperparameter value NAME=VALUE (repeatable)."
    ),
    strict: bool = typer.Option(False, help="Exit 1 when any hazard is found."),
    json: bool = typer.Option(False, "--json", help="Print a JSON list, one object per file."),
) -> None:
    """Parse and abstract-execute programs: report errors and hazards with file:line:col.

    Errors (unknown functions, wrong arity, a tensor where a scalar is needed, ...) exit 2.
    Hazards (sqrt of a value that may be negative, division by a value that may be zero, ...)
    are warnings; with --strict they exit 1.

    Examples:

      lionsimplify check examples/programs/program8.txt

      lionsimplify check --json --semantics hero examples/programs/*.txt
    """
    if semantics not in SEMANTICS:
        raise typer.BadParameter(
            f"expected one of {', '.join(SEMANTICS)}", param_hint="--semantics"
        )
    params = parse_params(param)
    checked = []
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
        checked.append(program)
        analysis = analyse(program, semantics, params)  # type: ignore[arg-type]
        if analysis.errors:
            code = EXIT_BAD_INPUT
        elif analysis.hazards and strict:
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
    if checked:
        check_param_names(params, *checked)
    raise typer.Exit(code)


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
    table.add_row(
        "update", Text(f"{program.update}: {analysis.outputs[program.update].describe()}")
    )
    console.print(table)
    for d in analysis.diagnostics:
        target = console if d.severity == "hazard" else err_console
        target.print(diagnostic_text(d), soft_wrap=True)
    if not analysis.diagnostics:
        console.print("no errors or hazards")
