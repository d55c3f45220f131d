"""Program mutation the way regularized evolution does it: insert, delete, modify statements.

Used to generate realistic test programs (property tests start from the AdamW warm start, as the
Lion search did), benchmark inputs and example search runs. Every mutant is a valid program: a
candidate that fails to round-trip through the printer and parser, or that abstract execution
rejects, is discarded and another mutation is drawn.
"""

from __future__ import annotations

import random
from dataclasses import replace

from lionsimplify.analysis.absexec import analyse
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Const, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import OPS
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.printer import print_program

ADAMW = """\
def train(w, g, m, v, lr):
  g2 = square(g)
  m = interp(g, m, 0.9)
  v = interp(g2, v, 0.999)
  sqrt_v = sqrt(v)
  update = m / sqrt_v
  wd = w * 0.01
  update = update + wd
  lr = lr * 0.001
  update = update * lr
  return update, m, v
"""

#: Ops a mutation may pick (every callable op and the infix ones; `copy` is not interesting).
_MUTABLE_OPS = tuple(sorted(name for name, op in OPS.items() if name != "copy"))


def _names_before(program: Program, index: int) -> list[str]:
    names = list(program.inputs)
    for s in program.body[:index]:
        if s.target not in names:
            names.append(s.target)
    return names


def _operand(rng: random.Random, names: list[str], kind: str, lr: str) -> Operand:
    if kind == "scalar":
        return Var(lr) if rng.random() < 0.3 else Const(round(rng.uniform(0.0, 2.0), 4))
    if rng.random() < 0.2:
        return Const(round(rng.uniform(-1.5, 1.5), 4))
    return Var(rng.choice(names))


def _random_stmt(rng: random.Random, program: Program, index: int, target: str | None) -> Stmt:
    op = OPS[rng.choice(_MUTABLE_OPS)]
    names = _names_before(program, index)
    args = tuple(_operand(rng, names, k, program.lr) for k in op.kinds_ok())
    new_target = target or rng.choice([*names[2:], f"v{rng.randrange(1000)}"])
    return Stmt(new_target, op.name, args)


def mutate_once(program: Program, rng: random.Random) -> Program:
    """One insert, delete or modify mutation (the result may be invalid; see `mutate`)."""
    body = list(program.body)
    kind = rng.choice(("insert", "insert", "delete", "modify", "modify", "constant"))
    if kind == "insert" or not body:
        i = rng.randrange(len(body) + 1)
        body.insert(i, _random_stmt(rng, program, i, None))
    elif kind == "delete":
        body.pop(rng.randrange(len(body)))
    elif kind == "modify":
        i = rng.randrange(len(body))
        body[i] = _random_stmt(rng, program, i, body[i].target)
    else:
        consts = [
            (i, j) for i, s in enumerate(body) for j, a in enumerate(s.args) if isinstance(a, Const)
        ]
        if not consts:
            return program
        i, j = rng.choice(consts)
        args = list(body[i].args)
        args[j] = Const(round(args[j].value * rng.uniform(0.5, 1.5), 6))  # type: ignore[union-attr]
        body[i] = replace(body[i], args=tuple(args))
    return program.with_body(body)


def is_valid(program: Program) -> bool:
    try:
        text = print_program(program)
        again = parse_text(text)
    except (ProgramError, ValueError):
        return False
    return again == program and not analyse(again).errors and not again.hyperparams()


def mutate(program: Program, rng: random.Random, mutations: int = 1, tries: int = 50) -> Program:
    """Apply `mutations` successful mutations, each retried until the result is valid."""
    for _ in range(mutations):
        for _ in range(tries):
            candidate = mutate_once(program, rng)
            if candidate != program and is_valid(candidate):
                program = candidate
                break
    return program


def adamw() -> Program:
    return parse_text(ADAMW, "<adamw>")


def long_chain(statements: int) -> Program:
    """A program whose update is one chain of `statements` dependent statements.

    Scaling benchmarks and tests use it: every fifth statement is a neutral `* 1.0` and every
    tenth pair a `sqrt(u * u)`, so the exact rules have work all along the chain, and the values
    stay bounded (`tanh`) so verification compares numbers, not overflow.
    """
    block = [
        "u = u * 0.5",
        "u = u + g",
        "u = u * 1.0",
        "u = tanh(u)",
        "u = u + m",
        "u = u * 0.5",
        "u = u - g",
        "u2 = u * u",
        "u = sqrt(u2)",
        "u = u + g",
    ]
    lines = ["def train(w, g, m, lr):", "  m = interp(g, m, 0.9)", "  u = m"]
    lines += ["  " + block[i % len(block)] for i in range(max(0, statements - 4))]
    lines += ["  u = u * lr", "  update = sign(u)", "  return update, m"]
    return parse_text("\n".join(lines) + "\n", "<long chain>")
