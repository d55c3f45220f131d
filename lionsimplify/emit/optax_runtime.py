"""Any program, straight from the IR, as an `optax.GradientTransformation`.

This is how the evaluator (and the funnel) trains a candidate without emitting code: one generic
walker runs the program's statements with `jax.numpy`, looking every operation up in the operator
table (`lionsimplify.lang.ops`), so there is no list of function names here and the numbers are the
ones every other part of the project computes.

A program acts on one tensor (DESIGN.md §2); a model has a pytree of them. Each value in the
walker therefore has one of three kinds:

* `scalar`: one number shared by every parameter (literals, hyperparameters, `lr`, `step`, and
  the results of the `global` reductions `global_norm`, `dot`, `cosine_sim`);
* `leaf`: one number per parameter leaf (the result of the `leaf` reduction `norm`);
* `tensor`: one array per parameter leaf, shaped like it.

Elementwise operations run leaf by leaf with broadcasting. A reduction sees whole leaves: for a
`leaf` reduction each leaf is flattened; for a `global` one every leaf is flattened and
concatenated, so `global_norm` is the norm of the whole model and `clip` is optax's
`clip_by_global_norm`. The table's implementations reduce the last axis, which after flattening
is the whole leaf or the whole tree.

Sign convention: the program returns the update that the caller subtracts (`w = w - update`);
optax adds its updates to the parameters, so the transformation returns `-update`.

Compile once, train many: given `literals` (the values `program_literals` lists, as an array the
caller passes into its jitted function), the walker reads every literal and hyperparameter from
that array instead of baking it into the computation, so programs that differ only in their
numbers trace to the same XLA computation and share one compiled executable (in memory and in
JAX's persistent cache). The arithmetic is the same, in float32 throughout: a literal combined
with another inside an operation (`1 - a` in `interp`) is rounded to float32 first rather than
folded in double precision, a difference at float32 rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.ir import Const, Hyper, Operand, Program, Var
from lionsimplify.lang.ops import OPS, Op, Semantics, lookup

ValueKind = Literal["scalar", "leaf", "tensor"]
_ORDER: dict[ValueKind, int] = {"scalar": 0, "leaf": 1, "tensor": 2}


class ProgramState(NamedTuple):
    """Optimizer state: the step count (only when the program needs it) and one pytree, shaped
    like the parameters, per state variable of the program, in parameter order."""

    count: jax.Array | None
    state: tuple[Any, ...]


class _Value(NamedTuple):
    """A value in the walker: `data` is one array for `scalar`, a list (one per leaf) otherwise."""

    kind: ValueKind
    data: Any


def _op_for(name: str) -> Op:
    op = OPS.get(name) or lookup(name)
    if op is None:  # the parser only builds table names; guard against hand-made IR
        raise ProgramError(f"unknown operation `{name}` in the program", code="E201")
    return op


def check_hyperparams(program: Program, params: Mapping[str, float]) -> dict[str, float]:
    """The program's hyperparameter values, or the `ProgramError` (E205) naming every missing
    one at its first use, as everywhere else numbers are needed."""
    from lionsimplify.analysis.interp import require_params

    params = program.values(params)
    require_params(program, params)
    return {h: float(params[h]) for h in program.hyperparams()}


def _check_extras(program: Program) -> None:
    unknown = [e for e in program.extras if e != "step"]
    if unknown:
        raise ProgramError(
            f"unknown extra input{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
            Location(program.path),
            help="the only extra input is `step` (the 1-based step count)",
            code="E103",
        )


def _flat(x: jax.Array, size: int) -> jax.Array:
    """A leaf's value as a 1-D vector of `size` entries (scalars are broadcast)."""
    return jnp.broadcast_to(jnp.ravel(x), (size,)) if jnp.size(x) == 1 else jnp.ravel(x)


