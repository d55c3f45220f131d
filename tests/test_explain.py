"""`explain`: references equal optax, recognition with fitted constants, properties, the box."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from lionsimplify.explain import explain, explain_reduction
from lionsimplify.explain.match import unify
from lionsimplify.explain.recognize import recognize
from lionsimplify.explain.references import reference, references
from lionsimplify.lang.ir import Const, Hyper, Program, Stmt, Var
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import reduce
from lionsimplify.passes.rename import rename

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "programs"
WITH_OPTAX = [r.key for r in references() if r.optax is not None]


def test_the_library_has_every_reference_the_issue_names():
    names = {r.key for r in references()}
    assert names >= {"sgd", "heavy_ball", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                     "amsgrad", "nadam", "adabelief", "signsgd", "signum", "lion"}  # fmt: skip
    for r in references():
        assert r.cite, r.key


# ---------------------------------------------------------------------------------------------
# Every reference computes what its optax built-in computes.


def _run_pair(opt_a, opt_b, steps: int = 6) -> None:
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    params = {"a": jnp.asarray(rng.normal(size=(3, 4)), jnp.float32),
              "b": jnp.asarray(rng.normal(size=(5,)), jnp.float32)}  # fmt: skip
    sa, sb = opt_a.init(params), opt_b.init(params)
    for _ in range(steps):
        grads = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), jnp.float32), params)
        ua, sa = opt_a.update(grads, sa, params)
        ub, sb = opt_b.update(grads, sb, params)
        for x, y in zip(jax.tree.leaves(ua), jax.tree.leaves(ub), strict=True):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-5, atol=1e-7)
        params = jax.tree.map(lambda p, u: p + u, params, ua)


@pytest.mark.parametrize("key", WITH_OPTAX)
def test_reference_equals_its_optax_builtin(key):
    import optax

    from lionsimplify.emit.optax_runtime import program_to_optax

    ref = reference(key)
    lr = 0.01
    values = {h: v * 1.01 if 0 < v < 0.99 else v for h, v in ref.defaults.items()}  # not defaults
    builtin = getattr(optax, ref.optax.function)(**ref.optax.arguments(values, lr))
    ours = program_to_optax(ref.program, learning_rate=lr, params=values)
    _run_pair(ours, builtin)


@pytest.mark.parametrize("key", ["adamw_no_bias_correction", "adam_no_bias_correction"])
def test_adam_without_bias_correction_is_the_formula(key):
    """No optax built-in drops Adam's bias correction: check the reference against the formula."""
    from lionsimplify.analysis.interp import random_trajectory, run

    ref = reference(key)
    p = {"b1": 0.85, "b2": 0.99, "eps": 1e-6, "wd": 0.1 if "wd" in ref.hyperparams else 0.0}
    p = {h: p[h] for h in ref.hyperparams}
    p.setdefault("wd", 0.0)
    traj = random_trajectory(0, steps=8, size=5)
    out = run(ref.program, traj, params={h: p[h] for h in ref.hyperparams}).updates
    m = v = 0.0
    for t in range(traj.steps):
        g, w, lr = traj.grads[t], traj.weights[t], traj.lrs[t]
        m = p["b1"] * m + (1 - p["b1"]) * g
        v = p["b2"] * v + (1 - p["b2"]) * g * g
        np.testing.assert_allclose(
            out[t], lr * (m / (np.sqrt(v) + p["eps"]) + p["wd"] * w), rtol=1e-12
        )


@pytest.mark.parametrize("key", [r.key for r in references()])
def test_references_are_written_in_reduced_form(key):
    """Recognition compares reduced programs with references as written: reduction must not
    change a reference beyond names."""
    ref = reference(key)
    reduced = reduce(ref.program, params=ref.defaults).program
    sols = unify(ref.program, reduced)
    assert sols, print_program(reduced)
    assert all(sols[0].hypers[h] == Hyper(h) for h in ref.hyperparams)


