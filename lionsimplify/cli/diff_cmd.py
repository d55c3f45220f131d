"""`lionsimplify diff A B [C ...]`: what changed between programs, and does it matter."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from lionsimplify.api import diff
from lionsimplify.cli.app import (
    EXIT_NEGATIVE,
    command,
    console,
    fail,
    file_argument,
    json_option,
    param_option,
    parse_params,
    print_json,
    semantics_option,
)
from lionsimplify.cli.batch import no_valid_program, read_batch
from lionsimplify.cli.render import fitted_table, heading
from lionsimplify.compare.diff import Diff, Row
from lionsimplify.lang.ir import Stmt, Var
from lionsimplify.lang.parse import parse_file
from lionsimplify.lang.printer import format_number, format_operand, format_signature, format_stmt
from lionsimplify.lang.sources import load_sources

FORMATS = ("rich", "unified")
VERDICT_STYLE = {
    "identical": "bold green",
    "equivalent": "green",
    "direction-equivalent": "yellow",
    "different": "bold red",
}


@command("diff")
@file_argument("paths", nargs=-1, required=True, dir_okay=True, metavar="PATH...")
@click.option(
    "--against",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Compare every program in PATH... with this one.",
)
@click.option("--raw", is_flag=True, help="Compare as written: no reduction, no normal form.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="rich",
    show_default=True,
    metavar="NAME",
    help="`rich` (side by side) or `unified` (unified diff text).",
)
@semantics_option
@param_option
@json_option("the result (a list with several programs)")
def command(
    paths: tuple[Path, ...],
    against: Path | None,
    raw: bool,
    fmt: str,
    semantics: str,
    param: tuple[str, ...],
    json_out: bool,
) -> None:
    """Show what changed between programs as computations, and whether it matters.

    Both programs are reduced (exact passes only; --raw compares them as written), put in canonical form (names by role, statements in dataflow order, arithmetic normalised) and aligned by dataflow: identical statements are dim, changed operands are highlighted with the old and new value, statements only in one program are marked.

    Then both run on the same random trajectories, and the verdict is one of: identical (the same canonical program); equivalent (different form, same outputs; says which fingerprint matched); direction-equivalent (each update differs only by a positive factor; gives its range); different (the step and output where they first part, the deviation and the cosine between updates).

    Exit status: 0 when every verdict is identical or equivalent, 1 when any is direction-equivalent or different (or an invalid program in a folder or .jsonl was skipped: each is listed), 2 on bad input (the file, line and column of the problem; or no valid program at all).

    Examples:

      lionsimplify diff examples/programs/program8.txt examples/programs/program4.txt

      lionsimplify diff A.txt B.txt --format unified

      lionsimplify diff examples/programs/variants --against examples/programs/variants/adam.txt --param β1=0.9 --param β2=0.99 --param λ=0.01
    """
    params = parse_params(param)
    sources = load_sources(paths)
    if against is not None:
        base = parse_file(against)
        # a directory that holds the reference too: do not compare it with itself
        sources = [s for s in sources if Path(s.path).resolve() != against.resolve()]
    batch = read_batch(sources, paths, params, also=[base] if against else [])
    programs = [p for _, p in batch.programs]
    skipped = [e for _, e in batch.skipped]
    if not programs:  # as `explain` and `dedup`: the shared message, each error listed above
        no_valid_program(paths, len(batch.entries), "is listed above")
    if against is None:
        base, programs = programs[0], programs[1:]
    if not programs:
        n = len(skipped)
        what = f"{n} other program{'s are' if n > 1 else ' is'}"
        invalid = f"; {what} invalid (listed above)"
        fail(
            "give at least two programs to compare (or one with --against FILE)"
            + (invalid if n else "")
        )
    diffs = [diff(base, p, semantics=semantics, params=params, raw=raw) for p in programs]
    if json_out:
        print_json(diffs[0].to_json() if len(diffs) == 1 else [d.to_json() for d in diffs])
    elif len(diffs) == 1 and fmt == "unified":
        text = diffs[0].unified() or "(the canonical forms are the same)\n"
        console.print(text, markup=False, end="", soft_wrap=True)
        console.print(f"# {diffs[0].summary()}", markup=False, soft_wrap=True)
    elif len(diffs) == 1:
        render(diffs[0])
    else:
        render_matrix(diffs, fmt)
    # a skipped program was not shown equivalent
    raise SystemExit(EXIT_NEGATIVE if skipped or any(d.exit_code for d in diffs) else 0)


def _stmt_text(stmt: Stmt | None, changed: set[int], style: str) -> Text:
    """The statement as THE printer writes it, with the changed argument positions styled."""
    if stmt is None:
        return Text("")
    marks = [f"\x00{i}\x00" for i in range(len(stmt.args))]
    marked = Stmt(stmt.target, stmt.op, tuple(Var(m) for m in marks))
    plain = format_stmt(stmt)
    pieces = format_stmt(marked).split("\x00")
    if len(pieces) != 2 * len(stmt.args) + 1:
        return Text(plain)
    out = Text()
    for k, piece in enumerate(pieces):
        if k % 2 == 0:
            out.append(piece)
        else:
            i = int(piece)
            out.append(format_operand(stmt.args[i]), style=style if i in changed else "")
    return out


def _row(row: Row) -> tuple[str, Text, Text]:
    changed = {c.position for c in row.changes}
    if row.kind == "same":
        return " ", Text(format_stmt(row.a), style="dim"), Text(format_stmt(row.b), style="dim")  # type: ignore[arg-type]
    if row.kind == "changed":
        return (
            "~",
            _stmt_text(row.a, changed, "bold red"),
            _stmt_text(row.b, changed, "bold green"),
        )
    if row.kind == "only-a":
        return "-", Text(format_stmt(row.a), style="red"), Text("")  # type: ignore[arg-type]
    return "+", Text(""), Text(format_stmt(row.b), style="green")  # type: ignore[arg-type]


def render(d: Diff) -> None:
    mode = "as written" if d.raw else "reduced, canonical form"
    heading(
        console, f"[bold]{d.a.path}[/] vs [bold]{d.b.path}[/] ({mode}, {d.semantics} semantics)"
    )
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("")
    table.add_column(f"A  {d.a.path}")
    table.add_column(f"B  {d.b.path}")
    sig_a, sig_b = format_signature(d.canonical_a), format_signature(d.canonical_b)
    same_sig = sig_a == sig_b
    table.add_row(
        " " if same_sig else "~",
        Text(sig_a, style="dim" if same_sig else ""),
        Text(sig_b, style="dim" if same_sig else ""),
    )
    for row in d.rows:
        table.add_row(*_row(row))
    ret_a = "return " + ", ".join(d.canonical_a.returns)
    ret_b = "return " + ", ".join(d.canonical_b.returns)
    table.add_row(" " if ret_a == ret_b else "~", Text(ret_a, "dim"), Text(ret_b, "dim"))
    console.print(table)
    if d.constants:
        ct = Table(title="constants and hyperparameters", header_style="bold")
        for col in ("where", "A", "B", "rel. change"):
            ct.add_column(col)
        for c in d.constants:
            rel = f"{100 * c.rel_change:+.3g}%" if c.rel_change is not None else "-"
            ct.add_row(c.where, _valued(c.a, c.a_value), _valued(c.b, c.b_value), rel)
        console.print(ct)
    counts = {k: sum(r.kind == k for r in d.rows) for k in ("same", "changed", "only-a", "only-b")}
    what = "structural change" if d.structural else "constants only" if d.constants else "no change"
    console.print(
        f"statements: {counts['same']} same, {counts['changed']} changed, "
        f"{counts['only-a']} only in A, {counts['only-b']} only in B ({what})"
    )
    for out in d.evidence.outputs[1:]:
        if out.first_step is not None and not out.reaches_update:
            console.print(
                f"state `{out.output}` differs from step {out.first_step} "
                "but never reaches the update"
            )
    for side, items in sorted(d.unused_state.items()):
        for _name, why in items:
            console.print(f"[dim]{side.upper()} as written: {why}; it never reaches the update[/]")
    style = VERDICT_STYLE[d.verdict]
    head, _, rest = d.summary().partition(": ")
    console.print(
        Text.assemble(("verdict: ", "bold"), (head, style), (f": {rest}", "")), soft_wrap=True
    )


def _valued(text: str, value: float | None) -> str:
    """A literal as written; a hyperparameter with its value (`β1 = 0.9`)."""
    if value is None or text == format_number(value):
        return text
    return f"{text} = {value:g}"


def _short(path: str) -> str:
    """A path relative to the working directory when it is below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def render_matrix(diffs: list[Diff], fmt: str) -> None:
    base = diffs[0].a.path
    mode = "as written" if diffs[0].raw else "reduced, canonical form"
    folder = os.path.commonpath([os.path.dirname(os.path.abspath(d.b.path)) for d in diffs])
    heading(console, f"against [bold]{_short(base)}[/] ({mode}, {diffs[0].semantics} semantics)")
    console.print(f"programs in {_short(folder)}/")
    names = [os.path.relpath(os.path.abspath(d.b.path), folder) for d in diffs]
    rows = []
    for name, d in zip(names, diffs, strict=True):
        e = d.evidence
        first = e.first
        changes = sum(r.kind != "same" for r in d.rows)
        kind = "struct" if d.structural else "const" if d.constants else ""
        rows.append((
            name,
            Text(d.verdict, style=VERDICT_STYLE[d.verdict]),
            f"{changes} {kind}".strip(),
            f"{first.first_step} {first.output}" if first else "-",
            f"{e.max_rel_dev:.2g}",
            f"{e.cosine_mean:.3f}",
        ))  # fmt: skip
    headers = ("program", "verdict", "changes", "parts", "max dev", "cos")
    table = fitted_table(console, headers, rows, right=("changes", "max dev", "cos"))
    console.print(table)
    if fmt == "unified":
        for d in diffs:
            console.print(d.unified(), markup=False, end="", soft_wrap=True)