def program_literals(program: Program, params: Mapping[str, float]) -> list[float]:
    """The numbers `program_to_optax(..., literals=...)` reads: the program's literals in the
    order they appear, then its hyperparameters' values in the order `hyperparams()` gives."""
    values = [a.value for s in program.body for a in s.args if isinstance(a, Const)]
    return values + [float(params[h]) for h in program.hyperparams()]


class _Walker:
    """Runs a program's body over a pytree of parameters (see the module docstring)."""

    def __init__(
        self,
        program: Program,
        hyper: dict[str, float],
        semantics: Semantics,
        literals: Any = None,
    ):
        self.program = program
        self.hyper = hyper
        self.semantics = semantics
        self.impls = [(s, _op_for(s.op)) for s in program.body]
        self.literals = literals
        # slot of each literal operand (statement index, argument index) and hyperparameter
        consts = [(i, j) for i, s in enumerate(program.body) for j, a in enumerate(s.args)
                  if isinstance(a, Const)]  # fmt: skip
        self.const_slot = {pos: k for k, pos in enumerate(consts)}
        self.hyper_slot = {h: len(consts) + k for k, h in enumerate(program.hyperparams())}

    def run(
        self, env: dict[str, _Value], shapes: list[tuple[int, ...]]
    ) -> tuple[list[jax.Array], ...]:
        n = len(shapes)
        for i, (stmt, op) in enumerate(self.impls):
            args = [self._operand(a, env, (i, j)) for j, a in enumerate(stmt.args)]
            env[stmt.target] = self._apply(op, args, shapes)
        outs = []
        for name in self.program.returns:
            value = env[name]
            leaves = value.data if value.kind != "scalar" else [value.data] * n
            outs.append([jnp.broadcast_to(v, s) for v, s in zip(leaves, shapes, strict=True)])
        return tuple(outs)

    def _operand(self, a: Operand, env: dict[str, _Value], pos: tuple[int, int]) -> _Value:
        if isinstance(a, Var):
            return env[a.name]
        if isinstance(a, Const):
            if self.literals is not None:
                return _Value("scalar", self.literals[self.const_slot[pos]])
            return _Value("scalar", a.value)
        if isinstance(a, Hyper):
            if self.literals is not None:
                return _Value("scalar", self.literals[self.hyper_slot[a.name]])
            return _Value("scalar", self.hyper[a.name])
        raise TypeError(f"not an operand: {a!r}")

    def _apply(self, op: Op, args: list[_Value], shapes: list[tuple[int, ...]]) -> _Value:
        impl = op.implementation(self.semantics)
        if op.arity == 0:
            return _Value("scalar", impl(jnp))
        kind = max((a.kind for a in args), key=_ORDER.__getitem__)
        if op.reduction is None:
            if kind == "scalar":
                return _Value("scalar", impl(jnp, *(a.data for a in args)))
            per_leaf = [a.data if a.kind != "scalar" else [a.data] * len(shapes) for a in args]
            return _Value(kind, [impl(jnp, *xs) for xs in zip(*per_leaf, strict=True)])
        if kind == "scalar":
            # Every argument is one shared number: reduce it as a one-element vector.
            out = impl(jnp, *(jnp.reshape(jnp.asarray(a.data), (1,)) for a in args))
            return _Value("scalar", jnp.reshape(out, ()))
        sizes = [int(_size(s)) for s in shapes]
        if op.reduction == "leaf":
            outs = []
            for i, (shape, size) in enumerate(zip(shapes, sizes, strict=True)):
                xs = [_flat(_leaf(a, i), size) for a in args]
                out = impl(jnp, *xs)
                outs.append(jnp.reshape(out, shape if op.result == "first" else ()))
            return _Value(kind if op.result == "first" else "leaf", outs)
        # global: one vector over the whole tree
        xs = [
            jnp.concatenate([_flat(_leaf(a, i), size) for i, size in enumerate(sizes)])
            for a in args
        ]
        out = impl(jnp, *xs)
        if op.result != "first":
            return _Value("scalar", jnp.reshape(out, ()))
        pieces, start = [], 0
        for shape, size in zip(shapes, sizes, strict=True):
            pieces.append(jnp.reshape(out[start : start + size], shape))
            start += size
        return _Value("tensor", pieces)


