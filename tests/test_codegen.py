"""The compiled verifier: trajectories run side by side give what each gives alone."""

from __future__ import annotations

import dis
import random
import re
from pathlib import Path

import numpy as np
import pytest

from lionsimplify.analysis import codegen, interp
from lionsimplify.analysis.interp import random_trajectory, run, run_many
from lionsimplify.lang.mutate import adamw, long_chain, mutate
from lionsimplify.lang.ops import SEMANTICS
from lionsimplify.lang.parse import parse_file, parse_text

PROGRAMS = Path(__file__).parent.parent / "examples" / "programs"
SIZES = (1, 7, 64)


def _trajectories(steps: int = 12) -> list:
    return [random_trajectory(seed, steps=steps, size=n) for seed, n in enumerate(SIZES)]


def _assert_same(program, semantics: str = "math") -> None:  # noqa: ANN001
    params = {h: 0.9 for h in program.hyperparams()}
    trajs = _trajectories()
    together = run_many(program, trajs, semantics=semantics, params=params)
    for traj, out in zip(trajs, together, strict=True):
        alone = run(program, traj, semantics=semantics, params=params)
        assert out.updates.shape == alone.updates.shape
        np.testing.assert_array_equal(out.updates, alone.updates)
        for a, b in zip(out.states, alone.states, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("path", sorted(PROGRAMS.glob("**/*.txt")), ids=lambda p: p.stem)
def test_examples_run_side_by_side_as_alone(path: Path, semantics: str) -> None:
    _assert_same(parse_file(path), semantics)


@pytest.mark.parametrize("stack_from", [0, codegen.STACK_FROM])
def test_mutants_run_side_by_side_as_alone(monkeypatch, stack_from) -> None:
    """stack_from=0: side by side, whatever can run on stacked steps does (segmented sums on
    arrays with a leading steps axis)."""
    monkeypatch.setattr(codegen, "STACK_FROM", stack_from)
    rng = random.Random(7)
    for _ in range(40):
        _assert_same(mutate(adamw(), rng, mutations=rng.randrange(1, 10)))


REDUCTIONS = """\
def train(w, g, m, v, lr):
  n = norm(g)
  s = n * lr
  c = clip(g, s)
  m = interp(c, m, 0.9)
  v = norm(v) + dot(g, m)
  k = norm(0.5) + cosine_sim(m, w)
  update = m / (v + k)
  return update, m, v
"""


@pytest.mark.parametrize("stack_from", [0, codegen.STACK_FROM])
def test_reductions_of_tensors_scalar_state_and_literals(monkeypatch, stack_from) -> None:
    """`v` starts as a zero tensor and is a scalar from step 2 on: its norm changes meaning."""
    monkeypatch.setattr(codegen, "STACK_FROM", stack_from)
    program = parse_text(REDUCTIONS, "<test>")
    compiled = codegen.compile_step(program, "math", {}, [(0, 1), (1, 8), (8, 72)])
    assert len(compiled._cache) == 2  # one step function per state-kind signature
    _assert_same(program)


def test_a_reduction_over_mixed_kinds_runs_each_trajectory_alone() -> None:
    program = parse_text(
        "def train(w, g, m, lr):\n  c = cosine_sim(lr, g)\n  update = g * c\n  return update, m\n",
        "<test>",
    )
    with pytest.raises(codegen.Unfusable):
        codegen.compile_step(program, "math", {}, [(0, 1), (1, 8)])
    _assert_same(program)


def test_generated_source_holds_no_program_text() -> None:
    """Names and literals live in the function's namespace, never in compiled source."""
    program = parse_text(
        "def train(w, g, m, lr):\n  __import__ = g * 0.5\n  update = __import__ + m\n"
        "  return update, m\n",
        "<test>",
    )
    plan = codegen.compile_step(program, "math", {}).step_for(("tensor",))
    code = plan.step.__code__  # `rest` runs once per run: a loop, not compiled source
    assert all(re.fullmatch(r"v\d+", name) for name in code.co_varnames)
    assert "__import__" not in code.co_names


STEP_AND_STATE = """\
def train(w, g, m, v, lr, *, step):
  m = interp(g, m, 0.9)
  a = m * step
  v = norm(v) + dot(a, w)
  k = 2.0 * 3.0
  b = v * k
  c = norm(b) + a
  update = c / (abs(v) + 1.0)
  return update, m, v
"""


def _compiled_programs() -> list:
    rng = random.Random(11)
    programs = [parse_file(p) for p in sorted(PROGRAMS.glob("**/*.txt"))]
    programs += [mutate(adamw(), rng, mutations=rng.randrange(1, 10)) for _ in range(30)]
    programs += [parse_text(t, "<test>") for t in (REDUCTIONS, STEP_AND_STATE)]
    return [*programs, long_chain(300)]


@pytest.mark.parametrize("stack_from", [0, codegen.STACK_FROM])
@pytest.mark.parametrize("semantics", SEMANTICS)
def test_generated_code_computes_what_the_plain_loop_computes(
    monkeypatch, semantics, stack_from
) -> None:
    """Split into step-by-step and stacked parts (stack_from=0: whatever can be stacked is),
    with reused slots, a program gives the plain interpreter loop's numbers bit for bit, states
    and updates, on every step."""
    monkeypatch.setattr(codegen, "STACK_FROM", stack_from)
    traj = random_trajectory(3, steps=30, size=5)
    for program in _compiled_programs():
        params = {h: 0.9 for h in program.hyperparams()}
        monkeypatch.setattr(interp, "GENERATE_FROM", 10**9)
        plain = run(program, traj, semantics=semantics, params=params)
        monkeypatch.setattr(interp, "GENERATE_FROM", 0)
        generated = run(program, traj, semantics=semantics, params=params)
        np.testing.assert_array_equal(generated.updates, plain.updates)
        for a, b in zip(generated.states, plain.states, strict=True):
            np.testing.assert_array_equal(a, b)


def test_only_what_the_state_needs_runs_step_by_step() -> None:
    """A long chain after a momentum: one statement per step, the chain once over all steps."""
    program = long_chain(300)
    plan = codegen.compile_step(program, "math", {}).step_for(("tensor",))
    calls = [i for i in dis.get_instructions(plan.step) if i.opname.startswith("CALL")]
    assert len(calls) == 1
    assert plan.export_kinds == ("tensor",)  # the new momentum, which the chain reads
