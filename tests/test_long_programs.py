"""Long programs go through every analysis without hitting Python's recursion limit.

A program's update is one term as deep as its longest chain of dependent statements; a
recursive analysis fails on a chain of a few hundred (issue 10 §3 found `RecursionError` at
600 statements in `reduce` and `diff`, an internal error). Every walk is iterative now, so a
2,000-statement chain (well past the default limit of 1,000) goes through reduce, diff, dedup,
the funnel's intake and the formula text (sympy's own algorithms recurse, so formulas too long
to read are left out of `--jax` and `--report`); the recursion limit is lowered here so that a
recursive walk that crept back in fails even on a shorter chain.
Speed is measured in `benchmarks/bench_scaling.py`, not here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from cli_runner import run_cli

from lionsimplify.analysis.facts import Proof, interval, is_scalar, positive
from lionsimplify.analysis.symbolic import (
    MAX_FORMULA_OPS,
    Term,
    dataflow,
    formula_size,
    math_text,
    subterms,
)
from lionsimplify.compare.diff import diff_programs
from lionsimplify.funnel.runs import intake
from lionsimplify.lang.ir import Var
from lionsimplify.lang.mutate import long_chain
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.base import Context
from lionsimplify.passes.driver import reduce

N = 2000


@pytest.fixture(autouse=True)
def low_recursion_limit() -> Iterator[None]:
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


@pytest.fixture(scope="module")
def chain():  # built before the limit is lowered; parsing is not what is tested here
    return long_chain(N)


def test_the_chain_is_one_deep_term(chain) -> None:
    update = dataflow(chain).outputs[0]
    depth, node = 0, update
    while isinstance(node, Term):
        depth, node = depth + 1, node.args[0]
    assert len(chain.body) == N and depth > N * 0.8


def test_reduce_finishes_and_simplifies_along_the_whole_chain(chain) -> None:
    result = reduce(chain)
    assert result.label == "exact"
    applied = {p.name for p in result.passes if p.status == "applied"}
    assert {"neutral-elements", "sqrt-of-square", "positive-factors-in-sign"} <= applied
    text = print_program(result.program)
    assert "* 1.0" not in text and "sqrt(" not in text  # every occurrence, not just the first
    assert text.count("abs(") == N // 10 - 1
    assert "lr" not in text.split("sign(")[-1]  # the positive lr left the sign


def test_reduce_until_dce(chain) -> None:
    assert reduce(chain, until="dce").program == chain


def test_diff_and_dedup_on_the_command_line(chain, tmp_path, capsys) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    text = print_program(chain)
    a.write_text(text)
    b.write_text(text.replace("u = u * 0.5\n", "u = u * 0.25\n", 1))
    code, out, err = run_cli(capsys, "diff", str(a), str(b), "--json")
    assert code == 0 and not err  # sign(tanh(...)) hides the change: equivalent
    assert [c["b_value"] for c in json.loads(out)["constants"]] == [0.25]
    code, out, err = run_cli(capsys, "dedup", str(tmp_path))
    assert code == 0 and not err and "2 programs, 2 valid, 1 classes" in out
    assert diff_programs(chain, chain).summary().startswith("identical")


def test_funnel_intake_fingerprints_the_chain(chain, tmp_path) -> None:
    run = tmp_path / "run1"
    run.mkdir()
    (run / "a.txt").write_text("# fitness: 0.5\n" + print_program(chain))
    result = intake(tmp_path)
    assert len(result.candidates) == 1 and not result.invalid


def test_facts_sympy_and_formula_text(chain) -> None:
    update = dataflow(chain).outputs[0]
    ctx = Context("math", {})
    inner = update.args[0]  # sign(u * lr): u * lr
    assert not is_scalar(inner, chain) and is_scalar(Var("lr"), chain)
    assert positive(inner, chain, ctx) is None
    assert interval(inner, chain, ctx, Proof()) == (float("-inf"), float("inf"))
    assert len(subterms([update])) > N * 0.8
    reduced = dataflow(reduce(chain).program).outputs[0]  # no shared `u * u`: text is linear
    tanh = print_program(chain).count("tanh(")
    assert math_text(reduced).count("tanh(") == tanh
    # sympy itself recurses over deep expressions, so --jax and --report leave such formulas out
    assert formula_size(reduced) == MAX_FORMULA_OPS + 1


def test_jax_module_and_report_leave_out_formulas_too_long_to_read(chain, tmp_path, capsys) -> None:
    src = tmp_path / "chain.txt"
    src.write_text(print_program(long_chain(300)))
    jax, report = tmp_path / "opt.py", tmp_path / "d.md"
    code, _, err = run_cli(capsys, "reduce", str(src), "--jax", str(jax), "--report", str(report))
    assert code == 0, err
    assert "more than 200 operations as one formula" in jax.read_text()
    assert "more than 200 operations as one formula" in report.read_text()