def _leaf(value: _Value, i: int) -> Any:
    return value.data if value.kind == "scalar" else value.data[i]


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for d in shape:
        size *= d
    return size


def program_to_optax(
    program: Program,
    *,
    learning_rate: float | jax.Array | Callable[[jax.Array], jax.Array],
    params: Mapping[str, float],
    semantics: Semantics = "math",
    mu_dtype: Any = None,
    literals: Any = None,
) -> optax.GradientTransformation:
    """The program as an optax transformation.

    Each step computes, for the whole parameter pytree at once, the program's update `u` and the
    new state from the gradient `g`, the parameters `w`, the state (zeros at init, one array per
    state variable per parameter, stored as `mu_dtype` when given) and `lr`, then returns `-u`
    (optax adds updates: `w ← w - u`, as the program means).

    Args:
      program: the IR of a checked program.
      learning_rate: a float, a jax scalar (it may be traced, e.g. under `vmap`) or an optax
        schedule `count -> value`; the program's `lr` input receives its value at the current
        step (count 0 at the first step, as optax schedules expect).
      params: values of the program's named hyperparameters; a missing one is a `ProgramError`.
      semantics: `math` or `hero` (DESIGN.md §2), picking each op's implementation.
      mu_dtype: dtype of the state arrays; None keeps each parameter's dtype.
      literals: None, or an array holding `program_literals(program, params)` (typically an
        argument of the caller's jitted function, so that the numbers are traced, not compiled
        in: see the module docstring).
    """
    _check_extras(program)
    hyper = check_hyperparams(program, params)
    if semantics not in ("math", "hero"):
        raise ProgramError(f"unknown semantics `{semantics}` (expected math or hero)", code="E402")
    walker = _Walker(program, hyper, semantics, literals)
    needs_count = callable(learning_rate) or "step" in program.extras
    reads_weight = (
        any(isinstance(a, Var) and a.name == program.weight for s in program.body for a in s.args)
        or program.weight in program.returns
    )
    dtype = None if mu_dtype is None else jnp.dtype(mu_dtype)

    def init_fn(params_tree: Any) -> ProgramState:
        state = tuple(
            jax.tree.map(lambda p: jnp.zeros_like(p, dtype=dtype or p.dtype), params_tree)
            for _ in program.state
        )
        count = jnp.zeros([], jnp.int32) if needs_count else None
        return ProgramState(count=count, state=state)

    def update_fn(
        updates: Any, state: ProgramState, params: Any = None
    ) -> tuple[Any, ProgramState]:
        if reads_weight and params is None:
            raise ValueError(f"program `{program.name}` reads the weights: pass `params`")
        grads, treedef = jax.tree.flatten(updates)
        shapes = [jnp.shape(g) for g in grads]
        env: dict[str, _Value] = {program.grad: _Value("tensor", grads)}
        if reads_weight:
            weights = treedef.flatten_up_to(params)
            env[program.weight] = _Value("tensor", weights)
        for name, tree in zip(program.state, state.state, strict=True):
            env[name] = _Value("tensor", treedef.flatten_up_to(tree))
        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate
        env[program.lr] = _Value("scalar", jnp.asarray(lr))
        if "step" in program.extras:
            env["step"] = _Value("scalar", (state.count + 1).astype(jnp.float32))
        update, *new_state = walker.run(env, shapes)
        out = treedef.unflatten([-u.astype(g.dtype) for u, g in zip(update, grads, strict=True)])
        new = tuple(
            treedef.unflatten(
                [v.astype(o.dtype) for v, o in zip(vals, treedef.flatten_up_to(old), strict=True)]
            )
            for vals, old in zip(new_state, state.state, strict=True)
        )
        count = None if state.count is None else optax.safe_increment(state.count)
        return out, ProgramState(count=count, state=new)

    return optax.GradientTransformation(init_fn, update_fn)
