"""Run many programs side by side on one short trajectory: the behavioural fingerprints.

`interp.run` on the fingerprint trajectory (6 steps, 8 numbers a step) spends nearly all its
time in Python: a few dozen numpy calls per program, each on 8 numbers. `dedup` fingerprints
thousands of programs, so here a batch of programs is run at once. Every value of every program
lives in one of two register files (tensors: `(slots, batch, size)`, scalars: `(slots, batch,
1)`), each statement writing a fresh slot. Statements are grouped by their depth in their
program's dataflow, their op and the kinds of their operands; a group is one call of the op's
implementation on its operands gathered from the files (literals and hyperparameter values as
per-program arrays of shape `(n, 1, 1)`), its results scattered back. A few hundred numpy calls
per step then serve the whole batch.

The implementations are the operator table's (`lang/ops.py`), applied elementwise or along the
last axis to each program's rows exactly as `interp` applies them to one program, so each
program's updates are the ones `interp.run` gives, bit for bit (`tests/test_batch_interp.py`).
A statement on literals alone is computed once, as `interp` computes it; a program whose state
turns scalar (or a literal) is laid out once per kinds of its state. A program this path does
not take (a hyperparameter without a value, a statement on literals that fails or gives no
single number) gets None: run it with `interp.run`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from lionsimplify.analysis.interp import Trajectory
from lionsimplify.lang.ir import Const, Program, Var
from lionsimplify.lang.ops import OPS, Semantics

#: Register files, and the kind of a literal operand.
_T, _S, _C = 0, 1, 2

#: Fixed slots: the weight and the gradient (tensors), the learning rate and `step` (scalars).
_WEIGHT, _GRAD, _LR, _STEP = 0, 1, 0, 1


class _Layout:
    """Slots of the programs taken so far, and their statements by (the steps they run in,
    depth, op, operand kinds)."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.size = [2, 2]
        self.groups: dict[tuple[int, ...], dict[tuple, list[tuple[list[Any], int]]]] = {}
        """Steps -> (depth, op, operand kinds) -> the statements: (operands, result slot)."""
        self.moves: dict[tuple[int, ...], list[tuple[list[int], list[int]]]] = {}
        """Steps -> for each file, (state input slots, the last step's output slots to copy)."""
        self.updates: dict[tuple[int, ...], list[tuple[list[int], list[int]]]] = {}
        """Steps -> for each file, (programs, the slots of their updates)."""
        self.literal_updates: list[tuple[int, tuple[int, ...], Any]] = []
        """(program, steps, value) of an update that is a literal."""
        self.programs = 0
        """Programs taken so far (rows of the result)."""
        self.everywhere = tuple(range(steps))

    def add(self, program: Program, values: Mapping[str, float], semantics: Semantics) -> bool:
        """Lay `program` out; False (and nothing laid out) when this path does not take it.

        State starts as a zero tensor and may turn scalar: the program is laid out once per
        distinct kinds of its state, each layout run at the steps whose state has those kinds
        (as `interp` follows them step by step)."""
        counts = list(self.size)
        kinds: tuple = (_T,) * len(program.state)
        key = kinds
        layouts: dict[tuple, tuple] = {}
        at: list[tuple] = []
        while len(at) < self.steps:
            if key not in layouts:
                laid = _lay(program, values, semantics, kinds, counts)
                if laid is None:
                    return False
                layouts[key] = laid
            at.append(key)
            # a state computed from literals alone is that literal at the next step
            kinds = tuple(o[0] if type(o) is tuple else (_C, o) for o in layouts[key][2])
            after = tuple(k if type(k) is int else _literal_key(k[1]) for k in kinds)
            if after == key:  # the same kinds from now on
                at.extend([key] * (self.steps - len(at)))
            key = after
        for state_kinds, (planned, _, _, update) in layouts.items():
            if len(layouts) == 1:  # (nearly every program)
                steps = self.everywhere
            else:
                steps = tuple(t for t, k in enumerate(at) if k == state_kinds)
            groups = self.groups.setdefault(steps, {})
            for group, operands, slot in planned:
                groups.setdefault(group, []).append((operands, slot))
            if type(update) is tuple:
                rows, slots = self.updates.setdefault(steps, [([], []), ([], [])])[update[0]]
                rows.append(self.programs)
                slots.append(update[1])
            else:
                self.literal_updates.append((self.programs, steps, update))
        pairs: dict[tuple[tuple, tuple], list[int]] = {}  # (layout before, layout now) -> steps
        for t in range(1, self.steps):
            pairs.setdefault((at[t - 1], at[t]), []).append(t)
        for (before, now), steps in pairs.items():
            moves = self.moves.setdefault(tuple(steps), [([], []), ([], [])])
            for into, source in zip(layouts[now][1], layouts[before][2], strict=True):
                if into is not None:  # (a literal state is no slot)
                    moves[into[0]][0].append(into[1])
                    moves[into[0]][1].append(source[1])
        self.programs += 1
        self.size = counts
        return True


