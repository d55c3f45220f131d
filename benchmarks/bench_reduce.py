"""Benchmarks for `reduce` and the emitted optimizer (issue 3), printed side by side.

1. Wall time of `lionsimplify reduce examples/programs/program8.txt` as a fresh subprocess on
   one core (import time, all passes, every verification), against the 3 s target; and which
   heavy modules were imported (jax never; sympy only for `--report`'s LaTeX update rule, so
   the same command with `--report` is timed too).
2. The emitted module for Program 1 (β1 = 0.9, β2 = 0.99, λ = 0.01) against `optax.lion` with the
   same settings: one jitted update step on the same parameters, measured interleaved; the time
   ratio (target ≤ 1.05) and the optimizer state bytes against the parameters' and adamw's.

Run: PYTHONPATH=$PWD python benchmarks/bench_reduce.py [--runs 5] [--params-millions 8]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM8 = ROOT / "examples" / "programs" / "program8.txt"
PROGRAM1 = ROOT / "examples" / "programs" / "program1_lion.txt"

_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('IMPORTED ' + ' '.join("
    "m for m in ('jax', 'sympy', 'optax') if m in sys.modules) + '\\n'))\n"
    "from lionsimplify.cli import main\n"
    "main()\n"
)


def _one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def bench_cli(runs: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    print("reduce program8.txt (subprocess, one core, incl. imports and verification)")
    with tempfile.TemporaryDirectory() as tmp:
        report = str(Path(tmp) / "derivation.md")
        for extra in ([], ["--report", report, "--force"]):
            times, imported = [], ""
            for _ in range(runs):
                start = time.perf_counter()
                out = subprocess.run(
                    [sys.executable, "-c", _PROBE, "reduce", str(PROGRAM8), *extra],
                    env=env,
                    capture_output=True,
                    text=True,
                    preexec_fn=_one_core,
                    check=True,
                )
                times.append(time.perf_counter() - start)
                imported = out.stderr.strip().removeprefix("IMPORTED").strip()
            label = " ".join(["reduce", *extra[:1]])
            print(
                f"  {label:<16} wall min {min(times):.2f} s, median "
                f"{statistics.median(times):.2f} s (target < 3 s); imported: {imported or 'none'}"
            )


def _emit_lion(tmp: Path):
    from lionsimplify.emit import jax_module_source, lift
    from lionsimplify.lang.parse import parse_file
    from lionsimplify.passes.driver import reduce

    params = {"β1": 0.9, "β2": 0.99, "λ": 0.01}
    program = reduce(parse_file(PROGRAM1), params=params).program
    path = tmp / "emitted_lion.py"
    path.write_text(jax_module_source(lift(program, params), "emitted_lion"))
    spec = importlib.util.spec_from_file_location("emitted_lion", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # our own generated file, written just above
    return module.emitted_lion


def bench_step(millions: float, repeats: int) -> None:
    import jax
    import jax.numpy as jnp
    import optax

    with tempfile.TemporaryDirectory() as tmp:
        ours = _emit_lion(Path(tmp))(1e-4)
    ref = optax.lion(1e-4, b1=0.9, b2=0.99, weight_decay=0.01)
    n = int(millions * 1e6)
    shapes = {"embed": (n // 2 // 512, 512), "dense": (n // 4 // 256, 256), "bias": (n // 4,)}
    key = jax.random.PRNGKey(0)
    params = {k: jax.random.normal(key, s, jnp.float32) for k, s in shapes.items()}
    grads = jax.tree.map(lambda p: p * 1e-3, params)

    def stepper(opt):
        state = opt.init(params)
        step = jax.jit(opt.update)
        jax.block_until_ready(step(grads, state, params))  # compile

        def run() -> float:
            start = time.perf_counter()
            jax.block_until_ready(step(grads, state, params))
            return time.perf_counter() - start

        return state, run

    s_ours, run_ours = stepper(ours)
    s_ref, run_ref = stepper(ref)
    t_ours, t_ref = [], []
    for _ in range(repeats):  # interleaved, so load on the machine hits both alike
        t_ours.append(run_ours())
        t_ref.append(run_ref())

    def nbytes(tree) -> int:
        return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(tree) if x.ndim > 0)

    adamw_state = optax.adamw(1e-4).init(params)
    mo, mr = statistics.median(t_ours), statistics.median(t_ref)
    print(
        f"one jitted update step, {sum(p.size for p in params.values()) / 1e6:.1f}M float32 "
        f"parameters, {repeats} interleaved runs, {jax.devices()[0].platform}"
    )
    print(
        f"  emitted module {mo * 1e3:.2f} ms, optax.lion {mr * 1e3:.2f} ms (medians): "
        f"ratio {mo / mr:.3f} (target <= 1.05)"
    )
    print(
        f"  state bytes: emitted {nbytes(s_ours)}, optax.lion {nbytes(s_ref)}, "
        f"params {nbytes(params)}, optax.adamw {nbytes(adamw_state)} "
        f"(emitted/params = {nbytes(s_ours) / nbytes(params):.2f}, "
        f"emitted/adamw = {nbytes(s_ours) / nbytes(adamw_state):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="subprocess runs of reduce")
    parser.add_argument("--params-millions", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per optimizer")
    args = parser.parse_args()
    bench_cli(args.runs)
    bench_step(args.params_millions, args.repeats)


if __name__ == "__main__":
    main()
