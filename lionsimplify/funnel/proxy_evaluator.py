"""The built-in evaluator: a funnel `Job` trained by the proxy evaluator (`lionsimplify.proxies`).

Fair tuning: every subject of a level, candidate or baseline, gets the same search. Each is
trained for every seed × learning-rate multiplier of the level (one vmapped evaluation) and,
when the level lists several `wd_multipliers`, once more per factor on its decoupled
weight-decay constant; its score is the mean over seeds at its best (multiplier, factor). The
multiplier scales the update, never the `lr` input (the trainer's rule): a candidate is fed
`lr = base_lr · schedule(t)` with `base_lr` 1 (search programs scale `lr` themselves, as the
paper's do) and a baseline its reference peak `BASELINE_LR` (AdamW 1e-3, the constant of the
paper's AdamW program; Lion 1e-4, the paper's "3–10× smaller"). So a candidate that is AdamW up
to renaming is tuned over exactly the effective learning rates the AdamW baseline is.

A candidate's weight-decay constant is found by lifting (`emit.lifting`: a literal multiplying
the weight is `wd`); a candidate without one is trained once, at factor 1. A candidate is run
straight from its IR through `program_to_optax` (no emitted code).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lionsimplify.funnel.config import FunnelConfig
from lionsimplify.funnel.jobs import Job
from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.proxies.baselines import ADAMW_WEIGHT_DECAY, LION_WEIGHT_DECAY

DEFAULT_BASE_LR = 1.0
#: Peak learning rate handed to each baseline (the level's multipliers scale its update).
BASELINE_LR = {"adamw": 1e-3, "lion": 1e-4}
#: Each baseline's decoupled weight decay at factor 1 (Lion's 10× AdamW's, the paper's rule).
BASELINE_WD = {"adamw": ADAMW_WEIGHT_DECAY, "lion": LION_WEIGHT_DECAY}


def check_proxies(config: FunnelConfig) -> None:
    """Every level's proxy must exist; the error names the config key at fault."""
    from lionsimplify.proxies import get_proxy

    for i, level in enumerate(config.levels, start=1):
        try:
            get_proxy(level.proxy)
        except ProgramError as exc:
            raise ProgramError(
                f"level[{i}].proxy: {exc.message}",
                Location(config.source),
                help=exc.help,
                code=exc.code,
            ) from None


def proxy_direction(proxy: str) -> bool:
    """Whether a higher metric is better on `proxy` (True when the proxy is unknown here)."""
    from lionsimplify.proxies import get_proxy

    try:
        return get_proxy(proxy).higher_is_better
    except ProgramError:
        return True


def baseline_factory(name: str, wd_multiplier: float = 1.0) -> Any:
    """`factory(learning_rate)` of baseline `name` with its weight decay scaled."""
    import optax

    wd = BASELINE_WD[name] * wd_multiplier
    if name == "adamw":
        return lambda lr: optax.adamw(lr, b1=0.9, b2=0.999, weight_decay=wd)
    if name == "lion":
        return lambda lr: optax.lion(lr, b1=0.9, b2=0.99, weight_decay=wd)
    raise ValueError(f"unknown baseline {name!r}")


def weight_decay_variants(
    text: str, params: Mapping[str, float], wd_multipliers: tuple[float, ...], where: str
) -> list[tuple[float, Any, dict[str, float]]]:
    """`(factor, program, params)` per weight-decay factor. With one factor, or when the program
    has no liftable weight-decay constant, only the program as it is (factor 1)."""
    from lionsimplify.emit.lifting import lift
    from lionsimplify.lang.parse import parse_text

    program = parse_text(text, where)
    if tuple(wd_multipliers) == (1.0,):
        return [(1.0, program, dict(params))]
    lifted = lift(program, params)
    wd = lifted.values.get("wd")
    if wd is None or any(v is None for v in lifted.values.values()):
        return [(1.0, program, dict(params))]
    values = {k: float(v) for k, v in lifted.values.items() if v is not None}
    return [(f, lifted.program, {**params, **values, "wd": wd * f}) for f in wd_multipliers]


