"""What a (reduced) program costs and guarantees: each property measured or derived, never guessed.

- state: the number of state variables of the reduced program (dead state removed), i.e. the
  optimizer's memory in units of the parameter size (derived);
- hyperparameters: the tuning knobs `lift` names (derived);
- gradient-scale invariance: the updates for g and c·g (c = 1e-3, 1e3) on a random trajectory
  (measured);
- learning-rate-schedule invariance: whether multiplying each step's lr by a factor multiplies
  that step's update by the same factor and nothing else, i.e. the state never sees lr, so a
  schedule only scales steps (measured);
- update magnitude: with the weights at 0 (no weight decay), |update| / lr per coordinate; for
  sign-based updates it is one constant (measured);
- the box bound of sign-based updates with decoupled weight decay λ (derived, when the program
  was recognised as such): see `box_bound`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lionsimplify.analysis.interp import Trajectory, random_trajectory, run
from lionsimplify.emit.lifting import lift
from lionsimplify.lang.ir import Program, Var
from lionsimplify.lang.ops import Semantics

#: Relative tolerance for "the same number" in the measurements (float64 runs).
TOL = 1e-9


@dataclass(frozen=True)
class Property:
    name: str
    value: str
    how: str
    """`derived` or `measured: ...` (what was run)."""
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        data = {
            k: str(v) if isinstance(v, float) and not np.isfinite(v) else v
            for k, v in self.data.items()
        }
        return {"name": self.name, "value": self.value, "how": self.how, **data}


def _trajectory() -> Trajectory:
    return random_trajectory(0, steps=40, size=16, grad_scales=(1e-3, 1.0, 1e3))


def _updates(program: Program, traj: Trajectory, semantics: Semantics, params: Mapping) -> Any:
    with np.errstate(all="ignore"):
        return run(program, traj, semantics=semantics, params=params).updates


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    nan = np.isnan(a) != np.isnan(b)
    if nan.any():
        return float("inf")
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    scale = np.maximum(np.max(np.abs(a), axis=-1, keepdims=True), 1e-300)
    with np.errstate(all="ignore"):  # overflow to inf is a valid answer: not invariant
        return float(np.max(np.abs(a - b) / scale))


def _dev_text(x: float) -> str:
    return f"{x:.2g}" if np.isfinite(x) else "∞ (NaN in one run where the other has a number)"


def reads_weight(program: Program) -> bool:
    return any(
        isinstance(a, Var) and a.name == program.weight for s in program.body for a in s.args
    )


def properties(
    program: Program, *, semantics: Semantics = "math", params: Mapping[str, float] | None = None
) -> list[Property]:
    params = dict(params or {})
    traj = _trajectory()
    base = _updates(program, traj, semantics, params)
    out = []
    n = len(program.state)
    out.append(Property("state", f"{n} × parameter size", "derived: state variables after "
                        "dead-state removal", {"state": n, "names": list(program.state)}))  # fmt: skip
    lifted = lift(program, params)
    names = list(lifted.values)
    out.append(Property("hyperparameters", f"{len(names)}" + (f" ({', '.join(names)})" if names else ""),
                        "derived: literals and names in role positions", {"count": len(names), "names": names}))  # fmt: skip

    devs = {}
    for c in (1e-3, 1e3):
        scaled = Trajectory(traj.weights, traj.grads * c, traj.lrs)
        devs[c] = _rel(base, _updates(program, scaled, semantics, params))
    worst = max(devs.values())
    invariant = worst <= 1e-7
    out.append(Property(
        "gradient scale", "invariant (g → c·g leaves the update unchanged)" if invariant
        else "not invariant", f"measured: g × 1e-3 and × 1e3 over {traj.steps} steps, max rel. "
        f"change {_dev_text(worst)}", {"invariant": invariant, "max_rel_change": worst}))  # fmt: skip

    rng = np.random.default_rng(1)
    factor = 10 ** rng.uniform(-1, 1, size=traj.lrs.shape)
    rescheduled = Trajectory(traj.weights, traj.grads, traj.lrs * factor)
    dev = _rel(base * factor, _updates(program, rescheduled, semantics, params))
    invariant = dev <= 1e-7
    out.append(Property(
        "lr schedule", "only scales each step (the state never sees lr)" if invariant
        else "interacts with the state or the update's form", f"measured: lr × random per-step "
        f"factors in [0.1, 10], max rel. deviation from factor × update {_dev_text(dev)}",
        {"invariant": invariant, "max_rel_dev": dev}))  # fmt: skip

    zero_w = Trajectory(np.zeros_like(traj.weights), traj.grads, traj.lrs)
    u = _updates(program, zero_w, semantics, params)
    ratio = np.abs(u) / traj.lrs
    moving = ratio[np.isfinite(ratio) & (ratio > 0)]
    wd = " (plus weight decay)" if reads_weight(program) else ""
    if moving.size and np.all(np.abs(moving - moving[0]) <= TOL * moving[0]):
        c = float(moving[0])
        value, data = f"every coordinate moves by exactly {c:.6g} × lr{wd}", {"constant": c}
    elif moving.size:
        lo, hi = float(np.min(moving)), float(np.max(moving))
        value, data = f"|update| / lr varies per coordinate, in [{lo:.3g}, {hi:.3g}]", {
            "min": lo, "max": hi}  # fmt: skip
    else:
        value, data = "the update is 0 or not finite on the trajectory", {}
    out.append(Property("update magnitude", value, "measured: |update| / lr with the weights "
                        "at 0, every coordinate and step", data))  # fmt: skip
    return out


def box_bound(wd: float, lr_scale: float | None) -> Property:
    """Sign-based update with decoupled weight decay λ: `w ← w − η (sign(c) + λ w)` with
    η = lr_scale·lr. If |w_i| > 1/λ, then sign(c_i) + λ w_i has the sign of w_i, so |w_i|
    shrinks (by the factor 1 − ηλ, at least); if |w_i| ≤ 1/λ then
    |w_i'| ≤ (1 − ηλ)/λ + η = 1/λ. So the iterates are driven into, and stay in, the box
    ‖w‖∞ ≤ 1/λ (for ηλ ≤ 1). This is the Lion-𝒦 view with 𝒦(x) = ‖x‖₁ (∇𝒦 = sign): Lion
    with weight decay λ solves min f(w) subject to ‖w‖∞ ≤ 1/λ, i.e. the composite objective
    f(w) + 𝒦*(λw) with 𝒦* the indicator of the unit ‖·‖∞ ball."""
    bound = 1.0 / wd
    eta = "η = lr" if lr_scale is None else f"η = {lr_scale:.6g} × lr"
    return Property(
        "constraint",
        f"iterates driven into the box ‖w‖∞ ≤ 1/λ = {bound:.6g} (for ηλ ≤ 1, {eta}); Lion-𝒦 with "
        "𝒦(x) = ‖x‖₁, ∇𝒦 = sign: minimises f(w) + 𝒦*(λw), 𝒦* the indicator of ‖λw‖∞ ≤ 1",
        "derived: if |w_i| > 1/λ then sign(·) + λw_i has the sign of w_i, so |w_i| shrinks; "
        "inside, |w_i'| ≤ (1 − ηλ)/λ + η = 1/λ (Chen, Liu, Liang & Liu, \"Lion Secretly Solves "
        'Constrained Optimization", ICLR 2024)',
        {"bound": bound, "lambda": wd},
    )
