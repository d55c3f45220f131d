"""Programs run side by side give, bit for bit, the updates each gives run alone."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lionsimplify.analysis.batch_interp import run_batch
from lionsimplify.analysis.fingerprint import fingerprint_trajectory, pseudo_value
from lionsimplify.analysis.interp import random_trajectory, run
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Program
from lionsimplify.lang.mutate import adamw, mutate
from lionsimplify.lang.parse import parse_text

ODD = [
    "def train(w, g, lr):\n  u = clip(g, lr)\n  return u\n",
    "def train(w, g, lr):\n  u = norm(g)\n  v = norm(u)\n  return v\n",
    "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = sign(m) * lr\n  return u, m\n",
    "def train(w, g, m, lr):\n  u = m * lr\n  return u, g\n",
    "def train(w, g, m, v, lr):\n  u = m + v\n  return u, v, m\n",
    "def train(w, g, m, lr):\n  u = g * b1\n  m = m + u\n  return m, m\n",
    "def train(w, g, lr, *, step):\n  u = g * step\n  u = u / lr\n  return u\n",
    "def train(w, g, m, lr):\n  c = 0.5 * 2.0\n  u = g * c\n  return u, m\n",
    "def train(w, g, m, lr):\n  m = lr * 2.0\n  u = g * m\n  return u, m\n",
    "def train(w, g, lr):\n  u = cosine_sim(g, w) * lr\n  v = power(g, -0.5)\n  u = u + v\n  return u\n",
    "def train(w, g, lr):\n  u = log(g) / (g - g)\n  return u\n",
    "def train(w, g, lr):\n  c = norm(0.5)\n  u = g * c\n  return u\n",
    "def train(w, g, lr):\n  u = clip(0.5, lr) + cosine_sim(g, 0.5)\n  v = dot(g, -2.0)\n"
    "  u = u * v + clip(g, 0.5)\n  return u\n",
    "def train(w, g, lr):\n  u = exp(1.5)\n  return u\n",
    "def train(w, g, m, v, lr):\n  u = m * v\n  v = norm(m)\n  m = interp(g, u, 0.5)\n"
    "  w2 = m + v\n  return w2, m, v\n",
    "def train(w, g, m, lr):\n  m = interp(m, g, 0.5) * norm(m)\n  return m, m\n",
    "def train(w, g, m, v, lr):\n  u = g * m + v\n  m = get_pi()\n  v = exp(m)\n  return u, m, v\n",
]


def _values(p: Program) -> dict[str, float]:
    return {h: pseudo_value(h) for h in p.hyperparams()} | p.values()


def _check(programs: list[Program], semantics: str, trajectory) -> int:  # noqa: ANN001
    values = [_values(p) for p in programs]
    batch = run_batch(programs, trajectory, semantics, values)  # type: ignore[arg-type]
    for p, v, out in zip(programs, values, batch, strict=True):
        if out is not None:
            alone = run(p, trajectory, semantics=semantics, params=v).updates  # type: ignore[arg-type]
            assert np.array_equal(out, alone, equal_nan=True), p
    return sum(out is not None for out in batch)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["math", "hero"]))
def test_a_batch_of_mutants_runs_as_each_alone(seed: int, semantics: str) -> None:
    rng = random.Random(seed)
    programs = [mutate(adamw(), rng, mutations=rng.randint(1, 12)) for _ in range(30)]
    assert _check(programs, semantics, fingerprint_trajectory()) >= 15


def test_odd_programs_run_as_alone_or_are_left_to_the_interpreter() -> None:
    programs = [parse_text(t) for t in ODD]
    for semantics in ("math", "hero"):
        for trajectory in (fingerprint_trajectory(), random_trajectory(3, steps=4, size=3)):
            values = [_values(p) for p in programs]
            batch = run_batch(programs, trajectory, semantics, values)  # type: ignore[arg-type]
            assert all(out is not None for out in batch)
            assert _check(programs, semantics, trajectory) == len(ODD)


def test_a_program_it_does_not_take_is_none() -> None:
    """A hyperparameter without a value is left to `interp.run`, which says which."""
    p = parse_text("def train(w, g, lr):\n  u = g * b1\n  return u\n")
    assert run_batch([p], fingerprint_trajectory(), "math", [{}]) == [None]
    with pytest.raises(ProgramError, match="b1"):
        run(p, fingerprint_trajectory(), params={})
