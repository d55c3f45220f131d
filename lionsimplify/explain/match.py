"""Solve for a reference's hyperparameters by unifying its dataflow with a program's.

Both programs become expression terms (`analysis/symbolic.dataflow`: the update, then each new
state, over the inputs, literals and hyperparameters). The reference's terms are a pattern: its
hyperparameters are unknowns, its inputs stand for the program's inputs of the same role (state
variables may come in any order), and unification walks both terms together, solving for each
unknown where it meets a value:

- `b1` against `0.9` gives b1 = 0.9; a term of unknowns and literals (`1 - b1`) against a
  literal is an equation, solved with sympy (`1 - b1 = 0.1` gives b1 = 0.9);
- `+`, `*`, `maximum`, `minimum` match in either argument order, `interp(x, y, a)` also as
  `interp(y, x, 1 - a)`, and `square(x)` also as `x * x`;
- the reference's learning rate `lr` matches the program's `lr` or `lr * c` (then c is the
  learning-rate scale: the effective learning rate is c·lr);
- an added term that vanishes when its unknown is 0 (`+ eps`, `+ w * wd`) may be absent from
  the program: that unknown is 0 (`zeroed`).

A unifier that never fails on a mismatch but records it (`relaxed=True`) gives the nearest
reference and the structural difference (`arcsin(clip(g, lr))` where the reference reads `g`).
Unification only proposes constants; `recognize.py` decides by running both programs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice, permutations
from typing import Literal

import numpy as np

from lionsimplify.analysis.symbolic import Node, Term, dataflow, format_term
from lionsimplify.lang.ir import Const, Hyper, Program, Var
from lionsimplify.lang.ops import OPS

Leaf = Const | Hyper

#: Relative tolerance for two literals to be the same constant (one fitted twice).
CLOSE = 1e-9

#: Most solutions kept, and most term pairs visited, per reference (the terms are small; the
#: relaxed search prunes every branch that already costs more than the best solution found).
RELAXED_CAP = 4000
BUDGET = 6000
WAYS = 6


@dataclass(frozen=True)
class Difference:
    """Where a program departs from a reference: `extra` (the program wraps the reference's
    value in more operations), `missing` (the reference wraps it), or `replaced`. The terms
    are kept, and written out only for the solution that is reported."""

    kind: Literal["extra", "missing", "replaced"]
    reference: Node | None
    """None: the reference has no such state."""
    program: Node | tuple[str, ...] | None
    """None: the program has no such state; a tuple: the program's extra state names."""
    cost: int

    def texts(self) -> tuple[str, str]:
        ref = "(no such state)" if self.reference is None else format_term(self.reference)
        if self.program is None:
            return ref, "(no such state)"
        if isinstance(self.program, tuple):
            return ref, ", ".join(self.program)
        return ref, format_term(self.program)


@dataclass
class Unification:
    """A (partial) solution: values of the reference's unknowns and how inputs correspond."""

    hypers: dict[str, Leaf] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    """Reference input name -> program input name."""
    lr_scale: Leaf | None = None
    lr_seen: bool = False
    zeroed: set[str] = field(default_factory=set)
    diffs: list[Difference] = field(default_factory=list)

    def copy(self) -> Unification:
        return Unification(dict(self.hypers), dict(self.roles), self.lr_scale, self.lr_seen,
                           set(self.zeroed), list(self.diffs))  # fmt: skip

    @property
    def cost(self) -> int:
        return sum(d.cost for d in self.diffs)


@lru_cache(maxsize=4096)
def size(n: Node) -> int:
    """Operations in a term (terms cache their hash, so this is cheap to remember)."""
    return 1 + sum(size(a) for a in n.args) if isinstance(n, Term) else 0


def _close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=CLOSE, abs_tol=1e-300)


def _leaves(n: Node) -> Iterator[Node]:
    if isinstance(n, Term):
        for a in n.args:
            yield from _leaves(a)
    else:
        yield n


