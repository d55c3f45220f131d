"""An independent re-check of every `exact` verdict, on trajectories the verifier never saw.

Programs come from search-style mutation of AdamW (`lang/mutate.py`) and from hostile shapes
(the learning rate inside `sign`, `m / sqrt(m * m)` with `m` stuck at 0, literals that overflow,
divisions by zero). Each is reduced under both semantics; then every applied `exact` pass and
every reduction labelled `exact` is run again, original against result, on fresh trajectories:
other seeds and sizes than the verifier's, gradient scales from 1e-12 to 1e12, exact zeros of
both signs in gradients and weights, and the learning rate 0 on random steps (not only at the
end); the slow sweep runs 200 steps. Programs also come from mutating every shipped example
(`examples/programs`, hyperparameters given values), not only AdamW, and from those mutants
with extreme literals (±0.0, 5e-324, 1e-300, 1e300, ...). `diff`'s `identical` /
`equivalent` verdicts and `explain`'s matches (the program against the instantiated reference)
are re-checked the same way, both ways round.

Told apart from a wrong rewrite: inputs whose intermediate values leave the float64 range. With
weights near ±1e6 or products beyond 1e308, `exp(w)` underflows to 0 (so `sign(u * exp(w))` is
0 where the rewrite's `sign(u)` is the real-number answer), `sqrt(x * x)` overflows to inf for
|x| > 1.3e154 where `|x|` does not, and `(x * y) / |x|` overflows where `sign(x) * y` does not.
There the rewritten program computes the real-number value and the original does not, so
those are range limits of the original's arithmetic, stated in the README next to `exact`.
`disagreement` tells them apart by running both programs again on the same inputs in extended
precision (`np.longdouble`, 15-bit exponent): a mismatch that goes away there is counted
(`exact re-check: float64 range cases`), one that stays fails the test.

The comparison here is written out on its own (no code shared with `passes/verify.py`): where the printed side conditions hold (`lr > 0`
steps when that is a condition; elements where the original is a number), every update must
agree to 1e-7 relative to the step's largest element. The counts are printed at the end of the
session (`exact re-check: verdicts re-checked: N`, `... failed: 0`).
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import session_counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lionsimplify.analysis.interp import Trajectory, random_trajectory, run
from lionsimplify.compare.diff import diff_programs
from lionsimplify.explain.recognize import recognize
from lionsimplify.explain.references import references
from lionsimplify.lang.domains import relies_on_lr_positive
from lionsimplify.lang.ir import Const, Hyper, Program
from lionsimplify.lang.mutate import adamw, is_valid, mutate
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import reduce
from lionsimplify.passes.verify import trajectories

RTOL = 1e-7


def fresh_trajectories(steps: int = 30) -> list[Trajectory]:
    """Seeds, sizes, gradient scales, zeros and lr = 0 steps the verifier does not use."""
    out = []
    for seed, size in ((1001, 3), (1002, 16), (1003, 5)):
        t = random_trajectory(seed, steps=steps, size=size, grad_scales=GRAD_SCALES)
        rng = np.random.default_rng(seed)
        lrs = t.lrs.copy()
        lrs[rng.random(lrs.shape[0]) < 0.25] = 0.0  # lr = 0 on random steps
        weights = t.weights * 10.0 ** rng.uniform(-3, 3)
        out.append(Trajectory(signed_zeros(weights, rng), signed_zeros(t.grads, rng), lrs))
    return out


GRAD_SCALES = (1e-12, 1e-8, 1e-3, 1.0, 1e3, 1e6, 1e12)


def signed_zeros(x: np.ndarray, rng: np.random.Generator, share: float = 0.05) -> np.ndarray:
    """`x` with `share` of its elements set to 0.0 and as many to -0.0 (own draw, not the
    verifier's positions)."""
    u = rng.random(x.shape)
    out = x.copy()
    out[u < share] = 0.0
    out[(u >= share) & (u < 2 * share)] = -0.0
    return out


TRAJECTORIES = fresh_trajectories()
LONG_TRAJECTORIES = fresh_trajectories(steps=200)


def disagreement(
    before: Program,
    after: Program,
    semantics: str,
    conditions: tuple[str, ...],
    trajectories: list[Trajectory] = TRAJECTORIES,
) -> str | None:
    """Where the two programs differ under the side conditions, or None.

    A (step, row) where they differ in float64 but agree when both run on the same inputs in
    extended precision (`np.longdouble`: a 15-bit exponent on x86) is a float64 overflow or
    underflow in one program's arithmetic, not a wrong rewrite (see the module docstring): it
    is counted, not failed."""
    excuse_lr = relies_on_lr_positive(before, conditions)
    for k, traj in enumerate(trajectories):
        a = run(before, traj, semantics=semantics).updates  # type: ignore[arg-type]
        b = run(after, traj, semantics=semantics).updates  # type: ignore[arg-type]
        wide: tuple[np.ndarray, np.ndarray] | None = None
        for t in range(a.shape[0]):
            for r in range(a.shape[1]):
                if excuse_lr and traj.lrs[t, r, 0] == 0:
                    continue
                problem = _row_problem(a[t, r], b[t, r])
                if problem is None:
                    continue
                if wide is None:
                    wide = _extended(before, after, traj, semantics)
                if EXTENDED_RANGE and _row_problem(wide[0][t, r], wide[1][t, r]) is None:
                    session_counts.add("exact re-check: float64 range cases (agree when wider)")
                    continue
                return f"trajectory {k} step {t + 1} row {r}: {problem}"
    return None


#: Whether `np.longdouble` has a wider exponent than float64 (x86 Linux: yes).
EXTENDED_RANGE = np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp


def _extended(
    before: Program, after: Program, traj: Trajectory, semantics: str
) -> tuple[np.ndarray, np.ndarray]:
    wide = Trajectory(*(x.astype(np.longdouble) for x in (traj.weights, traj.grads, traj.lrs)))
    with np.errstate(all="ignore"):
        return tuple(run(p, wide, semantics=semantics).updates for p in (before, after))  # type: ignore[return-value, arg-type]


def _row_problem(x: np.ndarray, y: np.ndarray) -> str | None:
    """How update row `y` fails to match `x` (NaN in `x` excuses the element), or None."""
    with np.errstate(all="ignore"):
        defined = ~np.isnan(x)  # where the original is NaN, a side condition failed
        if np.any(np.isnan(y) & defined):
            return "new NaN"
        x, y = x[defined], y[defined]
        same_inf = np.isinf(x) & (x == y)
        if np.any(np.isinf(x) & ~same_inf) or np.any(np.isinf(y) & ~same_inf):
            return "infinities differ"
        x, y = x[~same_inf], y[~same_inf]
        if x.size == 0:
            return None
        scale = np.max(np.abs(x))
        dev = np.max(np.abs(x - y))
        if dev > RTOL * scale and dev > 1e-300:
            return f"deviation {dev / scale:.3g}"
    return None


def recheck(
    program: Program, semantics: str, trajectories: list[Trajectory] = TRAJECTORIES
) -> None:
    session_counts.add("exact re-check: programs reduced")
    result = reduce(program, semantics=semantics)  # type: ignore[arg-type]
    checks = [
        (rec.name, rec.before, rec.after, rec.side_conditions)
        for rec in result.passes
        if rec.status == "applied" and rec.label == "exact"
    ]
    if result.label == "exact":
        checks.append(("whole reduction", program, result.program, result.side_conditions))
    for name, before, after, conditions in checks:
        session_counts.add("exact re-check: verdicts re-checked")
        problem = disagreement(before, after, semantics, conditions, trajectories)
        session_counts.add("exact re-check: verdicts failed", problem is not None)
        assert problem is None, (name, semantics, conditions, problem)


HOSTILE = {
    "lr-in-sign": "def train(w, g, m, lr):\n  t = g * lr\n  u = sign(t)\n"
    "  m = interp(g, m, 0.9)\n  return u, m\n",
    "lr-in-sign-scaled": "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  t = m * lr\n"
    "  t = t * 0.001\n  u = sign(t)\n  u = u * lr\n  return u, m\n",
    "lr-divides": "def train(w, g, m, lr):\n  t = g / lr\n  u = sign(t)\n  return u, m\n",
    "nan-everywhere": "def train(w, g, m, lr):\n  s = m * m\n  r = sqrt(s)\n  u = m / r\n"
    "  u = u * lr\n  return u, m\n",
    "sign-ratio": "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  a = abs(m)\n"
    "  u = m * lr\n  u = u / a\n  return u, m\n",
    "overflow": "def train(w, g, m, lr):\n  a = exp(1000.0)\n  b = exp(1000.0)\n  c = a - b\n"
    "  u = g * c\n  return u, m\n",
    "div-zero": "def train(w, g, m, lr):\n  a = 1.0 / 0.0\n  u = g * a\n  return u, m\n",
    "bias-correction": "def train(w, g, m, v, lr, *, step):\n  m = interp(g, m, 0.9)\n"
    "  p = power(0.9, step)\n  c = 1.0 - p\n  c = reciprocal(c)\n  u = m * c\n  u = sign(u)\n"
    "  u = u * lr\n  v = interp(square(g), v, 0.999)\n  return u, m, v\n",
    "interp-chain": "def train(w, g, m, lr):\n  a = interp(g, m, 0.9)\n  b = interp(g, a, 0.5)\n"
    "  u = sign(b)\n  m = interp(g, m, 0.99)\n  u = u * lr\n  return u, m\n",
    # `x + 0 → x` keeps a -0.0 that `x + 0.0` makes +0.0; `lr / ·` turns it into -inf vs +inf
    # (the verifier used to sample no exact zeros, so the rewrite was kept as `exact`)
    "negative-zero-divisor": "def train(w, g, m, lr):\n  t = g * -1.0\n  t = t + 0.0\n"
    "  u = lr / t\n  u = sign(u)\n  return u, m\n",
    "negative-zero-literal": "def train(w, g, m, lr):\n  z = 0.0 * -1.0\n  t = w + z\n"
    "  t = t * -1.0\n  t = t + 0.0\n  u = reciprocal(t)\n  u = tanh(u)\n  return u, m\n",
    # `interp(x, y, 0) → x`: (1 - 0)·(-0.0) + 0·y is +0.0 for y >= 0
    "interp-endpoint-negative-zero": "def train(w, g, m, lr):\n  t = interp(g, w, 0.0)\n"
    "  u = lr / t\n  u = sign(u)\n  return u, m\n",
    "literals-only": "def train(w, g, m, lr):\n  a = 2.0 * 3.0\n  b = sqrt(a)\n"
    "  c = get_pi()\n  c = c * b\n  u = c * lr\n  return u, m\n",
    "state-becomes-scalar": "def train(w, g, m, lr):\n  m = lr * 0.5\n  u = g * m\n  return u, m\n",
    "hyperparameter-defaults": "def train(w, g, m, lr, a=0.5, b=0.7, c=1.0):\n"
    "  x = interp(g, m, a)\n  y = interp(g, x, b)\n  y = y * c\n  u = sign(y)\n"
    "  m = interp(g, m, 0.9)\n  return u, m\n",
    "interp-increment": "def train(w, g, m, lr):\n  t = m + g\n  m = interp(m, t, 0.5)\n"
    "  u = m * lr\n  return u, m\n",
    "huge-weights": "def train(w, g, m, lr):\n  d = w * 1e300\n  u = sign(g)\n  u = u + d\n"
    "  u = u * lr\n  return u, m\n",
}


@pytest.mark.parametrize("semantics", ["math", "hero"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_programs_exact_holds_on_fresh_trajectories(name: str, semantics: str) -> None:
    recheck(parse_text(HOSTILE[name], f"{name}.txt"), semantics)


def with_values(program: Program, values: dict[str, float]) -> Program:
    """`program` with each hyperparameter replaced by its value (mutation keeps only programs
    without free hyperparameters)."""
    body = [
        replace(s, args=tuple(Const(values[a.name]) if isinstance(a, Hyper) else a for a in s.args))
        for s in program.body
    ]
    return program.with_body(body, defaults=())


def example_programs() -> list[Program]:
    """The shipped example programs, each hyperparameter without a default given a value in
    [0.5, 0.9999]."""
    out = []
    for path in sorted((Path(__file__).parent.parent / "examples" / "programs").rglob("*.txt")):
        program = parse_text(path.read_text(), str(path))
        values = {h: 0.5 + 0.4999 * (i + 1) / 8 for i, h in enumerate(program.hyperparams())}
        out.append(with_values(program, {**values, **dict(program.defaults)}))
    return out


EXAMPLES = example_programs()


@pytest.mark.parametrize("semantics", ["math", "hero"])
def test_examples_exact_holds_on_long_trajectories(semantics: str) -> None:
    for program in EXAMPLES:
        recheck(program, semantics, LONG_TRAJECTORIES)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10**6), n=st.integers(1, 10), semantics=st.sampled_from(["math", "hero"])
)
def test_search_mutants_exact_holds_on_fresh_trajectories(seed: int, n: int, semantics: str):  # noqa: ANN201
    recheck(mutate(adamw(), random.Random(seed), mutations=n), semantics)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 10),
    base=st.integers(0, len(EXAMPLES) - 1),
    semantics=st.sampled_from(["math", "hero"]),
)
def test_example_mutants_exact_holds_on_fresh_trajectories(  # noqa: ANN201
    seed: int, n: int, base: int, semantics: str
):
    recheck(mutate(EXAMPLES[base], random.Random(seed), mutations=n), semantics)


