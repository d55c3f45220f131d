"""Rewrite rules as data: each a small named unit with the label it claims and why it is sound.

A `Rule` looks at one term and returns its replacement (plus the side condition it relies on),
or None. `rule_pass` turns a rule into a pipeline `Pass`: it rewrites every output term
bottom-up to a fixed point, writes the program back (one operation per line), and describes each
change. The rules are targeted on purpose: sympy's `simplify` is slow, reorders everything and
knows nothing about NaN or Hero's guarded division; each rule here is cheap (linear in the
program, with a budget on the number of rewrites) and says exactly what it does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lionsimplify.analysis.facts import factors, is_scalar, nonnegative, positive, product
from lionsimplify.analysis.symbolic import Node, Term, dataflow, format_term, program_from_terms
from lionsimplify.lang.ir import Const, Program
from lionsimplify.lang.ops import OPS, Semantics
from lionsimplify.passes.base import Condition, Context, Pass, PassResult
from lionsimplify.passes.verify import Label

#: Most rewrites one pass may make: rules only shrink or reshape terms, so this is never
#: reached on real programs; it bounds the time of a pass on adversarial input.
MAX_REWRITES = 10_000


@dataclass(frozen=True)
class Rewrite:
    node: Node
    side_condition: str | Condition | None = None


RewriteFn = Callable[[Term, Program, Context], Rewrite | None]


@dataclass(frozen=True)
class Rule:
    name: str
    label: Label
    rewrite: RewriteFn
    semantics: tuple[Semantics, ...] = ("math", "hero")
    stage: str = "exact"
    caveat: str = ""

    @property
    def why(self) -> str:
        return " ".join((self.rewrite.__doc__ or "").split())


def _walker(
    rule: Rule, program: Program, ctx: Context, seen: Callable[[Term, Rewrite], None]
) -> Callable[[Node], Node]:
    """Rewrite a term with `rule` bottom-up to a fixed point; `seen` hears of every rewrite."""
    memo: dict[Node, Node] = {}
    budget = [MAX_REWRITES]

    def walk(n: Node) -> Node:
        if not isinstance(n, Term):
            return n
        if n in memo:
            return memo[n]
        new: Node = Term(n.op, tuple(walk(a) for a in n.args))
        while isinstance(new, Term) and budget[0] > 0:
            r = rule.rewrite(new, program, ctx)
            if r is None or r.node == new:
                break
            budget[0] -= 1
            seen(new, r)
            new = walk(r.node)
        memo[n] = new
        return new

    return walk


def rewrite_term(rule: Rule, node: Node, program: Program, ctx: Context) -> Node:
    """`node` as `apply_rule` would rewrite it inside `program` (used to carry a side
    condition's term through the passes after the one that made it)."""
    return _walker(rule, program, ctx, lambda _t, _r: None)(node)


def apply_rule(rule: Rule, program: Program, ctx: Context) -> PassResult | None:
    """Rewrite every output of `program` with `rule`, bottom-up, to a fixed point."""
    if ctx.semantics not in rule.semantics:
        return None
    flow = dataflow(program)
    changes: dict[str, None] = {}
    conditions: dict[str, None] = {}
    structured: dict[Condition, None] = {}

    def seen(t: Term, r: Rewrite) -> None:
        changes[f"`{format_term(t, 3)}` → `{format_term(r.node, 3)}`"] = None
        if r.side_condition:
            conditions[str(r.side_condition)] = None
            if isinstance(r.side_condition, Condition):
                structured[r.side_condition] = None

    walk = _walker(rule, program, ctx, seen)
    outputs = tuple(walk(o) for o in flow.outputs)
    if not changes:
        return None
    return PassResult(
        program_from_terms(outputs, program),
        tuple(changes),
        {"rule": rule.why},
        tuple(conditions),
        tuple(structured),
    )


def rule_pass(rule: Rule) -> Pass:
    def run(program: Program, ctx: Context) -> PassResult | None:
        return apply_rule(rule, program, ctx)

    return Pass(rule.name, rule.label, run, stage=rule.stage, why=rule.why, caveat=rule.caveat)


def _const(n: Node, value: float) -> bool:
    return isinstance(n, Const) and n.value == value


# ---------------------------------------------------------------------------------------------
# The rules.


def fold_constants(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """An operation on literals only (`sqrt(0.627)`, `get_pi()`, `0.9 * 1.1`) is the number it
    computes, evaluated with the same float64 implementation and semantics the interpreter
    uses. Reductions are left alone (their value depends on the parameter's shape)."""
    op = OPS[t.op]
    if op.reduction is not None or not all(isinstance(a, Const) for a in t.args):
        return None
    with np.errstate(all="ignore"):
        value = float(op.implementation(ctx.semantics)(np, *(np.float64(a.value) for a in t.args)))
    return Rewrite(Const(value)) if np.isfinite(value) else None


def neutral_elements(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """`x * 1`, `x + 0`, `x - 0` are `x` (and `x / 1` under math semantics; under hero it is
    `x / (1 + 1e-8)`)."""
    a = t.args
    if t.op == "mul":
        if _const(a[1], 1.0):
            return Rewrite(a[0])
        if _const(a[0], 1.0):
            return Rewrite(a[1])
    if t.op == "add":
        if _const(a[1], 0.0):
            return Rewrite(a[0])
        if _const(a[0], 0.0):
            return Rewrite(a[1])
    if t.op == "sub" and _const(a[1], 0.0):
        return Rewrite(a[0])
    if t.op == "div" and ctx.semantics == "math" and _const(a[1], 1.0):
        return Rewrite(a[0])
    return None


def sqrt_of_square(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """`sqrt(x * x)` and `sqrt(square(x))` are `|x|` for every real x (under hero, `sqrt` of
    `|x²|` is the same)."""
    if t.op != "sqrt" or not isinstance(t.args[0], Term):
        return None
    inner = t.args[0]
    if inner.op == "square" or (inner.op == "mul" and inner.args[0] == inner.args[1]):
        return Rewrite(Term("abs", (inner.args[0],)))
    return None


def sign_from_ratio(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """`x / |x|` (and `|x| / x`) is `sign(x)` wherever x != 0; where x = 0 the original is NaN,
    so the rewrite only turns NaN into 0. Found anywhere in a product, e.g. `(m * lr) / |m|`."""
    if t.op not in ("div", "mul", "reciprocal"):
        return None
    fs = factors(t, ctx)
    for i, (f, e) in enumerate(fs):
        if not (isinstance(f, Term) and f.op == "abs"):
            continue
        for j, (g, e2) in enumerate(fs):
            if g == f.args[0] and e2 == -e:
                rest = [x for k, x in enumerate(fs) if k not in (i, j)]
                rest.insert(min(i, j), (Term("sign", (g,)), 1))
                return Rewrite(product(rest, program), Condition(g, "!= 0"))
    return None


def sign_of_sign(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """`sign(sign(x))` is `sign(x)`: sign maps {-1, 0, 1} to itself."""
    if t.op == "sign" and isinstance(t.args[0], Term) and t.args[0].op == "sign":
        return Rewrite(t.args[0])
    return None


def interp_endpoints(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """`interp(x, y, 0)` is `x` and `interp(x, y, 1)` is `y`: (1 - a)·x + a·y at a = 0 or 1."""
    if t.op != "interp":
        return None
    if _const(t.args[2], 0.0):
        return Rewrite(t.args[0])
    if _const(t.args[2], 1.0):
        return Rewrite(t.args[1])
    return None


def positive_factors_in_sign(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """sign(c·x) = sign(x) for every c > 0: a factor proved positive for every input (the
    learning rate, a positive literal, a bias correction `1 / (1 - β^step)`, a denominator
    `sqrt(v) + eps`) is dropped from the argument of `sign`. Under hero semantics a divisor y
    acts as y + 1e-8, so y >= 0 is enough there."""
    if t.op != "sign":
        return None
    fs = factors(t.args[0], ctx)
    if len(fs) < 2:
        return None
    keep, dropped, conds = [], [], []
    for f, e in fs:
        proof = positive(f, program, ctx)
        if proof is None and e < 0 and ctx.semantics == "hero":
            proof = nonnegative(f, program, ctx)
        if proof is None:
            keep.append((f, e))
        else:
            dropped.append(f)
            conds += proof.conditions
    if not dropped:
        return None
    if not keep:
        return Rewrite(Const(1.0), " and ".join(dict.fromkeys(conds)) or None)
    cond = " and ".join(dict.fromkeys(c for c in conds if ">" in c)) or None
    return Rewrite(Term("sign", (product(keep, program),)), cond)


def _weight_product(a: Node, b: Node) -> Node:
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(a.value * b.value)
    return Term("mul", (a, b))


def fold_interp_chain(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """interp(x, interp(x, y, a), b) = (1 - b)·x + b·((1 - a)·x + a·y) = interp(x, y, a·b):
    two interpolations towards the same x are one, with the product of the weights (computed
    exactly once, in float64). Likewise interp(interp(x, y, a), y, b) = interp(x, y,
    1 - (1 - a)·(1 - b))."""
    if t.op != "interp":
        return None
    x, inner, b = t.args
    if isinstance(inner, Term) and inner.op == "interp" and inner.args[0] == x:
        return Rewrite(Term("interp", (x, inner.args[1], _weight_product(inner.args[2], b))))
    first = t.args[0]
    if isinstance(first, Term) and first.op == "interp" and first.args[1] == t.args[1]:
        a = first.args[2]
        if isinstance(a, Const) and isinstance(b, Const):
            w: Node = Const(1.0 - (1.0 - a.value) * (1.0 - b.value))
            return Rewrite(Term("interp", (first.args[0], t.args[1], w)))
    return None


def interp_increment(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """interp(v, v + x, a) = (1 - a)·v + a·(v + x) = v + a·x: an interpolation towards an
    increment of v is a scaled increment (this is how AdaGrad reads as Program 6)."""
    if t.op != "interp":
        return None
    v, target, a = t.args
    if isinstance(target, Term) and target.op == "add" and v in target.args:
        x = target.args[1] if target.args[0] == v else target.args[0]
        return Rewrite(Term("add", (v, Term("mul", (x, a)))))
    return None


def factor_common_scalar(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """a·s + b·s = (a + b)·s: a scalar factor common to both terms of a sum (such as the scaled
    learning rate in `sign(c)·lr + wd·lr·w`) is taken out, which reveals decoupled weight decay
    `(sign(c) + wd·w)·lr`. Exact up to rounding."""
    if t.op != "add":
        return None
    fa, fb = factors(t.args[0], ctx), factors(t.args[1], ctx)
    common: list[tuple[Node, int]] = []
    rest_b = list(fb)
    rest_a = []
    for f in fa:
        if f[1] > 0 and is_scalar(f[0], program) and f in rest_b:
            common.append(f)
            rest_b.remove(f)
        else:
            rest_a.append(f)
    if not common or not any(not isinstance(f, Const) for f, _ in common):
        return None
    inner = Term("add", (product(rest_a, program), product(rest_b, program)))
    return Rewrite(Term("mul", (inner, product(common, program))))


HERO_CAVEAT = (
    "under hero semantics `x / sqrt(x * x)` is `x / (|x| + 1e-8)`, which is sign(x) only up to "
    "1e-8 (not exact for small x): there it is offered as the approximate ablation "
    "`sign-from-guarded-ratio` instead"
)

#: The exact rules, in the order the driver tries them (each verified on its own).
RULES: list[Rule] = [
    Rule("fold-constants", "exact", fold_constants),
    Rule("neutral-elements", "exact", neutral_elements),
    Rule("sqrt-of-square", "exact", sqrt_of_square),
    Rule("sign-from-ratio", "exact", sign_from_ratio, semantics=("math",), caveat=HERO_CAVEAT),
    Rule("sign-of-sign", "exact", sign_of_sign),
    Rule("interp-endpoints", "exact", interp_endpoints),
    Rule("positive-factors-in-sign", "exact", positive_factors_in_sign),
    Rule("fold-interp-chain", "exact", fold_interp_chain),
    Rule("interp-increment", "exact", interp_increment),
    Rule("factor-common-scalar", "exact", factor_common_scalar),
]
