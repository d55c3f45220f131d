"""The built-in evaluator: a funnel `Job` trained by the proxy evaluator (`lionsimplify.proxies`).

A candidate is run straight from its IR through `program_to_optax` (no emitted code), for every
seed and learning-rate multiplier of its level in one vmapped evaluation; a baseline is the
proxy package's reference (`adamw`, `lion`) at its tuned learning rate. The evaluator's
`EvalResult` is summarised into the funnel's result fields (see `jobs.py`): the metric is the
mean over seeds at the best multiplier whose seeds all finished, and the learning curve is the
mean curve at that multiplier.

Candidates are given `lr = base_lr · multiplier · schedule(t)`; programs from search scale `lr`
themselves (the AdamW warm start has `lr = lr * 0.001`), so `base_lr` defaults to 1.
"""

from __future__ import annotations

from typing import Any

from lionsimplify.funnel.config import FunnelConfig
from lionsimplify.funnel.jobs import Job
from lionsimplify.lang.errors import Location, ProgramError

DEFAULT_BASE_LR = 1.0


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


def _summarise(res: Any) -> dict[str, Any]:
    best = res.best()
    multiplier = best["multiplier"] if best else res.lr_multipliers[0]
    return {
        "status": res.status,
        "error": res.reason,
        "metric": best["mean"] if best else None,
        "metric_sd": best["std"] if best else None,
        "best_multiplier": multiplier if best else None,
        "metric_name": res.metric,
        "higher_is_better": res.higher_is_better,
        "task": res.task,
        "scale": res.scale,
        "base_lr": res.base_lr,
        "per_seed": [
            {"seed": r.seed, "multiplier": r.multiplier, "status": r.status, "metric": r.metric}
            for r in res.runs
        ],
        "curve": {"steps": list(res.curve_steps), "values": res.mean_curve(multiplier)},
        "steps": res.steps,
        "steps_done": res.steps_done,
        "train_s": round(res.train_s, 3),
        "compile_s": round(res.compile_s, 3),
    }


def evaluate_job(job: Job) -> dict[str, Any]:
    """Train `job` on its proxy and summarise the result (never raises for a bad optimizer)."""
    from lionsimplify.lang.parse import parse_text
    from lionsimplify.proxies import get_proxy
    from lionsimplify.proxies.trainer import evaluate

    task = get_proxy(job.proxy)
    if job.kind == "baseline":
        from lionsimplify.proxies.baselines import run_baseline

        assert job.baseline is not None
        res = run_baseline(job.baseline, task, seeds=job.seeds, time_limit_s=job.time_limit_s)
        return _summarise(res)

    from lionsimplify.emit.optax_runtime import program_to_optax

    assert job.program is not None
    program = parse_text(job.program, f"<candidate {job.subject}>")

    def factory(learning_rate: Any) -> Any:
        return program_to_optax(
            program, learning_rate=learning_rate, params=job.params, semantics=job.semantics
        )

    res = evaluate(
        factory,
        task,
        seeds=job.seeds,
        lr_multipliers=job.lr_multipliers,
        base_lr=job.base_lr if job.base_lr is not None else DEFAULT_BASE_LR,
        time_limit_s=job.time_limit_s,
    )
    return _summarise(res)
