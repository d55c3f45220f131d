"""The compiled verifier: trajectories run side by side give what each gives alone."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from lionsimplify.analysis import codegen
from lionsimplify.analysis.interp import random_trajectory, run, run_many
from lionsimplify.lang.mutate import adamw, mutate
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


def test_mutants_run_side_by_side_as_alone() -> None:
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


def test_reductions_of_tensors_scalar_state_and_literals() -> None:
    """`v` starts as a zero tensor and is a scalar from step 2 on: its norm changes meaning."""
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
    fn, _ = codegen.compile_step(program, "math", {}).step_for(("tensor",))
    assert fn.__code__.co_varnames == ("v0", "v1", "v2", "v3", "v4", "v5")
