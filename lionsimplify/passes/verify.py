"""Verification by differential execution: does a rewrite keep what the program computes?

Both programs run on the same random multi-step trajectories (several seeds, several tensor
sizes, one batch row per gradient scale from 1e-4 to 1e2) under the chosen semantics, and their
updates are compared step by step. Three labels (DESIGN.md §3):

- `exact`: every update agrees to floating-point tolerance (NaN where the original is NaN too;
  a rewrite may turn the original's NaN into a number, which is how side conditions such as
  `m != 0` show up, but never the other way round).
- `direction`: each update differs only by a positive factor per step and trajectory.
- `approximate`: anything else; such a rewrite is only ever proposed, never applied silently.

The result records the measured deviation, so reports can show how close "exact" really was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from lionsimplify.analysis.interp import Outputs, Trajectory, random_trajectory, run_many
from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import Semantics

Label = Literal["exact", "direction", "approximate"]
LABELS: tuple[Label, ...] = ("exact", "direction", "approximate")

#: Relative tolerance for `exact` and `direction` (float64 runs, so rounding differences of
#: rewritten arithmetic stay far below it, while real changes are far above it).
RTOL = 1e-7

SEEDS = (0, 1, 2)
SIZES = (1, 7, 64)
STEPS = 50


@dataclass(frozen=True)
class Verification:
    """What differential execution measured for one rewrite."""

    claimed: Label
    measured: Label
    ok: bool
    max_rel_dev: float
    """max |a - b| / (|a| + tiny) over every update element, NaNs excluded."""
    min_cosine: float
    """Smallest cosine between the two updates over all steps and trajectories."""
    factor_range: tuple[float, float] | None
    """For `direction`: the range of the positive factor b ≈ c·a."""
    nan_resolved: int
    """Elements where the original gives NaN and the rewrite a number (side conditions)."""
    first_difference: tuple[int, float] | None
    """(1-based step, relative deviation) where the programs first part beyond tolerance."""
    trajectories: int
    steps: int

    def to_json(self) -> dict[str, object]:
        return {
            "claimed": self.claimed,
            "measured": self.measured,
            "ok": self.ok,
            "max_rel_dev": _num(self.max_rel_dev),
            "min_cosine": _num(self.min_cosine),
            "factor_range": list(self.factor_range) if self.factor_range else None,
            "nan_resolved": self.nan_resolved,
            "first_difference": list(self.first_difference) if self.first_difference else None,
            "trajectories": self.trajectories,
            "steps": self.steps,
        }


def _num(x: float) -> float | str:
    return x if np.isfinite(x) else str(x)


@lru_cache(maxsize=8)
def trajectories(steps: int = STEPS) -> tuple[Trajectory, ...]:
    """One trajectory per tensor size, with every seed's rows stacked in its batch.

    Rows are independent (reductions act on the last axis), so stacking the seeds gives the
    same numbers as running each seed alone, with a third of the interpreter calls.
    """
    out = []
    for n in SIZES:
        parts = [random_trajectory(seed, steps=steps, size=n) for seed in SEEDS]
        out.append(
            Trajectory(
                weights=np.concatenate([p.weights for p in parts], axis=1),
                grads=np.concatenate([p.grads for p in parts], axis=1),
                lrs=np.concatenate([p.lrs for p in parts], axis=1),
            )
        )
    return tuple(out)


def outputs_on(
    program: Program,
    index: int,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    steps: int = STEPS,
) -> Outputs:
    """`run(program, trajectories(steps)[index])`, remembered for recently seen programs.

    All trajectories are run at once (`run_many`), since every caller asks for each of them.

    A pipeline verifies pass after pass, and each pass's "before" is the last one's "after";
    `diff` then runs the reduced programs once more. Programs are values (equality ignores
    source locations), so their outputs can be shared; the arrays are read-only.
    """
    key = tuple(sorted((params or {}).items()))
    return _outputs_cached(program, semantics, key, steps)[index]


@lru_cache(maxsize=32)
def _outputs_cached(
    program: Program, semantics: Semantics, params: tuple, steps: int
) -> tuple[Outputs, ...]:
    outs = run_many(program, trajectories(steps), semantics=semantics, params=dict(params))
    for out in outs:
        for array in (out.updates, *out.states):
            array.setflags(write=False)
    return outs


def _rank(label: Label) -> int:
    return LABELS.index(label)


def compare_updates(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """Measure how updates `b` relate to `a`, both (steps, batch, size)."""
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    new_nan = int(np.sum(nan_b & ~nan_a))
    nan_resolved = int(np.sum(nan_a & ~nan_b))
    both = ~(nan_a | nan_b)
    with np.errstate(all="ignore"):
        same_inf = np.isinf(a) & (a == b)
        diff = np.where(both & ~same_inf, np.abs(a - b), 0.0)
        scale = np.where(both & ~same_inf, np.abs(a), 0.0)
        # per (step, row) relative deviation: ‖a − b‖∞ / ‖a‖∞, so tiny elements of a large
        # update do not dominate
        row_scale = np.max(scale, axis=-1)
        row_dev = np.max(diff, axis=-1) / np.maximum(row_scale, 1e-300)
        row_dev = np.where(row_scale == 0, np.max(diff, axis=-1), row_dev)
        row_dev = np.where(np.isnan(row_dev), np.inf, row_dev)
        a0, b0 = np.where(both, a, 0.0), np.where(both, b, 0.0)
        dot = np.sum(a0 * b0, axis=-1)
        na, nb = np.sqrt(np.sum(a0 * a0, axis=-1)), np.sqrt(np.sum(b0 * b0, axis=-1))
        cos = np.where(
            (na > 0) & (nb > 0), dot / (na * nb), np.where((na == 0) & (nb == 0), 1.0, 0.0)
        )
        factor = np.where(na > 0, dot / np.maximum(na * na, 1e-300), 1.0)
        resid = np.sqrt(np.sum((b0 - factor[..., None] * a0) ** 2, axis=-1))
        dir_dev = np.where(nb > 0, resid / np.maximum(nb, 1e-300), 0.0)
    return {
        "new_nan": new_nan,
        "nan_resolved": nan_resolved,
        "row_dev": row_dev,
        "cos": cos,
        "factor": factor,
        "dir_dev": dir_dev,
    }


def verify(
    before: Program,
    after: Program,
    claimed: Label,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    steps: int = STEPS,
) -> Verification:
    """Run both programs on the verification trajectories and measure which label holds."""
    params = params or {}
    max_dev, min_cos, new_nan, resolved = 0.0, 1.0, 0, 0
    first: tuple[int, float] | None = None
    exact_ok, direction_ok = True, True
    fmin, fmax = np.inf, -np.inf
    trajs = trajectories(steps)
    for k in range(len(trajs)):
        a = outputs_on(before, k, semantics=semantics, params=params, steps=steps).updates
        b = outputs_on(after, k, semantics=semantics, params=params, steps=steps).updates
        m = compare_updates(a, b)
        new_nan += m["new_nan"]
        resolved += m["nan_resolved"]
        row_dev = m["row_dev"]
        max_dev = max(max_dev, float(np.max(row_dev)))
        min_cos = min(min_cos, float(np.min(m["cos"])))
        bad_exact = row_dev > RTOL
        if bad_exact.any():
            exact_ok = False
            t = int(np.argmax(bad_exact.any(axis=-1)))
            dev = float(np.max(row_dev[t]))
            if first is None or t + 1 < first[0]:
                first = (t + 1, dev)
        factor, dir_dev = m["factor"], m["dir_dev"]
        if np.any(dir_dev > RTOL) or np.any(factor <= 0):
            direction_ok = False
        fmin, fmax = min(fmin, float(np.min(factor))), max(fmax, float(np.max(factor)))
    if new_nan:
        exact_ok = direction_ok = False
    measured: Label = "exact" if exact_ok else "direction" if direction_ok else "approximate"
    return Verification(
        claimed=claimed,
        measured=measured,
        ok=_rank(measured) <= _rank(claimed),
        max_rel_dev=max_dev,
        min_cosine=min_cos,
        factor_range=(fmin, fmax) if measured == "direction" else None,
        nan_resolved=resolved,
        first_difference=first,
        trajectories=len(trajs) * trajs[0].grads.shape[1],
        steps=steps,
    )
