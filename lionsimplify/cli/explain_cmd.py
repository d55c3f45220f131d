"""`lionsimplify explain FILE...`: which known optimizer a program is, and what it guarantees."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from lionsimplify.cli.app import (
    EXIT_NEGATIVE,
    ablate_option,
    command,
    console,
    file_argument,
    json_option,
    param_option,
    parse_params,
    print_json,
    semantics_option,
)
from lionsimplify.cli.batch import no_valid_program, read_batch, skipped_json
from lionsimplify.lang.ir import Program

VERDICT_STYLE = {
    "identical": "bold green",
    "equivalent": "green",
    "direction-equivalent": "yellow",
    "nearest": "red",
}


@command("explain")
@file_argument("paths", nargs=-1, required=True, dir_okay=True, metavar="PATH...")
@semantics_option
@param_option
@ablate_option("Apply the approximate ablations first (as `reduce --ablate`).")
@json_option("the result (a list: one object per program, skipped ones with their `error`)")
def command(
    paths: tuple[Path, ...], semantics: str, param: tuple[str, ...], ablate: bool, json_out: bool
) -> None:
    """Name what a program is: the known optimizer it equals, with its constants, and its properties.

    PATH... are program files, folders of them or .jsonl run files, read as `dedup` and `diff` read them (in that order). The program is reduced first (as `reduce`; --ablate applies the ablations). Each reference optimizer (SGD, heavy-ball, SGD with EMA momentum, Nesterov, AdaGrad, RMSprop, Adam and AdamW with and without bias correction, AMSGrad, NAdam, AdaBelief, signSGD, signum, Lion; each checked against optax or its formula) is unified with it to solve for its hyperparameters and learning-rate scale, and the two are run side by side as `diff` does: only `identical`, `equivalent` or `direction-equivalent` is a match. Otherwise the nearest reference is named with the structural difference and the measured deviation.

    Properties are measured on trajectories or derived from the program: state size, hyperparameter count, invariance to gradient scale and to the learning-rate schedule, update magnitude, and for sign-based updates with decoupled weight decay λ the box ‖w‖∞ ≤ 1/λ.

    Exit status: 0 when every program matches a reference, 1 when one only has a nearest (or an invalid program in a folder or .jsonl was skipped: each is listed, and in --json it is an object with its `error`), 2 on bad input (an invalid file named on its own, or no valid program).

    Examples:

      lionsimplify explain examples/programs/program8.txt --ablate

      lionsimplify explain examples/programs/program1_lion.txt --param β1=0.9 --param β2=0.99 --param λ=0.01

      lionsimplify explain examples/programs/variants --json --param β1=0.9 --param β2=0.99 --param λ=0.01
    """
    values = parse_params(param)
    from lionsimplify.explain import explain
    from lionsimplify.lang.sources import load_sources

    batch = read_batch(load_sources(paths), paths, values)
    found = [
        explain(program, semantics=semantics, params=values, ablate=ablate)  # type: ignore[arg-type]
        for _, program in batch.programs
    ]
    if json_out:
        each = iter(found)
        print_json(
            [
                next(each).to_json() if isinstance(p, Program) else skipped_json(s, p)
                for s, p in batch.entries
            ]
        )
    else:
        for (s, _), e in zip(batch.programs, found, strict=True):
            render_explanation(s.id, e)
    if not found:
        no_valid_program(
            paths, len(batch.entries), "is in the JSON" if json_out else "is listed above"
        )
    if batch.skipped or any(e.recognitions.matches == () for e in found):
        raise SystemExit(EXIT_NEGATIVE)


def render_explanation(title: str, e) -> None:  # noqa: ANN001
    best = e.best
    verdict = best.verdict if best else "none"
    after = " [dim](after --ablate: approximate)[/]" if e.reduction.label == "approximate" else ""
    console.rule(f"[bold]{title}[/]{after}")
    style = VERDICT_STYLE.get(verdict, "")
    if best is None:
        console.print("no reference optimizer is close")
    else:
        console.print(f"[{style}]{best.headline()}[/]", soft_wrap=True)
        console.print(f"[dim]evidence: {best.diff.summary()}[/]", soft_wrap=True)
        console.print(f"[dim]reference: {best.reference.cite}[/]", soft_wrap=True)
        for other in e.recognitions.matches[1:]:
            console.print(f"also {other.headline()}", soft_wrap=True)
    table = Table(show_header=True, header_style="bold")
    for col in ("property", "value", "how"):
        table.add_column(col, overflow="fold")
    for p in e.properties:
        table.add_row(p.name, p.value, p.how)
    console.print(table)
