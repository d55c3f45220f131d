"""Train one optimizer on one proxy task for several seeds and learning-rate multipliers.

The learning-rate rule (one rule, everywhere): at 0-based step `t` the optimizer receives

    lr(t) = base_lr · task.schedule(t)

where `task.schedule` is the task's warm-up + cosine multiplier in [0, 1], and the update it
returns is multiplied by the learning-rate `multiplier` (`optax.scale` chained after it). This is
the search's own convention: a search program is fed the schedule value (peak 1) and scales it
itself (`lr = lr * 0.000217`), so `clip(g, lr)` or `arcsin` see exactly what they saw during
search, while the tuned multiplier still moves the step size over as wide a range as a
baseline's. For a program whose update is linear in `lr` (Lion, AdamW, plain optax optimizers)
scaling the update by `m` is the same as scaling `lr` by `m`. Programs from search use
`base_lr = 1.0`; hand-written programs such as Program 1 need `base_lr` set.

All runs (seeds × multipliers) are one `jax.vmap`-ed computation, so one compilation serves them
all. Training goes in chunks of `lax.scan` steps; between chunks the host checks for NaN/inf in
the loss and the parameters and for the wall-clock limit, so a program that blows up at step 3
is reported `diverged` after the first chunk, and a slow one `timeout`. Any exception (while
building, tracing, compiling or running) makes the evaluation `failed` with a one-line reason;
`evaluate` itself never raises for a bad optimizer.

Reproducibility: the same call (same seeds and multipliers) gives the same bits on the same
machine. A seed evaluated in a different group of lanes runs the same arithmetic but XLA may
vectorise it differently, so it agrees to float32 rounding (~1e-7 relative), not bit for bit:
callers that cache results per seed should keep the grouping fixed.

Statuses: each run is `ok`, `diverged` or `timeout`; the evaluation is `failed` (an exception),
`timeout` (the limit hit before the end), `diverged` (no multiplier has every seed `ok`) or `ok`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from lionsimplify.proxies.cache import enable_compilation_cache
from lionsimplify.proxies.tasks import Task, get_proxy

Status = Literal["ok", "diverged", "failed", "timeout"]
OptimizerFactory = Callable[[Any], Any]
"""`factory(learning_rate) -> optax.GradientTransformation`; `learning_rate` is a schedule."""

#: No limit unless asked: one seed of language-l is ~3 TFLOP, many minutes on a laptop core.
DEFAULT_TIME_LIMIT_S: float | None = None
CURVE_POINTS = 20


@dataclass
class RunResult:
    """One seed at one learning-rate multiplier."""

    seed: int
    multiplier: float
    status: Status
    metric: float | None
    """The task's fitness on the validation data; None unless `ok`."""
    metrics: dict[str, float | None]
    curve: list[float | None]
    """Mean training loss over each chunk (None once non-finite); steps in `EvalResult`."""
    diverged_at: int | None = None
    """The step count at the end of the chunk where the run first became non-finite."""


@dataclass
class EvalResult:
    proxy: str
    task: str
    scale: str
    metric: str
    higher_is_better: bool
    status: Status
    reason: str | None
    base_lr: float
    seeds: list[int]
    lr_multipliers: list[float]
    steps: int
    steps_done: int
    curve_steps: list[int]
    runs: list[RunResult] = field(default_factory=list)
    compile_s: float = 0.0
    train_s: float = 0.0
    wall_s: float = 0.0
    cached: bool = False
    """Read back from the on-disk cache (`proxies/cache.py`) rather than trained in this call."""

    def summary(self) -> list[dict[str, Any]]:
        """Per multiplier: mean and standard deviation of the metric over seeds, and status."""
        out = []
        for m in self.lr_multipliers:
            runs = [r for r in self.runs if r.multiplier == m]
            vals = [r.metric for r in runs if r.status == "ok" and r.metric is not None]
            ok = bool(runs) and len(vals) == len(runs)
            out.append(
                {
                    "multiplier": m,
                    "lr": self.base_lr * m,
                    "status": "ok" if ok else _worst(r.status for r in runs) if runs else "failed",
                    "mean": float(np.mean(vals)) if ok else None,
                    "std": float(np.std(vals)) if ok else None,
                }
            )
        return out

    def best(self) -> dict[str, Any] | None:
        """The summary row of the best multiplier whose seeds all finished `ok`."""
        rows = [r for r in self.summary() if r["status"] == "ok"]
        if not rows:
            return None
        sign = -1.0 if self.higher_is_better else 1.0
        return min(rows, key=lambda r: (sign * r["mean"], r["multiplier"]))

    def mean_curve(self, multiplier: float) -> list[float | None]:
        runs = [r for r in self.runs if r.multiplier == multiplier]
        out: list[float | None] = []
        for i in range(len(self.curve_steps)):
            vals = [r.curve[i] for r in runs if i < len(r.curve)]
            out.append(float(np.mean(vals)) if vals and all(v is not None for v in vals) else None)
        return out

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only (non-finite numbers become null)."""
        data = asdict(self)
        data["summary"] = self.summary()
        data["best"] = self.best()
        return _clean(data)


def result_from_json(data: dict[str, Any]) -> EvalResult:
    """The `EvalResult` that `to_json` wrote (derived keys such as `summary` are dropped)."""
    fields = {k: v for k, v in data.items() if k in EvalResult.__dataclass_fields__}
    fields["runs"] = [RunResult(**r) for r in data.get("runs", [])]
    return EvalResult(**fields)


def _worst(statuses: Any) -> Status:
    order = ["failed", "timeout", "diverged", "ok"]
    return min(statuses, key=order.index, default="failed")


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _finite_or_none(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def one_line(exc: BaseException) -> str:
    """`Type: message` on one line, at most 300 characters. When the message embeds a Python
    traceback (an exception raised inside a jax callback), its last line says what happened."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if any("Traceback (most recent call last)" in ln for ln in lines):
        lines = lines[-1:]
    msg = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return msg if len(msg) <= 300 else msg[:297] + "..."


