"""The few neural-network pieces the proxy models share, in plain jax (no framework).

Parameters are nested dicts of arrays. Initialisers take a `numpy.random.Generator` and return
float32 numpy arrays (see `tasks.py` for why initialisation stays on the host).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Params = dict[str, Any]


def dense_init(rng: np.random.Generator, fan_in: int, fan_out: int) -> Params:
    """LeCun-normal weights (variance 1/fan_in) and zero biases."""
    w = rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, fan_out))
    return {"w": w.astype(np.float32), "b": np.zeros(fan_out, np.float32)}


def layer_norm_init(dim: int) -> Params:
    return {"scale": np.ones(dim, np.float32), "bias": np.zeros(dim, np.float32)}


def block_init(rng: np.random.Generator, dim: int, mlp_dim: int) -> Params:
    """A pre-norm Transformer block: attention then MLP, each with a residual."""
    return {
        "ln1": layer_norm_init(dim),
        "qkv": dense_init(rng, dim, 3 * dim),
        "proj": dense_init(rng, dim, dim),
        "ln2": layer_norm_init(dim),
        "fc1": dense_init(rng, dim, mlp_dim),
        "fc2": dense_init(rng, mlp_dim, dim),
    }


def dense(p: Params, x: Any) -> Any:
    return x @ p["w"] + p["b"]


def layer_norm(p: Params, x: Any) -> Any:
    import jax.numpy as jnp

    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * (1.0 / jnp.sqrt(var + 1e-5)) * p["scale"] + p["bias"]


def block(p: Params, x: Any, heads: int, causal: bool) -> Any:
    """x: (batch, tokens, dim) -> same shape."""
    import jax
    import jax.numpy as jnp

    b, t, d = x.shape
    hd = d // heads
    qkv = dense(p["qkv"], layer_norm(p["ln1"], x)).reshape(b, t, 3, heads, hd)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    logits = jnp.einsum("bqhc,bkhc->bhqk", q, k) / np.sqrt(hd).astype(np.float32)
    if causal:
        mask = np.tril(np.ones((t, t), bool))
        logits = jnp.where(mask, logits, -1e9)
    attn = jax.nn.softmax(logits, axis=-1)
    out = jnp.einsum("bhqk,bkhc->bqhc", attn, v).reshape(b, t, d)
    x = x + dense(p["proj"], out)
    h = jax.nn.gelu(dense(p["fc1"], layer_norm(p["ln2"], x)))
    return x + dense(p["fc2"], h)


def cross_entropy(logits: Any, labels: Any) -> Any:
    """Mean softmax cross-entropy (nats) of integer labels."""
    import jax
    import jax.numpy as jnp

    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[..., None], axis=-1))
