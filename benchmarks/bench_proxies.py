"""Evaluator throughput per proxy at scale s, and the IR → optax overhead against optax.lion.

Run: PYTHONPATH=. python benchmarks/bench_proxies.py [--repeats 5] [--tasks vision,language,convex]

1. For each task at scale s: one evaluation of AdamW (lr 1e-3) with 3 seeds vmapped, split into
   compile and train seconds, and evaluations per minute (cold: compile included; warm: train
   only, what a worker that reuses its compilation would reach).
2. Compile once, train many: Program 1 through `program_to_optax` on vision-s with its numbers
   passed in (`literals`), in a fresh compilation cache: compile and train seconds of the first
   evaluation, of a second one with other β1/β2/λ (same shape: the executable is reused), and of
   the first again with the numbers compiled in (the old way, for comparison).
3. One jitted optimizer step (update + apply_updates) of Program 1 through `program_to_optax`
   against hand-written `optax.lion` on the same pytree: median time per step and the ratio
   (target ≤ 1.05). The two are timed interleaved so machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
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


def compile_once() -> None:
    import numpy as np

    from lionsimplify.emit.optax_runtime import program_literals

    program = parse_text(LION)
    runs = [
        ("first program", {"β1": 0.9, "β2": 0.99, "λ": 0.01}, True),
        ("other numbers, same shape", {"β1": 0.95, "β2": 0.98, "λ": 0.1}, True),
        ("numbers compiled in", {"β1": 0.8, "β2": 0.9, "λ": 0.05}, False),
    ]
    print("\ncompile once, train many (vision-s, Program 1, 3 seeds)")
    print(f"{'evaluation':<28}{'compile s':>10}{'train s':>10}")
    for label, params, traced in runs:
        values = program_literals(program, params)

        def factory(lr, literals=None, params=params):  # noqa: ANN001, ANN202
            return program_to_optax(program, learning_rate=lr, params=params, literals=literals)

        res = evaluate(
            factory, "vision-s", seeds=(0, 1, 2), base_lr=3e-4,
            inputs=np.asarray(values, np.float32) if traced else None,
        )  # fmt: skip
        assert res.status == "ok", res.reason
        print(f"{label:<28}{res.compile_s:>10.2f}{res.train_s:>10.2f}")


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
    with tempfile.TemporaryDirectory() as tmp:  # a fresh compilation cache: every compile cold
        os.environ["LIONSIMPLIFY_CACHE"] = tmp
        throughput(args.tasks.split(","))
        compile_once()
        step_overhead(args.repeats)


if __name__ == "__main__":
    main()