# ---------------------------------------------------------------------------------------------
# Recognition of renamed, reordered and constant-perturbed versions of each reference.


def _perturbed(values: dict[str, float]) -> dict[str, float]:
    return {h: (v * 0.97 if v < 0.5 else 1 - (1 - v) * 1.3) for h, v in values.items()}


def _variant(program: Program, values: dict[str, float], seed: int) -> Program:
    """The program with literals for its hyperparameters, every name changed, and its
    statements in another valid order (each assignment gets its own name first)."""
    body = [Stmt(s.target, s.op, tuple(Const(values[a.name]) if isinstance(a, Hyper) else a
                                       for a in s.args)) for s in program.body]  # fmt: skip
    # SSA names, so that any order that respects the dataflow is a valid program
    current = {n: n for n in program.inputs}
    ssa = []
    for i, s in enumerate(body):
        args = tuple(Var(current[a.name]) if isinstance(a, Var) else a for a in s.args)
        current[s.target] = f"t{i}"
        ssa.append(Stmt(f"t{i}", s.op, args))
    rng = random.Random(seed)
    done: set[str] = set(program.inputs)
    order = []
    pending = list(ssa)
    while pending:
        ready = [s for s in pending if all(a.name in done for a in s.args if isinstance(a, Var))]
        pick = rng.choice(ready)
        pending.remove(pick)
        order.append(pick)
        done.add(pick.target)
    returns = tuple(current[r] for r in program.returns)
    varied = program.with_body(order, returns=returns)
    names = {n: f"x_{n}_{seed}" for n in program.inputs if n != "step"}
    return rename(varied, names)


@pytest.mark.parametrize("key", [r.key for r in references()])
def test_recognises_renamed_reordered_perturbed_reference(key):
    ref = reference(key)
    values = _perturbed(ref.defaults)
    variant = _variant(ref.program, values, seed=len(key))
    text = print_program(variant)
    program = parse_text(text, f"{key}-variant")
    e = explain(program)
    best = e.best
    assert best is not None and best.verdict in ("identical", "equivalent"), text
    assert best.reference.key == key, (best.headline(), text)
    got = {c.name: c.value for c in best.constants}
    for h, v in values.items():
        assert got[h] == pytest.approx(v, rel=1e-9), (h, best.headline())
    assert best.lr_scale is None


def test_learning_rate_scale_is_recognised_as_effective_learning_rate():
    ref = reference("signum")
    text = print_program(ref.program).replace(
        "update = update * lr", "lr = lr * 0.003\n  update = update * lr"
    )
    best = explain(parse_text(text), params={"b": 0.8}).best
    assert best.reference.key == "signum" and best.lr_scale == pytest.approx(0.003)


# ---------------------------------------------------------------------------------------------
# The paper's programs.


def test_program1_is_lion_with_the_paper_constants():
    params = {"β1": 0.9, "β2": 0.99, "λ": 0.01}
    e = explain(parse_file(EXAMPLES / "program1_lion.txt"), params=params)
    best = e.best
    assert best.verdict == "identical" and best.reference.key == "lion"
    got = {c.name: c.value for c in best.constants}
    assert got == {"b1": 0.9, "b2": 0.99, "wd": 0.01}
    assert [c.source for c in best.constants] == ["β1", "β2", "λ"]


def test_program8_after_ablation_is_lion_with_fitted_constants():
    e = explain(parse_file(EXAMPLES / "program8.txt"), ablate=True)
    best = e.best
    assert best.reference.key == "lion" and best.verdict in ("identical", "equivalent")
    got = {c.name: c.value for c in best.constants}
    assert got["b1"] == pytest.approx(0.9, abs=1e-7)
    assert got["b2"] == pytest.approx(0.99822, abs=1e-5)
    assert got["wd"] == pytest.approx(0.4602, abs=1e-4)
    assert best.lr_scale == pytest.approx(0.0002171761734643951)
    props = {p.name: p for p in e.properties}
    assert props["state"].data["state"] == 1
    assert props["gradient scale"].data["invariant"]
    assert props["lr schedule"].data["invariant"]
    assert props["update magnitude"].data["constant"] == pytest.approx(best.lr_scale)
    assert props["constraint"].data["bound"] == pytest.approx(1 / got["wd"])


