"""Property tests on programs generated the way evolutionary search makes them.

Programs start from the AdamW warm start and receive random insert/delete/modify mutations
(`lionsimplify.lang.mutate`), as in the Lion search. Each property is an invariant of DESIGN.md §4.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionsimplify.analysis.fingerprint import structural_hash
from lionsimplify.analysis.interp import random_trajectory, run
from lionsimplify.analysis.liveness import eliminate_dead_code
from lionsimplify.lang.ir import COPY, Const, Program, Stmt, Var
from lionsimplify.lang.mutate import adamw, mutate
from lionsimplify.lang.ops import OPS
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import reduce

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def programs(draw: st.DrawFn) -> Program:
    seed = draw(st.integers(0, 2**32 - 1))
    k = draw(st.integers(1, 10))
    return mutate(adamw(), random.Random(seed), mutations=k)


@SETTINGS
@given(programs())
def test_print_parse_round_trip(p: Program) -> None:
    text = print_program(p)
    assert parse_text(text) == p
    assert print_program(parse_text(text)) == text


@SETTINGS
@given(programs(), st.sampled_from(["math", "hero"]))
def test_dead_code_elimination_is_bit_identical(p: Program, semantics: str) -> None:
    reduced = eliminate_dead_code(p).program
    traj = random_trajectory(11, steps=50, size=5)
    a = run(p, traj, semantics=semantics).updates
    b = run(reduced, traj, semantics=semantics).updates
    np.testing.assert_array_equal(a, b)


@SETTINGS
@given(programs())
def test_reducing_twice_changes_nothing(p: Program) -> None:
    once = reduce(p, until="dce").program
    twice = reduce(once, until="dce")
    assert twice.program == once
    assert not twice.passes


def _rename(p: Program, rng: random.Random) -> Program:
    names = {p.weight, p.grad, p.lr, *p.state, *(s.target for s in p.body)}
    mapping = {n: f"x{i}_{rng.randrange(10**6)}" for i, n in enumerate(sorted(names))}
    r = lambda a: Var(mapping[a.name]) if isinstance(a, Var) else a  # noqa: E731
    body = tuple(Stmt(mapping[s.target], s.op, tuple(r(a) for a in s.args)) for s in p.body)
    return replace(
        p,
        weight=mapping[p.weight],
        grad=mapping[p.grad],
        lr=mapping[p.lr],
        state=tuple(mapping[s] for s in p.state),
        body=body,
        returns=tuple(mapping[x] for x in p.returns),
    )


def _reads(s: Stmt) -> set[str]:
    return {a.name for a in s.args if isinstance(a, Var)}


def _reorder(p: Program, rng: random.Random) -> Program:
    body = list(p.body)
    for _ in range(len(body)):
        if len(body) < 2:
            break
        i = rng.randrange(len(body) - 1)
        a, b = body[i], body[i + 1]
        if a.target != b.target and a.target not in _reads(b) and b.target not in _reads(a):
            body[i], body[i + 1] = b, a
    return p.with_body(body)


def _swap_commutative(p: Program) -> Program:
    body = []
    for s in p.body:
        if OPS[s.op].commutative:
            s = replace(s, args=s.args[::-1])
        elif s.op == "interp" and isinstance(s.args[2], Const):
            s = replace(s, args=(s.args[1], s.args[0], Const(1.0 - s.args[2].value)))
        body.append(s)
    return p.with_body(body)


def _add_dead(p: Program, rng: random.Random) -> Program:
    body = list(p.body)
    for n in range(3):
        i = rng.randrange(len(body) + 1)
        body.insert(i, Stmt(f"dead{n}_{rng.randrange(10**6)}", "cosh", (Var(p.grad),)))
    return p.with_body(body)


@SETTINGS
@given(programs(), st.integers(0, 2**32 - 1))
def test_structural_hash_invariances(p: Program, seed: int) -> None:
    rng = random.Random(seed)
    h = structural_hash(p)
    assert structural_hash(_rename(p, rng)) == h
    assert structural_hash(_reorder(p, rng)) == h
    assert structural_hash(_swap_commutative(p)) == h
    assert structural_hash(_add_dead(p, rng)) == h


@SETTINGS
@given(programs(), st.integers(0, 2**32 - 1))
def test_structural_hash_sees_a_changed_live_constant(p: Program, seed: int) -> None:
    live = eliminate_dead_code(p).program
    spots = [
        (i, j)
        for i, s in enumerate(live.body)
        for j, a in enumerate(s.args)
        if isinstance(a, Const) and s.op != COPY
    ]
    if not spots:
        return
    i, j = random.Random(seed).choice(spots)
    s = live.body[i]
    args = list(s.args)
    args[j] = Const(args[j].value * 1.5 + 0.25)
    body = list(live.body)
    body[i] = replace(s, args=tuple(args))
    assert structural_hash(live.with_body(body)) != structural_hash(live)
