"""Facts about terms that the rewrite rules need: products as factor lists, scalar-ness, sign.

`factors` reads a product/quotient tree (`*`, `/`, `negative`, `reciprocal`) as a list of
(factor, exponent ±1), so rules can cancel or drop factors wherever they sit in the tree, and
`product` writes such a list back (tensor factors first, then scalars, then divisions one by
one). Under `hero` semantics a division is `x / (y + 1e-8)`, which is not a product of factors,
so it stays one opaque factor there.

`positive` proves that a term is strictly positive for every input: the learning rate and `step`
are positive inputs (see absexec's input facts), literals and hyperparameters with a value are
what they are (a hyperparameter's positivity becomes a stated condition), and the operator
table's interval bounds do the rest, with one refinement the table's coarse `power` bound lacks:
`c ** e` with 0 < c < 1 and e ≥ 1 lies in (0, c], which is why `1 - β ** step` (bias correction)
is positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lionsimplify.analysis.symbolic import Node, Term
from lionsimplify.lang.ir import Const, Hyper, Program, Var
from lionsimplify.lang.ops import EPS, FULL, INF, OPS, Interval

if TYPE_CHECKING:  # analysis must not import passes at run time (passes import analysis)
    from lionsimplify.passes.base import Context

Factor = tuple[Node, int]


def factors(node: Node, ctx: Context) -> list[Factor]:
    """`node` as a product of factors with exponents +1 / -1.

    Under hero semantics each division `x / y` is `x / (y + 1e-8)`: its denominator is one
    factor taken whole (the guard applies to all of `y`), and `product` writes it back as its
    own division, so the guard stays where it was.
    """
    if isinstance(node, Term):
        op, args = node.op, node.args
        if op == "mul":
            return factors(args[0], ctx) + factors(args[1], ctx)
        if op == "negative":
            return [(Const(-1.0), 1), *factors(args[0], ctx)]
        if op in ("div", "reciprocal"):
            num = factors(args[0], ctx) if op == "div" else []
            den = args[-1]
            if ctx.semantics == "hero":
                return [*num, (den, -1)]
            return num + [(f, -e) for f, e in factors(den, ctx)]
    return [(node, 1)]


def product(fs: list[Factor], program: Program) -> Node:
    """Write factors back: tensors first, then scalars, then each division in turn."""
    num = [f for f, e in fs if e > 0]
    den = [f for f, e in fs if e < 0]
    num.sort(key=lambda f: is_scalar(f, program))
    acc: Node | None = None
    for f in num:
        acc = f if acc is None else Term("mul", (acc, f))
    for f in den:
        acc = Term("reciprocal", (f,)) if acc is None else Term("div", (acc, f))
    return acc if acc is not None else Const(1.0)


def is_scalar(node: Node, program: Program) -> bool:
    """True when `node` is one number per parameter tensor (not elementwise over the weight)."""
    if isinstance(node, Const | Hyper):
        return True
    if isinstance(node, Var):
        return node.name == program.lr or node.name in program.extras
    if OPS[node.op].result == "scalar":
        return True
    return all(is_scalar(a, program) for a in node.args)


@dataclass
class Proof:
    """Conditions a positivity proof relied on (hyperparameter values)."""

    conditions: list[str] = field(default_factory=list)


def interval(
    node: Node,
    program: Program,
    ctx: Context,
    proof: Proof,
    memo: dict[int, Interval] | None = None,
) -> Interval:
    """An interval holding every value of `node` (math bounds; hero ops are unbounded).

    Terms share subterms (a value used twice is one object), so results are remembered by
    identity in `memo`: without it the walk is exponential in the depth of the dataflow."""
    if memo is None:
        memo = {}
    key = id(node)
    if key not in memo:
        memo[key] = _interval(node, program, ctx, proof, memo)
    return memo[key]


def _interval(
    node: Node, program: Program, ctx: Context, proof: Proof, memo: dict[int, Interval]
) -> Interval:
    if isinstance(node, Const):
        return (node.value, node.value)
    if isinstance(node, Hyper):
        if node.name in ctx.params:
            v = float(ctx.params[node.name])
            proof.conditions.append(f"{node.name} = {v!r}")
            return (v, v)
        return FULL
    if isinstance(node, Var):
        if node.name == program.lr:
            return (0.0, INF)
        if node.name in program.extras:
            return (1.0, INF)
        return FULL
    op = OPS[node.op]
    args = [interval(a, program, ctx, proof, memo) for a in node.args]
    if ctx.semantics == "hero" and op.impl_hero is not None:
        if node.op in ("div", "reciprocal"):
            return _hero_ratio(node, program, ctx, proof, memo)
        if op.hero_abs:  # √|x|, ln |x|: the math bounds of |x|
            return op.bounds(OPS["abs"].bounds(args[0]))
        return FULL
    if node.op == "power":
        (b0, b1), (e0, e1) = args
        if b0 == b1 and 0 < b0 < 1 and e0 >= 0:
            return (0.0 if e1 == INF else b0**e1, b0**e0)
    if node.op == "mul" and node.args[0] == node.args[1]:
        return OPS["square"].bounds(args[0])
    try:
        lo, hi = op.bounds(*args)
    except (OverflowError, ValueError, ZeroDivisionError):
        return FULL
    return FULL if math.isnan(lo) or math.isnan(hi) else (lo, hi)


def _hero_ratio(
    node: Term, program: Program, ctx: Context, proof: Proof, memo: dict[int, Interval]
) -> Interval:
    den = interval(node.args[-1], program, ctx, proof, memo)
    num = (
        (1.0, 1.0) if node.op == "reciprocal" else interval(node.args[0], program, ctx, proof, memo)
    )
    return OPS["div"].bounds(num, (den[0] + EPS, den[1] + EPS))


def nonnegative(node: Node, program: Program, ctx: Context) -> Proof | None:
    """A proof that `node` >= 0 for every input, or None."""
    proof = Proof()
    if _positive(node, program, ctx, proof) or interval(node, program, ctx, proof)[0] >= 0:
        return proof
    return None


def positive(node: Node, program: Program, ctx: Context) -> Proof | None:
    """A proof that `node` > 0 for every input, or None when that cannot be shown."""
    proof = Proof()
    if _positive(node, program, ctx, proof):
        return proof
    return None


def _positive(
    node: Node,
    program: Program,
    ctx: Context,
    proof: Proof,
    memo: dict[int, bool] | None = None,
    ranges: dict[int, Interval] | None = None,
) -> bool:
    """Structural positivity, remembered by node identity (see `interval`)."""
    memo = {} if memo is None else memo
    ranges = {} if ranges is None else ranges
    key = id(node)
    if key not in memo:
        memo[key] = _positive_uncached(node, program, ctx, proof, memo, ranges)
    return memo[key]


def _positive_uncached(
    node: Node,
    program: Program,
    ctx: Context,
    proof: Proof,
    memo: dict[int, bool],
    ranges: dict[int, Interval],
) -> bool:
    def pos(n: Node) -> bool:
        return _positive(n, program, ctx, proof, memo, ranges)

    def nonneg(n: Node) -> bool:
        return pos(n) or interval(n, program, ctx, proof, ranges)[0] >= 0

    if isinstance(node, Var):
        return node.name == program.lr or node.name in program.extras
    if isinstance(node, Hyper) and node.name in ctx.params and ctx.params[node.name] > 0:
        proof.conditions.append(f"{node.name} > 0")
        return True
    if isinstance(node, Term):
        op, args = node.op, node.args
        hero = ctx.semantics == "hero"
        if op == "mul" or (op == "div" and not hero):
            return pos(args[0]) and pos(args[1])
        if op == "div":  # hero: x / (y + 1e-8)
            return pos(args[0]) and nonneg(args[1])
        if op == "reciprocal":
            return nonneg(args[0]) if hero else pos(args[0])
        if op == "add":
            return (pos(args[0]) and nonneg(args[1])) or (nonneg(args[0]) and pos(args[1]))
        if op == "power" or (op == "sqrt" and not hero):
            return pos(args[0])
        if op in ("exp", "exp2", "exp10", "cosh"):
            return True
    return interval(node, program, ctx, proof, ranges)[0] > 0
