"""Facts about terms that the rewrite rules need: products as factor lists, scalar-ness, sign.

`factors` reads a product/quotient tree (`*`, `/`, `negative`, `reciprocal`) as a list of
(factor, exponent ±1), so rules can cancel or drop factors wherever they sit in the tree, and
`product` writes such a list back (tensor factors first, then scalars, then divisions one by
one). Under `hero` semantics a division is `x / (y + 1e-8)`, which is not a product of factors,
so it stays one opaque factor there.

`positive` proves that a term is strictly positive for every input. Inputs' ranges come from the
one domain table (`lang/domains.py`): `step` is >= 1, but the learning rate is only >= 0 (a
schedule reaches 0), so a proof that needs `lr > 0` records it as a condition the rule prints;
literals and hyperparameters with a value are
what they are (a hyperparameter's positivity becomes a stated condition), and the operator
table's interval bounds do the rest, with one refinement the table's coarse `power` bound lacks:
`c ** e` with 0 < c < 1 and e ≥ 1 lies in (0, c], which is why `1 - β ** step` (bias correction)
is positive.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lionsimplify.analysis.absexec import input_facts
from lionsimplify.analysis.symbolic import Node, Term
from lionsimplify.analysis.walk import bottom_up
from lionsimplify.lang.domains import input_domains, lr_positive
from lionsimplify.lang.ir import Const, Hyper, Program, Var
from lionsimplify.lang.ops import EPS, FULL, INF, OPS, Interval

if TYPE_CHECKING:  # analysis must not import passes at run time (passes import analysis)
    from lionsimplify.passes.base import Context

Factor = tuple[Node, int]


def factors(node: Node, ctx: Context) -> list[Factor]:
    """`node` as a product of factors with exponents +1 / -1, in left-to-right order.

    Under hero semantics each division `x / y` is `x / (y + 1e-8)`: its denominator is one
    factor taken whole (the guard applies to all of `y`), and `product` writes it back as its
    own division, so the guard stays where it was. Iterative: a product can be a long chain.
    """
    out: list[Factor] = []
    todo: list[tuple[Node, int, bool]] = [
        (node, 1, False)
    ]  # (node, exponent, whole), leftmost last
    while todo:
        n, e, whole = todo.pop()
        if whole or not isinstance(n, Term) or n.op not in _PRODUCT_OPS:
            out.append((n, e))
            continue
        args = n.args
        if n.op == "mul":
            todo += [(args[1], e, False), (args[0], e, False)]
        elif n.op == "negative":
            out.append((Const(-1.0), e))
            todo.append((args[0], e, False))
        else:
            todo.append((args[-1], -e, ctx.semantics == "hero"))
            if n.op == "div":
                todo.append((args[0], e, False))
    return out


_PRODUCT_OPS = frozenset({"mul", "negative", "div", "reciprocal"})


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
    """True when `node` is one number per parameter tensor (not elementwise over the weight).

    Remembered per term (weakly, so results die with their terms) for each choice of scalar
    inputs: rules ask this of every factor of every product, and a term is a whole chain."""
    scalars = frozenset(n for n, f in input_facts(program).items() if f.kind == "scalar")
    if not isinstance(node, Term):
        return _scalar_leaf(node, scalars)
    memo = _SCALAR.setdefault(scalars, weakref.WeakKeyDictionary())

    def step(t: Term) -> Generator[Node, bool, bool]:
        if OPS[t.op].result == "scalar":
            return True
        for a in t.args:
            if not ((yield a) if isinstance(a, Term) else _scalar_leaf(a, scalars)):
                return False
        return True

    return bottom_up(step, node, memo)


#: per set of scalar inputs (as abstract execution's input table says), scalar-ness per term
_SCALAR: dict[frozenset[str], weakref.WeakKeyDictionary[Term, bool]] = {}


def _scalar_leaf(node: Node, scalars: frozenset[str]) -> bool:
    return node.name in scalars if isinstance(node, Var) else True


@dataclass
class Proof:
    """Conditions a positivity proof relied on (hyperparameter values)."""

    conditions: list[str] = field(default_factory=list)


def interval(
    node: Node,
    program: Program,
    ctx: Context,
    proof: Proof,
    memo: dict[Node, Interval] | None = None,
) -> Interval:
    """An interval holding every value of `node` (math bounds; hero ops are unbounded).

    Terms share subterms, so results are remembered per term in `memo` (without it the walk is
    exponential in the depth of the dataflow); the walk is iterative, as terms are deep."""
    if not isinstance(node, Term):
        return _leaf_interval(node, program, ctx, proof)

    def step(t: Term) -> Generator[Node, Interval, Interval]:
        args = []
        for a in t.args:
            args.append(
                (yield a) if isinstance(a, Term) else _leaf_interval(a, program, ctx, proof)
            )
        return _op_interval(t, args, ctx)

    return bottom_up(step, node, {} if memo is None else memo)


def _leaf_interval(node: Node, program: Program, ctx: Context, proof: Proof) -> Interval:
    if isinstance(node, Const):
        return (node.value, node.value)
    if isinstance(node, Hyper):
        if node.name in ctx.params:
            v = float(ctx.params[node.name])
            proof.conditions.append(f"{node.name} = {v!r}")
            return (v, v)
        return FULL
    assert isinstance(node, Var)
    if node.name in program.state:  # any value after the first step
        return FULL
    domain = input_domains(program).get(node.name)  # the one table of input domains
    return domain.interval if domain else FULL


def _op_interval(node: Term, args: list[Interval], ctx: Context) -> Interval:
    op = OPS[node.op]
    if ctx.semantics == "hero" and op.impl_hero is not None:
        if node.op in ("div", "reciprocal"):  # x / (y + 1e-8)
            den = args[-1]
            num = (1.0, 1.0) if node.op == "reciprocal" else args[0]
            return OPS["div"].bounds(num, (den[0] + EPS, den[1] + EPS))
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


def nonnegative(node: Node, program: Program, ctx: Context) -> Proof | None:
    """A proof that `node` >= 0 for every input, or None."""
    proof = Proof()
    if interval(node, program, ctx, proof)[0] >= 0:
        return proof
    proof = Proof()  # only when the range does not show it: positivity may need `lr > 0`
    if _positive(node, program, ctx, proof):
        return proof
    return None


def positive(node: Node, program: Program, ctx: Context) -> Proof | None:
    """A proof that `node` > 0 for every input, or None when that cannot be shown."""
    proof = Proof()
    if _positive(node, program, ctx, proof):
        return proof
    return None


def _positive(node: Node, program: Program, ctx: Context, proof: Proof) -> bool:
    """Structural positivity, remembered per node; iterative (see `interval`)."""
    ranges: dict[Node, Interval] = {}
    hero = ctx.semantics == "hero"

    def nonneg(n: Node) -> Generator[Node, bool, bool]:
        return (yield n) or interval(n, program, ctx, proof, ranges)[0] >= 0

    def step(node: Node) -> Generator[Node, bool, bool]:
        if isinstance(node, Var):
            if node.name == program.lr:
                proof.conditions.append(lr_positive(program))
                return True
            return node.name in program.extras
        if isinstance(node, Hyper) and node.name in ctx.params and ctx.params[node.name] > 0:
            proof.conditions.append(f"{node.name} > 0")
            return True
        if isinstance(node, Term):
            op, args = node.op, node.args
            if op == "mul" or (op == "div" and not hero):
                return (yield args[0]) and (yield args[1])
            if op == "div":  # hero: x / (y + 1e-8)
                return (yield args[0]) and (yield from nonneg(args[1]))
            if op == "reciprocal":
                return (yield from nonneg(args[0])) if hero else (yield args[0])
            if op == "add":
                return ((yield args[0]) and (yield from nonneg(args[1]))) or (
                    (yield from nonneg(args[0])) and (yield args[1])
                )
            if op == "power" or (op == "sqrt" and not hero):
                return (yield args[0])
        # everything else by its interval: exp(x) is positive in math but 0.0 in float64 once x
        # is below about -745, so it is positive only where its argument's bounds say so
        return interval(node, program, ctx, proof, ranges)[0] > 0

    return bottom_up(step, node, {})
