"""The IR → optax conversion: Lion through the IR is optax.lion, AdamW runs, semantics matter."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lionsimplify.emit.optax_runtime import program_to_optax
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Const, Hyper, Program, Stmt, Var


def _s(target, op, *args):
    atoms = [a if not isinstance(a, str) else Var(a) for a in args]
    atoms = [Const(float(a)) if isinstance(a, int | float) else a for a in atoms]
    return Stmt(target, op, tuple(atoms))


#: Program 1 of the paper (Lion), as the parser builds it.
LION = Program(
    weight="weight",
    grad="gradient",
    state=("momentum",),
    lr="lr",
    body=(
        _s("update", "interp", "gradient", "momentum", Hyper("β1")),
        _s("update", "sign", "update"),
        _s("momentum", "interp", "gradient", "momentum", Hyper("β2")),
        _s("weight_decay", "mul", "weight", Hyper("λ")),
        _s("update", "add", "update", "weight_decay"),
        _s("update", "mul", "update", "lr"),
    ),
    returns=("update", "momentum"),
)
LION_PARAMS = {"β1": 0.9, "β2": 0.99, "λ": 0.01}

#: Program 3 of the paper (the AdamW warm start, no epsilon, no bias correction).
ADAMW = Program(
    weight="w",
    grad="g",
    state=("m", "v"),
    lr="lr",
    body=(
        _s("g2", "square", "g"),
        _s("m", "interp", "g", "m", 0.9),
        _s("v", "interp", "g2", "v", 0.999),
        _s("sqrt_v", "sqrt", "v"),
        _s("update", "div", "m", "sqrt_v"),
        _s("wd", "mul", "w", 0.01),
        _s("update", "add", "update", "wd"),
        _s("lr", "mul", "lr", 0.001),
        _s("update", "mul", "update", "lr"),
    ),
    returns=("update", "m", "v"),
)


def _tree(seed: int = 0, lead: tuple[int, ...] = ()):
    """A pytree of mixed shapes (numpy, so no PRNG compilation slows the tests down)."""
    rng = np.random.default_rng(seed)
    shapes = {"dense": {"w": (7, 5), "b": (5,)}, "scalar": (), "conv": (2, 3, 3, 4)}
    return jax.tree.map(
        lambda s: jnp.asarray(rng.normal(size=lead + s), jnp.float32),
        shapes,
        is_leaf=lambda s: isinstance(s, tuple),
    )


def _trajectory(opt: optax.GradientTransformation, steps: int, seed: int = 0):
    """Run `steps` updates with fixed random gradients (scale 3) under jit; return the final
    parameters, the final state and every update."""

    @jax.jit
    def run(params, grads):
        def step(carry, g):
            params, state = carry
            updates, state = opt.update(g, state, params)
            return (optax.apply_updates(params, updates), state), updates

        (params, state), ups = jax.lax.scan(step, (params, opt.init(params)), grads)
        return params, state, ups

    grads = jax.tree.map(lambda g: 3.0 * g, _tree(seed + 1, (steps,)))
    return run(_tree(seed), grads)


def _max_diff(a, b) -> float:
    return max(
        float(jnp.max(jnp.abs(x - y)))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


@pytest.mark.parametrize("lr", [1e-3, optax.cosine_decay_schedule(3e-3, 100)])
def test_lion_program_equals_optax_lion(lr):
    ours = program_to_optax(LION, learning_rate=lr, params=LION_PARAMS)
    ref = optax.lion(lr, b1=0.9, b2=0.99, weight_decay=0.01)
    p1, s1, u1 = _trajectory(ours, 100)
    p2, s2, u2 = _trajectory(ref, 100)
    assert _max_diff(u1, u2) <= 1e-6
    assert _max_diff(p1, p2) <= 1e-6
    # one momentum array per parameter, nothing else but (for a schedule) the step count
    assert len(s1.state) == 1
    assert _max_diff(s1.state[0], s2[0].mu) <= 1e-6


def test_lion_learning_rate_can_be_traced_under_vmap():
    lrs = jnp.array([1e-3, 2e-3])

    def final(lr):
        opt = program_to_optax(LION, learning_rate=lr, params=LION_PARAMS)
        return _trajectory(opt, 5)[0]

    ours = jax.vmap(final)(lrs)
    for i, lr in enumerate([1e-3, 2e-3]):
        ref = _trajectory(optax.lion(lr, b1=0.9, b2=0.99, weight_decay=0.01), 5)[0]
        assert _max_diff(jax.tree.map(lambda x, i=i: x[i], ours), ref) <= 1e-6


def test_adamw_program_runs_and_moves_against_the_gradient():
    opt = program_to_optax(ADAMW, learning_rate=1.0, params={})
    params, state, updates = _trajectory(opt, 20)
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(params))
    assert len(state.state) == 2 and state.count is None
    # first step: m = 0.1 g, v = 0.001 g², update = 0.1 g / (|g| sqrt(0.001)) + 0.01 w, × 0.001
    grads = {"a": jnp.array([2.0, -0.5])}
    w = {"a": jnp.array([1.0, 1.0])}
    up, _ = opt.update(grads, opt.init(w), w)
    expected = -(0.1 * np.sign([2.0, -0.5]) / np.sqrt(0.001) + 0.01) * 0.001
    np.testing.assert_allclose(up["a"], expected, rtol=1e-5)


def test_hero_semantics_guards_division_where_math_does_not():
    zero = {"a": jnp.zeros(3)}
    math_up, _ = program_to_optax(ADAMW, learning_rate=1.0, params={}).update(
        zero, program_to_optax(ADAMW, learning_rate=1.0, params={}).init(zero), zero
    )
    hero = program_to_optax(ADAMW, learning_rate=1.0, params={}, semantics="hero")
    hero_up, _ = hero.update(zero, hero.init(zero), zero)
    assert bool(jnp.all(jnp.isnan(math_up["a"])))  # 0 / 0
    np.testing.assert_array_equal(hero_up["a"], 0.0)  # 0 / (0 + 1e-8)


def test_global_reductions_span_the_whole_tree():
    # update = clip(g, 1.0): optax.clip_by_global_norm(1.0)
    prog = Program(
        weight="w", grad="g", state=(), lr="lr",
        body=(_s("u", "clip", "g", 1.0), _s("n", "norm", "g"), _s("u", "mul", "u", "n")),
        returns=("u",),
    )  # fmt: skip
    grads = _tree(3)
    opt = program_to_optax(prog, learning_rate=1.0, params={})
    ours, _ = jax.jit(opt.update)(grads, opt.init(grads))
    clipped, _ = jax.jit(optax.clip_by_global_norm(1.0).update)(grads, None)
    expected = jax.tree.map(lambda c, g: -c * jnp.linalg.norm(jnp.ravel(g)), clipped, grads)
    assert _max_diff(ours, expected) <= 1e-5


def test_step_input_is_one_based():
    prog = Program(
        weight="w", grad="g", state=(), lr="lr", extras=("step",),
        body=(_s("u", "mul", "g", "step"),), returns=("u",),
    )  # fmt: skip
    opt = program_to_optax(prog, learning_rate=1.0, params={})
    g = {"a": jnp.ones(2)}
    state = opt.init(g)
    u1, state = opt.update(g, state)
    u2, state = opt.update(g, state)
    np.testing.assert_array_equal(u1["a"], -1.0)
    np.testing.assert_array_equal(u2["a"], -2.0)


def test_missing_hyperparameters_are_named():
    # the E205 every command gives, at the first use: this hand-made IR has no locations, so
    # none (it was a made-up `<input>:1:1`)
    with pytest.raises(ProgramError, match="hyperparameters `β1`, `β2`, `λ` have no value") as e:
        program_to_optax(LION, learning_rate=1e-3, params={})
    assert e.value.code == "E205" and not e.value.has_location


def test_state_dtype_follows_mu_dtype():
    params = _tree(0)
    opt = program_to_optax(LION, learning_rate=1e-3, params=LION_PARAMS, mu_dtype=jnp.bfloat16)
    state = opt.init(params)
    assert {x.dtype for x in jax.tree.leaves(state.state)} == {jnp.dtype(jnp.bfloat16)}
    updates, state = jax.jit(opt.update)(params, state, params)
    assert {x.dtype for x in jax.tree.leaves(state.state)} == {jnp.dtype(jnp.bfloat16)}
    assert {x.dtype for x in jax.tree.leaves(updates)} == {jnp.dtype(jnp.float32)}


def _with_literals(program, params, literals_of):
    """Run 5 steps of `program` with its numbers passed to the jitted function as an array;
    return the lowered computation's text and the final parameters."""
    from lionsimplify.emit.optax_runtime import program_literals

    def run(literals, params_tree, grads):
        opt = program_to_optax(program, learning_rate=1.0, params=params, literals=literals)

        def step(carry, g):
            p, s = carry
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        return jax.lax.scan(step, (params_tree, opt.init(params_tree)), grads)[0][0]

    literals = jnp.asarray(literals_of(program_literals(program, params)), jnp.float32)
    grads = jax.tree.map(lambda g: 3.0 * g, _tree(1, (5,)))
    jitted = jax.jit(run)
    text = jitted.lower(literals, _tree(0), grads).as_text(debug_info=False)
    return text, jitted(literals, _tree(0), grads)


def test_programs_differing_only_in_numbers_share_one_computation():
    """With `literals`, AdamW at 0.9/0.999 and at 0.8/0.99 lower to the same computation (one
    executable), and each computes what the numbers compiled in compute."""
    other = {0.9: 0.8, 0.999: 0.99}
    text_a, final_a = _with_literals(ADAMW, {}, lambda xs: xs)
    text_b, final_b = _with_literals(ADAMW, {}, lambda xs: [other.get(x, x) for x in xs])
    assert text_a == text_b
    assert _max_diff(final_a, final_b) > 1e-3  # the numbers do matter
    baked = program_to_optax(ADAMW, learning_rate=1.0, params={})

    def reference(params_tree, grads):
        def step(carry, g):
            p, s = carry
            u, s = baked.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        return jax.lax.scan(step, (params_tree, baked.init(params_tree)), grads)[0][0]

    grads = jax.tree.map(lambda g: 3.0 * g, _tree(1, (5,)))
    assert _max_diff(final_a, jax.jit(reference)(_tree(0), grads)) < 1e-5
    _, lion = _with_literals(LION, LION_PARAMS, lambda xs: xs)  # hyperparameters too
    assert np.isfinite(_max_diff(lion, _tree(0)))
