"""`lionsimplify reduce FILE`: the full simplification with its derivation and emission."""

from __future__ import annotations

from pathlib import Path

import click
from rich.panel import Panel
from rich.text import Text

from lionsimplify.api import EmitError, simplify
from lionsimplify.cli.app import (
    ablate_option,
    base_lr_option,
    check_param_names,
    command,
    console,
    fail,
    file_argument,
    force_option,
    json_option,
    lr_grid_option,
    param_option,
    parse_params,
    print_json,
    proxy_module_option,
    seeds_option,
    semantics_option,
    time_limit_option,
)
from lionsimplify.cli.render import (
    fitted_table,
    heading,
    program_syntax,
    struck_source,
    training_progress,
)
from lionsimplify.emit import Lifted, module_name
from lionsimplify.emit.derivation import program_diff
from lionsimplify.emit.jax_module import valid_identifier
from lionsimplify.lang.files import Outputs
from lionsimplify.lang.parse import parse_file
from lionsimplify.passes.driver import STAGES, PassRecord, Reduction
from lionsimplify.passes.verify import warnings

#: Changes listed per pass in the terminal; the rest are counted (all are in --json/--report).
SHOWN_CHANGES = 4


@command("reduce")
@file_argument()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Write the reduced program here.",
)
@click.option(
    "--until",
    type=click.Choice(STAGES),
    default="exact",
    show_default=True,
    metavar="STAGE",
    help=f"Stop after this stage: {', '.join(STAGES)}.",
)
@semantics_option
@param_option
@ablate_option("Also apply the approximate ablations (result is `approximate`).")
@click.option(
    "--params",
    "show_params",
    is_flag=True,
    help="Show the result with hyperparameters lifted and their values.",
)
@click.option(
    "--jax",
    type=click.Path(path_type=Path),
    metavar="FILE.py",
    help="Write a standalone JAX/optax module (imports only jax and optax).",
)
@click.option(
    "--name",
    metavar="NAME",
    help="Name of the optimizer function in the --jax module (default: file stem).",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    metavar="FILE.md",
    help="Write the derivation as Markdown here.",
)
@click.option(
    "--validate",
    metavar="PROXY",
    help="Settle the ablations on this proxy task (e.g. vision-s): apply each one only "
    "if training with it is not worse than without, beyond --margin.",
)
@seeds_option(2, "Seeds for --validate.")
@lr_grid_option(
    "1,3,10", "1,3,10", "--validate: learning-rate multipliers; each variant is scored at its best."
)
@click.option(
    "--margin",
    type=float,
    default=0.01,
    show_default=True,
    metavar="FRACTION",
    help="--validate: tolerated loss of quality, relative to the metric.",
)
@base_lr_option("--validate: lr = base_lr * schedule(step) (keep 1 for search outputs).")
@time_limit_option("--validate: wall seconds per evaluation.")
@proxy_module_option("--validate: look the proxy up in pkg.module:NAME first.")
@force_option("Overwrite output files that already exist.")
@json_option("the result")
def command(file: Path, output: Path | None, until: str, semantics: str, param: tuple[str, ...],
            ablate: bool, show_params: bool, jax: Path | None, name: str | None,
            report: Path | None, validate: str | None, seeds: int, lr_grid: list[float], margin: float,
            base_lr: float, time_limit: float, proxy_module: str | None, force: bool,
            json_out: bool) -> None:  # fmt: skip
    """Reduce a program: remove dead code and state, simplify, verify every step, emit.

    Every pass is checked by differential execution and labelled `exact`, `direction` or
    `approximate`; a pass that fails its label is rolled back and reported. Behaviour-changing
    simplifications (dropping `clip`, `arcsin`, ...) are only listed, with their measured
    deviation, unless `--ablate` is given.

    Examples:

      lionsimplify reduce examples/programs/program8.txt

      lionsimplify reduce examples/programs/program8.txt --params --report derivation.md

      lionsimplify reduce examples/programs/program8.txt --ablate --jax lion8.py

      lionsimplify reduce examples/programs/program8.txt --validate vision-s --seeds 3

      lionsimplify reduce examples/programs/program1_lion.txt --param β1=0.9 --param β2=0.99 --param λ=0.01 --jax lion.py
    """
    # checks that need several options at once; each single option is checked by click
    fn_name = name or module_name(file.stem)
    if jax is not None and not valid_identifier(fn_name):
        fail(f"--name {fn_name!r}: not an ASCII Python identifier")
    if validate is not None and ablate:
        fail("--validate decides which ablations to apply; do not combine it with --ablate")
    given = click.get_current_context().get_parameter_source
    unused = [f"--{n.replace('_', '-')}" for n in _VALIDATE_ONLY if given(n) is COMMANDLINE]
    if validate is None and unused:  # given for nothing: say so rather than ignore them
        fail(
            f"{', '.join(unused)} only {'apply' if len(unused) > 1 else 'applies'} with "
            "--validate PROXY"
        )
    if name is not None and jax is None:
        fail("--name names the function of the --jax module: add --jax FILE.py")
    if until != "exact" and (ablate or validate is not None):  # else one of them is ignored
        wanted = "--ablate" if ablate else "--validate"
        fail(f"--until {until} stops before the ablations that {wanted} applies; use one of them")
    if not (0 <= margin < 1):
        fail(f"--margin {margin}: expected a relative margin in [0, 1), e.g. 0.01")
    values = parse_params(param)
    outputs = Outputs([("-o", output), ("--jax", jax), ("--report", report)], force=force)
    program = parse_file(file)
    check_param_names(values, program)
    options = None
    if validate is not None:
        options = dict(seeds=tuple(range(seeds)), margin=margin, lr_multipliers=tuple(lr_grid),
                       base_lr=base_lr, time_limit_s=time_limit, proxy_module=proxy_module)  # fmt: skip
    with training_progress(console, validate is not None and not json_out) as progress:
        try:
            done = simplify(program, semantics=semantics, params=values, until=until, ablate=ablate,
                            validate=validate, validate_options=options, progress=progress,
                            jax_name=fn_name if jax is not None else None)  # fmt: skip
        except EmitError as exc:
            fail(f"--jax: {exc}")
    result, lifted, validation, jax_text = (
        done.reduction,
        done.lifted,
        done.validation,
        done.jax_module,
    )
    written: dict[str, str] = {}
    if output is not None:
        text = lifted.text() if show_params else _text(result)
        if result.semantics == "hero":  # the text alone reads as math: `c / abs_c` is then NaN at 0
            text = f"# {HERO_NOTE}\n{text}"
        written["program"] = outputs.write("-o", text)
    if jax is not None and jax_text is not None:
        written["jax"] = outputs.write("--jax", jax_text)
    if report is not None:
        written["report"] = outputs.write("--report", done.derivation())
    if json_out:
        data = result.to_json()
        data["lifted"] = {"program": lifted.text(), "params": lifted.values}
        data["written"] = written
        data["explain"] = done.explanation.to_json()
        if validation is not None:
            data["validation"] = validation.to_json()
        print_json(data)
    else:
        how = f"--validate {validate}" if validate is not None else "--ablate"
        render_reduction(result, file, lifted if show_params else None, how)
        for line in done.explanation.lines():
            console.print(line, soft_wrap=True, markup=False)
        if validation is not None:
            render_validation(validation)
        for what, path in written.items():
            console.print(f"[green]wrote[/] {what}: {path}")


