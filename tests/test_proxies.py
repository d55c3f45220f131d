"""Proxy tasks: the registry, user tasks, and the facts each task claims (optimum, entropy)."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from lionsimplify.lang.errors import ProgramError
from lionsimplify.proxies import SCALES, Task, all_proxies, convex, get_proxy, language


def test_every_task_has_three_scales_each_bigger_than_the_last():
    tasks = all_proxies()
    names = [t.proxy for t in tasks]
    for family in ("vision", "language", "convex"):
        for scale in SCALES:
            assert f"{family}-{scale}" in names
        flops = [get_proxy(f"{family}-{s}").train_flops() for s in SCALES]
        assert 5 < flops[1] / flops[0] < 20 and 5 < flops[2] / flops[1] < 20, (family, flops)


def test_proxy_names_are_checked():
    with pytest.raises(ProgramError, match="bad proxy name"):
        get_proxy("vision")
    with pytest.raises(ProgramError, match="bad proxy name"):
        get_proxy("vision-xl")
    with pytest.raises(ProgramError, match="unknown proxy task `speech`"):
        get_proxy("speech-s")


def test_schedule_warms_up_then_decays_to_zero():
    task = get_proxy("convex-s")
    values = [float(v) for v in task.schedule(np.arange(task.steps + 1))]
    assert values[0] == pytest.approx(0.1)  # (0 + 1) / 10 warm-up steps
    assert max(values) == pytest.approx(1.0)
    assert values[-1] == pytest.approx(0.0, abs=1e-6)
    peak = values.index(max(values))
    assert all(a >= b for a, b in zip(values[peak:], values[peak + 1 :], strict=False))


def test_batches_and_init_are_deterministic_in_the_seed():
    task = get_proxy("vision-s")
    a = task.batches(np.random.default_rng([3, 1]), 5)
    b = task.batches(np.random.default_rng([3, 1]), 5)
    c = task.batches(np.random.default_rng([4, 1]), 5)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.array_equal(a["x"], c["x"])
    assert a["x"].shape == (5, 32, 64) and a["y"].shape == (5, 32)


def test_convex_optimum_is_the_minimiser():
    x, y, f_star = convex.problem(32)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    w = np.linalg.solve(x64.T @ x64 / len(y) + convex.MU * np.eye(32), x64.T @ y64 / len(y))
    grad = x64.T @ (x64 @ w - y64) / len(y) + convex.MU * w
    assert np.max(np.abs(grad)) < 1e-8
    value = np.sum((x64 @ w - y64) ** 2) / (2 * len(y)) + convex.MU * np.sum(w**2) / 2
    assert value == pytest.approx(f_star, rel=1e-4)


def test_language_entropy_is_the_loss_of_the_true_source():
    """The true conditionals score the validation tokens at (about) the reported entropy, and
    a bigram model, which ignores the lag, cannot get there."""
    train, val, entropy = language._corpus()
    source = language.Source()
    nll = np.mean(
        [-np.log(source.probs(val, t)[np.arange(len(val)), val[:, t]]) for t in range(1, 33)]
    )
    assert abs(nll - entropy) < 0.05
    counts = np.ones((language.VOCAB, language.VOCAB))
    np.add.at(counts, (train[:, :-1].ravel(), train[:, 1:].ravel()), 1)
    bigram = counts / counts.sum(axis=1, keepdims=True)
    bigram_nll = -np.mean(np.log(bigram[val[:, :-1], val[:, 1:]]))
    assert bigram_nll > entropy + 0.3


def test_user_task_from_a_module(tmp_path, monkeypatch):
    (tmp_path / "my_tasks.py").write_text(
        textwrap.dedent(
            """
            from lionsimplify.proxies import get_proxy
            from dataclasses import replace
            TASK = replace(get_proxy("convex-s"), name="mine")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    task = get_proxy("mine-s", module="my_tasks:TASK")
    assert isinstance(task, Task) and task.proxy == "mine-s"
    assert "mine-s" in [t.proxy for t in all_proxies("my_tasks:TASK")]
    with pytest.raises(ProgramError, match="has no attribute"):
        get_proxy("mine-s", module="my_tasks:NOPE")
    with pytest.raises(ProgramError, match="cannot import"):
        get_proxy("mine-s", module="no_such_module_xyz:TASK")
    sys.modules.pop("my_tasks", None)


def test_user_task_from_an_entry_point(tmp_path, monkeypatch):
    """An installed package registers a family under the `lionsimplify.proxies` group."""
    (tmp_path / "plugin_tasks.py").write_text(
        "from dataclasses import replace\n"
        "from lionsimplify.proxies import get_proxy\n"
        "def make(scale):\n"
        "    return replace(get_proxy(f'convex-{scale}'), name='plugged')\n"
    )
    info = tmp_path / "plugin_tasks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-tasks\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lionsimplify.proxies]\nplugged = plugin_tasks:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    task = get_proxy("plugged-m")
    assert task.proxy == "plugged-m" and task.steps == get_proxy("convex-m").steps
    sys.modules.pop("plugin_tasks", None)