#: Literals that rewrites are tempted to treat as ordinary numbers.
EXTREME_LITERALS = (0.0, -0.0, 5e-324, 1e-300, 1e-8, 0.5, 1.0, -1.0, 2.0, 1e8, 1e300)


def with_extreme_literals(program: Program, rng: random.Random) -> Program:
    """`program` with about half of its literals replaced by extreme ones (when still valid)."""
    body = [
        replace(
            s,
            args=tuple(
                Const(rng.choice(EXTREME_LITERALS))
                if isinstance(a, Const) and rng.random() < 0.5
                else a
                for a in s.args
            ),
        )
        for s in program.body
    ]
    out = program.with_body(body)
    return out if is_valid(out) else program


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10**6),
    base=st.integers(0, len(EXAMPLES) - 1),
    semantics=st.sampled_from(["math", "hero"]),
)
def test_extreme_literals_exact_holds_on_fresh_trajectories(  # noqa: ANN201
    seed: int, base: int, semantics: str
):
    rng = random.Random(seed)
    program = mutate(EXAMPLES[base], rng, mutations=rng.randint(1, 8))
    recheck(with_extreme_literals(program, rng), semantics)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(1, 20),
    base=st.integers(0, len(EXAMPLES) - 1),
    semantics=st.sampled_from(["math", "hero"]),
)
def test_example_mutants_exact_holds_long_sweep(  # noqa: ANN201
    seed: int, n: int, base: int, semantics: str
):
    recheck(mutate(EXAMPLES[base], random.Random(seed), mutations=n), semantics, LONG_TRAJECTORIES)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10**6), n=st.integers(1, 20), semantics=st.sampled_from(["math", "hero"])
)
def test_search_mutants_exact_holds_big_sweep(seed: int, n: int, semantics: str):  # noqa: ANN201
    recheck(mutate(adamw(), random.Random(seed), mutations=n), semantics)


