"""`lionsimplify proxies`: the proxy tasks, their scales, sizes and cost on this machine."""

from __future__ import annotations

import click

from lionsimplify.cli.app import (
    command,
    console,
    fail,
    json_option,
    print_json,
    proxy_module_option,
)
from lionsimplify.cli.render import fitted_table


@command("proxies")
@click.option(
    "--measure", is_flag=True, help="Time one evaluation (AdamW, 3 seeds) of each proxy here."
)
@click.option("--only", metavar="PREFIX", help="Only proxies whose name starts with PREFIX.")
@proxy_module_option("Also list the tasks of pkg.module:NAME.")
@json_option("a list")
def command(measure: bool, only: str | None, proxy_module: str | None, json_out: bool) -> None:
    """List the proxy tasks: name, task, scale, parameters, steps, fitness metric.

    Scales s, m, l each cost about 10x the one below: `gflop` is the training compute of one
    seed (XLA's count for the loss gradient, times the steps). `--measure` trains each listed proxy once
    (AdamW at lr 1e-3, 3 seeds vmapped) and reports compile and training seconds.

    Examples:

      lionsimplify proxies

      lionsimplify proxies --measure --only vision

      lionsimplify proxies --json
    """
    from lionsimplify.proxies.tasks import all_proxies

    every = all_proxies(proxy_module)
    tasks = [t for t in every if not only or t.proxy.startswith(only)]
    if not tasks:  # a typo (`--only vison`) is not "no proxies"
        names = ", ".join(t.proxy for t in every)
        fail(f"--only {only}: no proxy's name starts with it (the proxies: {names})")
    rows = []
    for task in tasks:
        row = {
            "name": task.proxy,
            "task": task.name,
            "scale": task.scale,
            "params": task.param_count(),
            "steps": task.steps,
            "gflop": round(task.train_flops() / 1e9, 4),
            "metric": task.metric,
            "better": "higher" if task.higher_is_better else "lower",
            "description": task.description,
        }
        if measure:
            row.update(_measure(task))
        rows.append(row)
    if json_out:
        print_json(rows)
        return
    cols = ["name", "params", "steps", "gflop", "metric", "better", "description"]
    if measure:
        cols[6:6] = ["compile_s", "train_s", "evals_per_min"]
    body = [[_fmt(row[c]) for c in cols] for row in rows]
    right = [c for c in cols if c not in ("name", "metric", "better", "description")]
    table = fitted_table(console, cols, body, wrap=("description",), right=right)
    console.print(table)


def _measure(task: object) -> dict[str, float | str]:
    from lionsimplify.proxies.baselines import adamw
    from lionsimplify.proxies.trainer import evaluate

    res = evaluate(adamw, task, seeds=(0, 1, 2), base_lr=1e-3)  # type: ignore[arg-type]
    return {
        "compile_s": round(res.compile_s, 2),
        "train_s": round(res.train_s, 2),
        "wall_s": round(res.wall_s, 2),
        "evals_per_min": round(60.0 / res.wall_s, 2),
        "status": res.status,
    }


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
