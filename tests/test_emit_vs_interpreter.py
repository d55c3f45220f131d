"""The emitted JAX/optax module (float32) against the interpreter, on programs that stress the
module's view of kinds: a name that changes kind when assigned again, a scalar update or
state, a reduction of a scalar with a tree, and search-style mutants of the shipped examples
(`tests/test_exact_recheck.py` has the same examples). The module must compute what the IR
computes (the interpreter is the reference), to float32 rounding."""

from __future__ import annotations

import pytest
from generated_module import load

from lionsimplify.emit import jax_module_source, lift
from lionsimplify.lang.parse import parse_text
from lionsimplify.passes.driver import reduce

# A name that changes kind when assigned again (`lr = lr + g`), a state assigned a value that
# does not depend on the parameters, and an update that is one scalar: the module used to give
# each name its last kind everywhere (so `lr + g` was mapped over `lr` as if it were a tree) and
# to return a scalar where optax needs one array per parameter.
KIND_CHANGES = {
    "lr-becomes-tensor": "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  lr = lr + g\n"
    "  s = lr * 0.001\n  u = s * m\n  return u, m\n",
    "name-reused-for-scalar-then-tensor": "def train(w, g, m, v, lr, *, step):\n"
    "  m = interp(g, m, 0.5)\n  v = interp(0.25, v, 0.5)\n  p = power(0.5, step)\n"
    "  t = 1.0 - p\n  d = v / t\n  t = sqrt(d)\n  u = m / t\n  u = u * lr\n  return u, m, v\n",
    "scalar-update": "def train(w, g, lr, *, step):\n  p = power(0.5, step)\n  c = 1.0 - p\n"
    "  u = arctan(c)\n  u = u * lr\n  return u\n",
    "scalar-state": "def train(w, g, m, lr):\n  m = lr * 0.5\n  u = g * m\n  return u, m\n",
    "cosine-of-a-scalar": "def train(w, g, lr):\n  c = cosine_sim(-1.5, g)\n  u = g * c\n"
    "  u = u * lr\n  return u\n",
}


def _module_against_interpreter(tmp_path, program, name, steps=20, rtol=2e-4):  # noqa: ANN001, ANN202
    """Run the emitted module (float32, one parameter tensor) and the interpreter side by side."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    import numpy as np

    from lionsimplify.analysis.interp import Trajectory, random_trajectory, run

    r = reduce(program)
    traj = random_trajectory(5, steps=steps, size=8, grad_scales=(1.0,))
    lr = float(traj.lrs[0, 0, 0])
    traj = Trajectory(traj.weights, traj.grads, np.full_like(traj.lrs, lr))
    expected = run(r.program, traj).updates[:, 0, :]
    opt = load(tmp_path, jax_module_source(lift(r.program), name), name)(lr)
    state = opt.init({"p": jnp.zeros(8)})
    step = jax.jit(opt.update)
    for t in range(steps):
        g = {"p": jnp.asarray(traj.grads[t, 0], jnp.float32)}
        w = {"p": jnp.asarray(traj.weights[t, 0], jnp.float32)}
        updates, state = step(g, state, w)
        assert jax.tree.structure(updates) == jax.tree.structure(g)
        got = -np.asarray(updates["p"], np.float64)
        np.testing.assert_allclose(got, expected[t], rtol=rtol, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("name", sorted(KIND_CHANGES))
def test_module_follows_each_names_kind_and_returns_one_array_per_parameter(tmp_path, name):
    program = parse_text(KIND_CHANGES[name], f"{name}.txt")
    _module_against_interpreter(tmp_path, program, name.replace("-", "_"))


@pytest.mark.parametrize("seed", range(8))
def test_module_of_example_mutants_computes_what_the_interpreter_computes(tmp_path, seed):
    """Search-style mutants of the shipped examples: the first steps agree to float32 rounding
    (a chaotic program amplifies rounding over many steps, so only 3 steps are compared)."""
    import random

    from test_exact_recheck import EXAMPLES

    from lionsimplify.lang.mutate import mutate

    rng = random.Random(seed)
    program = mutate(EXAMPLES[rng.randrange(len(EXAMPLES))], rng, mutations=rng.randint(1, 6))
    _module_against_interpreter(tmp_path, program, f"mutant{seed}", steps=3, rtol=1e-3)


def test_cosine_of_a_scalar_is_a_cosine_in_interpreter_and_training_runtime() -> None:
    """`cosine_sim(c, g)`: the scalar stands for the constant tensor, so the value is
    sign(c)·Σg / (√n·‖g‖), within [-1, 1], in the interpreter and in `program_to_optax` (the
    interpreter used to give Σg / ‖g‖, the training runtime the cosine)."""
    jax = pytest.importorskip("jax")
    import numpy as np

    from lionsimplify.analysis.interp import Trajectory, random_trajectory, run
    from lionsimplify.emit.optax_runtime import program_to_optax

    program = parse_text(KIND_CHANGES["cosine-of-a-scalar"], "cos.txt")
    traj = random_trajectory(1, steps=1, size=8, grad_scales=(1.0,))
    traj = Trajectory(traj.weights, traj.grads, np.ones_like(traj.lrs))
    g = traj.grads[0, 0]
    want = -np.sum(g) / (np.sqrt(8) * np.linalg.norm(g)) * g
    np.testing.assert_allclose(run(program, traj).updates[0, 0], want, rtol=1e-12)
    opt = program_to_optax(program, learning_rate=1.0, params={})
    updates, _ = opt.update([jax.numpy.asarray(g, jax.numpy.float32)], opt.init([g]))
    np.testing.assert_allclose(-np.asarray(updates[0]), want, rtol=1e-5)
