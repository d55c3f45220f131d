"""Settle ablation candidates on a proxy task: `lionsimplify reduce FILE --validate PROXY`.

The exact passes of `reduce` never change behaviour; the ablations (drop `clip`, drop a
near-identity such as `arcsin`) do, so the Lion authors settled them empirically: they dropped
`arcsin` and `clip` because removing them showed no loss of quality. This module does the same,
reproducibly: the reduced program (the reference) and, for each proposed ablation, the reduced
program with that ablation applied are trained on the proxy with the same seeds; so is the
program with every ablation applied. An ablation is accepted when its mean metric over the
seeds, paired seed by seed with the reference, is not worse than the reference's by more than
`margin` × |reference mean| (a relative margin, so it means the same for accuracies and losses).
Accepted ablations are then applied together through `reduce(..., ablate=names)`, so the final
program is still a verified pipeline result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import Semantics
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import Reduction, reduce

#: Called with (variant name, steps done, steps total) while a variant trains.
Progress = Callable[[str, int, int], None]

REFERENCE = "reduced"
ALL = "all ablations"


@dataclass
class VariantScore:
    name: str
    program: str
    status: str
    metrics: list[float | None]
    """Per seed, at the best learning-rate multiplier."""
    multiplier: float | None
    compile_s: float
    train_s: float

    @property
    def mean(self) -> float | None:
        vals = [m for m in self.metrics if m is not None]
        return float(np.mean(vals)) if vals and len(vals) == len(self.metrics) else None

    @property
    def std(self) -> float | None:
        vals = [m for m in self.metrics if m is not None]
        return float(np.std(vals)) if vals and len(vals) == len(self.metrics) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "program": self.program,
            "status": self.status,
            "metrics": self.metrics,
            "mean": self.mean,
            "std": self.std,
            "multiplier": self.multiplier,
            "compile_s": round(self.compile_s, 3),
            "train_s": round(self.train_s, 3),
        }


@dataclass
class Verdict:
    ablation: str
    delta: float | None
    """Mean over seeds of (variant − reference), signed so that positive is better."""
    stderr: float | None
    tolerance: float | None
    accepted: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ablation": self.ablation,
            "delta": self.delta,
            "stderr": self.stderr,
            "tolerance": self.tolerance,
            "accepted": self.accepted,
            "reason": self.reason,
        }


@dataclass
class Validation:
    proxy: str
    metric: str
    higher_is_better: bool
    seeds: list[int]
    base_lr: float
    lr_multipliers: list[float]
    margin: float
    variants: list[VariantScore]
    verdicts: list[Verdict]
    final: Reduction
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        return [v.ablation for v in self.verdicts if v.accepted and v.ablation != ALL]

    def to_json(self) -> dict[str, Any]:
        return {
            "proxy": self.proxy,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "seeds": self.seeds,
            "base_lr": self.base_lr,
            "lr_multipliers": self.lr_multipliers,
            "margin": self.margin,
            "rule": "accept when mean paired (variant - reduced), positive = better, "
            ">= -margin * |reduced mean|",
            "variants": [v.to_json() for v in self.variants],
            "verdicts": [v.to_json() for v in self.verdicts],
            "accepted": self.accepted,
            "program": print_program(self.final.program),
            "notes": self.notes,
        }


def _score(
    name: str,
    program: Program,
    task: Any,
    *,
    params: Mapping[str, float],
    semantics: Semantics,
    seeds: Sequence[int],
    lr_multipliers: Sequence[float],
    base_lr: float,
    time_limit_s: float | None,
    progress: Progress | None,
) -> VariantScore:
    from lionsimplify.emit.optax_runtime import program_to_optax
    from lionsimplify.proxies.trainer import evaluate

    def factory(learning_rate: Any) -> Any:
        return program_to_optax(
            program, learning_rate=learning_rate, params=params, semantics=semantics
        )

    result = evaluate(
        factory,
        task,
        seeds=tuple(seeds),
        lr_multipliers=tuple(lr_multipliers),
        base_lr=base_lr,
        time_limit_s=time_limit_s,
        progress=(lambda done, total: progress(name, done, total)) if progress else None,
    )
    best = result.best()
    multiplier = best["multiplier"] if best else None
    by_seed = {r.seed: r.metric for r in result.runs if r.multiplier == multiplier}
    metrics = [by_seed.get(s) for s in seeds] if best else [None] * len(seeds)
    status = "ok" if best else result.status
    return VariantScore(
        name, print_program(program), status, metrics, multiplier, result.compile_s, result.train_s
    )


def paired_verdict(
    ablation: str, ref: VariantScore, var: VariantScore, higher: bool, margin: float
) -> Verdict:
    """Accept `var` when its mean paired difference from `ref` (positive = better) is at least
    `-margin × |ref mean|`; used by `--validate` and by the funnel's ablation phase."""
    if ref.mean is None:
        return Verdict(ablation, None, None, None, False, "the reduced program did not train")
    if var.mean is None:
        return Verdict(ablation, None, None, None, False, f"the ablated program {var.status}")
    sign = 1.0 if higher else -1.0
    diffs = [sign * (b - a) for a, b in zip(ref.metrics, var.metrics, strict=True)]  # type: ignore[operator]
    delta = float(np.mean(diffs))
    stderr = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else None
    tolerance = margin * abs(ref.mean)
    ok = delta >= -tolerance
    word = "not worse" if ok else "worse"
    reason = f"{word} than the reduced program beyond the margin ({delta:+.4g} vs -{tolerance:.4g})"
    return Verdict(ablation, delta, stderr, tolerance, ok, reason)