#: Options that only `--validate` reads.
_VALIDATE_ONLY = ("seeds", "lr_grid", "margin", "base_lr", "time_limit", "proxy_module")
COMMANDLINE = click.core.ParameterSource.COMMANDLINE

HERO_NOTE = (
    "hero semantics (x / y is x / (y + 1e-8), sqrt and log act on |x|): read it with "
    "--semantics hero"
)


def render_validation(v) -> None:  # noqa: ANN001
    better = "higher" if v.higher_is_better else "lower"
    grid = ",".join(f"{m:g}" for m in v.lr_multipliers)
    title = (
        f"--validate {v.proxy}: {v.metric} ({better} is better), seeds {v.seeds}, "
        f"lr = {v.base_lr:g} × schedule, update × best of [{grid}]"
    )
    verdicts = {x.ablation: x for x in v.verdicts}
    rows = []
    for score in v.variants:
        mean = f"{score.mean:.4f} ± {score.std:.4f}" if score.mean is not None else "-"
        seeds = " ".join("-" if m is None else f"{m:.3f}" for m in score.metrics)
        verdict = verdicts.get(score.name)
        delta = f"{verdict.delta:+.4f}" if verdict and verdict.delta is not None else ""
        word = Text("")
        if verdict is not None:
            word = Text("accept", "green") if verdict.accepted else Text("reject", "red")
        mult = f"{score.multiplier:g}" if score.multiplier is not None else "-"
        rows.append((score.name, score.status, mult, mean, seeds, delta, word))
    headers = ("variant", "status", "×lr", "mean ± std", "per seed", "Δ", "verdict")
    console.print(fitted_table(console, headers, rows, wrap=("per seed",), title=title))
    console.print(
        f"rule: accept an ablation when its mean paired difference is not worse than "
        f"-{v.margin:g} × |reduced mean|"
    )
    for note in v.notes:
        console.print(f"[yellow]note[/]: {note}")
    applied = ", ".join(v.accepted) or "none"
    console.print(f"applied ablations: [bold]{applied}[/]")


