"""Compile a program into one straight-line Python function over numpy arrays.

The interpreter's inner loop (look every operand up in a dict, call the operator table's
implementation on arrays of a few dozen elements) spends most of its time in Python, not numpy.
Here a program becomes the source of one `step` function whose locals are the program's values:

    def step(v0, v1, v2, v3):          # weight, grad, lr, state ... (and `step` when read)
        v4 = f0(xp0, v1, v3)           # f0: OPS["interp"].implementation(semantics)
        v5 = f1(xp0, v4)
        return (v5, v4)                # update, new state ...

Every operator still comes from the one table in `lang/ops.py` (its implementation is bound in
the function's namespace, never re-spelled here), and the generated source contains only
generated identifiers (`v3`, `f0`, `c1`): program names, literals and hyperparameter values are
namespace entries, so no text a user wrote is ever compiled.

`fuse` lays several trajectories side by side on the last axis, so one call per statement and
step serves all of them; a scalar value is then held broadcast over its trajectory's columns, and
reductions (`xp.sum(x, axis=-1)`, the only one the table uses) sum each trajectory's columns
alone, with the very numpy call the interpreter makes on that trajectory alone. Which reduction a
statement needs (per trajectory, or none for a scalar that is already one) follows from the kinds
of its arguments; state starts as a zero tensor and may turn scalar, so kinds are followed step
by step and one function is generated per distinct state-kind signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lionsimplify.lang.ir import Const, Program, Var
from lionsimplify.lang.ops import OPS, Semantics

ValueKind = Literal["tensor", "scalar", "const"]
StepFn = Callable[..., tuple[Any, ...]]


class Unfusable(Exception):
    """The program reduces a value whose columns are not one trajectory's tensor or scalar."""


class _SegmentedNumpy:
    """numpy, except that `sum` over the last axis sums each trajectory's columns separately."""

    def __init__(self, bounds: Sequence[tuple[int, int]]) -> None:
        self._bounds = tuple(bounds)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    def sum(self, x: np.ndarray, axis: int = -1, keepdims: bool = True) -> np.ndarray:
        out = np.empty(x.shape)
        for lo, hi in self._bounds:
            out[..., lo:hi] = np.add.reduce(x[..., lo:hi], axis=-1, keepdims=True)  # = np.sum
        return out


class _ScalarNumpy:
    """numpy for reductions of scalars (held broadcast) and literals: a sum of one is itself."""

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def sum(x: np.ndarray, axis: int = -1, keepdims: bool = True) -> np.ndarray:
        return x


@dataclass(frozen=True)
class Compiled:
    """A program as generated step functions; `step_for(kinds)` picks one per state kinds."""

    program: Program
    semantics: Semantics
    params: tuple[tuple[str, float], ...]
    bounds: tuple[tuple[int, int], ...] | None
    """Column ranges of the fused trajectories; None: one trajectory, plain numpy."""
    reads_step: bool
    _cache: dict[tuple[ValueKind, ...], tuple[StepFn, tuple[ValueKind, ...]]]

    def step_for(self, state_kinds: tuple[ValueKind, ...]) -> tuple[StepFn, tuple[ValueKind, ...]]:
        """The step function for these state kinds, and the kinds of the new state it returns."""
        hit = self._cache.get(state_kinds)
        if hit is None:
            hit = self._cache[state_kinds] = _generate(self, state_kinds)
        return hit


def compile_step(
    program: Program,
    semantics: Semantics,
    params: Mapping[str, float],
    bounds: Sequence[tuple[int, int]] | None = None,
) -> Compiled:
    """Prepare `program` for repeated runs; step functions are generated on first use."""
    compiled = Compiled(
        program=program,
        semantics=semantics,
        params=tuple(sorted((k, float(v)) for k, v in params.items())),
        bounds=tuple(bounds) if bounds is not None else None,
        reads_step="step" in program.extras,
        _cache={},
    )
    if bounds is not None:  # find out now whether fusing works, for every step's kinds
        kinds: tuple[ValueKind, ...] = ("tensor",) * len(program.state)
        seen = set()
        while kinds not in seen:
            seen.add(kinds)
            kinds = compiled.step_for(kinds)[1]
    return compiled


def _result_kind(op_name: str, kinds: list[ValueKind]) -> ValueKind:
    if all(k == "const" for k in kinds):
        return "const"
    op = OPS[op_name]
    if op.result == "scalar":
        return "scalar"
    if op.result == "first":
        return kinds[0]
    return "tensor" if "tensor" in kinds else "scalar"


def _generate(
    compiled: Compiled, state_kinds: tuple[ValueKind, ...]
) -> tuple[StepFn, tuple[ValueKind, ...]]:
    program, params = compiled.program, dict(compiled.params)
    namespace: dict[str, Any] = {}
    names: dict[str, str] = {}  # program name -> current local
    kinds: dict[str, ValueKind] = {}
    inputs = [
        (program.weight, "tensor"),
        (program.grad, "tensor"),
        (program.lr, "scalar"),
        *zip(program.state, state_kinds, strict=True),
    ]
    if compiled.reads_step:
        inputs.append(("step", "scalar"))
    arglist = []
    for i, (name, kind) in enumerate(inputs):
        names[name], kinds[f"v{i}"] = f"v{i}", kind
        arglist.append(f"v{i}")
    xps: dict[str, str] = {}

    def xp_for(op_name: str, arg_kinds: list[ValueKind]) -> str:
        op = OPS[op_name]
        if compiled.bounds is None or op.reduction is None:
            variant = "plain"
        else:
            reduced = {k for k, want in zip(arg_kinds, op.kinds_ok(), strict=True) if want == "any"}
            if reduced == {"tensor"}:
                variant = "segmented"
            elif reduced <= {"scalar", "const"}:
                variant = "scalar"
            else:
                raise Unfusable(op_name)
        if variant not in xps:
            xps[variant] = f"xp{len(xps)}"
            namespace[xps[variant]] = {
                "plain": np,
                "segmented": _SegmentedNumpy(compiled.bounds or ()),
                "scalar": _ScalarNumpy(),
            }[variant]
        return xps[variant]

    impls: dict[Callable[..., Any], str] = {}
    lines = []
    fresh = len(inputs)
    for s in program.body:
        operands, arg_kinds = [], []
        for a in s.args:
            if isinstance(a, Var):
                local = names[a.name]
                operands.append(local)
                arg_kinds.append(kinds[local])
            else:
                # numpy floats: `1.0 / 0.0` is inf, as on arrays, not ZeroDivisionError
                value = np.float64(a.value if isinstance(a, Const) else params[a.name])
                cname = f"c{len(namespace)}"
                namespace[cname] = value
                operands.append(cname)
                arg_kinds.append("const")
        impl = OPS[s.op].implementation(compiled.semantics)
        if impl not in impls:
            impls[impl] = f"f{len(impls)}"
            namespace[impls[impl]] = impl
        xp = xp_for(s.op, arg_kinds)
        target = f"v{fresh}"
        fresh += 1
        lines.append(f"    {target} = {impls[impl]}({', '.join([xp, *operands])})")
        names[s.target] = target
        kinds[target] = _result_kind(s.op, arg_kinds)
    outs = [names[program.update], *(names[n] for n in program.new_state)]
    source = "\n".join(
        [f"def step({', '.join(arglist)}):", *lines, f"    return ({', '.join(outs)},)"]
    )
    exec(compile(source, f"<lionsimplify step {id(compiled):x}>", "exec"), namespace)  # noqa: S102
    new_kinds = tuple(kinds[names[n]] for n in program.new_state)
    return namespace["step"], new_kinds
