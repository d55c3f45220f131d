"""The one normalisation of how an operation's arguments are written.

Two programs that differ only in how they write an operation must look alike to everything that
compares programs: the canonical form (and so diff's alignment, which walks its terms) and the
structural fingerprint (and so dedup and the funnel's intake). Both read the one term graph
(`symbolic.Term`) and both order its arguments with `normal_call`, each with its own key:

- arguments of a commutative operation (`add`, `mul`, `maximum`, ...) in the order of the
  caller's structural key (the canonical form's constant-blind key, the fingerprint's hash);
- `interp(x, y, a)` with a literal weight is `interp(y, x, 1 - a)`: the orientation with
  `a > 1/2` is kept (the paper's `interp(g, m, 0.9)`), and at exactly 1/2 the one whose first
  argument has the smaller key.

The rewrite rules read the same operator facts: a pattern matches a commutative operation's
arguments in either order (`passes/patterns.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from lionsimplify.lang.ops import OPS

A = TypeVar("A")


def commutative(op: str) -> bool:
    """Whether `op(x, y)` is `op(y, x)` (from the operator table)."""
    return OPS[op].commutative


#: The ops whose arguments `normal_call` may reorder; for every other op it returns the arguments
#: as they are, so a loop over many terms (the structural fingerprint) may skip the call.
REORDERED = frozenset({"interp", *(name for name, op in OPS.items() if op.commutative)})


def normal_call(
    op: str,
    args: Sequence[A],
    key: Callable[[A], Any],
    literal: Callable[[A], float | None],
    make_literal: Callable[[float], A],
) -> list[A]:
    """`args` of `op` in normal order; `literal(a)` is a's value if it is a literal, else None,
    and `make_literal(v)` writes the weight `1 - a` of a flipped `interp` back."""
    if op == "interp":
        a = literal(args[2])
        if a is not None and (a < 0.5 or (a == 0.5 and key(args[0]) > key(args[1]))):
            return [args[1], args[0], make_literal(1.0 - a)]
        return list(args)
    if commutative(op):
        return sorted(args, key=key)
    return list(args)
