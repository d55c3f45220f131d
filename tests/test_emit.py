"""Emission: lifted hyperparameters, and the generated JAX/optax module against optax."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from generated_module import load

from lionsimplify.emit import jax_module_source, lift, module_name
from lionsimplify.emit.jax_module import valid_identifier
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.passes.driver import reduce

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "examples" / "programs"
DATA = Path(__file__).resolve().parent / "data"
LION_PARAMS = {"β1": 0.9, "β2": 0.99, "λ": 0.01}


def emitted(path: Path, name: str, params=None, **kw) -> tuple[str, object]:
    r = reduce(parse_file(path), params=params or {}, **kw)
    return jax_module_source(lift(r.program, params), name, source=path.name), r


def test_program8_hyperparameters_are_lifted_by_role():
    r = reduce(parse_file(PROGRAMS / "program8.txt"))
    lifted = lift(r.program)
    assert lifted.values == {
        "b1": 0.8999999761581421,
        "wd": 0.4601978361606598,
        "lr_scale": 0.0002171761734643951,
        "b2": pytest.approx(1.109133005142212 * 0.8999999761581421, abs=1e-12),
    }
    text = lifted.text()
    assert "update = interp(g, m, b1)" in text and "m = interp(g, m, b2)" in text
    assert "weight_decay = w * wd" in text and "lr = lr * lr_scale" in text
    assert "b2=0.99821" in text.splitlines()[0]  # values ride in the signature
    assert "# b2 ≈ 0.99822" in lifted.params_text()
    assert parse_text(text + lifted.params_text()) == lifted.program


def test_bias_correction_reads_the_interpolation_weight_and_eps_is_named():
    lifted = lift(reduce(parse_file(DATA / "adamw_bias.txt")).program)
    assert lifted.values == {"b1": 0.9, "b2": 0.999, "wd": 0.01, "lr_scale": 0.001, "eps": 1e-8}
    text = lifted.text()
    assert "power(b1, step)" in text and "1.0 - " in text  # 1 is structure, not a knob


def test_named_hyperparameters_take_role_names_and_their_values():
    r = reduce(parse_file(PROGRAMS / "program1_lion.txt"), params=LION_PARAMS)
    assert lift(r.program, LION_PARAMS).values == {"b1": 0.9, "b2": 0.99, "wd": 0.01}
    # the reduced program carries the values in its signature; the bare program has none
    assert lift(r.program).values == {"b1": 0.9, "b2": 0.99, "wd": 0.01}
    bare = parse_file(PROGRAMS / "program1_lion.txt")
    assert lift(bare).values == {"b1": None, "b2": None, "wd": None}
    assert "b1=" not in lift(bare).text()


def test_module_imports_only_jax_and_optax_and_documents_the_rule():
    text, _ = emitted(PROGRAMS / "program8.txt", "lion8")
    tree = ast.parse(text)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported == {"jax", "optax"}
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lion8")
    assert [a.arg for a in fn.args.args] == [
        "learning_rate",
        "b1",
        "b2",
        "wd",
        "lr_scale",
        "mu_dtype",
    ]
    assert (
        "update = (sign((1 - b1)·arcsin(clip(g, lr)) + b1·m) + w·wd)·(lr·lr_scale)"
        in ast.get_docstring(tree)
    )
    assert "_clip_by_global_norm" in text  # global reductions act on the whole tree


def test_identifiers_are_validated():
    assert module_name("program1_lion") == "program1_lion"
    assert module_name("8-bit lion") == "opt_8_bit_lion"
    assert module_name("import") == "opt_import"
    assert not valid_identifier("β1") and not valid_identifier("class")
    r = reduce(parse_file(PROGRAMS / "program8.txt"))
    with pytest.raises(ValueError, match="not a usable"):
        jax_module_source(lift(r.program), "jax")
    lion = parse_file(PROGRAMS / "program1_lion.txt")  # named hyperparameters, no values
    with pytest.raises(ValueError, match="no value"):
        jax_module_source(lift(lion), "lion")


def test_program1_module_matches_optax_lion_under_jit(tmp_path):
    jax = pytest.importorskip("jax")
    jnp, optax = jax.numpy, pytest.importorskip("optax")
    text, _ = emitted(PROGRAMS / "program1_lion.txt", "lion", LION_PARAMS)
    ours = load(tmp_path, text, "lion")(1e-3)
    ref = optax.lion(1e-3, b1=0.9, b2=0.99, weight_decay=0.01)
    params = {"dense": jnp.ones((3, 4)), "bias": [jnp.arange(5.0), jnp.asarray(2.0)]}
    so, sr = ours.init(params), ref.init(params)
    # one state array per parameter, shaped like it
    assert jax.tree.structure(so["m"]) == jax.tree.structure(params)
    assert len(jax.tree.leaves(so)) == 1 + len(jax.tree.leaves(params))
    step_o, step_r = jax.jit(ours.update), jax.jit(ref.update)
    po = pr = params
    key = jax.random.PRNGKey(0)
    for _ in range(100):
        key, k = jax.random.split(key)
        g = jax.tree.map(lambda p, k=k: jax.random.normal(k, p.shape), po)
        uo, so = step_o(g, so, po)
        ur, sr = step_r(g, sr, pr)
        for a, b in zip(jax.tree.leaves(uo), jax.tree.leaves(ur), strict=True):
            assert float(jnp.max(jnp.abs(a - b))) <= 1e-6
        po, pr = optax.apply_updates(po, uo), optax.apply_updates(pr, ur)


def test_module_with_step_schedule_and_mu_dtype_runs_under_jit(tmp_path):
    jax = pytest.importorskip("jax")
    jnp, optax = jax.numpy, pytest.importorskip("optax")
    text, _ = emitted(DATA / "adamw_bias.txt", "adamw_bc")
    schedule = optax.linear_schedule(1e-2, 1e-3, 10)
    opt = load(tmp_path, text, "adamw_bc")(schedule, mu_dtype=jnp.bfloat16)
    params = {"a": jnp.ones((2, 3)), "b": jnp.zeros((4,))}
    state = opt.init(params)
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves((state["m"], state["v"])))
    step = jax.jit(opt.update)
    for _ in range(3):
        g = jax.tree.map(lambda p: jnp.full_like(p, 0.5), params)
        updates, state = step(g, state, params)
        params = optax.apply_updates(params, updates)
    assert int(state["count"]) == 3
    # first step of bias-corrected Adam moves every coordinate by about lr (1e-2), downhill
    assert float(params["b"][0]) < 0


def test_module_without_weight_decay_needs_no_params(tmp_path):
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    from lionsimplify.lang.parse import parse_text

    program = parse_text(
        "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = sign(m) * lr\n  return u, m\n",
        "signum.txt",
    )
    text = jax_module_source(lift(reduce(program).program), "signum")
    assert "params is None" not in text
    opt = load(tmp_path, text, "signum")(0.1)
    params = [jnp.ones(3)]
    updates, state = jax.jit(opt.update)([jnp.array([1.0, -2.0, 0.0])], opt.init(params))
    assert updates[0].tolist() == pytest.approx([-0.1, 0.1, 0.0])


#: Programs whose values change kind: `u` a scalar (`dot`) then a tensor, a state set to the
#: (scalar) learning rate, an update that no tensor reaches.
KIND_CHANGES = {
    "scalar-then-tensor": "def train(w, g, m, lr):\n  u = dot(g, m)\n  u = u * g\n"
    "  m = interp(g, m, 0.9)\n  u = u + m\n  u = u * lr\n  return u, m\n",
    "state-set-to-a-scalar": "def train(w, g, m, lr):\n  u = g * m\n  u = u + g\n  m = lr\n"
    "  u = u * lr\n  return u, m\n",
    "scalar-update": "def train(w, g, lr):\n  u = lr * 0.5\n  return u\n",
}


@pytest.mark.parametrize(
    "source",
    [PROGRAMS / "program8.txt", DATA / "adamw_bias.txt", *KIND_CHANGES],
    ids=lambda p: p.stem if isinstance(p, Path) else p,
)
def test_module_computes_what_the_interpreter_computes(tmp_path, source):
    """The emitted code (clip by global norm, arcsin, bias correction with `step`, ...) against
    the numpy interpreter, step by step on one parameter tensor (global norm = its norm)."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    import numpy as np

    from lionsimplify.analysis.interp import random_trajectory, run

    program = parse_file(source) if isinstance(source, Path) else parse_text(KIND_CHANGES[source])
    r = reduce(program)
    traj = random_trajectory(3, steps=20, size=16, grad_scales=(1.0,))
    lr = float(traj.lrs[0, 0, 0])  # the module is given one constant learning rate
    traj = type(traj)(traj.weights, traj.grads, np.full_like(traj.lrs, lr))
    expected = run(r.program, traj).updates[:, 0, :]
    opt = load(tmp_path, jax_module_source(lift(r.program), "opt"), "opt")(lr)
    state = opt.init({"p": jnp.zeros(16)})
    step = jax.jit(opt.update)
    for t in range(20):
        g = {"p": jnp.asarray(traj.grads[t, 0], jnp.float32)}
        w = {"p": jnp.asarray(traj.weights[t, 0], jnp.float32)}
        updates, state = step(g, state, w)
        np.testing.assert_allclose(
            -np.asarray(updates["p"]), np.broadcast_to(expected[t], (16,)), rtol=2e-4, atol=1e-9
        )