def _literal_key(value: Any) -> tuple[str, bytes]:
    """A literal's type and bits: literals alike in both give the same results."""
    return type(value).__name__, np.float64(value).tobytes()


def _lay(
    program: Program,
    values: Mapping[str, float],
    semantics: Semantics,
    state_kinds: tuple,
    counts: list[int],
) -> tuple | None:
    """One step of `program` with state of these kinds (a file, or `(_C, value)` for a literal),
    on fresh slots (`counts` grows): its statements by group key, its state input slots (None
    for a literal), its new state and its update; None when this path does not take it.

    A statement on literals alone is computed here, once, on the very values `interp` gives it
    (numpy floats, or what an earlier such statement returned), and its result is a literal
    for the statements after it."""
    env: dict[str, Any] = {program.weight: (_T, _WEIGHT, 0), program.grad: (_T, _GRAD, 0)}
    env[program.lr] = (_S, _LR, 0)
    if "step" in program.extras:
        env["step"] = (_S, _STEP, 0)
    inputs: list[tuple[int, int] | None] = []
    for name, kind in zip(program.state, state_kinds, strict=True):
        if type(kind) is tuple:
            inputs.append(None)
            env[name] = kind[1]
            continue
        inputs.append((kind, counts[kind]))
        env[name] = (kind, counts[kind], 0)
        counts[kind] += 1
    planned: list[tuple[tuple[int, str, tuple[int, ...]], list[Any], int]] = []
    for stmt in program.body:  # (the hot loop of `dedup`'s behavioural hashes)
        operands: list[Any] = []
        kinds: list[int] = []
        depth = -1  # the deepest slot operand's depth; -1: literals only
        for a in stmt.args:
            if type(a) is Var:
                value = env[a.name]
            elif type(a) is Const:
                value = np.float64(a.value)
            elif a.name in values:
                value = np.float64(values[a.name])
            else:
                return None  # no value: `interp.run` says so
            operands.append(value)
            if type(value) is tuple:
                kinds.append(value[0])
                if value[2] > depth:
                    depth = value[2]
            else:
                kinds.append(_C)
        if depth >= 0:
            key = tuple(kinds)
            file = _result_file(stmt.op, key)
        else:
            try:
                with np.errstate(all="ignore"):
                    value = OPS[stmt.op].implementation(semantics)(np, *operands)
            except Exception:  # noqa: BLE001 - `interp.run` meets (and reports) it too
                return None
            if np.ndim(value) != 0:
                return None
            env[stmt.target] = value
            continue
        env[stmt.target] = (file, counts[file], depth + 1)
        planned.append(((depth + 1, stmt.op, key), operands, counts[file]))
        counts[file] += 1
    return planned, inputs, [env[n] for n in program.new_state], env[program.update]


@cache
def _result_file(op: str, kinds: tuple[int, ...]) -> int:
    """The register file of `op`'s result on operands of these kinds (a literal is a scalar),
    as the operator table says (`Op.result_kind`)."""
    kind = OPS[op].result_kind(["tensor" if k == _T else "scalar" for k in kinds])
    return _T if kind == "tensor" else _S


