"""The one concrete interpreter: run a program for many steps with numpy.

A `Trajectory` supplies, for every step, the weight, the gradient and the learning-rate value; the
program starts from zero state and its state is carried from step to step. The trajectory is
open-loop (the weights are given, not produced by the updates), so two programs can be compared
step by step on exactly the same inputs: this is what verification, the behavioural fingerprint
and `diff` run on.

Arrays have shape (batch, size): each row is an independent trajectory (its own seed and gradient
scale) and reductions such as `norm` act on the last axis (see `ops.py`). Scalars have shape
(batch, 1). Everything is float64 so that rounding of the interpreter itself does not hide or
fake differences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Const, Hyper, Program, Var
from lionsimplify.lang.ops import OPS, Semantics


@dataclass(frozen=True)
class Trajectory:
    """Inputs for `steps` steps: weights and grads (steps, batch, size), lrs (steps, batch, 1)."""

    weights: np.ndarray
    grads: np.ndarray
    lrs: np.ndarray

    @property
    def steps(self) -> int:
        return self.grads.shape[0]


@dataclass(frozen=True)
class Outputs:
    """What a program produced: updates (steps, batch, size) and each new state, likewise."""

    updates: np.ndarray
    states: tuple[np.ndarray, ...]


def random_trajectory(
    seed: int,
    steps: int = 50,
    size: int = 16,
    grad_scales: tuple[float, ...] = (1e-4, 1e-2, 1.0, 1e2),
) -> Trajectory:
    """A reproducible trajectory with one batch row per gradient scale.

    Gradients are correlated over time (an AR(1) process around a drifting mean) so that momentum
    and state actually matter; weights drift slowly; the learning-rate value varies between 1e-3
    and 1 like a schedule would.
    """
    rng = np.random.default_rng(seed)
    scales = np.asarray(grad_scales, dtype=np.float64)[:, None]
    batch = len(grad_scales)
    mean = rng.standard_normal((batch, size))
    g = np.empty((steps, batch, size))
    prev = rng.standard_normal((batch, size))
    for t in range(steps):
        prev = 0.6 * prev + 0.8 * rng.standard_normal((batch, size))
        g[t] = (0.5 * mean + prev) * scales
    w0 = rng.standard_normal((batch, size))
    drift = 0.01 * rng.standard_normal((steps, batch, size)).cumsum(axis=0)
    w = w0[None] + drift
    lrs = 10 ** rng.uniform(-3, 0, size=(steps, batch, 1))
    return Trajectory(weights=w, grads=g, lrs=lrs)


def missing_params(program: Program, params: Mapping[str, float]) -> list[str]:
    given = dict(program.defaults)
    return [h for h in program.hyperparams() if h not in params and h not in given]


def require_params(program: Program, params: Mapping[str, float]) -> None:
    """Raise a `ProgramError` naming the first hyperparameter without a value."""
    missing = missing_params(program, params)
    if not missing:
        return
    first = missing[0]
    loc = next(
        (s.loc for s in program.body for a in s.args if isinstance(a, Hyper) and a.name == first),
        None,
    )
    names = ", ".join(f"`{m}`" for m in missing)
    raise ProgramError(
        f"hyperparameter {names} has no value"
        if len(missing) == 1
        else f"hyperparameters {names} have no value",
        loc,
        help="give each a value with "
        + " ".join(f"--param {m}=VALUE" for m in missing)
        + f", or in the signature: `def {program.name}(..., {missing[0]}=VALUE):`",
        code="E205",
    )


def compile_program(
    program: Program, semantics: Semantics, params: Mapping[str, float]
) -> list[tuple[str, Callable[..., Any], tuple[tuple[bool, Any], ...]]]:
    """Resolve each statement to (target, implementation, args) once, for fast repeated runs.

    Each arg is `(True, name)` for a variable or `(False, value)` for a literal/hyperparameter.
    """
    require_params(program, params)
    params = program.values(params)
    plan = []
    for s in program.body:
        args = []
        for a in s.args:
            if isinstance(a, Var):
                args.append((True, a.name))
            elif isinstance(a, Const):
                args.append((False, a.value))
            else:
                args.append((False, float(params[a.name])))
        plan.append((s.target, OPS[s.op].implementation(semantics), tuple(args)))
    return plan


def run(
    program: Program,
    trajectory: Trajectory,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
) -> Outputs:
    """Run `program` over `trajectory` from zero state and collect every step's outputs."""
    plan = compile_program(program, semantics, params or {})
    steps, batch, size = trajectory.grads.shape
    state = [np.zeros((batch, size)) for _ in program.state]
    updates = np.empty((steps, batch, size))
    states = [np.empty((steps, batch, size)) for _ in program.state]
    with np.errstate(all="ignore"):
        for t in range(steps):
            env: dict[str, Any] = {
                program.weight: trajectory.weights[t],
                program.grad: trajectory.grads[t],
                program.lr: trajectory.lrs[t],
            }
            env.update(zip(program.state, state, strict=True))
            if "step" in program.extras:
                env["step"] = np.full((batch, 1), float(t + 1))
            for target, fn, args in plan:
                env[target] = fn(np, *(env[v] if is_var else v for is_var, v in args))
            updates[t] = env[program.update]
            state = [env[name] for name in program.new_state]
            for i, value in enumerate(state):
                states[i][t] = value
    return Outputs(updates=updates, states=tuple(states))