def test_report_states_the_gradient_scales_the_verifier_used():
    """The derivation said "gradient scales 1e-4 to 1e2" while verification ran 1e-8 to 1e6."""
    from lionsimplify.emit.derivation import derivation_markdown
    from lionsimplify.lang.domains import EXTREME_GRAD_SCALES

    text = derivation_markdown(reduce(parse_file(PROGRAMS / "program8.txt")))
    low, high = min(EXTREME_GRAD_SCALES), max(EXTREME_GRAD_SCALES)
    assert f"(gradient scales {low:g} to {high:g})" in text


def test_the_optax_builtin_module_refuses_a_name_that_hides_optax(tmp_path, capsys):
    """`--name optax` wrote `def optax(...): return optax.lion(...)`, which calls itself."""
    from cli_runner import run_cli

    out = tmp_path / "m.py"
    args = ["reduce", str(PROGRAMS / "program1_lion.txt"), "--param", "β1=0.9", "--param",
            "β2=0.99", "--param", "λ=0.01", "--jax", str(out), "--name"]  # fmt: skip
    code, _, err = run_cli(capsys, *args, "optax")
    assert code == 2 and "'optax' is not a usable Python function name" in err
    assert not out.exists()
    code, _, _ = run_cli(capsys, *args, "lion")
    assert code == 0 and "return optax.lion(" in out.read_text()
