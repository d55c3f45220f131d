"""Canonical form: surface differences vanish, and the canonical program computes the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lionsimplify.analysis.canonical import canonicalize
from lionsimplify.analysis.liveness import eliminate_dead_code
from lionsimplify.analysis.symbolic import Term
from lionsimplify.lang.ir import Const, Program, Stmt, Var
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.verify import verify

PROGRAMS = Path(__file__).resolve().parent.parent / "examples" / "programs"
VARIANTS = PROGRAMS / "variants"
PARAMS = {"β1": 0.9, "β2": 0.99, "λ": 0.01}
EXAMPLES = sorted(PROGRAMS.glob("*.txt")) + sorted(VARIANTS.glob("*.txt"))


def canon(program: Program, **kw: object) -> Program:
    return canonicalize(eliminate_dead_code(program).program, **kw).program  # type: ignore[arg-type]


def canon_text(text: str, **kw: object) -> str:
    return print_program(canon(parse_text(text), **kw))


def test_surface_differences_vanish() -> None:
    """Names, statement order, commutative arguments, interp orientation, dead code."""
    original = parse_file(PROGRAMS / "program3_adamw.txt")
    rewritten = parse_file(VARIANTS / "adamw_rewritten.txt")
    assert canon(original) == canon(rewritten)


def test_canonical_names_and_order_read_like_the_paper() -> None:
    assert canon_text((PROGRAMS / "program3_adamw.txt").read_text()) == (
        "def train(w, g, m, v, lr):\n"
        "  m = interp(g, m, 0.9)\n"
        "  t1 = square(g)\n"
        "  v = interp(t1, v, 0.999)\n"
        "  t2 = sqrt(v)\n"
        "  t3 = m / t2\n"
        "  t4 = w * 0.01\n"
        "  t5 = t3 + t4\n"
        "  t6 = t5 * lr\n"
        "  update = t6 * 0.001\n"
        "  return update, m, v\n"
    )


def test_program8_and_program4_differ_only_in_literals() -> None:
    """The Lion paper's Program 4 is Program 8 reduced and rounded: the canonical forms have
    the same shape although the learning-rate factor is applied at a different place."""
    p8 = canon(parse_file(PROGRAMS / "program8.txt"))
    p4 = canon(parse_file(PROGRAMS / "program4.txt"))

    def blank(p: Program) -> tuple:
        return tuple(
            (s.target, s.op, tuple("c" if isinstance(a, Const) else a for a in s.args))
            for s in p.body
        )

    assert blank(p8) == blank(p4)
    assert p8.constants() != p4.constants()
    assert set(p4.constants()) == {0.899, 0.4602, 0.0002, 1.109}


def test_distributivity_and_literal_factors() -> None:
    a = "def train(w, g, lr):\n  u = g + w\n  u = u * lr\n  u = u * 0.5\n  return u\n"
    b = "def train(w, g, lr):\n  x = lr * 0.25\n  y = w * x\n  z = x * g\n  u = y + z\n  u = u * 2\n  return u\n"
    assert canon_text(a) == canon_text(b)


def test_interp_orientation_and_negative_literals() -> None:
    a = "def train(w, g, m, lr):\n  m = interp(m, g, 0.1)\n  u = -m\n  u = u * lr\n  return u, m\n"
    b = "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = lr * m\n  u = 0 - u\n  return u, m\n"
    assert canon_text(a) == canon_text(b)
    assert "interp(g, m, 0.9)" in canon_text(a)


def test_state_parameter_order_does_not_matter() -> None:
    a = "def train(w, g, m, v, lr):\n  m = interp(g, m, 0.9)\n  v = interp(square(g), v, 0.99)\n  u = m / sqrt(v)\n  return u, m, v\n"
    b = "def train(w, g, s, t, lr):\n  t = interp(g, t, 0.9)\n  s = interp(square(g), s, 0.99)\n  u = t / sqrt(s)\n  return u, s, t\n"
    assert canon_text(a) == canon_text(b)


def test_hero_semantics_never_cancels_a_guarded_denominator() -> None:
    text = "def train(w, g, lr):\n  a = g * w\n  u = a / w\n  return u\n"
    assert canon_text(text) == "def train(w, g, lr):\n  return g\n"  # math: (g * w) / w is g
    hero = canon_text(text, semantics="hero")  # hero: x / y is x / (y + 1e-8)
    assert "reciprocal(w)" in hero and "g" in hero
    # the numerator still normalises: (g * lr) / w and (g / w) * lr agree
    other = "def train(w, g, lr):\n  a = g / w\n  u = a * lr\n  return u\n"
    text2 = "def train(w, g, lr):\n  a = g * lr\n  u = a / w\n  return u\n"
    assert canon_text(other, semantics="hero") == canon_text(text2, semantics="hero")


def test_generated_names_avoid_hyperparameter_names() -> None:
    text = "def train(w, g, lr):\n  a = g * t1\n  b = sign(a)\n  u = b * lr\n  return u\n"
    out = canon(parse_text(text))
    assert "t1" in out.hyperparams()
    assert all(s.target != "t1" for s in out.body)
    assert parse_text(print_program(out)) == out


def test_cancelled_and_folded_values() -> None:
    text = "def train(w, g, lr):\n  a = g - g\n  b = sqrt(4.0)\n  u = a + b\n  u = u * lr\n  return u\n"
    assert canon_text(text) == "def train(w, g, lr):\n  update = lr * 2.0\n  return update\n"
    zero = "def train(w, g, lr):\n  u = g - g\n  return u\n"
    assert canon_text(zero) == "def train(w, g, lr):\n  update = 0.0\n  return update\n"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("semantics", ["math", "hero"])
def test_canonical_form_computes_the_same(path, semantics) -> None:  # noqa: ANN001
    program = eliminate_dead_code(parse_file(path)).program
    c = canonicalize(program, semantics=semantics).program
    v = verify(program, c, "exact", semantics=semantics, params=PARAMS)
    assert v.measured == "exact", (path, v)
    assert parse_text(print_program(c)) == c
    assert canonicalize(c, semantics=semantics).program == c  # idempotent


# ---------------------------------------------------------------------------------------------
# Generated programs: canonical form is exact, printable and idempotent.

_OPS = {
    "add": 2,
    "sub": 2,
    "mul": 2,
    "div": 2,
    "negative": 1,
    "square": 1,
    "sign": 1,
    "tanh": 1,
    "abs": 1,
    "interp": 3,
}
#: Arithmetic drawn more often: the normal form is what needs exercising.
_WEIGHTED = sorted(_OPS) + ["add", "mul", "mul", "mul", "sub"]
_LITERALS = (0.5, 2.0, 0.9, 0.1, 3.0)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    names = ["w", "g", "m", "lr"]
    body = []
    for i in range(draw(st.integers(1, 10))):
        op = draw(st.sampled_from(_WEIGHTED))
        args = []
        for k in range(_OPS[op]):
            if op == "interp" and k == 2 or draw(st.integers(0, 5)) == 0:
                args.append(Const(draw(st.sampled_from(_LITERALS))))
            elif k == 0 and draw(st.booleans()):  # chains, so that programs are deep
                args.append(Var(names[-1]))
            else:
                args.append(Var(draw(st.sampled_from(names))))
        if op == "div":  # keep divisors away from zero so the comparison is about rewriting
            body.append(Stmt(f"d{i}", "abs", (args[1],)))
            body.append(Stmt(f"e{i}", "add", (Var(f"d{i}"), Const(0.5))))
            args[1] = Var(f"e{i}")
        target = f"x{i}"
        body.append(Stmt(target, op, tuple(args)))
        names.append(target)
    new_m = draw(st.sampled_from(names[4:] + ["m"]))
    return Program("w", "g", ("m",), "lr", tuple(body), (names[-1], new_m))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(programs())
def test_generated_programs_canonical_form_is_exact(program: Program) -> None:
    reduced = eliminate_dead_code(program).program
    c = canonicalize(reduced).program
    v = verify(reduced, c, "exact", steps=8)
    assert v.measured == "exact", (print_program(reduced), print_program(c), v)
    assert parse_text(print_program(c)) == c
    assert canonicalize(c).program == c


def test_canonical_graphs_share_the_one_term_type() -> None:
    """The canonical form's nodes are the hash-consed `symbolic.Term`s: two programs that differ
    only in names and statement order have the very same output terms."""
    a = "def train(w, g, m, lr):\n  m = interp(m, g, 0.1)\n  u = sign(m) * lr\n  return u, m\n"
    b = "def train(p, q, s, r):\n  s = interp(q, s, 0.9)\n  t = r * sign(s)\n  return t, s\n"
    ca, cb = (canonicalize(parse_text(t)) for t in (a, b))
    assert all(type(n) is Term for n in ca.order)
    assert ca.outputs == cb.outputs  # terms compare by identity
