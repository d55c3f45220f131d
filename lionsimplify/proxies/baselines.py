"""Reference optimizers a candidate is judged against, with their learning rates tuned per task.

* `adamw`: `optax.adamw` (β = 0.9, 0.999, weight decay 0.01 as in the paper's AdamW program),
  its learning rate tuned on a log grid per task and scale (for `eval`; the funnel tunes it,
  like every candidate, on each level's own grid: `funnel/proxy_evaluator.py`).
* `lion`: `optax.lion` (β = 0.9, 0.99) placed by the paper's rule of thumb: its learning rate
  3–10× smaller than AdamW's and its weight decay 3–10× larger (here 10×, 0.1). Its grid is the
  tuned AdamW rate times 1/30, 1/10, 1/3 and 1, centred on the rule.
* `sgd`: plain SGD without momentum, tuned on its own log grid (the expected loser).
* `random`: a control that steps in a random direction with the gradient's norm per leaf; any
  optimizer worth the name must beat it.

Tuned rates are cached on disk as one small JSON file per (baseline, task, scale, task version,
code version), and so are baseline results at their tuned rate (keyed as well by the seeds and
the tuned rate, which stands for the grid it was picked from): a baseline is trained once per
machine, not on every `eval` (see `proxies/cache.py` for where and how).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lionsimplify.proxies.cache import code_version, entry_path, read_json, write_json
from lionsimplify.proxies.tasks import Task, get_proxy
from lionsimplify.proxies.trainer import EvalResult, OptimizerFactory, evaluate, result_from_json

ADAMW_WEIGHT_DECAY = 0.01
LION_WEIGHT_DECAY = 0.1
ADAMW_GRID: tuple[float, ...] = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
SGD_GRID: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 3e-1, 1.0)
RANDOM_GRID: tuple[float, ...] = (1e-3, 1e-1)
LION_RELATIVE_GRID: tuple[float, ...] = (1 / 30, 1 / 10, 1 / 3, 1.0)
TUNE_SEEDS: tuple[int, ...] = (0, 1)


def adamw(learning_rate: Any) -> Any:
    import optax

    return optax.adamw(learning_rate, b1=0.9, b2=0.999, weight_decay=ADAMW_WEIGHT_DECAY)


def lion(learning_rate: Any) -> Any:
    import optax

    return optax.lion(learning_rate, b1=0.9, b2=0.99, weight_decay=LION_WEIGHT_DECAY)


def sgd(learning_rate: Any) -> Any:
    import optax

    return optax.sgd(learning_rate)


def random_direction(learning_rate: Any) -> Any:
    """Move by `lr · ‖g‖ · z / ‖z‖` per leaf, `z` pseudo-random in [-1, 1]: SGD's step size,
    no signal. `z` comes from a sine hash of (step, leaf, index) rather than `jax.random`, whose
    compilation would cost more than the whole small proxy; a control needs no better."""
    import jax
    import jax.numpy as jnp
    import optax

    def init_fn(params: Any) -> Any:
        return {"count": jnp.zeros([], jnp.int32)}

    def update_fn(updates: Any, state: Any, params: Any = None) -> Any:
        count = state["count"]
        lr = learning_rate(count) if callable(learning_rate) else learning_rate
        leaves, treedef = jax.tree.flatten(updates)
        c = count.astype(jnp.float32)
        out = []
        for i, g in enumerate(leaves):
            idx = jnp.arange(g.size, dtype=jnp.float32).reshape(g.shape)
            h = jnp.sin(idx * 12.9898 + c * 78.233 + i * 37.719) * 43758.5453
            z = 2.0 * (h - jnp.floor(h)) - 1.0
            scale = jnp.linalg.norm(jnp.ravel(g)) / (jnp.linalg.norm(jnp.ravel(z)) + 1e-12)
            out.append((-lr * scale * z).astype(g.dtype))
        return treedef.unflatten(out), {"count": optax.safe_increment(count)}

    return optax.GradientTransformation(init_fn, update_fn)


@dataclass(frozen=True)
class Baseline:
    name: str
    factory: OptimizerFactory
    grid: Callable[[Task], Sequence[float]]
    """The learning rates to try on a task (may depend on other tuned baselines)."""
    doc: str


def _lion_grid(task: Task) -> list[float]:
    base = tuned_lr("adamw", task)
    return [base * r for r in LION_RELATIVE_GRID]


BASELINES: dict[str, Baseline] = {
    "adamw": Baseline("adamw", adamw, lambda t: ADAMW_GRID, "optax.adamw, wd 0.01, lr tuned"),
    "lion": Baseline("lion", lion, _lion_grid, "optax.lion, wd 0.1, lr ≈ AdamW's / 3–10"),
    "sgd": Baseline("sgd", sgd, lambda t: SGD_GRID, "optax.sgd without momentum, lr tuned"),
    "random": Baseline(
        "random", random_direction, lambda t: RANDOM_GRID, "random direction, gradient's norm"
    ),
}


def _cache_path(name: str, task: Task) -> Path:
    return entry_path(
        "baselines", f"{name}-{task.name}-{task.scale}-v{task.version}-{code_version()}"
    )


def tune(
    name: str,
    proxy: Task | str,
    *,
    cache: bool = True,
    grid: Sequence[float] | None = None,
    seeds: Sequence[int] = TUNE_SEEDS,
) -> dict[str, Any]:
    """The tuning record of baseline `name` on `proxy`: the grid, the mean metric per learning
    rate over `seeds` and the best rate. Read from the cache when present. Only the default
    grid and seeds are cached (a custom grid is an experiment, not the reference)."""
    task = proxy if isinstance(proxy, Task) else get_proxy(proxy)
    base = BASELINES[name]
    custom = grid is not None or tuple(seeds) != TUNE_SEEDS
    cache = cache and not custom
    path = _cache_path(name, task)
    if cache and (record := read_json(path)) is not None:
        return record
    lrs = [float(x) for x in (grid if grid is not None else base.grid(task))]
    res = evaluate(base.factory, task, seeds=seeds, lr_multipliers=lrs, base_lr=1.0)
    best = res.best()
    if best is None:
        raise RuntimeError(f"baseline {name} failed on every learning rate of {task.proxy}")
    record = {
        "baseline": name,
        "proxy": task.proxy,
        "version": code_version(),
        "task_version": task.version,
        "seeds": [int(s) for s in seeds],
        "grid": lrs,
        "means": [row["mean"] for row in res.summary()],
        "lr": best["lr"],
        "metric": task.metric,
    }
    if cache:
        write_json(path, record)
    return record


def tuned_lr(name: str, proxy: Task | str, *, cache: bool = True) -> float:
    return float(tune(name, proxy, cache=cache)["lr"])


def run_baseline(
    name: str,
    proxy: Task | str,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    cache: bool = True,
    time_limit_s: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Evaluate baseline `name` at its tuned learning rate on `proxy` for `seeds`.

    A finished (`ok`) result is cached and read back by later calls with the same seeds.
    """
    start = time.perf_counter()
    task = proxy if isinstance(proxy, Task) else get_proxy(proxy)
    lr = tuned_lr(name, task, cache=cache)
    seeds = [int(s) for s in seeds]
    path = _cache_path(f"{name}-result-seeds={','.join(map(str, seeds))}-lr={lr!r}", task)
    if cache and (data := read_json(path)) is not None:
        result = result_from_json(data)
        result.compile_s = result.train_s = 0.0
        result.wall_s, result.cached = time.perf_counter() - start, True
        if progress:
            progress(task.steps, task.steps)
        return result
    result = evaluate(
        BASELINES[name].factory,
        task,
        seeds=seeds,
        base_lr=lr,
        time_limit_s=time_limit_s,
        progress=progress,
    )
    if cache and result.status == "ok":
        write_json(path, result.to_json())
    return result
