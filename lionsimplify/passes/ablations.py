"""Ablation candidates: simplifications that change behaviour, proposed with their deviation.

These are the Lion authors' remaining manual steps: dropping a function that is close to the
identity where it is applied (`arcsin`, `tanh`, ... on small values) and dropping gradient
clipping. They are labelled `approximate`: the driver measures how far each one moves the
updates and lists it; only `reduce --ablate` applies them (and the funnel settles them on proxy
tasks). Which functions are near-identities is read off the operator table numerically (odd,
f(0) = 0 and f(x) = x to 1e-5 relative at x = 1e-3), not from a list of names.
"""

from __future__ import annotations

import numpy as np

from lionsimplify.analysis.facts import factors, product
from lionsimplify.analysis.symbolic import Term
from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import OPS, Op
from lionsimplify.passes.base import Context
from lionsimplify.passes.rules import Rewrite, Rule


def _near_identity(op: Op) -> bool:
    if op.arity != 1 or not op.callable or op.parity != "odd" or op.result != "elementwise":
        return False
    x = np.array([1e-3, -1e-3, 0.0])
    with np.errstate(all="ignore"):
        y = np.asarray(op.impl(np, x), dtype=float)
    return bool(y[2] == 0 and np.all(np.abs(y[:2] - x[:2]) <= 1e-5 * 1e-3) and y[0] != x[0])


NEAR_IDENTITY: tuple[str, ...] = tuple(sorted(op.name for op in OPS.values() if _near_identity(op)))
#: ops that return their first argument rescaled (clip by global norm): dropping keeps the input
PASS_THROUGH: tuple[str, ...] = tuple(
    sorted(op.name for op in OPS.values() if op.result == "first" and op.callable)
)


def _drop(name: str) -> Rule:
    def drop(t: Term, program: Program, ctx: Context) -> Rewrite | None:
        return Rewrite(t.args[0]) if t.op == name else None

    what = "a near-identity on small values" if name in NEAR_IDENTITY else "it rescales only"
    drop.__doc__ = f"`{name}(x, ...)` -> `x`: {what}; changes behaviour where it matters."
    return Rule(f"drop-{name}", "approximate", drop, stage="ablation", ops=frozenset({name}))


def sign_from_guarded_ratio(t: Term, program: Program, ctx: Context) -> Rewrite | None:
    """Under hero semantics `x / |x|` is `x / (|x| + 1e-8)`, sign(x) only up to 1e-8 relative
    to |x|: replacing it by `sign(x)` changes the update where |x| is small."""
    if t.op != "div" or not (isinstance(t.args[1], Term) and t.args[1].op == "abs"):
        return None
    x = t.args[1].args[0]
    fs = factors(t.args[0], ctx)
    if (x, 1) not in fs:
        return None
    i = fs.index((x, 1))
    fs[i] = (Term("sign", (x,)), 1)
    return Rewrite(product(fs, program))


ABLATION_RULES: list[Rule] = [
    *(_drop(name) for name in (*PASS_THROUGH, *NEAR_IDENTITY)),
    Rule(
        "sign-from-guarded-ratio",
        "approximate",
        sign_from_guarded_ratio,
        ops=frozenset({"div"}),
        semantics=("hero",),
        stage="ablation",
    ),
]
