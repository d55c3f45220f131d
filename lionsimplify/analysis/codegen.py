"""Compile a program into straight-line code over numpy arrays.

The interpreter's inner loop (look every operand up in a dict, call the operator table's
implementation on arrays of a few dozen elements) spends most of its time in Python, not numpy.
Here a program is split in two, each part straight-line code whose locals are the program's
values:

    def step(v0, v1, v2, v3):          # weight, grad, lr, state ... (and `step` when read)
        v4 = f0(xp0, v1, v3)           # f0: OPS["interp"].implementation(semantics)
        return (v4, v4)                # new state ..., then the values `rest` reads

    rest(v0, v1, v2, v3):              # weight, grad, lr (, step), then what `step` handed on
        v4 = f1(xp0, v3)
        v4 = f2(xp0, v4, v1)           # a slot is reused once its value is dead
        return v4                      # the update

Only the statements the new state depends on must run step after step (the state carries from
one step to the next); `step` holds just those, as the source of a compiled function. The rest
of what the update needs reads that step's inputs and state only, so (when there is enough of
it to pay, see `STACK_FROM`) `rest` runs once over all steps, on arrays with the steps stacked
on a leading axis: a chain of thousands of statements after a one-line momentum is then
thousands of numpy calls in all, not thousands per step. Run once, `rest` is a loop over its
lines rather than compiled source (each numpy call on stacked steps takes far longer than
Python takes to dispatch it; compiling would not pay). The operators act elementwise or reduce
the last axis only, so each element is the very numpy computation it would be step by step.
Slots of dead values are reused, so a long chain holds a few arrays alive, not one per
statement (without reuse, a step of 10k statements holds 10k arrays until it returns).

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
by step and one pair of functions is generated per distinct state-kind signature.
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
class StepPlan:
    """A program's generated functions for one state-kind signature."""

    step: StepFn
    """(weight, grad, lr, *state[, step]) → (*new_state, *exports), one step at a time; with
    no `rest`, → (*new_state, update)."""
    new_kinds: tuple[ValueKind, ...]
    """Kinds of the new state `step` returns."""
    rest: StepFn | None
    """(weight, grad, lr[, step], *exports) → update, on inputs and exports of many steps
    stacked on a leading axis; None when too little is left to stack (`STACK_FROM`)."""
    export_kinds: tuple[ValueKind, ...]
    """Kinds of the exports: the state inputs and step-by-step values that `rest` reads. A
    `const` export is the same on every step and is passed once, not stacked."""


@dataclass(frozen=True)
class Compiled:
    """A program as generated functions; `step_for(kinds)` picks them per state kinds."""

    program: Program
    semantics: Semantics
    params: tuple[tuple[str, float], ...]
    bounds: tuple[tuple[int, int], ...] | None
    """Column ranges of the fused trajectories; None: one trajectory, plain numpy."""
    reads_step: bool
    _cache: dict[tuple[ValueKind, ...], StepPlan]

    def step_for(self, state_kinds: tuple[ValueKind, ...]) -> StepPlan:
        """The functions for a step whose state has these kinds."""
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
    """Prepare `program` for repeated runs; functions are generated on first use."""
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
            kinds = compiled.step_for(kinds).new_kinds
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


#: Statements in `rest` per value it reads from `step` from which running them stacked pays:
#: on the verification trajectories stacking saves about 10 µs a statement, while recording the
#: values and running on large arrays costs about 0.35 ms a run (measured on chains of 8 to 300
#: statements after a momentum: even at 30-50, faster from 100). Below it, all runs step by step.
STACK_FROM = 64

#: A statement as generated code sees it: implementation name, numpy variant name, operands
#: (value ids, or names of constants in the namespace).
_Call = tuple[str, str, tuple[int | str, ...]]


