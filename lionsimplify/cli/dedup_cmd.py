"""`lionsimplify dedup PATH...`: group programs into equivalence classes."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from lionsimplify.cli.app import (
    command,
    console,
    err_console,
    file_argument,
    json_option,
    param_option,
    parse_params,
    print_json,
    semantics_option,
)
from lionsimplify.compare.dedup import dedup
from lionsimplify.lang.sources import load_sources


@command("dedup")
@file_argument("paths", nargs=-1, required=True, dir_okay=True, metavar="PATH...")
@semantics_option
@param_option
@json_option("the classes")
def command(
    paths: tuple[Path, ...], semantics: str, param: tuple[str, ...], json_out: bool
) -> None:
    """Group programs that compute the same thing, and say which fingerprint matched.

    `structural`: same live dataflow up to names, order, dead code and commutative arguments.
    `behavioural`: same updates on fixed random trajectories (e.g. `a * 2` and `a + a`).
    Invalid programs are listed with their error and skipped.

    Examples:

      lionsimplify dedup examples/programs

      lionsimplify dedup runs/run1/programs.jsonl --json
    """
    result = dedup(load_sources(paths), semantics=semantics, params=parse_params(param))  # type: ignore[arg-type]
    if json_out:
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