def _summarise(results: list[tuple[float, Any]]) -> dict[str, Any]:
    """One record from the evaluations at each weight-decay factor: the best (lr, wd) cell."""
    best_cell: tuple[float, Any, dict[str, Any]] | None = None
    sign = -1.0 if results[0][1].higher_is_better else 1.0
    tuning = []
    for f, res in results:
        for row in res.summary():
            tuning.append({"wd_multiplier": f, "multiplier": row["multiplier"],
                           "status": row["status"], "mean": row["mean"], "std": row["std"]})  # fmt: skip
        b = res.best()
        if b is not None and (best_cell is None or sign * b["mean"] < sign * best_cell[2]["mean"]):
            best_cell = (f, res, b)
    f, res, best = best_cell if best_cell else (results[0][0], results[0][1], None)
    multiplier = best["multiplier"] if best else res.lr_multipliers[0]
    statuses = [r.status for _, r in results]
    status = "ok" if best else res.status
    return {
        "status": status,
        "error": None if best else res.reason,
        "metric": best["mean"] if best else None,
        "metric_sd": best["std"] if best else None,
        "best_multiplier": multiplier if best else None,
        "best_wd_multiplier": f if best else None,
        "wd_multipliers": [g for g, _ in results],
        "tuning": tuning,
        "metric_name": res.metric,
        "higher_is_better": res.higher_is_better,
        "task": res.task,
        "scale": res.scale,
        "base_lr": res.base_lr,
        "per_seed": [
            {"seed": r.seed, "multiplier": r.multiplier, "status": r.status, "metric": r.metric}
            for r in res.runs
            if r.multiplier == multiplier
        ],
        "curve": {"steps": list(res.curve_steps), "values": res.mean_curve(multiplier)},
        "steps": res.steps,
        "steps_done": max(r.steps_done for _, r in results),
        "train_s": round(sum(r.train_s for _, r in results), 3),
        "compile_s": round(sum(r.compile_s for _, r in results), 3),
        "statuses": statuses,
    }


def evaluate_job(job: Job) -> dict[str, Any]:
    """Train `job` on its proxy and summarise the result (never raises for a bad optimizer)."""
    import time

    from lionsimplify.proxies import get_proxy
    from lionsimplify.proxies.trainer import evaluate

    task = get_proxy(job.proxy)
    start = time.perf_counter()

    def left() -> float:
        return max(0.001, job.time_limit_s - (time.perf_counter() - start))

    if job.kind == "baseline":
        assert job.baseline is not None
        runs = [(f, baseline_factory(job.baseline, f), None, BASELINE_LR[job.baseline])
                for f in job.wd_multipliers]  # fmt: skip
    else:
        import numpy as np

        from lionsimplify.emit.optax_runtime import (
            check_hyperparams,
            program_literals,
            program_to_optax,
        )

        assert job.program is not None
        variants = weight_decay_variants(
            job.program, job.params, job.wd_multipliers, f"<candidate {job.subject}>"
        )
        base_lr = job.base_lr if job.base_lr is not None else DEFAULT_BASE_LR

        def make(program: Any, params: dict[str, float]) -> Any:
            values = check_hyperparams(program, params)

            def factory(learning_rate: Any, literals: Any) -> Any:
                return program_to_optax(program, learning_rate=learning_rate, params=values,
                                        semantics=job.semantics, literals=literals)  # fmt: skip

            # the program's numbers are inputs of the compiled computation: candidates that
            # differ only in them share one executable
            return factory, np.asarray(program_literals(program, values), np.float32)

        runs = [(f, *make(p, ps), base_lr) for f, p, ps in variants]
    results = []
    for f, factory, inputs, base_lr in runs:
        res = evaluate(factory, task, seeds=job.seeds, lr_multipliers=job.lr_multipliers,
                       base_lr=base_lr, time_limit_s=left(), inputs=inputs)  # fmt: skip
        results.append((f, res))
        if res.status in ("failed", "timeout"):
            break  # the other factors would fail or run out of time the same way
    return _summarise(results)
