"""`lionsimplify dedup PATH...`: group programs into equivalence classes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from lionsimplify.cli.app import app, console, err_console, parse_params, print_json
from lionsimplify.compare.dedup import dedup
from lionsimplify.lang.ops import SEMANTICS
from lionsimplify.lang.sources import load_sources


@app.command("dedup")
def dedup_command(
    paths: list[Path] = typer.Argument(
        ..., help="Program files, directories, or .jsonl files with a `program` field."
    ),
    semantics: str = typer.Option(
        "math", help="Arithmetic: `math` (IEEE) or `hero` (Hero library)."
    ),
    param: list[str] = typer.Option(
        None, "--param", help="Hyperparameter value NAME=VALUE (repeatable)."
    ),
    json: bool = typer.Option(False, "--json", help="Print the classes as JSON."),
) -> None:
    """Group programs that compute the same thing, and say which fingerprint matched.

    `structural`: same live dataflow up to names, order, dead code and commutative arguments.
    `behavioural`: same updates on fixed random trajectories (e.g. `a * 2` and `a + a`).
    Invalid programs are listed with their error and skipped.

    Examples:

      lionsimplify dedup examples/programs

      lionsimplify dedup runs/run1/programs.jsonl --json
    """
    if semantics not in SEMANTICS:
        raise typer.BadParameter(
            f"expected one of {', '.join(SEMANTICS)}", param_hint="--semantics"
        )
    result = dedup(load_sources(paths), semantics=semantics, params=parse_params(param))  # type: ignore[arg-type]
    if json:
        print_json(result.to_json())
        return
    valid = result.total - len(result.invalid)
    console.print(f"{result.total} programs, {valid} valid, {len(result.classes)} classes")
    table = Table(header_style="bold")
    for col in ("class", "size", "member", "matched"):
        table.add_column(col)
    for n, cls in enumerate(result.classes, start=1):
        for i, m in enumerate(cls.members):
            table.add_row(
                str(n) if i == 0 else "",
                str(len(cls.members)) if i == 0 else "",
                m.source.id,
                m.matched,
                end_section=i == len(cls.members) - 1,
            )
    console.print(table)
    for bad in result.invalid:
        err_console.print(f"skipped: {bad.error.headline()}", markup=False, soft_wrap=True)
