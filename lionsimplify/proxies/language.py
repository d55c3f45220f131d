"""Language proxy: a small causal Transformer LM on a synthetic corpus whose entropy is known.

The paper's language proxy is a 2-layer, 128-wide, 2-head Transformer on LM1B with sequence
length 32; scale `l` is exactly that shape, `s` and `m` are narrower. The corpus is drawn once,
from a fixed seed, from a sparse Markov source with a long-range dependency:

    p(x_t | x_<t) = ρ·[x_t = x_{t-L}] + (1 - ρ)·T[x_{t-1}, x_t]     (t ≥ L; T alone before)

with a vocabulary of V tokens, each row of T supported on K successors (Dirichlet weights), lag
L = 8 and ρ = 0.5. Learning T needs bigram statistics; reaching the optimum needs attention to a
fixed distance (an induction-like copy). Since every conditional is known, the source's
conditional entropy on the very validation tokens is computed exactly, so a model's gap to the
optimum is measured, not guessed. Fitness: validation loss in nats per token (lower is better);
perplexity and the gap to the source entropy are reported beside it.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from lionsimplify.proxies import nn
from lionsimplify.proxies.tasks import Task

VOCAB = 64
SUCCESSORS = 3
LAG = 8
RHO = 0.5
SEQ = 32
N_TRAIN = 16384
N_VAL = 512
CORPUS_SEED = 20230213

#: scale -> (width, layers, heads, steps, batch size)
SCALES: dict[str, tuple[int, int, int, int, int]] = {
    "s": (32, 2, 2, 200, 16),
    "m": (64, 2, 2, 400, 32),
    "l": (128, 2, 2, 600, 64),
}


class Source:
    """The sparse lagged Markov source; `sample` draws sequences, `conditionals` scores them."""

    def __init__(self, seed: int = CORPUS_SEED) -> None:
        rng = np.random.default_rng(seed)
        self.first = np.full(VOCAB, 1.0 / VOCAB)
        self.transition = np.zeros((VOCAB, VOCAB))
        zipf = 1.0 / np.arange(1, VOCAB + 1)
        for a in range(VOCAB):
            succ = rng.choice(VOCAB, size=SUCCESSORS, replace=False, p=zipf / zipf.sum())
            self.transition[a, succ] = rng.dirichlet(np.ones(SUCCESSORS))

    def probs(self, seqs: np.ndarray, t: int) -> np.ndarray:
        """p(x_t = · | x_<t) for each sequence: (n, VOCAB)."""
        if t == 0:
            return np.broadcast_to(self.first, (len(seqs), VOCAB))
        p = self.transition[seqs[:, t - 1]]
        if t >= LAG:
            copy = np.zeros_like(p)
            copy[np.arange(len(seqs)), seqs[:, t - LAG]] = 1.0
            p = RHO * copy + (1 - RHO) * p
        return p

    def sample(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        seqs = np.zeros((n, length), np.int32)
        for t in range(length):
            cdf = np.cumsum(self.probs(seqs, t), axis=1)
            u = rng.random((n, 1))
            seqs[:, t] = np.minimum((u > cdf).sum(axis=1), VOCAB - 1)
        return seqs

    def entropy(self, seqs: np.ndarray) -> float:
        """Mean conditional entropy (nats) of the next token at every predicted position."""
        total = 0.0
        for t in range(1, seqs.shape[1]):
            p = self.probs(seqs, t)
            total += float(-(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=1).sum())
        return total / (seqs.shape[0] * (seqs.shape[1] - 1))


@functools.cache
def _corpus() -> tuple[np.ndarray, np.ndarray, float]:
    source = Source()
    rng = np.random.default_rng(CORPUS_SEED + 1)
    train = source.sample(N_TRAIN, SEQ + 1, rng)
    val = source.sample(N_VAL, SEQ + 1, rng)
    return train, val, source.entropy(val)


def task(scale: str) -> Task:
    width, layers, heads, steps, batch = SCALES[scale]
    train, val, entropy = _corpus()

    def init(rng: np.random.Generator) -> nn.Params:
        return {
            "embed": (rng.normal(size=(VOCAB, width)) / np.sqrt(width)).astype(np.float32),
            "pos": (0.02 * rng.normal(size=(SEQ, width))).astype(np.float32),
            "blocks": [nn.block_init(rng, width, 4 * width) for _ in range(layers)],
            "ln": nn.layer_norm_init(width),
            "out": nn.dense_init(rng, width, VOCAB),
        }

    def logits(params: nn.Params, tokens: Any) -> Any:
        h = params["embed"][tokens] + params["pos"]
        for p in params["blocks"]:
            h = nn.block(p, h, heads, causal=True)
        return nn.dense(params["out"], nn.layer_norm(params["ln"], h))

    def loss(params: nn.Params, seqs: Any) -> Any:
        return nn.cross_entropy(logits(params, seqs[:, :-1]), seqs[:, 1:])

    def batches(rng: np.random.Generator, n: int) -> np.ndarray:
        return train[rng.integers(0, len(train), size=(n, batch))]

    def metrics(params: nn.Params) -> dict[str, Any]:
        import jax.numpy as jnp

        val_loss = loss(params, val)
        return {
            "loss": val_loss,
            "perplexity": jnp.exp(val_loss),
            "entropy_gap": val_loss - entropy,
        }

    return Task(
        name="language",
        scale=scale,
        init=init,
        loss=loss,
        batches=batches,
        metrics=metrics,
        metric="loss",
        higher_is_better=False,
        steps=steps,
        description=(
            f"Transformer LM {layers} layers, width {width}, {heads} heads, seq {SEQ}, batch "
            f"{batch}; lagged sparse Markov source, entropy {entropy:.4f} nats/token"
        ),
        details={"width": width, "layers": layers, "source_entropy": entropy, "vocab": VOCAB},
    )