def validate_ablations(
    program: Program,
    proxy: str | Any,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    lr_multipliers: Sequence[float] = (1.0,),
    base_lr: float = 1.0,
    margin: float = 0.01,
    time_limit_s: float | None = None,
    proxy_module: str | None = None,
    progress: Progress | None = None,
) -> Validation:
    """Train the reduced program and its ablations on `proxy`; apply those that lose nothing."""
    from lionsimplify.proxies.tasks import Task, get_proxy

    params = dict(params or {})
    task = proxy if isinstance(proxy, Task) else get_proxy(proxy, module=proxy_module)
    base = reduce(program, semantics=semantics, params=params)
    names = [rec.name for rec in base.ablations]
    variants = {REFERENCE: base.program}
    for name in names:
        variants[name] = reduce(program, semantics=semantics, params=params, ablate={name}).program
    if len(names) > 1:
        variants[ALL] = reduce(program, semantics=semantics, params=params, ablate=True).program
    kw = dict(params=params, semantics=semantics, seeds=seeds, lr_multipliers=lr_multipliers,
              base_lr=base_lr, time_limit_s=time_limit_s, progress=progress)  # fmt: skip
    scores = [_score(name, p, task, **kw) for name, p in variants.items()]  # type: ignore[arg-type]
    ref = scores[0]
    verdicts = [paired_verdict(s.name, ref, s, task.higher_is_better, margin) for s in scores[1:]]
    single = [v for v in verdicts if v.ablation != ALL]
    accepted = {v.ablation for v in single if v.accepted}
    notes = []
    together = next((v for v in verdicts if v.ablation == ALL), None)
    if together is not None and accepted == set(names) and not together.accepted:
        notes.append("each ablation alone is within the margin but all together are not: "
                     "only the best single ablation is kept")  # fmt: skip
        best = max(single, key=lambda v: v.delta if v.delta is not None else -np.inf)
        accepted = {best.ablation}
    final = reduce(program, semantics=semantics, params=params, ablate=accepted or False)
    for v in single:
        v.accepted = v.ablation in accepted
    return Validation(
        proxy=task.proxy,
        metric=task.metric,
        higher_is_better=task.higher_is_better,
        seeds=list(seeds),
        base_lr=base_lr,
        lr_multipliers=list(lr_multipliers),
        margin=margin,
        variants=scores,
        verdicts=single + ([together] if together else []),
        final=final,
        notes=notes,
    )
