"""Vision proxy: classify scikit-learn's bundled 8×8 handwritten digits (1,797 images, offline).

A fixed split (seeded permutation: 1,437 train, 360 validation) is shared by every scale. Scale
`s` is an MLP; `m` and `l` are small ViTs on 2×2 patches (16 tokens), 2 and 3 layers, like the
paper's 3-layer ViT proxy in miniature. Fitness: validation accuracy (higher is better).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from lionsimplify.proxies import nn
from lionsimplify.proxies.tasks import Task

N_VAL = 360
#: Measured (6 seeds at each baseline's tuned rate): on 360 validation images accuracy moves in
#: steps of 0.0028, and tuned Lion (0.970 ± 0.003) and SGD (0.972 ± 0.003) tie at scale s while
#: AdamW (0.981 ± 0.002) is ahead. A funnel level on vision-s can reject a bad optimizer; it cannot
#: rank good ones, which is what the larger scales are for.
_COARSE_NOTE = "; ties Lion with SGD (accuracy steps 1/360): screens, does not rank"
PATCH = 2

#: scale -> (architecture, width, layers, heads, steps, batch size). Each scale costs about 10×
#: the FLOPs of the one below (2.8, 24.5, 200 GFLOP per run, measured by `lionsimplify proxies`).
#: The ViT at `m` must train long enough to rank optimizers as larger tasks do: with 200 steps
#: at width 16 it was undertrained and Lion trailed AdamW by 6 points; at 400 steps, width 32,
#: they are level, as on the paper's larger tasks.
SCALES: dict[str, tuple[str, int, int, int, int, int]] = {
    "s": ("mlp", 192, 2, 0, 300, 32),
    "m": ("vit", 32, 2, 2, 400, 32),
    "l": ("vit", 64, 3, 4, 600, 32),
}


@functools.cache
def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # The very file (and parsing) of `sklearn.datasets.load_digits`, read without importing
    # scikit-learn, whose import takes longer than training this proxy.
    import gzip
    from importlib.util import find_spec

    spec = find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the vision proxy needs scikit-learn's bundled digits data")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        data = np.loadtxt(f, delimiter=",")
    x = (data[:, :-1] / 16.0).astype(np.float32)
    y = data[:, -1].astype(np.int32)
    perm = np.random.default_rng(1234).permutation(len(y))
    train, val = perm[N_VAL:], perm[:N_VAL]
    return x[train], y[train], x[val], y[val]


def _patches(x: Any) -> Any:
    """(batch, 64) pixels -> (batch, 16, 4) patches of 2×2 pixels."""
    b = x.shape[0]
    g = 8 // PATCH
    x = x.reshape(b, g, PATCH, g, PATCH).transpose(0, 1, 3, 2, 4)
    return x.reshape(b, g * g, PATCH * PATCH)


def task(scale: str) -> Task:
    arch, width, layers, heads, steps, batch = SCALES[scale]
    x_train, y_train, x_val, y_val = _data()
    tokens = (8 // PATCH) ** 2

    def init(rng: np.random.Generator) -> nn.Params:
        if arch == "mlp":
            sizes = [64] + [width] * layers
            hidden = [nn.dense_init(rng, a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
            return {"hidden": hidden, "out": nn.dense_init(rng, width, 10)}
        return {
            "embed": nn.dense_init(rng, PATCH * PATCH, width),
            "pos": (0.02 * rng.normal(size=(tokens, width))).astype(np.float32),
            "blocks": [nn.block_init(rng, width, 2 * width) for _ in range(layers)],
            "ln": nn.layer_norm_init(width),
            "out": nn.dense_init(rng, width, 10),
        }

    def logits(params: nn.Params, x: Any) -> Any:
        import jax

        if arch == "mlp":
            for p in params["hidden"]:
                x = jax.nn.gelu(nn.dense(p, x))
            return nn.dense(params["out"], x)
        h = nn.dense(params["embed"], _patches(x)) + params["pos"]
        for p in params["blocks"]:
            h = nn.block(p, h, heads, causal=False)
        return nn.dense(params["out"], nn.layer_norm(params["ln"], h.mean(axis=1)))

    def loss(params: nn.Params, data: dict[str, Any]) -> Any:
        return nn.cross_entropy(logits(params, data["x"]), data["y"])

    def batches(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        idx = rng.integers(0, len(y_train), size=(n, batch))
        return {"x": x_train[idx], "y": y_train[idx]}

    def metrics(params: nn.Params) -> dict[str, Any]:
        import jax.numpy as jnp

        out = logits(params, x_val)
        return {
            "accuracy": jnp.mean(jnp.argmax(out, axis=-1) == y_val),
            "loss": nn.cross_entropy(out, y_val),
        }

    model = (
        f"MLP {layers} hidden layers"
        if arch == "mlp"
        else f"ViT {layers} layers, {heads} heads, 2×2 patches"
    )
    return Task(
        name="vision",
        scale=scale,
        init=init,
        loss=loss,
        batches=batches,
        metrics=metrics,
        metric="accuracy",
        higher_is_better=True,
        steps=steps,
        description=f"digits 8×8, {model}, width {width}, batch {batch}"
        + (_COARSE_NOTE if scale == "s" else ""),
        version="2",  # 2: wider MLP at s, the ViT at m trains 400 steps (Lion ties AdamW there)
        details={"model": model, "width": width, "batch": batch, "train": len(y_train)},
    )
