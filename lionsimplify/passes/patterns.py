"""Rewrite rules written as their math: `Pattern("sqrt(x * x)", "abs(x)")`.

A pattern's two sides are expressions in the program language, parsed with `ast` (never
evaluated): calls name operations of the operator table, `+ - * /` and unary `-` are `add`,
`sub`, `mul`, `div` and `negative`, numbers are literals that must match exactly, and every other
name is a pattern variable that matches any value (a variable used twice must match the same
value twice; terms are hash-consed, so that is identity). Arguments of commutative operations
match in either order, the written order first: `x * 1` also matches `1 * x` (commutativity as
`analysis/normalise.py` reads it, the one normalisation the canonical form and fingerprints use).

Building the replacement computes operations on literals only at once, in float64, the way
the interpreter would (`interp(x, y, 1 - (1 - a) * (1 - b))` with literal weights gives one
literal weight), so a rule never leaves arithmetic on numbers behind.

The same declaration is what `tests/test_rule_declarations.py` proves in sympy and checks
numerically, so what a rule claims and what it does cannot drift apart.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from lionsimplify.analysis.normalise import commutative
from lionsimplify.analysis.symbolic import Node, Term
from lionsimplify.lang.ir import Const, Program
from lionsimplify.lang.ops import OPS, Semantics

#: A pattern as a tree: ("op", name, children) | ("lit", value) | ("var", name)
Tree = tuple

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}


def parse_pattern(text: str) -> Tree:
    """`text` as a pattern tree; a malformed declaration is a programming error (ValueError)."""

    def conv(e: ast.expr) -> Tree:
        if isinstance(e, ast.BinOp) and type(e.op) in _BINARY:
            return ("op", _BINARY[type(e.op)], (conv(e.left), conv(e.right)))
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
            if isinstance(e.operand, ast.Constant):
                return ("lit", -float(e.operand.value))
            return ("op", "negative", (conv(e.operand),))
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and not e.keywords:
            name = e.func.id
            if name not in OPS or OPS[name].arity != len(e.args):
                raise ValueError(f"pattern {text!r}: `{name}` is not an op of {len(e.args)} args")
            return ("op", name, tuple(conv(a) for a in e.args))
        if isinstance(e, ast.Constant) and isinstance(e.value, int | float):
            return ("lit", float(e.value))
        if isinstance(e, ast.Name):
            return ("var", e.id)
        raise ValueError(f"pattern {text!r}: cannot read `{ast.unparse(e)}`")

    return conv(ast.parse(text, mode="eval").body)


def variables(tree: Tree) -> list[str]:
    """Pattern variables in order of first appearance."""
    if tree[0] == "var":
        return [tree[1]]
    if tree[0] == "lit":
        return []
    return list(dict.fromkeys(v for c in tree[2] for v in variables(c)))


def match(
    tree: Tree, node: Node, bound: Mapping[str, Node] | None = None
) -> dict[str, Node] | None:
    """The binding of the pattern's variables under which `tree` is `node`, or None."""
    todo: list[tuple[Tree, Node]] = [(tree, node)]
    return _match(todo, dict(bound or {}))


def _match(todo: list[tuple[Tree, Node]], env: dict[str, Node]) -> dict[str, Node] | None:
    while todo:
        pat, n = todo.pop()
        kind = pat[0]
        if kind == "var":
            seen = env.get(pat[1])
            if seen is None:
                env[pat[1]] = n
            elif seen != n:
                return None
        elif kind == "lit":
            if not (isinstance(n, Const) and n.value == pat[1]):
                return None
        else:
            _, op, children = pat
            if not isinstance(n, Term) or n.op != op:
                return None
            if commutative(op) and len(children) == 2:
                # written order first, then swapped: each alternative with the rest of the work
                for order in (n.args, n.args[::-1]):
                    found = _match(
                        [*todo, *zip(children[::-1], order[::-1], strict=True)], dict(env)
                    )
                    if found is not None:
                        return found
                return None
            todo.extend(zip(children[::-1], n.args[::-1], strict=True))
    return env


def build(tree: Tree, env: Mapping[str, Node], semantics: Semantics) -> Node:
    """The replacement `tree` with variables bound by `env`; literal-only arithmetic is folded."""
    kind = tree[0]
    if kind == "var":
        return env[tree[1]]
    if kind == "lit":
        return Const(tree[1])
    _, op, children = tree
    args = tuple(build(c, env, semantics) for c in children)
    if op in _BINARY.values() and all(isinstance(a, Const) for a in args):
        with np.errstate(all="ignore"):
            value = float(
                OPS[op].implementation(semantics)(np, *(np.float64(a.value) for a in args))
            )  # type: ignore[union-attr]
        if math.isfinite(value):
            return Const(value)
    return Term(op, args)


Condition = Callable[[Mapping[str, Node], Program], bool]


@dataclass(frozen=True)
class Pattern:
    """`lhs` → `rhs`, where `when` holds (a test on the matched values), under `semantics`.

    `assume` states, for the sympy proof, what `when` guarantees (`x != 0`, `c > 0`), as
    `variable: sympy assumption` pairs; `rhs` may use only variables bound by `lhs`.
    """

    lhs: str
    rhs: str
    when: Condition | None = None
    semantics: tuple[Semantics, ...] = ("math", "hero")
    assume: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lhs, rhs = parse_pattern(self.lhs), parse_pattern(self.rhs)
        unbound = set(variables(rhs)) - set(variables(lhs))
        if unbound:
            raise ValueError(f"pattern {self.lhs!r} -> {self.rhs!r}: {sorted(unbound)} unbound")
        object.__setattr__(self, "_lhs", lhs)
        object.__setattr__(self, "_rhs", rhs)

    @property
    def lhs_tree(self) -> Tree:
        return self._lhs  # type: ignore[attr-defined,no-any-return]

    @property
    def rhs_tree(self) -> Tree:
        return self._rhs  # type: ignore[attr-defined,no-any-return]

    def apply(self, node: Term, program: Program, semantics: Semantics) -> Node | None:
        """The replacement of `node`, or None when the pattern does not match or `when` fails."""
        if semantics not in self.semantics:
            return None
        env = match(self.lhs_tree, node)
        if env is None or (self.when is not None and not self.when(env, program)):
            return None
        return build(self.rhs_tree, env, semantics)
