"""The one printer: IR -> program text in the paper's style.

Deterministic (the same IR always gives the same bytes) and the inverse of `parse`:
`parse(print_program(p)) == p`. Floats are written with Python's shortest round-trip repr, so no
precision is lost; two-space indentation and `return a, b` as in the paper's listings.
"""

from __future__ import annotations

import math

from lionsimplify.lang.ir import COPY, Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import OPS


def format_number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"non-finite constant {value!r} cannot be printed")
    return repr(float(value))


def format_operand(a: Operand) -> str:
    if isinstance(a, Const):
        return format_number(a.value)
    if isinstance(a, Var | Hyper):
        return a.name
    raise TypeError(f"not an operand: {a!r}")


def format_expr(stmt: Stmt) -> str:
    """The right-hand side of a statement."""
    args = [format_operand(a) for a in stmt.args]
    op = OPS[stmt.op]
    if op.name == COPY:
        return args[0]
    if op.symbol is not None:
        return f"{args[0]} {op.symbol} {args[1]}"
    if op.name == "negative":
        return f"-{args[0]}"
    return f"{op.name}({', '.join(args)})"


def format_stmt(stmt: Stmt) -> str:
    return f"{stmt.target} = {format_expr(stmt)}"


def format_signature(program: Program) -> str:
    params = [program.weight, program.grad, *program.state, program.lr]
    params += [f"{name}={format_number(value)}" for name, value in program.defaults]
    if program.extras:
        params += ["*", *program.extras]
    return f"def {program.name}({', '.join(params)}):"


def print_program(program: Program, indent: str = "  ") -> str:
    lines = [format_signature(program)]
    lines += [indent + format_stmt(s) for s in program.body]
    lines.append(indent + "return " + ", ".join(program.returns))
    return "\n".join(lines) + "\n"