def test_program3_is_adamw_with_its_constants():
    best = explain(parse_file(EXAMPLES / "program3_adamw.txt")).best
    assert best.verdict == "identical" and best.reference.name.startswith("AdamW")
    got = {c.name: c.value for c in best.constants}
    assert got == {"b1": 0.9, "b2": 0.999, "eps": 0.0, "wd": 0.01}
    assert best.lr_scale == pytest.approx(0.001)


def test_program8_unablated_is_nearest_lion_and_says_why():
    e = explain(parse_file(EXAMPLES / "program8.txt"))
    assert not e.recognitions.matches
    near = e.best
    assert near.verdict == "nearest" and near.reference.key == "lion"
    assert any("arcsin(clip(g, lr))" in d and "`g`" in d for d in near.differences)
    assert near.diff.verdict == "different" and near.diff.evidence.max_rel_dev > 1e-3
    props = {p.name: p for p in e.properties}
    assert "constraint" not in props  # no box claimed for what is not Lion
    assert not props["gradient scale"].data["invariant"]  # clip(g, lr) sees the scale


def test_unknown_program_is_never_a_false_match():
    text = "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = tanh(m)\n  update = u * lr\n  return update, m\n"
    e = explain(parse_text(text))
    assert not e.recognitions.matches
    near = e.best
    assert near.verdict == "nearest"
    assert near.diff.verdict == "different"
    assert any("tanh" in d for d in near.differences), near.differences
    # the reference it names really differs from the program
    assert near.diff.evidence.max_rel_dev > 1e-3


def test_direction_equivalent_is_said_with_its_factor_range():
    # signum's update, multiplied by a positive per-step factor (|g| summed): not signum exactly
    text = ("def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  s = sign(m)\n  n = norm(g)\n"
            "  n = n + 1\n  update = s * n\n  update = update * lr\n  return update, m\n")  # fmt: skip
    rec = recognize(reduce(parse_text(text)).program)
    best = rec.best
    assert best.verdict == "direction-equivalent" and best.reference.key == "signum"
    lo, hi = best.diff.evidence.factor_range
    assert 0 < lo <= hi
    assert "c in [" in best.headline() and "norm(g)" in best.headline()


# ---------------------------------------------------------------------------------------------
# The box bound, on a proxy.


def test_lion_with_weight_decay_keeps_weights_in_the_box_on_convex_s():
    import jax
    import jax.numpy as jnp
    import optax

    from lionsimplify.emit.optax_runtime import program_to_optax
    from lionsimplify.proxies.tasks import get_proxy

    task = get_proxy("convex-s")
    lion = reference("lion").program

    def final_weights(wd: float) -> np.ndarray:
        opt = program_to_optax(lion, learning_rate=0.01, params={"b1": 0.9, "b2": 0.99, "wd": wd})
        params = jax.tree.map(jnp.asarray, task.init(np.random.default_rng(0)))
        batches = jax.tree.map(jnp.asarray, task.batches(np.random.default_rng(1), 300))

        def step(carry, batch):
            p, s = carry
            g = jax.grad(task.loss)(p, batch)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), batches)
        return np.asarray(params["w"])

    lam = 4.0
    e = explain(parse_text(print_program(lion)), params={"b1": 0.9, "b2": 0.99, "wd": lam})
    bound = {p.name: p for p in e.properties}["constraint"].data["bound"]
    assert bound == pytest.approx(0.25)
    free = final_weights(0.0)
    assert np.max(np.abs(free)) > 2 * bound  # the constraint is active on this problem
    boxed = final_weights(lam)
    assert np.max(np.abs(boxed)) <= bound * (1 + 1e-5)
    assert np.max(np.abs(boxed)) >= 0.9 * bound  # driven to the boundary, not just small


