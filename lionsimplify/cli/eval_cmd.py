"""`lionsimplify eval FILE --proxy NAME`: train one program on a proxy against the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lionsimplify.cli.app import (
    EXIT_NEGATIVE,
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
from lionsimplify.cli.render import fitted_table, heading, training_progress
from lionsimplify.lang.files import Outputs


@command("eval")
@file_argument()
@click.option(
    "--proxy", required=True, metavar="NAME", help="Proxy task, <task>-<scale>, e.g. vision-s."
)
@seeds_option(1, "Number of seeds (0..N-1).")
@lr_grid_option("1", "0.3,1,3", "Learning-rate multipliers, comma-separated (e.g. 0.3,1,3).")
@base_lr_option(
    "The program is fed lr = base_lr * schedule(step) and its update is scaled by the "
    "multiplier. Programs from search scale lr themselves (keep 1); hand-written ones such "
    "as Program 1 need e.g. 3e-4."
)
@param_option
@semantics_option
@click.option(
    "--baselines",
    default="adamw,lion",
    show_default=True,
    metavar="NAME,...",
    help="Baselines at their tuned lr, comma-separated (adamw, lion, sgd).",
)
@time_limit_option("Wall seconds per evaluation, compilation included.")
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    metavar="FILE.png",
    help="Write learning curves to this PNG.",
)
@force_option("Overwrite the --plot file if it already exists.")
@proxy_module_option("Look the proxy up in pkg.module:NAME first.")
@json_option("the result")
def command(file: Path, proxy: str, seeds: int, lr_grid: list[float], base_lr: float,
            param: tuple[str, ...], semantics: str, baselines: str, time_limit: float,
            plot: Path | None, force: bool, proxy_module: str | None, json_out: bool) -> None:  # fmt: skip
    """Train a program on a proxy task and compare it with tuned AdamW and Lion.

    Seeds and learning-rate multipliers run as one vmapped computation. Exit code 0 when the
    candidate trained (`ok`), 1 when it diverged, failed or timed out, 2 for bad input.

    Examples:

      lionsimplify eval examples/programs/program3_adamw.txt --proxy vision-s

      lionsimplify eval examples/programs/program1_lion.txt --proxy convex-s --base-lr 3e-3 --param β1=0.9 --param β2=0.99 --param λ=0.1 --lr-grid 0.3,1,3

      lionsimplify eval examples/programs/program8.txt --proxy language-s --json --plot curves.png
    """
    from lionsimplify.analysis.absexec import check_kinds
    from lionsimplify.analysis.interp import require_params
    from lionsimplify.lang.parse import parse_file
    from lionsimplify.proxies.baselines import BASELINES
    from lionsimplify.proxies.tasks import get_proxy

    names = [b.strip() for b in baselines.split(",") if b.strip()]
    unknown = [b for b in names if b not in BASELINES or b == "random"]
    if unknown:
        fail(f"--baselines: unknown baseline {', '.join(unknown)} (known: adamw, lion, sgd)")
    params = parse_params(param)
    if plot is not None and plot.suffix.lower() != ".png":
        fail(f"--plot {plot}: the plot is written as PNG; name it *.png")
    outputs = Outputs([("--plot", plot)], force=force)
    if not file.is_file():
        fail(f"{file}: no such file")
    program = parse_file(file)
    check_param_names(params, program)
    # every problem with the input is reported before jax is imported (seconds): a tensor
    # where an op needs a scalar is an invalid program, not a run that diverges
    check_kinds(program)
    require_params(program, params)
    task = get_proxy(proxy, module=proxy_module)

    result = _run(program, task, params, semantics, seeds, lr_grid, base_lr, names,
                  time_limit, show_progress=not json_out)  # fmt: skip
    if plot is not None:
        outputs.write("--plot", _plot(result))
    if json_out:
        print_json(result.to_json())
    else:
        _render(result)
        if result.candidate.status == "diverged":
            _why_diverged(program, semantics, params)
    if result.candidate.status != "ok":
        raise SystemExit(EXIT_NEGATIVE)


def _run(program: Any, task: Any, params: dict[str, float], semantics: str, seeds: int,
         multipliers: list[float], base_lr: float, names: list[str], time_limit: float,
         show_progress: bool) -> Any:  # fmt: skip
    from lionsimplify.proxies.compare_baselines import compare_program

    kwargs = dict(
        params=params,
        semantics=semantics,
        seeds=range(seeds),
        lr_multipliers=multipliers,
        base_lr=base_lr,
        baselines=names,
        time_limit_s=time_limit,
    )
    with training_progress(console, show_progress) as progress:
        return compare_program(program, task, progress=progress, **kwargs)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _extras(runs: list[Any], metric: str) -> str:
    """Mean over seeds of the task's other metrics (perplexity, gap to the optimum, ...)."""
    if not runs or any(r.status != "ok" for r in runs):
        return ""
    names = sorted(k for k in runs[0].metrics if k != metric)
    means = {k: [r.metrics.get(k) for r in runs] for k in names}
    return ", ".join(
        f"{k} {sum(v) / len(v):.4g}" for k, v in means.items() if all(x is not None for x in v)
    )