def _text(result: Reduction) -> str:
    from lionsimplify.lang.printer import print_program

    return print_program(result.program)


def _status_style(status: str) -> str:
    return {"applied": "green", "rolled back": "bold red", "proposed": "yellow"}.get(status, "")


def _diff_text(rec: PassRecord) -> Text:
    out = Text()
    for line in program_diff(rec):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
        out.append(line + "\n", style=style)
    return out


def _pass_panel(i: int, rec: PassRecord) -> Panel:
    v = rec.verification
    body = Text()
    if rec.why:
        body.append(rec.why + "\n", style="italic dim")
    for c in rec.changes[:SHOWN_CHANGES]:
        body.append(f"• {c}\n")
    if len(rec.changes) > SHOWN_CHANGES:
        body.append(f"• … {len(rec.changes) - SHOWN_CHANGES} more (see --json or --report)\n")
    for cond in rec.side_conditions:
        body.append(f"side condition: {cond}\n", style="yellow")
    for w in warnings(v) if v else []:
        body.append(f"warning: {w}\n", style="bold red")
    if rec.name != "dead-code":
        body.append_text(_diff_text(rec))
    body.rstrip()
    measured = f"measured {v.measured}, max rel. dev. {v.max_rel_dev:.2e}" if v else "unverified"
    style = _status_style(rec.status)
    return Panel(
        body if body.plain else Text("-"),
        title=f"{i}. [bold]{rec.name}[/] [{style}]{rec.status}[/]",
        title_align="left",
        subtitle=f"claims {rec.label}, {measured}",
        subtitle_align="right",
    )


def render_reduction(
    result: Reduction, file: Path, lifted: Lifted | None = None, ablated_by: str = "--ablate"
) -> None:
    removed: dict[int, str] = {}
    for rec in result.passes:
        for item in rec.details.get("removed", []) if rec.status == "applied" else []:
            if item.get("line"):
                removed[item["line"]] = item["reason"]
    heading(console, f"[bold]{file}[/] ({result.semantics} semantics)")
    if removed:
        console.print(struck_source(file.read_text(encoding="utf-8"), removed), soft_wrap=True)
    for i, rec in enumerate(result.passes, 1):
        console.print(_pass_panel(i, rec))
    if result.ablations:
        applied = {
            r.name for r in result.passes if r.label == "approximate" and r.status == "applied"
        }
        settled = ablated_by.startswith("--validate")
        unapplied = "rejected" if settled else "proposed"
        if settled:
            state = f"settled by {ablated_by}: applied {', '.join(sorted(applied)) or 'none'}"
        elif applied:
            state = f"applied by {ablated_by}: {', '.join(sorted(applied))}"
        else:
            state = "proposed: apply with --ablate, or settle by training with --validate PROXY"
        rows = []
        for rec in result.ablations:
            v = rec.verification
            rows.append((
                rec.name,
                "applied" if rec.name in applied else unapplied,
                f"{v.max_rel_dev:.2e}" if v else "-",
                f"{v.min_cosine:.3f}" if v else "-",
                rec.changes[0] if rec.changes else "",
            ))  # fmt: skip
        headers = ("pass", "status", "max rel. dev.", "min cosine", "change")
        title = f"ablation candidates, approximate ({state})"
        table = fitted_table(console, headers, rows, wrap=("change",), title=title)
        console.print(table)
    for cond in result.side_conditions:
        console.print(f"[yellow]side condition[/]: {cond}")
    for w in result.warnings:
        console.print(f"[bold red]warning[/]: {w}")
    for note in result.notes:
        console.print(f"[yellow]note[/] ({result.semantics} semantics): {note}")
    s = result.stats()
    console.print(
        f"statements {s['statements_in']} -> {s['statements_out']}, "
        f"state {s['state_in']} -> {s['state_out']}, overall label [bold]{result.label}[/]"
    )
    text = lifted.text() + lifted.params_text() if lifted is not None else result.program
    console.print(program_syntax(text, highlight=console.color_system is not None), soft_wrap=True)
