"""Every algebraic rule is proved from its declaration, in sympy and numerically.

A rule declares its law as patterns (`Pattern("sqrt(x * x)", "abs(x)")`); for a pattern rule
the declaration is the rule. Here each law is (1) proved as an identity by sympy under the
assumptions it states (`x` nonzero, `c` positive), (2) checked numerically with the operator
table's own numpy implementations under every semantics it is declared for, and (3) applied
by the rule itself to an instance of its left side, which must give the instance of its
right side (so a function rule does what its law says).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

from lionsimplify.analysis.symbolic import Node, Term
from lionsimplify.lang.ir import Const, Var
from lionsimplify.lang.ops import OPS
from lionsimplify.lang.parse import parse_text
from lionsimplify.passes.base import Context
from lionsimplify.passes.patterns import Pattern, Tree, build, match, parse_pattern, variables
from lionsimplify.passes.rules import RULES, Rule

#: Rules that are evaluation, not algebra: fold-constants computes an operation on literals with
#: the interpreter's own float64 implementation, so there is no identity to prove.
NOT_ALGEBRA = {"fold-constants"}

LAWS = [(r, p) for r in RULES if r.name not in NOT_ALGEBRA for p in r.law]
IDS = [f"{r.name}: {p.lhs} -> {p.rhs}" for r, p in LAWS]

PROGRAM = parse_text("def train(w, g, m, lr):\n  u = g * lr\n  return u, m\n", "<rules>")


def test_every_algebraic_rule_declares_its_law() -> None:
    assert {r.name for r in RULES if not r.law} == NOT_ALGEBRA


def _sympy(tree: Tree, syms: dict[str, Any]) -> Any:
    kind = tree[0]
    if kind == "var":
        return syms[tree[1]]
    if kind == "lit":
        return sp.nsimplify(tree[1])
    _, op, children = tree
    return OPS[op].sympy_form("math")(sp, *(_sympy(c, syms) for c in children))


def _symbol(name: str, assumption: str | None) -> Any:
    if assumption == "positive":
        return sp.Symbol(name, positive=True)
    if assumption == "nonzero":
        return sp.Symbol(name, real=True, nonzero=True)
    return sp.Symbol(name, real=True)


@pytest.mark.parametrize(("rule", "law"), LAWS, ids=IDS)
def test_law_is_an_identity_in_sympy(rule: Rule, law: Pattern) -> None:
    syms = {v: _symbol(v, law.assume.get(v)) for v in variables(law.lhs_tree)}
    lhs, rhs = _sympy(law.lhs_tree, syms), _sympy(law.rhs_tree, syms)
    assert sp.simplify(lhs - rhs) == 0


def _numpy(tree: Tree, values: dict[str, np.ndarray], semantics: str) -> np.ndarray:
    kind = tree[0]
    if kind == "var":
        return values[tree[1]]
    if kind == "lit":
        return np.float64(tree[1])
    _, op, children = tree
    args = [_numpy(c, values, semantics) for c in children]
    return OPS[op].implementation(semantics)(np, *args)  # type: ignore[union-attr]


@pytest.mark.parametrize(("rule", "law"), LAWS, ids=IDS)
def test_law_holds_numerically(rule: Rule, law: Pattern) -> None:
    rng = np.random.default_rng(0)
    for semantics in law.semantics:
        values = {}
        for v in variables(law.lhs_tree):
            x = rng.normal(size=64) * rng.choice([1e-3, 1.0, 1e3], size=64)
            if law.assume.get(v) == "positive":
                x = np.abs(x) + 1e-6
            elif law.assume.get(v) == "nonzero":
                x = np.where(x == 0, 1.0, x)
            if v in _LITERAL_WEIGHTS.get(rule.name, ()):
                x = rng.uniform(0.0, 1.0, size=64)
            values[v] = x
        with np.errstate(invalid="ignore"):  # `x ** 0.5` and `sqrt(x)` are both NaN for x < 0
            lhs = _numpy(law.lhs_tree, values, semantics)
            rhs = _numpy(law.rhs_tree, values, semantics)
        np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-12, err_msg=semantics)


#: interpolation weights (what the interp rules fold) drawn in [0, 1], as programs use them
_LITERAL_WEIGHTS = {
    "fold-interp-chain": ("a", "b"),
    "interp-increment": ("a",),
    "ema-as-interp": ("a",),
}


def _instance(rule: Rule, law: Pattern) -> dict[str, Node]:
    """Program values for the law's variables: positive ones and scalars the learning rate,
    literals where the law needs them (interp weights), the other inputs for the rest."""
    free = iter([Var("g"), Var("m"), Var("w")])
    env: dict[str, Node] = {}
    for v in variables(law.lhs_tree):
        if law.assume.get(v) in ("positive", "scalar"):
            env[v] = Var("lr")
        elif v in _LITERAL_WEIGHTS.get(rule.name, ()):
            env[v] = Const(0.25 if v == "a" else 0.5)
        else:
            env[v] = next(free)
    return env


@pytest.mark.parametrize(("rule", "law"), LAWS, ids=IDS)
def test_rule_does_what_its_law_says(rule: Rule, law: Pattern) -> None:
    assert rule.ops is None or law.lhs_tree[1] in rule.ops  # offered the terms its law matches
    for semantics in set(law.semantics) & set(rule.semantics):
        env = _instance(rule, law)
        lhs = build(law.lhs_tree, env, semantics)
        assert isinstance(lhs, Term)
        result = rule.rewrite(lhs, PROGRAM, Context(semantics, {}))
        assert result is not None, semantics
        expected = build(law.rhs_tree, env, semantics)
        assert result.node == expected, semantics


def test_patterns_match_commutative_arguments_in_either_order_and_repeated_variables() -> None:
    x_times_x = parse_pattern("sqrt(x * x)")
    g, m = Var("g"), Var("m")
    assert match(x_times_x, Term("sqrt", (Term("mul", (g, g)),))) == {"x": g}
    assert match(x_times_x, Term("sqrt", (Term("mul", (g, m)),))) is None
    one = parse_pattern("x * 1")
    assert match(one, Term("mul", (Const(1.0), g))) == {"x": g}
    assert match(parse_pattern("x - 0"), Term("sub", (Const(0.0), g))) is None


def test_a_malformed_declaration_is_refused() -> None:
    with pytest.raises(ValueError, match="not an op"):
        Pattern("sqrtt(x)", "x")
    with pytest.raises(ValueError, match="unbound"):
        Pattern("sign(x)", "y")