def chunking(steps: int, points: int = CURVE_POINTS) -> int:
    """The chunk length: the largest divisor of `steps` giving at least `points` chunks
    (or one-step chunks when `steps` is small), so every chunk has the same compiled length."""
    for length in range(max(1, steps // points), 0, -1):
        if steps % length == 0:
            return length
    return 1


def _stack(trees: Sequence[Any]) -> Any:
    import jax

    return jax.tree.map(lambda *xs: np.stack(xs), *trees)


def evaluate(
    optimizer_factory: OptimizerFactory,
    proxy: Task | str,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    lr_multipliers: Sequence[float] = (1.0,),
    base_lr: float = 1.0,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[int, int], None] | None = None,
    inputs: Any = None,
) -> EvalResult:
    """Train `optimizer_factory` on `proxy` for every seed × multiplier (see the module doc).

    `time_limit_s` bounds the wall time from the call (compilation included); None: no limit.
    `progress(done, total)` is called after compilation and after every chunk with the number
    of training steps done so far. `inputs` (a pytree of arrays, or None): when given, the
    factory is called as `optimizer_factory(learning_rate, inputs)` with `inputs` an argument of
    the compiled computation, not a constant in it, so optimizers that differ only in those
    numbers share one executable (see `program_to_optax`'s `literals`).
    """
    start = time.perf_counter()
    task = proxy if isinstance(proxy, Task) else get_proxy(proxy)
    seeds = [int(s) for s in seeds]
    mults = [float(m) for m in lr_multipliers]
    if not seeds or not mults:
        raise ValueError("evaluate needs at least one seed and one learning-rate multiplier")
    lanes = [(s, m) for m in mults for s in seeds]
    chunk = chunking(task.steps)
    result = EvalResult(
        proxy=task.proxy,
        task=task.name,
        scale=task.scale,
        metric=task.metric,
        higher_is_better=task.higher_is_better,
        status="ok",
        reason=None,
        base_lr=float(base_lr),
        seeds=seeds,
        lr_multipliers=mults,
        steps=task.steps,
        steps_done=0,
        curve_steps=[],
    )
    curves: list[list[float | None]] = [[] for _ in lanes]
    diverged_at: list[int | None] = [None for _ in lanes]
    try:
        _train(task, optimizer_factory, inputs, lanes, base_lr, chunk, time_limit_s, start,
               progress, result, curves, diverged_at)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a bad optimizer must never crash the caller
        result.status, result.reason = "failed", one_line(exc)
        result.runs = [
            RunResult(seed=s, multiplier=m, status="failed", metric=None, metrics={}, curve=c)
            for (s, m), c in zip(lanes, curves, strict=True)
        ]
    result.wall_s = time.perf_counter() - start
    return result


def _train(
    task: Task,
    factory: OptimizerFactory,
    inputs: Any,
    lanes: list[tuple[int, float]],
    base_lr: float,
    chunk: int,
    time_limit_s: float | None,
    start: float,
    progress: Callable[[int, int], None] | None,
    result: EvalResult,
    curves: list[list[float | None]],
    diverged_at: list[int | None],
) -> None:
    import jax
    import jax.numpy as jnp
    import optax

    enable_compilation_cache()

    def make_opt(mult: Any, traced: Any) -> Any:
        # the multiplier scales the update, never the `lr` input (see the module docstring)
        def lr(count: Any) -> Any:
            return base_lr * task.schedule(count)

        program = factory(lr) if inputs is None else factory(lr, traced)
        return optax.chain(program, optax.scale(mult))

    def init_lane(params: Any, mult: Any, traced: Any) -> Any:
        return make_opt(mult, traced).init(params)

    def chunk_lane(params: Any, opt_state: Any, mult: Any, batches: Any, traced: Any) -> Any:
        opt = make_opt(mult, traced)

        def step(carry: Any, batch: Any) -> Any:
            p, s = carry
            loss, grads = jax.value_and_grad(task.loss)(p, batch)
            updates, s = opt.update(grads, s, p)
            return (optax.apply_updates(p, updates), s), loss

        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), batches)
        finite = jnp.all(jnp.isfinite(losses))
        for leaf in jax.tree.leaves(params):
            finite = finite & jnp.all(jnp.isfinite(leaf))
        return params, opt_state, jnp.mean(losses), finite

    # Host side: the same bits for a seed whatever else runs beside it.
    seed_params = {s: task.init(np.random.default_rng([s, 0])) for s, _ in lanes}
    batch_rngs = [np.random.default_rng([s, 1]) for s, _ in lanes]
    params = jax.tree.map(jnp.asarray, _stack([seed_params[s] for s, _ in lanes]))
    mults = jnp.asarray([m for _, m in lanes], jnp.float32)

    def next_batches() -> Any:
        return jax.tree.map(
            lambda *xs: jnp.asarray(np.stack(xs)), *[task.batches(r, chunk) for r in batch_rngs]
        )

    t0 = time.perf_counter()
    traced = () if inputs is None else jax.tree.map(jnp.asarray, inputs)
    init_c = jax.jit(jax.vmap(init_lane, in_axes=(0, 0, None)))
    init_c = init_c.lower(params, mults, traced).compile()
    opt_state = init_c(params, mults, traced)
    batches = next_batches()
    chunk_c = jax.jit(jax.vmap(chunk_lane, in_axes=(0, 0, 0, 0, None)))
    chunk_c = chunk_c.lower(params, opt_state, mults, batches, traced).compile()
    metrics_c = jax.jit(jax.vmap(task.metrics)).lower(params).compile()
    result.compile_s = time.perf_counter() - t0

    n_chunks = task.steps // chunk
    alive = np.ones(len(lanes), bool)
    train_s = 0.0
    if progress:
        progress(0, task.steps)
    for i in range(n_chunks):
        if time_limit_s is not None and time.perf_counter() - start > time_limit_s:
            result.status = "timeout"
            result.reason = (
                f"time limit of {time_limit_s:g} s reached after {result.steps_done} steps"
            )
            break
        if i > 0:
            batches = next_batches()
        t1 = time.perf_counter()
        params, opt_state, mean_loss, finite = chunk_c(params, opt_state, mults, batches, traced)
        mean_loss, finite = np.asarray(mean_loss), np.asarray(finite)
        train_s += time.perf_counter() - t1
        result.steps_done = (i + 1) * chunk
        result.curve_steps.append(result.steps_done)
        for lane in range(len(lanes)):
            ok = bool(finite[lane]) and alive[lane]
            if alive[lane] and not ok:
                diverged_at[lane] = result.steps_done
            alive[lane] = ok
            curves[lane].append(_finite_or_none(mean_loss[lane]) if ok else None)
        if progress:
            progress(result.steps_done, task.steps)
        if not alive.any():
            break
    result.train_s = train_s

    finished = result.steps_done == task.steps
    values = jax.tree.map(np.asarray, metrics_c(params)) if alive.any() else {}
    for lane, (seed, mult) in enumerate(lanes):
        status: Status = "diverged" if not alive[lane] else "ok" if finished else "timeout"
        metrics: dict[str, float | None] = {}
        metric = None
        if status == "ok":
            metrics = {k: _finite_or_none(v[lane]) for k, v in sorted(values.items())}
            metric = metrics.get(task.metric)
            if metric is None:
                status, diverged_at[lane] = "diverged", result.steps_done
        result.runs.append(
            RunResult(seed, mult, status, metric, metrics, curves[lane], diverged_at[lane])
        )
    if result.status == "ok" and result.best() is None:
        result.status = "diverged"
        first = min((d for d in diverged_at if d is not None), default=result.steps_done)
        result.reason = f"non-finite loss or parameters by step {first} in every multiplier"
