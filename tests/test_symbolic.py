"""The symbolic view: terms from programs and back, and sympy in both directions."""

from __future__ import annotations

import random
import sys
import threading
from pathlib import Path

import pytest

from lionsimplify.analysis import symbolic
from lionsimplify.analysis.liveness import eliminate_dead_code
from lionsimplify.analysis.symbolic import (
    Term,
    dataflow,
    expand_interp,
    format_term,
    fresh_dataflow,
    from_sympy,
    program_from_terms,
    to_sympy,
)
from lionsimplify.lang.ir import Const, Hyper, Var
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.verify import verify

PROGRAMS = Path(__file__).resolve().parent.parent / "examples" / "programs"
EXAMPLES = sorted(PROGRAMS.glob("*.txt"))
PARAMS = {"β1": 0.9, "β2": 0.99, "λ": 0.01}


def _live(path):
    return eliminate_dead_code(parse_file(path)).program


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_terms_back_to_program_compute_the_same(path):
    program = _live(path)
    again = program_from_terms(dataflow(program).outputs, program)
    assert verify(program, again, "exact", params=PARAMS).ok
    assert parse_text(print_program(again), "x.txt") == again
    # written back, the dataflow is literally the same
    assert dataflow(again).outputs == dataflow(program).outputs


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_sympy_round_trip_computes_the_same(path):
    program = _live(path)
    outputs = [from_sympy(to_sympy(o, program), program) for o in dataflow(program).outputs]
    again = program_from_terms(outputs, program)
    assert verify(program, again, "exact", params=PARAMS).ok


def test_shared_subexpressions_are_computed_once():
    program = parse_text(
        "def train(w, g, m, lr):\n  c = interp(g, m, 0.9)\n  u = sign(c) * lr\n"
        "  m = interp(g, c, 0.5)\n  return u, m\n",
        "x.txt",
    )
    again = program_from_terms(dataflow(program).outputs, program)
    assert [s.op for s in again.body].count("interp") == 2


def test_names_follow_the_paper_style():
    program = _live(PROGRAMS / "program3_adamw.txt")
    text = print_program(program_from_terms(dataflow(program).outputs, program))
    assert "  m = interp(g, m, 0.9)\n" in text
    assert "  lr = lr * 0.001\n" in text
    assert "  update = update * lr\n" in text


def test_an_output_that_is_an_input_or_a_literal_is_returned_correctly():
    program = parse_text("def train(w, g, m, lr):\n  u = g * lr\n  return u, m\n", "x.txt")
    again = program_from_terms((Term("mul", (Var("g"), Var("lr"))), Var("m")), program)
    assert again.returns[1] == "m"
    const = program_from_terms((Const(0.5), Var("m")), program)
    assert verify(program, const, "approximate").measured == "approximate"
    assert const.body[-1].op == "copy"


def test_sympy_view_keeps_interp_whole_and_expands_on_demand():
    program = _live(PROGRAMS / "program1_lion.txt")
    momentum = to_sympy(dataflow(program).outputs[1], program)
    assert str(momentum) == "interp(gradient, momentum, β2)"
    assert str(expand_interp(momentum).expand()) == ("-gradient*β2 + gradient + momentum*β2")


def test_opaque_functions_for_ops_without_a_sympy_counterpart():
    program = _live(PROGRAMS / "program8.txt")
    update = to_sympy(dataflow(program).outputs[0], program)
    assert "clip(g, lr)" in str(update)
    assert "asin(clip(g, lr))" in str(update)


def test_format_term_elides_deep_subterms():
    t = Term("sign", (Term("abs", (Term("sqrt", (Var("x"),)),)),))
    assert format_term(t) == "sign(abs(sqrt(x)))"
    assert format_term(t, 2) == "sign(abs(…))"


def test_equal_terms_are_one_object_and_literals_differ_by_bits():
    x = Var("x")
    a = Term("mul", (x, Const(2.0)))
    assert Term("mul", (Var("x"), Const(2.0))) is a
    assert Term("mul", (x, Const(-0.0))) is not Term("mul", (x, Const(0.0)))
    assert Term("mul", (x, Hyper("x"))) is not Term("mul", (x, x))
    assert Term("sign", (a,)).depth == 2 and Term("add", (Term("sign", (a,)), a)).depth == 3


def test_dead_terms_leave_the_table_and_a_reused_id_never_aliases():
    """Keys hold argument terms by `id`; CPython reuses the memory (and so the id) of a dead
    term at once, so this builds and drops many small terms and checks each new one holds the
    arguments it was made from, then that the table was swept."""
    rng = random.Random(0)
    x = Var("x")
    kept = []
    for i in range(20_000):
        t = Term("mul", (x, Const(float(i))))
        for _ in range(rng.randrange(1, 4)):
            parent = Term(rng.choice(["sign", "abs", "negative"]), (t,))
            assert parent.args[0] is t
            t = parent
        if i % 10 == 0:
            kept.append(t)
    for t in kept:
        assert Term(t.op, t.args) is t
    # about 60,000 terms were made, 6,000 kept: the table is swept at twice the live entries
    assert len(symbolic._TABLE) < 20_000


def test_threads_making_the_same_terms_get_the_same_objects():
    def build(out: list) -> None:
        x = Var("x")
        out.extend(Term("sign", (Term("mul", (x, Const(float(i)))),)) for i in range(20_000))

    results: list[list] = [[] for _ in range(4)]
    threads = [threading.Thread(target=build, args=(r,)) for r in results]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert all(a is b for r in results[1:] for a, b in zip(results[0], r, strict=True))


def test_fresh_dataflow_interns_the_terms_term_interns() -> None:
    """`fresh_dataflow` makes its terms' keys itself (its hot loop): they must be the very
    objects `Term(op, args)` gives, literals told apart by their bits and hyperparameters."""
    text = (
        "def train(w, g, m, lr):\n  a = g * -0.0\n  b = g * 0.0\n  c = a + b\n  d = c\n"
        "  m = interp(m, d, b1)\n  e = sign(m) * lr\n  f = e * 2.0\n  return f, m\n"
    )
    flow = fresh_dataflow(parse_text(text))
    assert len(flow.terms) == 7  # `-0.0` and `0.0` apart
    for t in flow.terms:
        assert Term(t.op, t.args) is t
    assert any(isinstance(a, Hyper) for t in flow.terms for a in t.args)