def run_batch(
    programs: Sequence[Program],
    trajectory: Trajectory,
    semantics: Semantics,
    values: Sequence[Mapping[str, float]],
) -> list[np.ndarray | None]:
    """Each program's updates `(steps, batch, size)` on `trajectory`, as `interp.run` gives
    them with `values` for its hyperparameters; None for a program this path does not take."""
    steps, batch, size = trajectory.grads.shape
    layout = _Layout(steps)
    taken = [layout.add(p, v, semantics) for p, v in zip(programs, values, strict=True)]
    if not any(taken):
        return [None] * len(programs)
    plan: list[list[_Group]] = [[] for _ in range(steps)]
    for active, group in _plan(layout, semantics):
        for t in active:
            plan[t].append(group)
    files = [np.zeros((layout.size[_T], batch, size)), np.zeros((layout.size[_S], batch, 1))]
    moves, gather = _by_step(layout.moves, steps), _by_step(layout.updates, steps)
    out = np.empty((layout.programs, steps, batch, size))
    for i, active, value in layout.literal_updates:
        out[i, list(active)] = value
    with np.errstate(all="ignore"):
        for t in range(steps):
            for file, ins, outs in moves[t]:  # (programs' slots are disjoint: any order)
                files[file][ins] = files[file][outs]
            files[_T][_WEIGHT] = trajectory.weights[t]
            files[_T][_GRAD] = trajectory.grads[t]
            files[_S][_LR] = trajectory.lrs[t]
            files[_S][_STEP] = float(t + 1)
            for impl, operands, (file, slots) in plan[t]:
                args = [files[o[0]][o[1]] if isinstance(o, tuple) else o for o in operands]
                files[file][slots] = impl(np, *args)
            for file, rows, slots in gather[t]:
                out[rows, t] = files[file][slots]
    results: list[np.ndarray | None] = []
    rows_out = iter(out)
    for ok in taken:
        results.append(next(rows_out) if ok else None)
    return results


def _by_step(
    by_steps: dict[tuple[int, ...], list[tuple[list[int], list[int]]]], steps: int
) -> list[list[tuple[int, np.ndarray, np.ndarray]]]:
    """Index pairs kept by the steps they apply at (`_Layout.moves`, `_Layout.updates`), as
    each step's list of (file, first indices, second indices)."""
    at: list[list[tuple[int, np.ndarray, np.ndarray]]] = [[] for _ in range(steps)]
    for active, files in by_steps.items():
        for file, (first, second) in enumerate(files):
            if first:
                pair = (file, np.array(first, int), np.array(second, int))
                for t in active:
                    at[t].append(pair)
    return at


_Group = tuple[
    Callable[..., Any], list[tuple[int, np.ndarray] | np.ndarray], tuple[int, np.ndarray]
]


def _plan(layout: _Layout, semantics: Semantics) -> list[tuple[tuple[int, ...], _Group]]:
    """The groups in order of depth, with the steps they run in: operands as (file, slots) or
    literal arrays `(n, 1, 1)`."""
    plan: list[tuple[tuple[int, ...], _Group]] = []
    groups = [(active, *g) for active, gs in layout.groups.items() for g in gs.items()]
    for active, (_, op, kinds), members in sorted(groups, key=lambda g: g[1][0]):
        operands: list[tuple[int, np.ndarray] | np.ndarray] = []
        for i, kind in enumerate(kinds):
            column = [m[0][i] for m in members]
            if kind == _C:
                operands.append(np.array(column, dtype=np.float64).reshape(-1, 1, 1))
            else:
                operands.append((kind, np.array([o[1] for o in column], int)))  # type: ignore[index]
        slots = np.array([m[1] for m in members], int)
        group = (OPS[op].implementation(semantics), operands, (_result_file(op, kinds), slots))
        plan.append((active, group))
    return plan