def _generate(compiled: Compiled, state_kinds: tuple[ValueKind, ...]) -> StepPlan:
    program, params = compiled.program, dict(compiled.params)
    namespace: dict[str, Any] = {}
    # values are numbered: the inputs first, then one per statement
    inputs = [
        (program.weight, "tensor"),
        (program.grad, "tensor"),
        (program.lr, "scalar"),
        *zip(program.state, state_kinds, strict=True),
    ]
    if compiled.reads_step:
        inputs.append(("step", "scalar"))
    names: dict[str, int] = {name: i for i, (name, _) in enumerate(inputs)}
    kinds: list[ValueKind] = [kind for _, kind in inputs]
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
    calls: list[_Call] = []
    for s in program.body:
        operands: list[int | str] = []
        arg_kinds: list[ValueKind] = []
        for a in s.args:
            if isinstance(a, Var):
                value = names[a.name]
                operands.append(value)
                arg_kinds.append(kinds[value])
            else:
                cname = f"c{len(namespace)}"
                # numpy floats: `1.0 / 0.0` is inf, as on arrays, not ZeroDivisionError
                namespace[cname] = np.float64(a.value if isinstance(a, Const) else params[a.name])
                operands.append(cname)
                arg_kinds.append("const")
        impl = OPS[s.op].implementation(compiled.semantics)
        if impl not in impls:
            impls[impl] = f"f{len(impls)}"
            namespace[impls[impl]] = impl
        calls.append((impls[impl], xp_for(s.op, arg_kinds), tuple(operands)))
        names[s.target] = len(kinds)
        kinds.append(_result_kind(s.op, arg_kinds))
    first = len(inputs)  # the value id of the first statement
    update, new_state = names[program.update], [names[n] for n in program.new_state]

    def needed(roots: Sequence[int], stop: set[int]) -> set[int]:
        """Statements (value ids) that `roots` depend on, not looking past `stop`."""
        out: set[int] = set()
        todo = [r for r in roots if r >= first and r not in stop]
        while todo:
            value = todo.pop()
            if value in out:
                continue
            out.add(value)
            todo.extend(
                a for a in calls[value - first][2] if isinstance(a, int) and a >= first
                and a not in stop
            )  # fmt: skip
        return out

    recurrent = needed(new_state, set())
    feed = needed([update], recurrent)
    # what `rest` reads of the values computed (or carried) step by step
    carried = recurrent | set(range(3, 3 + len(program.state)))
    read = {a for v in feed for a in calls[v - first][2] if isinstance(a, int)}
    exports = sorted((read | {update}) & carried)
    if len(feed) < STACK_FROM * max(len(exports), 1):  # all step by step, update included
        step = _listing(list(range(len(inputs))), sorted(recurrent | feed), calls,
                        [*new_state, update], first)  # fmt: skip
        return StepPlan(
            step=_function("step", step, namespace, compiled),
            new_kinds=tuple(kinds[v] for v in new_state),
            rest=None,
            export_kinds=(),
        )
    trajectory_inputs = [0, 1, 2, *([len(inputs) - 1] if compiled.reads_step else [])]
    step = _listing(list(range(len(inputs))), sorted(recurrent), calls,
                    [*new_state, *exports], first)  # fmt: skip
    rest = _listing([*trajectory_inputs, *exports], sorted(feed), calls, update, first)
    return StepPlan(
        step=_function("step", step, namespace, compiled),
        new_kinds=tuple(kinds[v] for v in new_state),
        rest=_loop(rest, namespace),
        export_kinds=tuple(kinds[v] for v in exports),
    )


@dataclass(frozen=True)
class _Listing:
    """Straight-line code over numbered local slots: `slots[target] = impl(xp, *operands)`,
    operands being slots or names of constants in the namespace."""

    params: int
    """Slots 0 .. params - 1 hold the arguments."""
    slots: int
    lines: list[tuple[int, str, str, tuple[int | str, ...]]]
    returns: list[int] | int


def _listing(args: list[int], body: list[int], calls: list[_Call], returns: list[int] | int,
             first: int) -> _Listing:  # fmt: skip
    """Place each value of `body` (value ids) in a slot, reusing the slot of a dead value, so a
    long chain holds a few arrays alive, not one per statement."""
    returned = [returns] if isinstance(returns, int) else returns
    last_use = {v: len(body) for v in returned}  # returned values live to the end
    for i in range(len(body) - 1, -1, -1):
        for a in calls[body[i] - first][2]:
            if isinstance(a, int):
                last_use.setdefault(a, i)
    slot = {v: i for i, v in enumerate(args)}
    free: list[int] = []
    count = len(args)
    lines = []
    for i, v in enumerate(body):
        impl, xp, operands = calls[v - first]
        placed = tuple(slot[a] if isinstance(a, int) else a for a in operands)
        for a in dict.fromkeys(a for a in operands if isinstance(a, int)):
            if last_use[a] == i:
                free.append(slot[a])
        if free:
            slot[v] = free.pop()
        else:
            slot[v], count = count, count + 1
        lines.append((slot[v], impl, xp, placed))
    out = slot[returns] if isinstance(returns, int) else [slot[v] for v in returns]
    return _Listing(len(args), count, lines, out)


def _function(
    name: str, listing: _Listing, namespace: dict[str, Any], compiled: Compiled
) -> StepFn:
    """`listing` as the source of `def name(v0, v1, ...)`, compiled: for code run many times."""

    def local(x: int | str) -> str:
        return f"v{x}" if isinstance(x, int) else x

    lines = [
        f"    v{target} = {impl}({', '.join([xp, *map(local, operands)])})"
        for target, impl, xp, operands in listing.lines
    ]
    if isinstance(listing.returns, int):
        result = f"v{listing.returns}"
    else:
        result = f"({''.join(f'v{v}, ' for v in listing.returns)})"
    params = ", ".join(f"v{i}" for i in range(listing.params))
    source = "\n".join([f"def {name}({params}):", *lines, f"    return {result}"])
    label = f"<lionsimplify {name} {id(compiled):x}>"
    exec(compile(source, label, "exec"), namespace)  # noqa: S102
    return namespace[name]


def _loop(listing: _Listing, namespace: dict[str, Any]) -> StepFn:
    """`listing` run by a loop over its lines: for code run once, on stacked steps, where each
    numpy call takes far longer than Python takes to dispatch it, and compiling would not pay."""
    consts = sorted({x for *_, operands in listing.lines for x in operands if isinstance(x, str)})
    at = {name: listing.slots + i for i, name in enumerate(consts)}
    lines = [
        (target, namespace[impl], namespace[xp],
         tuple(at[x] if isinstance(x, str) else x for x in operands))
        for target, impl, xp, operands in listing.lines
    ]  # fmt: skip
    values = [namespace[name] for name in consts]
    returns = listing.returns

    def run(*args: Any) -> Any:
        env: list[Any] = [*args, *[None] * (listing.slots - len(args)), *values]
        for target, fn, xp, operands in lines:
            env[target] = fn(xp, *[env[i] for i in operands])
        return env[returns] if isinstance(returns, int) else tuple(env[i] for i in returns)

    return run