def _render(result: Any) -> None:
    cand = result.candidate
    arrow = "higher" if cand.higher_is_better else "lower"
    heading(
        console,
        f"[bold]{result.program}[/] on {result.proxy} ({result.semantics} semantics, "
        f"{cand.metric}: {arrow} is better)",
    )
    cols = (
        "optimizer",
        "lr",
        "status",
        f"{cand.metric} mean",
        "± std",
        "per seed",
        "also",
        "time s",
    )
    body = []
    rows = [("candidate", cand)] + sorted(result.baselines.items())
    for name, res in rows:
        for row in res.summary():
            runs = [r for r in res.runs if r.multiplier == row["multiplier"]]
            per_seed = [r.metric for r in runs]
            body.append((
                name if name != "candidate" else f"candidate ×{row['multiplier']:g}",
                f"{row['lr']:.3g}",
                row["status"],
                _fmt(row["mean"]),
                _fmt(row["std"]),
                " ".join(_fmt(v) for v in per_seed),
                _extras(runs, cand.metric),
                f"{res.wall_s:.1f}",
            ))  # fmt: skip
    right = [c for c in cols if c not in ("optimizer", "status", "also", "per seed")]
    console.print(fitted_table(console, cols, body, wrap=("also", "per seed"), right=right))
    if cand.reason:
        console.print(f"candidate: {cand.status}: {cand.reason}", markup=False)
    delta = result.delta_vs("adamw")
    if delta is not None:
        word = "better" if delta > 0 else "worse" if delta < 0 else "equal"
        console.print(f"candidate vs AdamW: {word} by {abs(delta):.4f} {cand.metric}")


def _why_diverged(program: Any, semantics: str, params: dict[str, float]) -> None:
    """A divergence the program's own hazards explain (Program 3 has no eps: where a gradient
    coordinate stays 0, `m / sqrt(v)` is 0/0) is pointed at them, with what guards them."""
    from lionsimplify.analysis.absexec import analyse

    hazards = analyse(program, semantics, params).hazards  # type: ignore[arg-type]
    if not hazards:
        return
    console.print("hazards that can make NaN or inf (as `lionsimplify check` reports them):")
    for h in hazards:
        console.print(f"  {h.line()}", markup=False, soft_wrap=True)
    if semantics == "math":
        console.print(
            "search outputs are usually Hero programs: `--semantics hero` guards division, "
            "sqrt and log as the Hero library does",
            markup=False,
        )


def _plot(result: Any) -> bytes:
    """The learning curves as PNG bytes (written atomically by the caller)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = [("candidate", result.candidate)] + sorted(result.baselines.items())
    for name, res in series:
        for m in res.lr_multipliers:
            curve = res.mean_curve(m)
            pts = [(s, v) for s, v in zip(res.curve_steps, curve, strict=False) if v is not None]
            if not pts:
                continue
            label = name if len(res.lr_multipliers) == 1 else f"{name} ×{m:g}"
            ax.plot(*zip(*pts, strict=True), label=f"{label} (lr {res.base_lr * m:.3g})")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (mean over seeds)")
    ax.set_yscale("log")
    ax.set_title(f"{result.program} on {result.proxy}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=120, format="png")
    plt.close(fig)
    return buffer.getvalue()
