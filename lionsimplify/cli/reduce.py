"""`lionsimplify reduce FILE`: the full simplification with its derivation."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from lionsimplify.absexec import analyse
from lionsimplify.cli.app import app, console, parse_params, print_json, refuse_overwrite
from lionsimplify.cli.render import program_syntax, struck_source
from lionsimplify.ops import SEMANTICS
from lionsimplify.parse import parse_file
from lionsimplify.printer import print_program
from lionsimplify.reduce import STAGES, Reduction, reduce


@app.command("reduce")
def reduce_command(
    file: Path = typer.Argument(..., help="The program to reduce."),
    output: Path = typer.Option(None, "-o", "--output", help="Write the reduced program here."),
    until: str = typer.Option("exact", help=f"Stop after this stage: {', '.join(STAGES)}."),
    semantics: str = typer.Option(
        "math", help="Arithmetic: `math` (IEEE) or `hero` (Hero library)."
    ),
    param: list[str] = typer.Option(
        None, "--param", help="Hyperparameter value NAME=VALUE (repeatable)."
    ),
    ablate: bool = typer.Option(
        False, help="Also apply the approximate ablations (result is `approximate`)."
    ),
    force: bool = typer.Option(False, help="Overwrite output files that exist."),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Reduce a program: remove dead code and state, simplify, verify every step.

    Every pass is checked by differential execution and labelled `exact`, `direction` or
    `approximate`; a pass that fails its label is rolled back and reported.

    Examples:

      lionsimplify reduce examples/programs/program8.txt

      lionsimplify reduce examples/programs/program8.txt --until dce --json

      lionsimplify reduce examples/programs/program1_lion.txt --param β1=0.9 --param β2=0.99 --param λ=0.01
    """
    if semantics not in SEMANTICS:
        raise typer.BadParameter(
            f"expected one of {', '.join(SEMANTICS)}", param_hint="--semantics"
        )
    if until not in STAGES:
        raise typer.BadParameter(f"expected one of {', '.join(STAGES)}", param_hint="--until")
    params = parse_params(param)
    if output is not None:
        refuse_overwrite(str(output), force)
    program = parse_file(file)
    analyse(program, semantics, params).raise_errors()  # type: ignore[arg-type]
    result = reduce(program, until=until, semantics=semantics, params=params, ablate=ablate)  # type: ignore[arg-type]
    if output is not None:
        output.write_text(print_program(result.program), encoding="utf-8")
    if json:
        print_json(result.to_json())
    else:
        render_reduction(result, file)


def render_reduction(result: Reduction, file: Path) -> None:
    removed: dict[int, str] = {}
    for rec in result.passes:
        for item in rec.details.get("removed", []) if rec.status == "applied" else []:
            if item.get("line"):
                removed[item["line"]] = item["reason"]
    console.rule(f"[bold]{file}[/] ({result.semantics} semantics)")
    if removed:
        console.print(struck_source(file.read_text(encoding="utf-8"), removed), soft_wrap=True)
    table = Table(title="passes", show_lines=False, header_style="bold")
    for col in ("pass", "label", "status", "max rel. dev.", "changes"):
        table.add_column(col)
    for rec in (*result.passes, *result.ablations):
        v = rec.verification
        dev = f"{v.max_rel_dev:.2e}" if v else "-"
        style = {"applied": "green", "rolled back": "bold red", "proposed": "yellow"}.get(
            rec.status, ""
        )
        table.add_row(
            rec.name,
            rec.label,
            f"[{style}]{rec.status}[/]",
            dev,
            "\n".join(rec.changes[:12]) + ("\n..." if len(rec.changes) > 12 else ""),
        )
    console.print(table)
    for rec in result.passes:
        for cond in rec.side_conditions:
            console.print(f"[yellow]side condition[/] ({rec.name}): {cond}")
    s = result.stats()
    console.print(
        f"statements {s['statements_in']} -> {s['statements_out']}, "
        f"state {s['state_in']} -> {s['state_out']}, overall label [bold]{result.label}[/]"
    )
    console.print(program_syntax(result.program))
