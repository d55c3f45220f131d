"""Convex sanity proxy: ridge regression with a known optimum, so a broken evaluator shows.

    f(w) = ‖X w − y‖² / (2n) + μ‖w‖² / 2

on a fixed synthetic design whose columns have scales spread over two decades (an axis-aligned
ill-conditioning, where a diagonal preconditioner such as Adam's or a sign helps and plain SGD
struggles, as in real networks). The minimiser solves (XᵀX/n + μI) w = Xᵀy/n, computed once in
float64. Fitness: f at the final weights (lower is better); the gap f(w) − f(w*) is reported.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from lionsimplify.proxies.tasks import Task

N = 1024
MU = 1e-3
DATA_SEED = 7

#: scale -> (dimension, steps, batch size)
SCALES: dict[str, tuple[int, int, int]] = {
    "s": (32, 200, 32),
    "m": (128, 500, 32),
    "l": (512, 1250, 32),
}


@functools.cache
def problem(dim: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The design X (float32), targets y and the optimal value f(w*) (float64)."""
    rng = np.random.default_rng(DATA_SEED + dim)
    scales = 10.0 ** rng.uniform(-1.0, 1.0, size=dim)
    x = rng.normal(size=(N, dim)) * scales
    w_true = rng.normal(size=dim)
    y = x @ w_true + 0.1 * rng.normal(size=N)
    w_star = np.linalg.solve(x.T @ x / N + MU * np.eye(dim), x.T @ y / N)
    f_star = float(np.sum((x @ w_star - y) ** 2) / (2 * N) + MU * np.sum(w_star**2) / 2)
    return x.astype(np.float32), y.astype(np.float32), f_star


def objective(w: Any, x: Any, y: Any) -> Any:
    import jax.numpy as jnp

    r = x @ w - y
    return jnp.mean(jnp.square(r)) / 2 + MU * jnp.sum(jnp.square(w)) / 2


def task(scale: str) -> Task:
    dim, steps, batch = SCALES[scale]
    x, y, f_star = problem(dim)

    def init(rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"w": np.zeros(dim, np.float32)}

    def loss(params: dict[str, Any], data: dict[str, Any]) -> Any:
        return objective(params["w"], data["x"], data["y"])

    def batches(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        idx = rng.integers(0, N, size=(n, batch))
        return {"x": x[idx], "y": y[idx]}

    def metrics(params: dict[str, Any]) -> dict[str, Any]:
        value = objective(params["w"], x, y)
        return {"objective": value, "gap": value - f_star}

    return Task(
        name="convex",
        scale=scale,
        init=init,
        loss=loss,
        batches=batches,
        metrics=metrics,
        metric="objective",
        higher_is_better=False,
        steps=steps,
        description=f"ridge regression, dimension {dim}, n {N}, batch {batch}, optimum known",
        details={"dim": dim, "optimum": f_star},
    )
