"""Rewrite rules as data: each a small named unit with the label it claims and why it is sound.

Most rules are their math and nothing else: patterns such as `Pattern("sqrt(x * x)", "abs(x)")`
(`passes/patterns.py`). The few that look at a whole product, in any grouping and order of its
factors (`x / |x|` inside `(m * lr) / |m|`), are functions that declare the law they apply the
same way; `tests/test_rule_declarations.py` proves every law in sympy.

A `Rule` looks at one term and returns its replacement (plus the side condition it relies on),
or None. `rule_pass` turns a rule into a pipeline `Pass`: it rewrites every output term
bottom-up to a fixed point, writes the program back (one operation per line), and describes each
change. The rules are targeted on purpose: sympy's `simplify` is slow, reorders everything and
knows nothing about NaN or Hero's guarded division; each rule here is cheap (linear in the
program, with a budget on the number of rewrites) and says exactly what it does.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

import numpy as np

from lionsimplify.analysis.facts import factors, is_scalar, nonnegative, positive, product
from lionsimplify.analysis.symbolic import (
    Node,
    Term,
    dataflow,
    format_term,
    program_from_terms,
    subterms,
)
from lionsimplify.analysis.walk import bottom_up
from lionsimplify.lang.ir import Const, Program, Var
from lionsimplify.lang.ops import OPS, Semantics
from lionsimplify.passes.base import Condition, Context, Pass, PassResult
from lionsimplify.passes.patterns import Condition as When
from lionsimplify.passes.patterns import Pattern
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
    """A named rewrite with the label it claims.

    `law` declares what the rule does as patterns (`lhs` → `rhs` where a condition holds): for
    a rule made of patterns (`pattern_rule`) they are the rule itself; a rule written as a
    function (one that looks at a whole product, in any order and grouping of its factors)
    declares the law it applies. Tests prove every law in sympy and check it numerically.
    """

    name: str
    label: Label
    rewrite: RewriteFn
    semantics: tuple[Semantics, ...] = ("math", "hero")
    stage: str = "exact"
    caveat: str = ""
    law: tuple[Pattern, ...] = ()
    ops: frozenset[str] | None = None
    """The operations at which the rule can fire (None: any); a program without one of them
    is left alone at once, and other terms are not offered to the rule."""

    @property
    def why(self) -> str:
        return " ".join((self.rewrite.__doc__ or "").split())


def _rewriter(
    rule: Rule, program: Program, ctx: Context, seen: Callable[[Term, Rewrite], None]
) -> Callable[[Term], Rewrite | None]:
    """`rule` at one term, within the rewrite budget; `seen` hears of every rewrite."""
    ops = rule.ops
    budget = [MAX_REWRITES]

    def rewrite(t: Term) -> Rewrite | None:
        if budget[0] <= 0 or (ops is not None and t.op not in ops):
            return None
        r = rule.rewrite(t, program, ctx)
        if r is None or r.node == t:
            return None
        budget[0] -= 1
        seen(t, r)
        return r

    return rewrite


def rewrite_term(rule: Rule, node: Node, program: Program, ctx: Context) -> Node:
    """`node` as `apply_rule` would rewrite it inside `program` (used to carry a side
    condition's term through the passes after the one that made it)."""
    return rewrite_bottom_up(node, _rewriter(rule, program, ctx, lambda _t, _r: None), {})


def apply_rule(rule: Rule, program: Program, ctx: Context) -> PassResult | None:
    """Rewrite every output of `program` with `rule`, bottom-up, to a fixed point."""
    if ctx.semantics not in rule.semantics:
        return None
    ops = rule.ops
    if ops is not None and not any(s.op in ops for s in program.body):
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

    rewrite = _rewriter(rule, program, ctx, seen)
    memo: dict[Node, Node] = {}
    outputs = tuple(rewrite_bottom_up(o, rewrite, memo) for o in flow.outputs)
    if not changes:
        return None
    return PassResult(
        program_from_terms(outputs, program),
        tuple(changes),
        {"rule": rule.why},
        tuple(conditions),
        tuple(structured),
    )


def rewrite_bottom_up(
    root: Node, rewrite: Callable[[Term], Rewrite | None], memo: dict[Node, Node]
) -> Node:
    """`root` with `rewrite` applied at every term, children first, each result rewritten again
    until it is a fixed point. Iterative (no recursion limit) and linear: `memo` maps each term
    seen to its result, and each result to itself, so no subterm is ever walked twice."""

    def step(n: Term, args: tuple[Node, ...]) -> Node | Rewrite:
        """`n` over its rewritten `args`: settled, or the rewrite whose result needs a walk."""
        new = n if all(x is y for x, y in zip(args, n.args, strict=True)) else Term(n.op, args)
        r = rewrite(new)
        if r is None:
            memo[new] = new
            return new
        return r

    def walk(n: Node) -> Generator[Node, Node, Node]:
        if not isinstance(n, Term):
            return n
        args = []
        for a in n.args:
            args.append((yield a))
        out = step(n, tuple(args))
        return (yield out.node) if isinstance(out, Rewrite) else out

    # Most terms have nothing to rewrite: take them in post-order without a generator each;
    # only a rewrite's result is walked on `bottom_up`'s stack.
    for t in subterms([root]):
        if t in memo:
            continue
        out = step(t, tuple(memo[a] if isinstance(a, Term) else a for a in t.args))
        memo[t] = bottom_up(walk, out.node, memo) if isinstance(out, Rewrite) else out
    return memo[root] if isinstance(root, Term) else root


def rule_pass(rule: Rule) -> Pass:
    def run(program: Program, ctx: Context) -> PassResult | None:
        return apply_rule(rule, program, ctx)

    return Pass(rule.name, rule.label, run, stage=rule.stage, why=rule.why, caveat=rule.caveat)


def pattern_rule(name: str, why: str, *patterns: Pattern, **options: object) -> Rule:
    """A rule that tries `patterns` in order at each term; `why` is its one-line rationale."""

    def rewrite(t: Term, program: Program, ctx: Context) -> Rewrite | None:
        for p in patterns:
            node = p.apply(t, program, ctx.semantics)
            if node is not None:
                return Rewrite(node)
        return None

    rewrite.__doc__ = why
    ops = frozenset(p.lhs_tree[1] for p in patterns)
    return Rule(name, "exact", rewrite, law=patterns, ops=ops, **options)  # type: ignore[arg-type]


def _literals(*names: str) -> When:
    return lambda env, program: all(isinstance(env[n], Const) for n in names)


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


NEUTRAL_ELEMENTS = pattern_rule(
    "neutral-elements",
    "`x * 1`, `x + 0`, `x - 0` are `x` (and `x / 1` under math semantics; under hero it is "
    "`x / (1 + 1e-8)`).",
    Pattern("x * 1", "x"),
    Pattern("x + 0", "x"),
    Pattern("x - 0", "x"),
    Pattern("x / 1", "x", semantics=("math",)),
)

SQRT_OF_SQUARE = pattern_rule(
    "sqrt-of-square",
    "`sqrt(x * x)` and `sqrt(square(x))` are `|x|` for every real x (under hero, `sqrt` of "
    "`|x²|` is the same).",
    Pattern("sqrt(x * x)", "abs(x)"),
    Pattern("sqrt(square(x))", "abs(x)"),
)

SIGN_OF_SIGN = pattern_rule(
    "sign-of-sign",
    "`sign(sign(x))` is `sign(x)`: sign maps {-1, 0, 1} to itself.",
    Pattern("sign(sign(x))", "sign(x)"),
)

INTERP_ENDPOINTS = pattern_rule(
    "interp-endpoints",
    "`interp(x, y, 0)` is `x` and `interp(x, y, 1)` is `y`: (1 - a)·x + a·y at a = 0 or 1.",
    Pattern("interp(x, y, 0)", "x"),
    Pattern("interp(x, y, 1)", "y"),
)

POWER_AS_ROOT_OR_SQUARE = pattern_rule(
    "power-as-square-or-sqrt",
    "`x ** 2` is `square(x)`, and under math semantics `x ** 0.5` is `sqrt(x)` (under hero, "
    "`sqrt` acts on |x| and `power` does not): Python's spellings of the paper's functions.",
    Pattern("power(x, 2)", "square(x)"),
    Pattern("power(x, 0.5)", "sqrt(x)", semantics=("math",)),
)


def _weighted(t: Node) -> tuple[Node, float] | None:
    """`x * a` or `a * x` with `a` a literal: (x, a)."""
    if not (isinstance(t, Term) and t.op == "mul"):
        return None
    x, y = t.args
    if isinstance(y, Const) and not isinstance(x, Const):
        return x, y.value
    if isinstance(x, Const) and not isinstance(y, Const):
        return y, x.value
    return None


def ema_as_interp(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """a·x + b·y with literal weights that sum to 1, one of x and y a state variable, is
    interp(y, x, a) = (1 - a)·y + a·x: the moving average written out (`m = 0.9 * m + (1 -
    0.9) * g`) is the paper's `interp`, so it folds, aligns and is recognised like one. Other
    weighted sums are left as written (NAdam's `b1·m̂ + (1 - b1)·ĝ` is not a state's average).
    Exact up to the rounding of 1 - a against b."""
    if t.op != "add":
        return None
    left, right = _weighted(t.args[0]), _weighted(t.args[1])
    if left is None or right is None:
        return None
    (x, a), (y, b) = left, right
    state = {Var(s) for s in program.state}
    if x not in state and y not in state:
        return None
    if abs(a + b - 1.0) > 4 * np.finfo(np.float64).eps:
        return None
    return Rewrite(Term("interp", (y, x, Const(a))))


FOLD_INTERP_CHAIN = pattern_rule(
    "fold-interp-chain",
    "interp(x, interp(x, y, a), b) = (1 - b)·x + b·((1 - a)·x + a·y) = interp(x, y, a·b): "
    "two interpolations towards the same x are one, with the product of the weights (computed "
    "exactly once, in float64). Likewise interp(interp(x, y, a), y, b) = interp(x, y, "
    "1 - (1 - a)·(1 - b)).",
    Pattern("interp(x, interp(x, y, a), b)", "interp(x, y, a * b)"),
    Pattern(
        "interp(interp(x, y, a), y, b)",
        "interp(x, y, 1 - (1 - a) * (1 - b))",
        when=_literals("a", "b"),
    ),
)

INTERP_INCREMENT = pattern_rule(
    "interp-increment",
    "interp(v, v + x, a) = (1 - a)·v + a·(v + x) = v + a·x: an interpolation towards an "
    "increment of v is a scaled increment (this is how AdaGrad reads as Program 6).",
    Pattern("interp(v, v + x, a)", "v + x * a"),
)


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
    NEUTRAL_ELEMENTS,
    SQRT_OF_SQUARE,
    Rule(
        "sign-from-ratio",
        "exact",
        sign_from_ratio,
        ops=frozenset({"div", "mul", "reciprocal"}),
        semantics=("math",),
        caveat=HERO_CAVEAT,
        law=(
            Pattern("x / abs(x)", "sign(x)", semantics=("math",), assume={"x": "nonzero"}),
            Pattern("abs(x) / x", "sign(x)", semantics=("math",), assume={"x": "nonzero"}),
        ),
    ),
    SIGN_OF_SIGN,
    INTERP_ENDPOINTS,
    Rule(
        "positive-factors-in-sign",
        "exact",
        positive_factors_in_sign,
        ops=frozenset({"sign"}),
        law=(
            Pattern("sign(c * x)", "sign(x)", assume={"c": "positive"}),
            Pattern("sign(x / c)", "sign(x)", assume={"c": "positive"}),
        ),
    ),
    POWER_AS_ROOT_OR_SQUARE,
    Rule(
        "ema-as-interp",
        "exact",
        ema_as_interp,
        ops=frozenset({"add"}),
        law=(Pattern("x * a + y * (1 - a)", "interp(y, x, a)"),),
    ),
    FOLD_INTERP_CHAIN,
    INTERP_INCREMENT,
    Rule(
        "factor-common-scalar",
        "exact",
        factor_common_scalar,
        ops=frozenset({"add"}),
        law=(Pattern("a * s + b * s", "(a + b) * s", assume={"s": "scalar"}),),
    ),
]
