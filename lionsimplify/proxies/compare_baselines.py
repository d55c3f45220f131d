"""One program against the baselines on one proxy: what `lionsimplify eval` computes.

The candidate runs through `program_to_optax` for every seed × learning-rate multiplier in one
vmapped evaluation, its numbers passed in rather than compiled in (one executable per program
shape); each baseline runs at its tuned learning rate on the same seeds. The verdict
compares the candidate's best multiplier with AdamW's mean over seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import Semantics
from lionsimplify.proxies.tasks import Task, get_proxy
from lionsimplify.proxies.trainer import DEFAULT_TIME_LIMIT_S, EvalResult, evaluate

#: Called with (label, steps done, steps total) while anything trains.
Progress = Callable[[str, int, int], None]


@dataclass
class Comparison:
    program: str
    proxy: str
    semantics: Semantics
    params: dict[str, float]
    candidate: EvalResult
    baselines: dict[str, EvalResult] = field(default_factory=dict)

    def delta_vs(self, baseline: str = "adamw") -> float | None:
        """Candidate best mean minus the baseline's mean, signed so positive is better."""
        best, ref = self.candidate.best(), self.baselines.get(baseline)
        ref_best = ref.best() if ref is not None else None
        if best is None or ref_best is None:
            return None
        diff = best["mean"] - ref_best["mean"]
        return diff if self.candidate.higher_is_better else -diff

    def to_json(self) -> dict[str, Any]:
        return {
            "program": self.program,
            "proxy": self.proxy,
            "semantics": self.semantics,
            "params": dict(sorted(self.params.items())),
            "lr_rule": "lr = base_lr * schedule(step); update scaled by the multiplier",
            "candidate": self.candidate.to_json(),
            "baselines": {k: v.to_json() for k, v in sorted(self.baselines.items())},
            "delta_vs_adamw": self.delta_vs("adamw"),
        }


def compare_program(
    program: Program,
    proxy: Task | str,
    *,
    params: Mapping[str, float],
    semantics: Semantics = "math",
    seeds: Sequence[int] = (0, 1, 2),
    lr_multipliers: Sequence[float] = (1.0,),
    base_lr: float = 1.0,
    baselines: Sequence[str] = ("adamw", "lion"),
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    progress: Progress | None = None,
) -> Comparison:
    """Evaluate `program` and the named baselines on `proxy` (see the module docstring).

    Missing hyperparameter values raise `ProgramError` before anything trains.
    """
    import numpy as np

    from lionsimplify.emit.optax_runtime import (
        check_hyperparams,
        program_literals,
        program_to_optax,
    )
    from lionsimplify.proxies.baselines import run_baseline

    task = proxy if isinstance(proxy, Task) else get_proxy(proxy)
    values = check_hyperparams(program, params)

    def factory(learning_rate: Any, literals: Any) -> Any:
        return program_to_optax(
            program,
            learning_rate=learning_rate,
            params=values,
            semantics=semantics,
            literals=literals,
        )

    def report(label: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(label, done, total)) if progress else None

    candidate = evaluate(
        factory,
        task,
        seeds=seeds,
        lr_multipliers=lr_multipliers,
        base_lr=base_lr,
        time_limit_s=time_limit_s,
        progress=report("candidate"),
        inputs=np.asarray(program_literals(program, values), np.float32),
    )
    result = Comparison(program.path, task.proxy, semantics, values, candidate)
    for name in baselines:
        result.baselines[name] = run_baseline(
            name, task, seeds=seeds, time_limit_s=time_limit_s, progress=report(name)
        )
    return result
