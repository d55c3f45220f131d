"""A stand-in evaluator for the funnel's orchestration tests (ledger, resume, executors).

It trains nothing: the metric is a deterministic function of the program text and the seed, so
tests of what the orchestration does (one ledger record per evaluation, retries, timeouts,
identical results from both executors) run in seconds. Behaviour is chosen by the program:
a program using `cosh` hangs, `log` raises, `exp` diverges, one with the constant 0.123 scores
0.95 whatever else it holds (so its ablations keep its score); a file named by
`FUNNEL_FAKE_CRASH_ONCE` makes the first attempt of a program using `abs` kill its own
worker.
The real evaluator is exercised in test_funnel.py.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any


def _unit(text: str) -> float:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def evaluate(job: Any) -> dict[str, Any]:
    program = job.program or ""
    delay = float(os.environ.get("FUNNEL_FAKE_DELAY", "0"))
    if delay:
        time.sleep(delay)
    crash = os.environ.get("FUNNEL_FAKE_CRASH_ONCE")
    if crash and "abs(" in program and not Path(crash).exists():
        Path(crash).write_text("crashed once\n")
        os._exit(9)
    if "cosh" in program:
        time.sleep(3600)
    if "log(" in program:
        raise RuntimeError("candidate raised inside the evaluator")
    base = 0.5 if job.kind == "baseline" else _unit(program)
    if job.subject == "baseline:lion":
        base = 0.55
    if "0.123" in program:
        base = 0.95
    per_seed = [
        {"seed": s, "multiplier": 1.0, "status": "ok", "metric": base + 0.001 * s}
        for s in job.seeds
    ]
    status = "diverged" if "exp(" in program else "ok"
    metric = None if status != "ok" else sum(p["metric"] for p in per_seed) / len(per_seed)
    return {
        "status": status,
        "error": "non-finite loss by step 3" if status == "diverged" else None,
        "metric": metric,
        "metric_sd": 0.001 if metric is not None else None,
        "best_multiplier": 1.0 if metric is not None else None,
        "higher_is_better": True,
        "per_seed": per_seed,
        "curve": {"steps": [1, 2, 3], "values": [1.0, 1.0 - base / 2, 1.0 - base]},
        "train_s": delay,
    }


def placement(job: Any) -> dict[str, Any]:
    """Where the worker runs: its cores and XLA flags (for the pinning test)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"status": "ok", "cores": cores, "xla_flags": os.environ.get("XLA_FLAGS", "")}