def _numeric(n: Node) -> float | None:
    """The value of a term of literals only (None if it reads an input or a hyperparameter)."""
    if isinstance(n, Const):
        return n.value
    if not isinstance(n, Term):
        return None
    args = [_numeric(a) for a in n.args]
    if any(a is None for a in args):
        return None
    with np.errstate(all="ignore"):
        out = OPS[n.op].impl(np, *(np.float64(a) for a in args))
    value = float(out)
    return value if math.isfinite(value) else None


class Unifier:
    def __init__(self, reference: Program, program: Program, relaxed: bool = False):
        self.ref = reference
        self.prog = program
        self.relaxed = relaxed
        self.calls = 0

    # -- leaves ----------------------------------------------------------------------------

    def _bind_hyper(self, name: str, n: Node, u: Unification) -> Iterator[Unification]:
        value: Leaf | None = n if isinstance(n, Const | Hyper) else None
        if value is None:
            number = _numeric(n)
            value = Const(number) if number is not None else None
        if value is None:
            return
        have = u.hypers.get(name)
        if have is None:
            u = u.copy()
            u.hypers[name] = value
            yield u
        elif _same_leaf(have, value):
            yield u

    def _var(self, p: Var, n: Node, u: Unification) -> Iterator[Unification]:
        role = self.ref.role(p.name)
        if role == "lr":
            scale: Leaf | None = None
            if isinstance(n, Var) and self.prog.role(n.name) == "lr":
                pass
            elif (
                isinstance(n, Term)
                and n.op == "mul"
                and any(isinstance(a, Var) and self.prog.role(a.name) == "lr" for a in n.args)
            ):
                other = n.args[1] if isinstance(n.args[0], Var) else n.args[0]
                if not isinstance(other, Const | Hyper):
                    return
                scale = other
            else:
                return
            if u.lr_seen and not _same_leaf(u.lr_scale, scale):
                return
            u = u.copy()
            u.lr_seen, u.lr_scale = True, scale
            u.roles[p.name] = self.prog.lr
            yield u
            return
        if not isinstance(n, Var):
            return
        prole = self.prog.role(n.name)
        if role is None or prole is None:
            return
        same_kind = role == prole or (role.startswith("state:") and prole.startswith("state:"))
        if not same_kind:
            return
        have = u.roles.get(p.name)
        if have is not None:
            if have == n.name:
                yield u
            return
        if n.name in u.roles.values():
            return
        u = u.copy()
        u.roles[p.name] = n.name
        yield u

    # -- terms -----------------------------------------------------------------------------

    def match(self, p: Node, n: Node, u: Unification) -> Iterator[Unification]:
        if not self.relaxed:
            yield from self._strict(p, n, u)
            return
        # relaxed: a few strict ways if there are any, else the cheapest mismatch (greedy, so
        # the search stays polynomial in the size of the terms)
        self.calls += 1
        if self.calls > BUDGET:
            return
        found = list(islice(self._strict(p, n, u), WAYS))
        if not found:
            found = [min(self._mismatch(p, n, u), key=lambda v: v.cost)]
        yield from sorted(found, key=lambda v: v.cost)

    def _strict(self, p: Node, n: Node, u: Unification) -> Iterator[Unification]:
        if isinstance(p, Var):
            yield from self._var(p, n, u)
            return
        if isinstance(p, Hyper):
            yield from self._bind_hyper(p.name, n, u)
            return
        if isinstance(p, Const):
            value = _numeric(n)
            if value is not None and _close(value, p.value):
                yield u
            return
        # p is a Term
        if not any(isinstance(x, Var) for x in _leaves(p)) and _numeric(n) is not None:
            yield from self._solve(p, n, u)
            return
        if isinstance(n, Term) and n.op == p.op and len(n.args) == len(p.args):
            yield from self._args(p.args, n.args, u)
            if OPS[p.op].commutative:
                yield from self._args(p.args, n.args[::-1], u)
            if p.op == "interp":
                yield from self._interp_swapped(p, n, u)
        if p.op == "square" and isinstance(n, Term) and n.op == "mul" and n.args[0] == n.args[1]:
            yield from self.match(p.args[0], n.args[0], u)  # x * x is square(x)
        yield from self._regrouped(p, n, u)
        if p.op == "add":
            for keep, drop in ((p.args[0], p.args[1]), (p.args[1], p.args[0])):
                h = _zeroable(drop)
                if h is not None and h not in u.hypers:
                    z = u.copy()
                    z.hypers[h] = Const(0.0)
                    z.zeroed.add(h)
                    yield from self.match(keep, n, z)

    def _args(
        self, ps: tuple[Node, ...], ns: tuple[Node, ...], u: Unification
    ) -> Iterator[Unification]:
        if not ps:
            yield u
            return
        for v in self.match(ps[0], ns[0], u):
            yield from self._args(ps[1:], ns[1:], v)

    def _regrouped(self, p: Term, n: Node, u: Unification) -> Iterator[Unification]:
        """`(a / b) * c` as `(c * a) / b` and the other way round: a factor (the learning rate,
        `lr * m_hat / d`) written before the division instead of after it."""
        if not isinstance(n, Term) or {p.op, n.op} != {"mul", "div"}:
            return
        prod, quot = (p, n) if p.op == "mul" else (n, p)
        inner = prod.args  # one side: (a / b) * c, in either order of the product
        if not (isinstance(quot.args[0], Term) and quot.args[0].op == "mul"):
            return
        x, y = quot.args[0].args  # the other: (x * y) / b
        for q, c in ((inner[0], inner[1]), (inner[1], inner[0])):
            if not (isinstance(q, Term) and q.op == "div"):
                continue
            for top, factor in ((x, y), (y, x)):
                a, b = (q.args[0], q.args[1]), (top, quot.args[1])
                pair = (a, b) if p is prod else (b, a)
                yield from self._args((*pair[0], c if p is prod else factor),
                                      (*pair[1], factor if p is prod else c), u)  # fmt: skip

    def _interp_swapped(self, p: Term, n: Term, u: Unification) -> Iterator[Unification]:
        a, c = p.args[2], n.args[2]
        value = _numeric(c)
        if value is None:
            return
        for v in self._args(p.args[:2], (n.args[1], n.args[0]), u):
            yield from self._strict(a, Const(1.0 - value), v)

    def _solve(self, p: Term, n: Node, u: Unification) -> Iterator[Unification]:
        """A term of unknowns and literals against a value: an equation, solved by sympy."""
        target = _numeric(n)
        if target is None:
            return
        unknown = sorted({x.name for x in _leaves(p) if isinstance(x, Hyper)} - set(u.hypers))
        if len(unknown) > 1:
            return
        if not unknown:
            value = _numeric(_substitute(p, u.hypers))
            if value is not None and _close(value, target):
                yield u
            return
        import sympy as sp

        h = unknown[0]
        sym = sp.Symbol(h)
        expr = _to_sympy(_substitute(p, u.hypers), sp, {h: sym})
        if expr is None:
            return
        for root in sp.solve(sp.Eq(expr, sp.Float(target, 17)), sym):
            if root.is_real:
                v = u.copy()
                v.hypers[h] = Const(float(root))
                yield v

    def _mismatch(self, p: Node, n: Node, u: Unification) -> Iterator[Unification]:
        """Relaxed mode: the program wraps the reference's value (`extra`), the reference
        wraps the program's (`missing`), or the two simply differ (`replaced`)."""
        if isinstance(n, Term):
            for a in n.args:
                if isinstance(a, Term | Var):
                    for v in islice(self.match(p, a, u), 1):
                        yield _with(v, Difference("extra", p, n, size(n) - size(a)))
        if isinstance(p, Term):
            for a in p.args:
                if isinstance(a, Term | Var):
                    for v in islice(self.match(a, n, u), 1):
                        yield _with(v, Difference("missing", p, n, size(p) - size(a)))
        yield _with(u, Difference("replaced", p, n, max(1, size(p) + size(n))))


