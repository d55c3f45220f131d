"""An evaluation job and its result: the one interface between the funnel and the trainer.

A `Job` is plain, picklable data (it crosses process boundaries and goes to Ray workers): which
program (or baseline) to train, on which proxy, with which seeds and learning-rate multipliers,
under which time limit. `run_job(job)` turns it into a result dict and never raises: whatever
goes wrong inside becomes `status = "failed"` with a one-line reason, so a worker survives every
candidate. The evaluation itself is `evaluate.py`'s (or a plugin's, see `FunnelConfig.evaluator`).

Result fields: `status` (`ok`, `diverged`, `failed`, `timeout`), `metric` (mean over seeds at
the best multiplier; None unless ok), `metric_sd` (standard deviation over those seeds),
`best_multiplier`, `best_wd_multiplier`, `tuning` (mean per learning-rate × weight-decay
multiplier), `per_seed` (a list of `{seed, multiplier, metric}`), `higher_is_better`,
`curve` (`{steps, values}`: the mean learning curve at the best multiplier, subsampled),
`error` (one line, or None), and `train_s` (seconds spent in the evaluator).
"""

from __future__ import annotations

import importlib
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

STATUSES = ("ok", "diverged", "failed", "timeout")


@dataclass(frozen=True)
class Job:
    key: str
    subject: str
    """The candidate's fingerprint, or `baseline:<name>`."""
    kind: Literal["candidate", "baseline"]
    program: str | None
    """Program text for a candidate; None for a baseline."""
    level: int
    level_name: str
    proxy: str
    seeds: tuple[int, ...]
    lr_multipliers: tuple[float, ...]
    time_limit_s: float
    base_lr: float | None = None
    semantics: str = "math"
    params: dict[str, float] = field(default_factory=dict)
    evaluator: str | None = None
    wd_multipliers: tuple[float, ...] = (1.0,)

    @property
    def baseline(self) -> str | None:
        return self.subject.split(":", 1)[1] if self.kind == "baseline" else None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:400]


def load_evaluator(spec: str | None) -> Callable[[Job], dict[str, Any]]:
    """The evaluation function: a plugin's `module:function`, or the built-in one."""
    if spec is None:
        from lionsimplify.funnel.proxy_evaluator import evaluate_job

        return evaluate_job
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job: Job) -> dict[str, Any]:
    """Evaluate `job`; never raises (see the module docstring)."""
    start = time.perf_counter()
    try:
        result = dict(load_evaluator(job.evaluator)(job))
        if result.get("status") not in STATUSES:
            raise ValueError(f"evaluator returned status {result.get('status')!r}")
    except Exception as exc:  # the evaluator's bug or the candidate's: record, keep the worker
        result = {"status": "failed", "error": _one_line(exc)}
        if os.environ.get("LIONSIMPLIFY_DEBUG"):
            result["traceback"] = traceback.format_exc()
    result.setdefault("error", None)
    result["wall_s"] = round(time.perf_counter() - start, 3)
    result["worker"] = worker_name()
    return result


def failed_result(reason: str, status: str = "failed", wall_s: float = 0.0) -> dict[str, Any]:
    """The result the coordinator records when a worker died or was killed."""
    return {"status": status, "error": reason, "wall_s": round(wall_s, 3), "worker": None}