# ---------------------------------------------------------------------------------------------
# The command.


def test_cli_explain_json_and_exit_codes(tmp_path, capsys):
    from cli_runner import run_cli

    code, out, _ = run_cli(capsys, "explain", str(EXAMPLES / "program8.txt"), "--ablate", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data[0]["matches"][0]["reference"] == "lion"
    code, out, _ = run_cli(capsys, "explain", str(EXAMPLES / "program8.txt"))
    assert code == 1 and "nearest: Lion" in out
    bad = tmp_path / "bad.txt"
    bad.write_text("def train(w, g, lr):\n  u = sgn(g)\n  return u\n")
    code, _, err = run_cli(capsys, "explain", str(bad))
    assert code == 2 and "bad.txt:2:7: error: unknown function `sgn`" in err


def test_cli_explain_several_files_takes_a_param_any_of_them_reads(capsys):
    """As in `diff` and `check`: `--param λ=0.01` is for the programs that read `λ`, not an
    error because the first file (Adam) has no weight decay."""
    from cli_runner import run_cli

    variants = EXAMPLES / "variants"
    code, out, err = run_cli(capsys, "explain", str(variants / "adam.txt"),
                             str(variants / "lion_bias_corrected.txt"), "--param", "β1=0.9",
                             "--param", "β2=0.99", "--param", "λ=0.01")  # fmt: skip
    assert code == 0, err
    assert "identical: Adam without bias correction" in out and "equivalent: Lion" in out
    code, _, err = run_cli(capsys, "explain", str(variants / "adam.txt"), "--param", "λ2=0.01")
    assert code == 2 and "--param λ2: no such hyperparameter" in err


def test_explain_reduction_reuses_the_reduction():
    r = reduce(parse_file(EXAMPLES / "program8.txt"), ablate=True)
    assert explain_reduction(r).best.reference.key == "lion"


def _load(path: Path, name: str):  # noqa: ANN202
    from generated_module import import_file

    return getattr(import_file(path, name), name)


def test_reduce_jax_emits_the_optax_builtin_with_the_same_updates(tmp_path, capsys):
    """Program 8 after --ablate equals Lion: `--jax` writes `optax.lion(...)`, and it updates
    exactly as the module generated from the program does."""
    from cli_runner import run_cli

    from lionsimplify.emit import jax_module_source, lift

    out = tmp_path / "lion8.py"
    code, _, _ = run_cli(capsys, "reduce", str(EXAMPLES / "program8.txt"), "--ablate", "--jax",
                         str(out), "--name", "lion8")  # fmt: skip
    assert code == 0
    text = out.read_text()
    assert "return optax.lion(" in text and "identical to Lion" in text
    generated = tmp_path / "gen8.py"
    reduced = reduce(parse_file(EXAMPLES / "program8.txt"), ablate=True)
    generated.write_text(jax_module_source(lift(reduced.program), "gen8", source="p8"))
    _run_pair(_load(out, "lion8")(0.5), _load(generated, "gen8")(0.5), steps=8)


def test_ema_momentum_is_heavy_ball_with_a_smaller_learning_rate():
    import optax

    from lionsimplify.emit.optax_runtime import program_to_optax

    b, lr = 0.8, 0.05
    ours = program_to_optax(reference("ema_momentum").program, learning_rate=lr, params={"b": b})
    _run_pair(ours, optax.sgd(learning_rate=(1 - b) * lr, momentum=b))


EMA_WRITTEN_OUT = (
    "def train(w, g, m, lr):\n  m = m * 0.93\n  h = g * 0.07\n  m = m + h\n"
    "  update = m * lr\n  return update, m\n"
)


def test_constant_left_open_by_unification_is_fitted_on_trajectories():
    """`m * 0.93 + g * 0.07` does not unify with `interp(g, m, b)`: b is fitted numerically,
    and the run then confirms the match. (As written: `reduce` makes it an `interp`.)"""
    program = parse_text(EMA_WRITTEN_OUT)
    best = recognize(program, library=(reference("ema_momentum"),)).best
    assert best.verdict == "equivalent"
    (b,) = best.constants
    assert b.source == "fitted" and b.value == pytest.approx(0.93, rel=1e-8)


def test_a_constant_factor_is_read_as_a_learning_rate_scale():
    best = recognize(parse_text(EMA_WRITTEN_OUT)).best
    assert best.verdict == "equivalent"
    assert best.reference.key in ("heavy_ball", "ema_momentum")
    if best.reference.key == "heavy_ball":  # m_hb = m / 0.07: the same steps at lr × 0.07
        assert best.lr_scale == pytest.approx(0.07)


@pytest.mark.parametrize(
    "text",
    [
        EMA_WRITTEN_OUT,
        # Adam as a Python user writes it: the averages spelt out, `**` for square and sqrt
        "def train(w, g, m, v, lr, *, step):\n  m = 0.9 * m + (1 - 0.9) * g\n"
        "  v = 0.999 * v + (1 - 0.999) * g ** 2\n  m_hat = m / (1 - 0.9 ** step)\n"
        "  v_hat = v / (1 - 0.999 ** step)\n  update = m_hat / (v_hat ** 0.5 + 1e-8) * lr\n"
        "  return update, m, v\n",
    ],
    ids=["ema-momentum", "adam"],
)
def test_averages_written_out_are_recognised_as_identical(text):
    """Reduced, `a·m + (1 - a)·g` is `interp(g, m, a)` and `x ** 2`, `x ** 0.5` are `square`,
    `sqrt`: the program is its reference, not merely near it (Adam's nearest was heavy-ball)."""
    best = explain(parse_text(text)).best
    assert best is not None and best.verdict == "identical", best and best.headline()
    assert best.reference.key in ("ema_momentum", "adam")


def test_reduce_says_what_the_result_is_in_text_json_and_report(tmp_path, capsys):
    from cli_runner import run_cli

    p8 = str(EXAMPLES / "program8.txt")
    code, out, _ = run_cli(capsys, "reduce", p8, "--ablate")
    assert (
        code == 0
        and "what this is (after the ablations, which are approximate): identical: Lion" in out
    )
    code, out, _ = run_cli(capsys, "reduce", p8, "--json")
    assert code == 0
    data = json.loads(out)["explain"]
    assert data["matches"] == [] and data["nearest"] is None  # reduce only looks for matches
    report = tmp_path / "d.md"
    code, _, _ = run_cli(capsys, "reduce", p8, "--ablate", "--report", str(report))
    text = report.read_text()
    assert "## What this is" in text and "identical: Lion (β1 = 0.9, β2 = 0.99822" in text


@pytest.mark.parametrize(
    "update",
    ["lr * m_hat / d", "m_hat * lr / d", "m_hat / d * lr", "lr * (m_hat / d)"],
)
def test_a_learning_rate_before_the_division_still_unifies(update):
    """`reduce` looks for matches only (no fitting): it said "no reference optimizer matches"
    for `update = lr * m_hat / d` while `explain` found Adam, identical."""
    text = (
        "def train(w, g, m, v, lr, *, step):\n  m = interp(g, m, 0.9)\n"
        "  v = interp(square(g), v, 0.999)\n  m_hat = m / (1 - power(0.9, step))\n"
        "  v_hat = v / (1 - power(0.999, step))\n  d = sqrt(v_hat) + 1e-8\n"
        f"  update = {update}\n  return update, m, v\n"
    )
    program = reduce(parse_text(text)).program
    best = recognize(program, nearest=False).best
    assert best is not None and best.reference.key == "adam" and best.verdict == "identical"