def _with(u: Unification, d: Difference) -> Unification:
    v = u.copy()
    v.diffs.append(d)
    return v


def _same_leaf(a: Leaf | None, b: Leaf | None) -> bool:
    if isinstance(a, Const) and isinstance(b, Const):
        return _close(a.value, b.value)
    return a == b


def _zeroable(n: Node) -> str | None:
    """The unknown whose value 0 makes `n` vanish: `eps` or `w * wd` (None otherwise)."""
    if isinstance(n, Hyper):
        return n.name
    if isinstance(n, Term) and n.op == "mul":
        for a in n.args:
            if isinstance(a, Hyper):
                return a.name
    return None


def _substitute(p: Node, values: dict[str, Leaf]) -> Node:
    if isinstance(p, Hyper) and isinstance(values.get(p.name), Const):
        return values[p.name]
    if isinstance(p, Term):
        return Term(p.op, tuple(_substitute(a, values) for a in p.args))
    return p


def _to_sympy(p: Node, sp: object, symbols: dict[str, object]) -> object | None:
    if isinstance(p, Const):
        return sp.Float(p.value, 17)  # type: ignore[attr-defined]
    if isinstance(p, Hyper):
        return symbols.get(p.name)
    if isinstance(p, Term):
        args = [_to_sympy(a, sp, symbols) for a in p.args]
        if any(a is None for a in args):
            return None
        return OPS[p.op].sym(sp, *args)
    return None


