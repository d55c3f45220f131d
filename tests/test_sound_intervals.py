"""Abstract execution is sound: every value the interpreter produces lies in the facts.

Programs are search-style mutants of AdamW (`lang/mutate.py`); each runs on the verifier's
trajectories (gradient scales 1e-8 to 1e6, lr = 0 on the last steps) under both semantics, and
every update and new state must lie in its interval, be NaN only where the facts say it may,
and be infinite only where they do not claim it finite. Plus the overflow cases of issue 10.
"""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionsimplify.analysis.absexec import Facts, analyse
from lionsimplify.analysis.interp import run
from lionsimplify.lang.mutate import adamw, mutate
from lionsimplify.lang.parse import parse_text
from lionsimplify.passes.verify import trajectories

CHECKED = {"values": 0}


def _contained(values: np.ndarray, facts: Facts) -> str | None:
    lo, hi = facts.interval
    nan = np.isnan(values)
    if nan.any() and not facts.nan:
        return "NaN not allowed by the facts"
    if np.isinf(values).any() and facts.finite:
        return "infinite but claimed finite"
    v = values[~nan]
    # rounding slack for finite values; an infinite value must lie in the interval exactly
    slack = np.where(np.isfinite(v), 1e-9 * np.maximum(np.abs(v), 1e-300), 0.0)
    if ((v < lo - slack) | (v > hi + slack)).any():
        return f"values in [{v.min()}, {v.max()}] outside [{lo}, {hi}]"
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(1, 6), st.sampled_from(["math", "hero"]))
def test_every_output_value_lies_in_its_facts(seed, mutations, semantics) -> None:
    program = mutate(adamw(), random.Random(seed), mutations=mutations)
    analysis = analyse(program, semantics)
    traj = trajectories()[1]
    out = run(program, traj, semantics=semantics)
    produced = {program.update: out.updates}
    produced.update(zip(program.new_state, out.states, strict=True))
    for name, values in produced.items():
        if name in program.state and name not in (s.target for s in program.body):
            continue  # an unchanged state is its input: facts at step 1 only
        problem = _contained(values, analysis.outputs[name])
        CHECKED["values"] += values.size
        assert problem is None, (name, problem, analysis.outputs[name])


def _check(text: str) -> tuple[Facts, list[str]]:
    a = analyse(parse_text(text, "t.txt"))
    p = a.program
    return a.outputs[p.update], [d.message for d in a.hazards]


def test_x_minus_x_of_an_overflow_is_not_zero() -> None:
    facts, hazards = _check(
        "def train(w, g, lr):\n  a = exp(1000.0)\n  b = exp(1000.0)\n  u = a - b\n  return u\n"
    )
    assert facts.nan and any("overflows" in h for h in hazards)
    facts, _ = _check("def train(w, g, lr):\n  a = exp(g)\n  u = a - a\n  return u\n")
    assert facts.interval == (0.0, 0.0) and facts.nan  # exp(g) may be inf: inf - inf is NaN
    facts, _ = _check("def train(w, g, lr):\n  a = tanh(g)\n  u = a - a\n  return u\n")
    assert facts.interval == (0.0, 0.0) and not facts.nan  # bounded: exactly 0


def test_nested_exp_overflow_is_a_hazard() -> None:
    _, hazards = _check(
        "def train(w, g, lr):\n  a = exp(1000.0)\n  b = exp(a)\n  c = exp(b)\n  u = g * c\n"
        "  return u\n"
    )
    assert any("overflows to infinity" in h for h in hazards)


def test_state_from_zero_keeps_second_moments_nonnegative() -> None:
    """`v = interp(square(g), v, b)` from 0 is >= 0, so AdamW's `sqrt(v)` is no hazard."""
    a = analyse(adamw())
    assert a.outputs["v"].interval[0] >= 0
    assert not any("`sqrt` is defined" in d.message for d in a.hazards)


def test_bias_correction_is_no_division_hazard() -> None:
    """`1 - β ** step` with β = 0.9 and step >= 1 lies in [0.1, 1]: dividing by it is safe."""
    text = (
        "def train(w, g, m, lr, *, step):\n  m = interp(g, m, b1)\n  c = 1 - power(b1, step)\n"
        "  u = m / c\n  return u, m\n"
    )
    a = analyse(parse_text(text, "bc.txt"), params={"b1": 0.9})
    assert a.hazards == []
    c = next(f for s, f in zip(a.program.body, a.facts, strict=True) if s.target == "c")
    assert c.interval[0] >= 0.1 - 1e-12
