"""The evaluator: statuses, reproducibility, the IR path against optax, and the baselines."""

from __future__ import annotations

import json
import time

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lionsimplify.emit.optax_runtime import program_to_optax
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.proxies import baselines as B
from lionsimplify.proxies import get_proxy
from lionsimplify.proxies.trainer import chunking, evaluate

#: NaN exactly at step 3: d = 3 - step is 0 there, and 0 / 0 is NaN; the update is g·lr elsewhere.
NAN_AT_STEP_3 = """
def train(w, g, lr, *, step):
  d = 3 - step
  r = d / d
  u = g * r
  u = u * lr
  return u
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """Tuned learning rates go to one cache per test session, never the user's."""
    monkeypatch.setenv("LIONSIMPLIFY_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def test_nan_at_step_3_is_diverged_after_the_first_chunk():
    program = parse_text(NAN_AT_STEP_3)
    task = get_proxy("vision-s")
    start = time.perf_counter()
    res = evaluate(
        lambda lr: program_to_optax(program, learning_rate=lr, params={}),
        task,
        seeds=(0, 1),
        base_lr=0.1,
    )
    assert time.perf_counter() - start < 30
    assert res.status == "diverged"
    assert res.steps_done == chunking(task.steps) < task.steps  # stopped early
    assert all(r.status == "diverged" and r.diverged_at == res.steps_done for r in res.runs)
    assert all(r.metric is None and r.curve == [None] for r in res.runs)
    json.dumps(res.to_json(), allow_nan=False)


def test_an_error_while_tracing_is_failed_with_one_line():
    def broken(lr):
        def update(updates, state, params=None):
            return jnp.reshape(updates["out"]["w"], (7, 7, 7)), state  # wrong size

        return optax.GradientTransformation(lambda p: (), update)

    res = evaluate(broken, "vision-s", seeds=(0,))
    assert res.status == "failed"
    assert res.reason.startswith("TypeError: ") and "\n" not in res.reason
    assert [r.status for r in res.runs] == ["failed"]


def test_an_error_while_running_is_failed():
    import jax

    def explode(x):
        raise RuntimeError("boom at run time")

    def raising(lr):
        def update(updates, state, params=None):
            jax.debug.callback(explode, 0)
            return updates, state

        return optax.GradientTransformation(lambda p: (), update)

    res = evaluate(raising, "convex-s", seeds=(0,))
    assert res.status == "failed" and "boom at run time" in res.reason
    assert "\n" not in res.reason


def test_time_limit_gives_timeout():
    res = evaluate(B.sgd, "convex-s", seeds=(0,), base_lr=1e-3, time_limit_s=0.0)
    assert res.status == "timeout" and res.steps_done == 0
    assert all(r.status == "timeout" and r.metric is None for r in res.runs)


def test_results_are_bit_for_bit_reproducible():
    a = evaluate(B.adamw, "vision-s", seeds=(0, 1), lr_multipliers=(0.5, 1.0), base_lr=1e-2)
    b = evaluate(B.adamw, "vision-s", seeds=(0, 1), lr_multipliers=(0.5, 1.0), base_lr=1e-2)
    assert a.status == "ok"
    assert [r.metrics for r in a.runs] == [r.metrics for r in b.runs]
    assert [r.curve for r in a.runs] == [r.curve for r in b.runs]
    # different seeds and multipliers really are different runs
    assert len({r.metrics["loss"] for r in a.runs}) == 4


def test_lion_through_the_ir_gives_optax_lions_metric(programs_dir):
    program = parse_file(programs_dir / "program1_lion.txt")
    hp = {"β1": 0.9, "β2": 0.99, "λ": 0.1}
    for proxy in ("vision-s", "convex-s"):
        ours = evaluate(
            lambda lr: program_to_optax(program, learning_rate=lr, params=hp),
            proxy,
            seeds=(0, 1),
            base_lr=3e-3,
        )
        ref = evaluate(B.lion, proxy, seeds=(0, 1), base_lr=3e-3)
        assert ours.status == ref.status == "ok"
        for a, b in zip(ours.runs, ref.runs, strict=True):
            assert a.metric == pytest.approx(b.metric, rel=1e-5, abs=1e-6)
            assert a.metrics["loss" if "loss" in a.metrics else "gap"] == pytest.approx(
                b.metrics["loss" if "loss" in b.metrics else "gap"], rel=1e-4, abs=1e-6
            )


def test_summary_json_and_best_multiplier():
    res = evaluate(B.sgd, "convex-s", seeds=(0, 1), lr_multipliers=(1e-3, 1e-2, 10.0))
    rows = res.summary()
    assert [r["status"] for r in rows] == ["ok", "ok", "diverged"]
    assert res.status == "ok"
    assert res.best()["multiplier"] == 1e-2  # lower objective is better
    data = json.loads(json.dumps(res.to_json(), allow_nan=False))
    assert data["best"]["multiplier"] == 1e-2
    assert data["compile_s"] > 0 and data["train_s"] > 0
    assert len(data["curve_steps"]) == len(data["runs"][0]["curve"]) == 20


def _assert_expected_ranking(task, tuned, *, lion_ties_sgd_within=None):
    """Tuned AdamW beats tuned SGD, which beats a random direction; Lion beats SGD, or, where a
    proxy cannot separate them (measured), stays within `lion_ties_sgd_within` of it."""
    sign = 1.0 if task.higher_is_better else -1.0
    score = {
        k: sign * max(sign * m for m in rec["means"] if m is not None) for k, rec in tuned.items()
    }
    better = (lambda a, b: a > b) if task.higher_is_better else (lambda a, b: a < b)
    assert better(score["adamw"], score["sgd"]), score
    if lion_ties_sgd_within is None:
        assert better(score["lion"], score["sgd"]), score
    else:
        assert abs(score["lion"] - score["sgd"]) <= lion_ties_sgd_within, score
        assert better(score["lion"], score["random"]), score
    assert better(score["sgd"], score["random"]), score


def test_baselines_rank_as_expected_on_convex_s():
    """At scale s, tuned AdamW and Lion beat tuned plain SGD, which beats a random direction."""
    task = get_proxy("convex-s")
    _assert_expected_ranking(task, {k: B.tune(k, task) for k in ("adamw", "lion", "sgd", "random")})


def test_baselines_rank_as_expected_on_vision_s():
    """vision-s separates AdamW from SGD (0.981 vs 0.972, seed sd 0.002-0.003 over 6 seeds) but
    not Lion from SGD (0.970 vs 0.972): there the test asks for a tie within three seed standard
    deviations (0.01), and the proxy's description says it screens rather than ranks."""
    task = get_proxy("vision-s")
    tuned = {k: B.tune(k, task) for k in ("adamw", "lion", "sgd", "random")}
    _assert_expected_ranking(task, tuned, lion_ties_sgd_within=0.01)


def test_baselines_rank_as_expected_on_language_s_quick():
    """The same on language-s with one seed, AdamW and Lion at one learning rate near their
    optimum and SGD at its best two (the full tuning is the slow test below): the LM costs ~40×
    the other s proxies per step, and every optimizer needs its own compilation."""
    task = get_proxy("language-s")
    grids = {"adamw": (3e-2,), "lion": (1e-2,), "sgd": (1.0, 2.0), "random": (1e-3,)}
    tuned = {k: B.tune(k, task, grid=g, seeds=(0,)) for k, g in grids.items()}
    _assert_expected_ranking(task, tuned)


@pytest.mark.slow
def test_baselines_rank_as_expected_on_language_s():
    task = get_proxy("language-s")
    _assert_expected_ranking(task, {k: B.tune(k, task) for k in ("adamw", "lion", "sgd", "random")})


def test_tuned_rates_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LIONSIMPLIFY_CACHE", str(tmp_path))
    first = B.tune("sgd", "convex-s")
    files = list((tmp_path / "baselines").glob("sgd-convex-s-*.json"))
    assert len(files) == 1
    record = json.loads(files[0].read_text())
    assert record["lr"] == first["lr"] and record["proxy"] == "convex-s"
    start = time.perf_counter()
    assert B.tune("sgd", "convex-s") == first
    assert time.perf_counter() - start < 0.5  # read back, not retrained


@pytest.mark.slow
@pytest.mark.parametrize(
    "proxy", ["vision-m", "language-m", "convex-m", "vision-l", "language-l", "convex-l"]
)
def test_larger_scales_train(proxy):
    """AdamW at lr 1e-2 improves the metric over the untrained model at scales m and l."""
    import jax

    task = get_proxy(proxy)
    res = evaluate(B.adamw, task, seeds=(0,), base_lr=1e-2)
    assert res.status == "ok", res.reason
    untrained = float(jax.jit(task.metrics)(task.init(np.random.default_rng([0, 0])))[task.metric])
    trained = res.runs[0].metric
    assert trained > untrained if task.higher_is_better else trained < untrained


def test_baseline_results_are_cached_with_their_seeds(tmp_path, monkeypatch):
    monkeypatch.setenv("LIONSIMPLIFY_CACHE", str(tmp_path))
    first = B.run_baseline("sgd", "convex-s", seeds=(0, 1))
    assert first.status == "ok" and not first.cached
    again = B.run_baseline("sgd", "convex-s", seeds=(0, 1))
    assert again.cached and again.compile_s == 0.0
    assert again.summary() == first.summary()
    assert [r.metric for r in again.runs] == [r.metric for r in first.runs]
    other = B.run_baseline("sgd", "convex-s", seeds=(0,))  # other seeds: trained, not read
    assert not other.cached
    assert len(list((tmp_path / "baselines").glob("sgd-result-*.json"))) == 2
