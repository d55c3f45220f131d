"""Liveness across steps and dead-code elimination.

Within one step a statement is live if its value reaches the update. Across steps, the new value
of a state variable is live only if the *incoming* value of that variable is read by something
live in the next step; so liveness is a fixed point: start from the update, slice backwards, and
each time the slice reads a state input, add that state's returned value to the roots.

A state variable whose incoming value is never read by live code is dead: its parameter, its
return entry and every statement that only feeds it disappear. This is what the Hero library's
remover (which works within one step) misses on Program 8: `m = cosh(update)` is returned as the
new `m`, but the next step overwrites `m` before reading it.

Removing dead statements never changes a single bit of any update (the remaining statements run
the same operations on the same values), which the tests check under both semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

from lionsimplify.lang.ir import Program, Stmt, Var


@dataclass(frozen=True)
class Removal:
    stmt: Stmt
    index: int
    reason: str


@dataclass(frozen=True)
class DeadCode:
    program: Program
    removed: tuple[Removal, ...]
    removed_state: tuple[tuple[str, str], ...]
    """(state name, reason) for every state variable that disappeared."""


def _slice(
    body: tuple[Stmt, ...], roots: set[str], needed: set[int] | None = None
) -> tuple[set[int], set[str]]:
    """Indices of statements needed for `roots` (names live at the end) and inputs they read.

    With `needed` (statements already found needed for other roots), the slice extends it and
    stops at those statements: what they read is already in it."""
    live = set(roots)
    needed = set() if needed is None else needed
    for i in range(len(body) - 1, -1, -1):
        s = body[i]
        if s.target in live:
            live.discard(s.target)
            if i not in needed:
                needed.add(i)
                live.update([a.name for a in s.args if type(a) is Var])
    return needed, live


def live_statements(program: Program) -> tuple[set[int], set[int]]:
    """(indices of live statements, indices of live outputs) at the cross-step fixed point.

    Output 0 is the update; output k > 0 is the new value of `program.state[k - 1]`. Each
    round slices only from the outputs found live in the round before.
    """
    outputs = {0}
    roots = {program.returns[0]}
    needed: set[int] = set()
    while True:
        _, read = _slice(program.body, roots, needed)
        new = {k + 1 for k, s in enumerate(program.state) if s in read} - outputs
        if not new:
            return needed, outputs
        outputs |= new
        roots = {program.returns[k] for k in new}


def _restrict(program: Program, needed: set[int], outputs: set[int]) -> Program:
    """The program with only the `needed` statements and the state of the live `outputs`."""
    whole = len(needed) == len(program.body) and len(outputs) == len(program.returns)
    if whole and not program.defaults:  # (`with_body` drops the defaults of unread names)
        return program
    body = program.body
    kept = [body[i] for i in sorted(needed)]  # (in order; `dedup` cuts every program it reads)
    if len(outputs) == len(program.returns):
        return program.with_body(kept)
    return program.with_body(
        kept,
        state=tuple([s for k, s in enumerate(program.state) if k + 1 in outputs]),
        returns=tuple([r for k, r in enumerate(program.returns) if k == 0 or k in outputs]),
    )


def live_program(program: Program) -> Program:
    """`eliminate_dead_code(program).program` without working out the reasons (fast path for
    fingerprinting)."""
    return _restrict(program, *live_statements(program))


def _line(stmt: Stmt) -> str:
    return f" (line {stmt.loc.line})" if stmt.loc else ""


def eliminate_dead_code(program: Program) -> DeadCode:
    """Remove every statement and state variable that cannot affect any update."""
    body = program.body
    needed, outputs = live_statements(program)
    dead_states = [k for k in range(1, len(program.returns)) if k not in outputs]
    state_reason: dict[int, str] = {}
    for k in dead_states:
        name = program.state[k - 1]
        if any(s.target == name for s in body):
            state_reason[k] = f"state `{name}` is overwritten before it is read in the next step"
        else:
            state_reason[k] = f"state `{name}` is never read"

    # statements that only feed a dead state's returned value
    feeds_dead: dict[int, int] = {}
    for k in dead_states:
        only, _ = _slice(body, {program.returns[k]})
        for i in only - needed:
            feeds_dead.setdefault(i, k)

    removed: list[Removal] = []
    for i, s in enumerate(body):
        if i in needed:
            continue
        if i in feeds_dead:
            k = feeds_dead[i]
            reason = state_reason[k]
            if s.target != program.returns[k]:
                reason = f"only feeds the new value of dead {reason}"
        else:
            reason = _why_unused(body, i)
        removed.append(Removal(s, i, reason))

    new = _restrict(program, needed, outputs)
    removed_state = tuple((program.state[k - 1], state_reason[k]) for k in dead_states)
    return DeadCode(new, tuple(removed), removed_state)


def _why_unused(body: tuple[Stmt, ...], i: int) -> str:
    target = body[i].target
    for later in body[i + 1 :]:
        if any(isinstance(a, Var) and a.name == target for a in later.args):
            return f"`{target}` only feeds statements that are removed"
        if later.target == target:
            return f"`{target}` is overwritten{_line(later)} before it is read"
    return f"`{target}` is never read"
