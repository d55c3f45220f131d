"""A winner carries its tuning: the emitted module defaults to what won at the last level.

The funnel tunes a candidate by scaling its update by a multiplier `m` (and its decoupled
weight-decay constant by a factor `f`) while the program is fed `lr = base_lr · schedule`. For a
user the natural knob is the effective learning rate. When the update is linear in `lr` (checked
on the program: `lr` only scales, see `lr_linear`), scaling the update by `m` is the same as
scaling `lr` by `m`, so the program's own learning-rate constant is folded into one number,
`learning_rate = base_lr · m · lr_scale` (e.g. `2.2e-4`), which becomes the module's default,
and `lr_scale` leaves the program (an exact reduction of `lr = lr * 1`). A program whose update
is not linear in `lr` (say it still clips with `lr`) keeps `lr` as the schedule and its module
documents the multiplier to chain after it (`optax.scale(m)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from lionsimplify.emit.lifting import Lifted, lift
from lionsimplify.lang.ir import Const, Hyper, Program, Var
from lionsimplify.lang.ops import Semantics
from lionsimplify.passes.driver import reduce

#: Operators through which degree in `lr` is tracked; anything else must not see `lr`.
_SAME_DEGREE = {"copy", "negative", "sign"}


def lr_linear(program: Program) -> bool:
    """Whether the update is homogeneous of degree 1 in `lr` and every new state is free of
    it: then `program(k · lr)` returns `k ·` the update and the same state, for every k > 0.

    Degrees: `lr` is 1, every other input and constant 0; `*` adds degrees, `/` keeps the
    numerator's when the denominator is free of `lr`, `+`/`-` need equal degrees, `interp`
    needs a free weight and equal degrees of its two sides, and any other operator must not
    read `lr` at all. `sign` keeps degree 0 only (of a degree-0 value). Sufficient, not
    necessary: a program this rejects is reported as not linear, never wrongly as linear."""
    deg: dict[str, int | None] = {n: 0 for n in program.inputs}
    deg[program.lr] = 1

    def d(a: Any) -> int | None:
        return deg.get(a.name) if isinstance(a, Var) else 0

    for s in program.body:
        ds = [d(a) for a in s.args]
        if None in ds:
            out = None
        elif s.op == "mul":
            out = ds[0] + ds[1]  # type: ignore[operator]
        elif s.op == "div":
            out = ds[0] if ds[1] == 0 else None
        elif s.op in ("add", "sub"):
            out = ds[0] if ds[0] == ds[1] else None
        elif s.op == "interp":
            out = ds[0] if ds[0] == ds[1] and ds[2] == 0 else None
        elif s.op in ("copy", "negative"):
            out = ds[0]
        else:
            out = 0 if all(x == 0 for x in ds) else None
        deg[s.target] = out
    first, *states = program.returns
    return deg.get(first) == 1 and all(deg.get(r) == 0 for r in states)


@dataclass(frozen=True)
class Tuned:
    lifted: Lifted
    learning_rate: float | None
    """Effective peak learning rate for the module's default; None when not linear in lr."""
    multiplier: float
    wd_multiplier: float
    notes: tuple[str, ...]
    """Docstring lines: the tuning table and how to read it."""


def _tuning_table(record: Mapping[str, Any], base_lr: float, scale: float) -> list[str]:
    rows = [r for r in record.get("tuning") or [] if r.get("mean") is not None]
    if not rows:
        return []
    lines = ["Tuning at the last level (mean metric over seeds; lr = peak learning rate):", ""]
    lines.append("    wd factor   lr multiplier   lr          mean      sd")
    for r in rows:
        lr = base_lr * r["multiplier"] * scale
        lines.append(f"    {r['wd_multiplier']:<11g} {r['multiplier']:<15g} {lr:<11.3g} "
                     f"{r['mean']:<9.4g} {r['std'] if r['std'] is not None else 0:.2g}")  # fmt: skip
    return lines


def tuned(
    program: Program,
    record: Mapping[str, Any],
    *,
    params: Mapping[str, float],
    semantics: Semantics,
    proxy: str,
) -> Tuned:
    """The winner lifted, with the tuned weight decay and learning rate in its values."""
    lifted = lift(program, params)
    m = float(record.get("best_multiplier") or 1.0)
    f = float(record.get("best_wd_multiplier") or 1.0)
    base_lr = float(record.get("base_lr") or 1.0)
    values = dict(lifted.values)
    if f != 1.0 and values.get("wd") is not None:
        values["wd"] = float(values["wd"]) * f  # type: ignore[arg-type]
    scale = float(values.get("lr_scale") or 1.0)
    notes = [f"Tuned on {proxy} by the funnel: learning-rate multiplier {m:g}, "
             f"weight-decay factor {f:g}."]  # fmt: skip
    if not lr_linear(lifted.program) or any(v is None for v in values.values()):
        notes += ["Its update is not linear in lr, so `learning_rate` stays the schedule the",
                  f"program was searched with (peak {base_lr:g}): chain `optax.scale({m:g})`",
                  "after it to get the tuned step size.", ""]  # fmt: skip
        notes += _tuning_table(record, base_lr, 1.0)
        return Tuned(Lifted(lifted.program, values), None, m, f, tuple(notes))
    effective = base_lr * m * scale
    if "lr_scale" in values:
        body = [replace(s, args=tuple(Const(1.0) if a == Hyper("lr_scale") else a for a in s.args))
                for s in lifted.program.body]  # fmt: skip
        rest = {k: float(v) for k, v in values.items() if k != "lr_scale"}  # type: ignore[arg-type]
        folded = reduce(lifted.program.with_body(body), semantics=semantics, params=rest)
        relifted = lift(folded.program, rest)
        if "lr_scale" not in relifted.values:
            lifted, values = relifted, dict(relifted.values)
        else:  # could not fold: keep lr_scale = 1 so learning_rate is still the effective rate
            values["lr_scale"] = 1.0
    notes += [f"`learning_rate` defaults to the tuned peak rate {effective:.3g} "
              f"({base_lr:g} × {m:g} × the program's own",
              f"scale {scale:.6g}); the proxies use it with a warm-up + cosine schedule.",
              ""]  # fmt: skip
    notes += _tuning_table(record, base_lr, scale)
    return Tuned(Lifted(lifted.program, values), effective, m, f, tuple(notes))
