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

A long run executes generated straight-line code (`codegen.py`) rather than walking the
statements every step, and `run_many` runs several trajectories in one pass; a short run (the
behavioural fingerprint's 6 steps) walks them, since generating code would cost more than it
saves. Both call the same operator implementations in the same order: the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from lionsimplify.analysis.codegen import Compiled, StepPlan, Unfusable, ValueKind, compile_step
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Const, Program, Var
from lionsimplify.lang.names import slipped_hyperparams
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


def require_params(
    program: Program, params: Mapping[str, float], *, from_config: bool = False
) -> None:
    """Raise a `ProgramError` naming the first hyperparameter without a value; its help says
    how to give one: `--param` on the command line, or the `[params]` of a funnel config."""
    missing = missing_params(program, params)
    if not missing:
        return
    first = missing[0]
    loc = program.read_location(first)
    names = ", ".join(f"`{m}`" for m in missing)
    slip = slipped_hyperparams(program).get(first)
    if from_config:
        how = "in the config's `[params]` (" + ", ".join(f"`{m} = VALUE`" for m in missing) + ")"
    else:
        how = "with " + " ".join(f"--param {m}=VALUE" for m in missing)
    raise ProgramError(
        f"hyperparameter {names} has no value"
        if len(missing) == 1
        else f"hyperparameters {names} have no value",
        loc,
        help=(f"did you mean `{slip}`? If not, " if slip else "")
        + f"give each a value {how}, or in the signature: `def {program.name}(..., {first}=VALUE):`",
        source_line=program.source_line(loc),
        code="E205",
    )


#: Operator calls (steps × statements) from which generating code pays back: writing and
#: compiling a step function costs about as much as 500 calls through the plain loop.
GENERATE_FROM = 500


def run(
    program: Program,
    trajectory: Trajectory,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
) -> Outputs:
    """Run `program` over `trajectory` from zero state and collect every step's outputs."""
    params = program.values(params)  # the signature's defaults, overridden by `params`
    require_params(program, params)
    if trajectory.steps * len(program.body) < GENERATE_FROM:
        return _interpret(program, trajectory, semantics, params)
    return _run_compiled(_compiled(program, semantics, _key(params), None), trajectory)


def run_many(
    program: Program,
    trajectories: Sequence[Trajectory],
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
) -> tuple[Outputs, ...]:
    """`run` on each trajectory, in one pass over the steps when they can share it.

    Trajectories with the same steps and batch are laid side by side on the last axis (see
    `codegen`), so each statement is one numpy call per step for all of them together.
    """
    params = program.values(params)  # the signature's defaults, overridden by `params`
    require_params(program, params)
    shapes = {t.grads.shape[:2] for t in trajectories}
    calls = sum(t.steps for t in trajectories) * len(program.body)
    if len(trajectories) > 1 and len(shapes) == 1 and calls >= GENERATE_FROM:
        sizes = [t.grads.shape[2] for t in trajectories]
        ends = np.cumsum(sizes).tolist()
        bounds = list(zip([0, *ends[:-1]], ends, strict=True))
        try:
            compiled = _compiled(program, semantics, _key(params), tuple(bounds))
        except Unfusable:
            pass
        else:
            fused = _run_compiled(compiled, _side_by_side(trajectories, sizes))
            return tuple(
                Outputs(
                    updates=fused.updates[..., lo:hi],
                    states=tuple(s[..., lo:hi] for s in fused.states),
                )
                for lo, hi in bounds
            )
    return tuple(run(program, t, semantics=semantics, params=params) for t in trajectories)


def _key(params: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((k, float(v)) for k, v in params.items()))


@lru_cache(maxsize=8)
def _compiled(
    program: Program,
    semantics: Semantics,
    params: tuple[tuple[str, float], ...],
    bounds: tuple[tuple[int, int], ...] | None,
) -> Compiled:
    """`compile_step`, remembered: callers run one program on several trajectories in turn
    (`explain`'s properties run it five times), and generating code for a long one is not free."""
    return compile_step(program, semantics, dict(params), bounds)


def _side_by_side(trajectories: Sequence[Trajectory], sizes: list[int]) -> Trajectory:
    """One trajectory whose columns are each input's columns; lrs broadcast over their own."""
    return Trajectory(
        weights=np.concatenate([t.weights for t in trajectories], axis=-1),
        grads=np.concatenate([t.grads for t in trajectories], axis=-1),
        lrs=np.concatenate(
            [np.repeat(t.lrs, n, axis=-1) for t, n in zip(trajectories, sizes, strict=True)],
            axis=-1,
        ),
    )


def _interpret(
    program: Program, trajectory: Trajectory, semantics: Semantics, params: Mapping[str, float]
) -> Outputs:
    """The plain loop over statements, for runs too short to repay generating code."""
    plan = []
    for stmt in program.body:
        args = []
        for a in stmt.args:
            if isinstance(a, Var):
                args.append((True, a.name))
            else:
                # numpy floats: `1.0 / 0.0` is inf, as on arrays, not ZeroDivisionError
                value = a.value if isinstance(a, Const) else params[a.name]
                args.append((False, np.float64(value)))
        plan.append((stmt.target, OPS[stmt.op].implementation(semantics), tuple(args)))
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
            for target, fn, fargs in plan:
                env[target] = fn(np, *(env[v] if is_var else v for is_var, v in fargs))
            updates[t] = env[program.update]
            state = [env[name] for name in program.new_state]
            for i, value in enumerate(state):
                states[i][t] = value
    return Outputs(updates=updates, states=tuple(states))


def _run_compiled(compiled: Compiled, trajectory: Trajectory) -> Outputs:
    """Run the state's statements step by step, then the rest over each stretch of steps whose
    state has the same kinds, all steps of it at once (see `codegen`)."""
    program = compiled.program
    steps, batch, size = trajectory.grads.shape
    step_shape = (batch, size) if compiled.bounds is not None else (batch, 1)
    n_state = len(program.state)
    state: Sequence[Any] = [np.zeros((batch, size)) for _ in program.state]
    kinds: tuple[ValueKind, ...] = ("tensor",) * n_state
    updates = np.empty((steps, batch, size))
    states = [np.empty((steps, batch, size)) for _ in program.state]
    counts = None  # the `step` input of every step, when the program reads it
    if compiled.reads_step:
        counts = np.arange(1.0, steps + 1.0)[:, None, None] * np.ones(step_shape)
    stretch: _Stretch | None = None
    with np.errstate(all="ignore"):
        for t in range(steps):
            plan = compiled.step_for(kinds)
            if stretch is not None and plan is not stretch.plan:
                updates[stretch.start : t] = stretch.update(trajectory, counts, t)
                stretch = None
            if stretch is None and plan.rest is not None:
                stretch = _Stretch(plan, t)
            inputs = [trajectory.weights[t], trajectory.grads[t], trajectory.lrs[t], *state]
            if counts is not None:
                inputs.append(counts[t])
            out = plan.step(*inputs)
            state = out[:n_state]
            if stretch is None:
                updates[t] = out[n_state]
            else:
                stretch.record(t, steps, out[n_state:])
            kinds = plan.new_kinds
            for i, value in enumerate(state):
                states[i][t] = value
        if stretch is not None:
            updates[stretch.start :] = stretch.update(trajectory, counts, steps)
    return Outputs(updates=updates, states=tuple(states))


class _Stretch:
    """Steps from `start` on that share one plan: what their steps exported, stacked."""

    def __init__(self, plan: StepPlan, start: int) -> None:
        self.plan, self.start = plan, start
        self.exports: list[Any] = []
        self.stacked: list[tuple[int, np.ndarray]] = []  # (export index, its steps)

    def record(self, t: int, steps: int, values: tuple[Any, ...]) -> None:
        if t == self.start:
            # a `const` value is the same on every step (it reads literals only): kept once
            self.exports = [
                value if kind == "const" else np.empty((steps - t, *np.shape(value)))
                for value, kind in zip(values, self.plan.export_kinds, strict=True)
            ]
            self.stacked = [
                (j, held)
                for j, (held, kind) in enumerate(
                    zip(self.exports, self.plan.export_kinds, strict=True)
                )
                if kind != "const"
            ]
        row = t - self.start
        for j, held in self.stacked:
            held[row] = values[j]

    def update(self, trajectory: Trajectory, counts: np.ndarray | None, end: int) -> Any:
        """The update of steps `start:end`, from their stacked inputs and exports."""
        part = slice(self.start, end)
        args = [trajectory.weights[part], trajectory.grads[part], trajectory.lrs[part]]
        if counts is not None:
            args.append(counts[part])
        n = end - self.start
        for held, kind in zip(self.exports, self.plan.export_kinds, strict=True):
            args.append(held if kind == "const" else held[:n])
        return self.plan.rest(*args)
