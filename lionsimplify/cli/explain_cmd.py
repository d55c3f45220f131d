"""`lionsimplify explain FILE...`: which known optimizer a program is, and what it guarantees."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from lionsimplify.cli.app import (
    ablate_option,
    check_param_names,
    command,
    console,
    file_argument,
    json_option,
    param_option,
    parse_params,
    print_json,
    semantics_option,
)

VERDICT_STYLE = {
    "identical": "bold green",
    "equivalent": "green",
    "direction-equivalent": "yellow",
    "nearest": "red",
}


@command("explain")
@file_argument("files", nargs=-1, required=True)
@semantics_option
@param_option
@ablate_option("Apply the approximate ablations first (as `reduce --ablate`).")
@json_option("the result (a list)")
def command(
    files: tuple[Path, ...], semantics: str, param: tuple[str, ...], ablate: bool, json_out: bool
) -> None:
    """Name what a program is: the known optimizer it equals, with its constants, and its properties.

    The program is reduced first (as `reduce`; --ablate applies the ablations). Each reference optimizer (SGD, heavy-ball, SGD with EMA momentum, Nesterov, AdaGrad, RMSprop, Adam and AdamW with and without bias correction, AMSGrad, NAdam, AdaBelief, signSGD, signum, Lion; each checked against optax or its formula) is unified with it to solve for its hyperparameters and learning-rate scale, and the two are run side by side as `diff` does: only `identical`, `equivalent` or `direction-equivalent` is a match. Otherwise the nearest reference is named with the structural difference and the measured deviation.

    Properties are measured on trajectories or derived from the program: state size, hyperparameter count, invariance to gradient scale and to the learning-rate schedule, update magnitude, and for sign-based updates with decoupled weight decay λ the box ‖w‖∞ ≤ 1/λ.

    Exit status: 0 when every program matches a reference, 1 when one only has a nearest, 2 on bad input.

    Examples:

      lionsimplify explain examples/programs/program8.txt --ablate

      lionsimplify explain examples/programs/program1_lion.txt --param β1=0.9 --param β2=0.99 --param λ=0.01

      lionsimplify explain examples/programs/program3_adamw.txt --json
    """
    values = parse_params(param)
    from lionsimplify.analysis.absexec import analyse
    from lionsimplify.explain import explain
    from lionsimplify.lang.parse import parse_file

    programs = [parse_file(file) for file in files]
    check_param_names(values, *programs)  # a --param needs one program that reads it, as in diff
    results = []
    for program in programs:
        analyse(program, semantics, values).raise_errors()  # type: ignore[arg-type]
        results.append(explain(program, semantics=semantics, params=values, ablate=ablate))  # type: ignore[arg-type]
    if json_out:
        print_json([e.to_json() for e in results])
    else:
        for file, e in zip(files, results, strict=True):
            render_explanation(str(file), e)
    if any(e.recognitions.matches == () for e in results):
        raise SystemExit(1)


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