def test_verifier_samples_signed_zeros_and_rolls_back_what_they_break() -> None:
    """The verifier's own trajectories hold 0.0 and -0.0 in gradients and weights, so
    `t + 0.0 → t` is rolled back where a division sees the sign of the zero."""
    for traj in trajectories():
        for x in (traj.grads, traj.weights):
            zeros = x[x == 0]
            assert np.any(np.signbit(zeros)) and np.any(~np.signbit(zeros))
    result = reduce(parse_text(HOSTILE["negative-zero-divisor"], "nz.txt"))
    neutral = [r for r in result.passes if r.name == "neutral-elements"]
    assert neutral and all(r.status == "rolled back" for r in neutral)
    assert "+ 0.0" in print_program(result.program)  # the addition that makes -0.0 into 0.0


def recheck_match(a: Program, b: Program, semantics: str, trajectories: list[Trajectory]) -> None:
    """An `identical` or `equivalent` verdict (no side conditions) holds both ways: neither
    program is NaN where the other is a number, and the updates agree."""
    session_counts.add("exact re-check: verdicts re-checked")
    problem = disagreement(a, b, semantics, (), trajectories) or disagreement(
        b, a, semantics, (), trajectories
    )
    session_counts.add("exact re-check: verdicts failed", problem is not None)
    assert problem is None, (semantics, problem)


