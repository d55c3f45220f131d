"""Verification by differential execution: does a rewrite keep what the program computes?

Both programs run on the same random multi-step trajectories (several seeds, several tensor
sizes, one batch row per gradient scale from 1e-8 to 1e6) under the chosen semantics, and their
updates are compared step by step. The trajectories sample what the input domains
(`lang/domains.py`) allow and rewrites are tempted to assume away: the learning rate is 0 on the
last steps (a schedule's end), gradients are tiny and huge, and a few weights and gradients
are exactly 0.0 or -0.0 (`x + 0.0` is not `x` at x = -0.0 when a division follows). A rewrite
that prints the side condition `lr > 0` is judged on the steps where lr > 0; the steps with
lr = 0 where it differs are counted and shown. Three labels (DESIGN.md §3):

- `exact`: every update agrees to floating-point tolerance (NaN where the original is NaN too;
  a rewrite may turn the original's NaN into a number, which is how side conditions such as
  `m != 0` show up, but never the other way round). When the original is NaN on most sampled
  elements, `original_undefined` says so: the rewrite is then "exact" only vacuously.
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
from lionsimplify.lang.domains import (
    EXTREME_GRAD_SCALES,
    LR_ZERO_STEPS,
    relies_on_lr_positive,
)
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
GRAD_SCALES = tuple(sorted((1e-4, 1e-2, 1.0, 1e2, *EXTREME_GRAD_SCALES)))

#: Share of gradient and weight elements set to 0.0, and again to -0.0, in the trajectories.
ZERO_SHARE = 0.02

#: Share of the original's update elements that may be NaN before a verification says that the
#: original is undefined on the sampled inputs (so "exact" says little there).
UNDEFINED_SHARE = 0.5


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
    samples: int = 0
    """Update elements compared (steps × rows × elements, over every trajectory)."""
    original_nan: int = 0
    """Elements where the original's update is NaN (undefined)."""
    lr_zero_differs: int = 0
    """(step, row) pairs with lr = 0 where the programs differ, excused by `lr > 0`."""

    @property
    def original_undefined(self) -> bool:
        """True when the original is NaN on most sampled elements: "exact" is then vacuous
        there, and the output must say that the original is undefined."""
        return self.samples > 0 and self.original_nan >= UNDEFINED_SHARE * self.samples

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
            "samples": self.samples,
            "original_nan": self.original_nan,
            "original_undefined": self.original_undefined,
            "lr_zero_differs": self.lr_zero_differs,
        }


def warnings(v: Verification) -> list[str]:
    """What a reader must see next to an `exact` verdict: where it holds only vacuously or only
    under the `lr > 0` side condition (shown by `reduce` and in the derivation report)."""
    out = []
    if v.original_undefined:
        share = v.original_nan / v.samples
        out.append(
            f"the original is undefined there: its update is NaN on {share:.0%} of the sampled "
            "elements, so `exact` says little: it holds where the original is defined"
        )
    if v.lr_zero_differs:
        out.append(
            f"holds only where lr > 0: on {v.lr_zero_differs} sampled (step, row) pairs with "
            "lr = 0 the two programs differ"
        )
    return out


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
        parts = [seed_trajectory(seed, steps, n) for seed in SEEDS]
        out.append(
            Trajectory(
                weights=np.concatenate([p.weights for p in parts], axis=1),
                grads=np.concatenate([p.grads for p in parts], axis=1),
                lrs=np.concatenate([p.lrs for p in parts], axis=1),
            )
        )
    return tuple(out)


def seed_trajectory(seed: int, steps: int, size: int) -> Trajectory:
    """One seed's verification trajectory: every gradient scale, lr = 0 on the last steps, and
    exact zeros of both signs scattered in the gradients and weights."""
    t = random_trajectory(seed, steps=steps, size=size, grad_scales=GRAD_SCALES)
    lrs = t.lrs.copy()
    lrs[max(steps - LR_ZERO_STEPS, steps // 2) :] = 0.0  # the schedule's end
    rng = np.random.default_rng((seed, size))
    return Trajectory(
        weights=with_signed_zeros(t.weights, rng), grads=with_signed_zeros(t.grads, rng), lrs=lrs
    )


def with_signed_zeros(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`x` with a few elements set to 0.0 and a few to -0.0 (ZERO_SHARE of each).

    Exact zeros are ordinary inputs (a dead unit's gradient, a weight never moved), and the
    sign of a zero is what a rewrite like `x + 0 → x` changes: `g * -1.0 + 0.0` is +0.0 where
    `g * -1.0` is -0.0, and `lr / ·` turns that into +inf against -inf."""
    u = rng.random(x.shape)
    out = x.copy()
    out[u < ZERO_SHARE] = 0.0
    out[(u >= ZERO_SHARE) & (u < 2 * ZERO_SHARE)] = -0.0
    return out


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
    return outputs(program, semantics=semantics, params=params, steps=steps)[index]


def outputs(
    program: Program,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    steps: int = STEPS,
) -> tuple[Outputs, ...]:
    """`outputs_on` for every trajectory: one look-up (a long program's hash is not free)."""
    key = tuple(sorted((params or {}).items()))
    return _outputs_cached(program, semantics, key, steps)


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
        # where `a` is 0 (e.g. both updates 0 at lr = 0) no factor is measured
        "factor_defined": na > 0,
        "dir_dev": dir_dev,
        # NaN factors (infinite updates) are no evidence of a positive factor
        "direction_ok": bool(np.all(dir_dev <= RTOL) and np.all(factor > 0)),
    }


def verify(
    before: Program,
    after: Program,
    claimed: Label,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    steps: int = STEPS,
    side_conditions: tuple[str, ...] = (),
) -> Verification:
    """Run both programs on the verification trajectories and measure which label holds.

    With the side condition `lr > 0` among `side_conditions`, steps where lr = 0 are left out of
    the judgement (and the ones where the programs differ are counted)."""
    params = params or {}
    excuse_lr_zero = relies_on_lr_positive(before, side_conditions)
    max_dev, min_cos, new_nan, resolved = 0.0, 1.0, 0, 0
    samples, original_nan, lr_zero_differs = 0, 0, 0
    first: tuple[int, float] | None = None
    exact_ok, direction_ok = True, True
    fmin, fmax = np.inf, -np.inf
    trajs = trajectories(steps)
    outs_before = outputs(before, semantics=semantics, params=params, steps=steps)
    outs_after = outputs(after, semantics=semantics, params=params, steps=steps)
    for k in range(len(trajs)):
        a, b = outs_before[k].updates, outs_after[k].updates
        samples += a.size
        original_nan += int(np.isnan(a).sum())
        if excuse_lr_zero:
            zero = trajs[k].lrs[..., 0] == 0  # (steps, rows)
            same = np.isclose(a, b, rtol=RTOL, atol=0.0, equal_nan=True)
            differs = ~np.all(same, axis=-1)
            lr_zero_differs += int(np.sum(zero & differs))
            b = np.where(zero[..., None], a, b)
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
        factor = m["factor"]
        if not m["direction_ok"]:
            direction_ok = False
        defined = factor[m["factor_defined"]]
        if defined.size:
            fmin, fmax = min(fmin, float(np.min(defined))), max(fmax, float(np.max(defined)))
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
        samples=samples,
        original_nan=original_nan,
        lr_zero_differs=lr_zero_differs,
    )