def unify(reference: Program, program: Program, *, relaxed: bool = False) -> list[Unification]:
    """Every way (strict) or the cheapest ways (relaxed) `reference` matches `program`.

    Outputs correspond by role: the update with the update, and each new state of the
    reference with the new state of the program variable its state input was matched to."""
    rf, pf = dataflow(reference).outputs, dataflow(program).outputs
    un = Unifier(reference, program, relaxed)
    results: list[Unification] = []
    for u in un.match(rf[0], pf[0], Unification()):
        for v in _states(un, reference, program, rf, pf, u):
            results.append(v)
            if len(results) >= RELAXED_CAP:
                break
        if len(results) >= RELAXED_CAP:
            break
    if relaxed and results:
        best = min(v.cost for v in results)
        results = [v for v in results if v.cost == best]
    return results


def _states(
    un: Unifier,
    reference: Program,
    program: Program,
    rf: tuple[Node, ...],
    pf: tuple[Node, ...],
    u: Unification,
) -> Iterator[Unification]:
    """Match the new states, pairing state variables the update did not already pair."""
    ref_states, prog_states = reference.state, program.state
    if len(ref_states) != len(prog_states) and not un.relaxed:
        return
    free_ref = [s for s in ref_states if s not in u.roles]
    free_prog = [s for s in prog_states if s not in u.roles.values()]
    pairings = (
        [list(zip(free_ref, perm, strict=False)) for perm in permutations(free_prog, len(free_ref))]
        if len(free_prog) >= len(free_ref)
        else [
            list(zip(perm, free_prog, strict=False))
            for perm in permutations(free_ref, len(free_prog))
        ]
    )
    for pairing in pairings or [[]]:
        v = u.copy()
        v.roles.update(dict(pairing))
        yield from _state_outputs(un, reference, program, rf, pf, v, 0)


def _state_outputs(
    un: Unifier,
    reference: Program,
    program: Program,
    rf: tuple[Node, ...],
    pf: tuple[Node, ...],
    u: Unification,
    i: int,
) -> Iterator[Unification]:
    if i == len(reference.state):
        extra = [s for s in program.state if s not in u.roles.values()]
        if extra:
            if not un.relaxed:
                return
            cost = sum(size(pf[1 + program.state.index(s)]) + 1 for s in extra)
            u = _with(u, Difference("extra", None, tuple(extra), cost))
        yield u
        return
    name = reference.state[i]
    mapped = u.roles.get(name)
    if mapped is None:  # relaxed: the program has fewer state variables
        v = _with(u, Difference("missing", rf[1 + i], None, size(rf[1 + i]) + 1))
        yield from _state_outputs(un, reference, program, rf, pf, v, i + 1)
        return
    j = program.state.index(mapped)
    for v in un.match(rf[1 + i], pf[1 + j], u):
        yield from _state_outputs(un, reference, program, rf, pf, v, i + 1)