def diff_pair(seed: int) -> tuple[Program, Program]:
    """A mutant of an example, and one more mutation of it, its reduction, or an example."""
    rng = random.Random(seed)
    a = mutate(EXAMPLES[rng.randrange(len(EXAMPLES))], rng, mutations=rng.randint(0, 5))
    kind = rng.choice(("mutant", "reduced", "example"))
    if kind == "mutant":
        return a, mutate(a, rng, mutations=1)
    if kind == "reduced":
        return a, reduce(a).program
    return a, EXAMPLES[rng.randrange(len(EXAMPLES))]


def recheck_diff(seed: int, semantics: str, trajectories: list[Trajectory]) -> None:
    a, b = diff_pair(seed)
    d = diff_programs(a, b, semantics=semantics)  # type: ignore[arg-type]
    if d.verdict in ("identical", "equivalent"):
        recheck_match(a, b, semantics, trajectories)


def recheck_explain(seed: int, semantics: str, trajectories: list[Trajectory]) -> None:
    """A reference optimizer with drawn constants (0, 1 and 1e-8 included), or a mutant of an
    example: each `identical` / `equivalent` match is the program and the instantiated
    reference side by side."""
    rng = random.Random(seed)
    if rng.random() < 0.5:
        ref = REFERENCES[rng.randrange(len(REFERENCES))].program
        choices = (0.0, 1e-8, 0.01, 0.5, 0.9, 0.999, 1.0)
        program = with_values(ref, {h: rng.choice(choices) for h in ref.hyperparams()})
    else:
        program = mutate(EXAMPLES[rng.randrange(len(EXAMPLES))], rng, mutations=rng.randint(0, 3))
    reduced = reduce(program, semantics=semantics).program  # type: ignore[arg-type]
    for rec in recognize(reduced, semantics=semantics, nearest=False).matches:  # type: ignore[arg-type]
        if rec.verdict in ("identical", "equivalent"):
            recheck_match(rec.diff.a, rec.diff.b, semantics, trajectories)


REFERENCES = references()


@pytest.mark.parametrize("semantics", ["math", "hero"])
@pytest.mark.parametrize("seed", range(6))
def test_diff_and_explain_matches_hold_on_fresh_trajectories(seed: int, semantics: str) -> None:
    recheck_diff(seed, semantics, TRAJECTORIES)
    recheck_explain(seed, semantics, TRAJECTORIES)


@pytest.mark.slow
@pytest.mark.parametrize("semantics", ["math", "hero"])
def test_diff_and_explain_matches_hold_long_sweep(semantics: str) -> None:
    for seed in range(6, 206):
        recheck_diff(seed, semantics, LONG_TRAJECTORIES)
        recheck_explain(seed, semantics, LONG_TRAJECTORIES)
