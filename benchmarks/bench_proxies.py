"""Evaluator throughput per proxy at scale s, and the IR → optax overhead against optax.lion.

Run: PYTHONPATH=. python benchmarks/bench_proxies.py [--repeats 5] [--tasks vision,language,convex]

1. For each task at scale s: one evaluation of AdamW (lr 1e-3) with 3 seeds vmapped, split into
   compile and train seconds, and evaluations per minute (cold: compile included; warm: train
   only, what a worker that reuses its compilation would reach).
2. One jitted optimizer step (update + apply_updates) of Program 1 through `program_to_optax`
   against hand-written `optax.lion` on the same pytree: median time per step and the ratio
   (target ≤ 1.05). The two are timed interleaved so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lionsimplify.emit.optax_runtime import program_to_optax
from lionsimplify.lang.parse import parse_text
from lionsimplify.proxies import get_proxy
from lionsimplify.proxies.baselines import adamw
from lionsimplify.proxies.trainer import evaluate

LION = """
def train(weight, gradient, momentum, lr):
  update = interp(gradient, momentum, β1)
  update = sign(update)
  momentum = interp(gradient, momentum, β2)
  weight_decay = weight * λ
  update = update + weight_decay
  update = update * lr
  return update, momentum
"""


def throughput(tasks: list[str]) -> None:
    print("evaluation throughput at scale s (AdamW, 3 seeds vmapped, one evaluation each)")
    print(f"{'proxy':<12}{'compile s':>10}{'train s':>10}{'wall s':>9}"
          f"{'evals/min cold':>16}{'evals/min warm':>16}")  # fmt: skip
    for name in tasks:
        task = get_proxy(f"{name}-s")
        res = evaluate(adamw, task, seeds=(0, 1, 2), base_lr=1e-3)
        assert res.status == "ok", res.reason
        print(f"{task.proxy:<12}{res.compile_s:>10.2f}{res.train_s:>10.2f}{res.wall_s:>9.2f}"
              f"{60 / res.wall_s:>16.1f}{60 / res.train_s:>16.1f}")  # fmt: skip


def _tree(n_layers: int, width: int) -> dict:
    rng = np.random.default_rng(0)
    tree = {}
    for i in range(n_layers):
        tree[f"layer{i}"] = {
            "w": rng.normal(size=(width, width)).astype(np.float32),
            "b": rng.normal(size=(width,)).astype(np.float32),
            "ln": rng.normal(size=(width,)).astype(np.float32),
        }
    return jax.tree.map(jnp.asarray, tree)


def step_overhead(repeats: int, n_layers: int = 8, width: int = 512, iters: int = 50) -> None:
    params = _tree(n_layers, width)
    grads = jax.tree.map(lambda p: p * 0.01 + 0.1, params)
    n = sum(x.size for x in jax.tree.leaves(params))
    ours = program_to_optax(
        parse_text(LION), learning_rate=1e-3, params={"β1": 0.9, "β2": 0.99, "λ": 0.01}
    )
    ref = optax.lion(1e-3, b1=0.9, b2=0.99, weight_decay=0.01)

    def stepper(opt):
        @jax.jit
        def run(params, state):
            def body(carry, _):
                p, s = carry
                u, s = opt.update(grads, s, p)
                return (optax.apply_updates(p, u), s), None

            return jax.lax.scan(body, (params, state), None, length=iters)[0]

        state = opt.init(params)
        jax.block_until_ready(run(params, state))  # compile
        return lambda: jax.block_until_ready(run(params, state))

    fns = {"ir": stepper(ours), "optax": stepper(ref)}
    times: dict[str, list[float]] = {"ir": [], "optax": []}
    for _ in range(repeats):
        for key, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - t) / iters)
    ir, ox = statistics.median(times["ir"]), statistics.median(times["optax"])
    print(f"\nLion step under jit on {n:,} parameters in {3 * n_layers} leaves "
          f"(median of {repeats} × {iters} steps)")  # fmt: skip
    print(f"{'optax.lion':<26}{ox * 1e3:>9.3f} ms/step")
    print(f"{'program_to_optax(Lion)':<26}{ir * 1e3:>9.3f} ms/step")
    print(f"{'ratio IR / optax':<26}{ir / ox:>9.3f}  (target ≤ 1.05)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--tasks", default="vision,language,convex")
    args = ap.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, optax {optax.__version__}\n")
    throughput(args.tasks.split(","))
    step_overhead(args.repeats)


if __name__ == "__main__":
    main()
