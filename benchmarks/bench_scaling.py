"""Does `reduce` scale linearly? Time per statement on generated chains of 1k, 10k, 100k statements.

Each program is `lang/mutate.long_chain(N)`: one chain of N dependent statements with work for
the exact rules all along it (a neutral `* 1.0` every tenth statement, a `sqrt(u * u)`, a positive
`lr` inside `sign`). Each size is reduced in a fresh subprocess (in-process time of `reduce`, not
counting imports or parsing), split into differential verification (the interpreter; issue 14
item 2) and everything else (the analyses and rewrites); a flat time per statement means
linear. `--until dce` is timed at 10k as well. Targets (issue 14): 10k ≤ 10 s, 100k ≤ 100 s, `--until dce` at 10k ≤ 2 s.

`--chain sums` times a second kind of chain instead, `u = u + g` repeated: a sum whose every
term the rules inspect (on main this was quadratic: `is_scalar` walked the whole chain below
each sum).

`--old PATH` runs the same programs, in the same run, against another checkout (e.g. main in
`git worktree add /tmp/old main`), with the recursion limit and thread stack raised so that its
recursive walks get as far as they can; `--old-sizes` picks its sizes (it is superlinear).

Run: PYTHONPATH=$PWD python benchmarks/bench_scaling.py [--sizes 1000 10000 100000] [--chain sums]
         [--old /tmp/old --old-sizes 1000 2000 5000] [--timeout 600]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import sys, threading, time
sys.setrecursionlimit(1_000_000)
threading.stack_size(1 << 29)
from lionsimplify.lang.parse import parse_file
from lionsimplify.passes import driver

spent = [0.0]
def timed_verify(*args, _verify=driver.verify, **kwargs):
    start = time.perf_counter()
    try:
        return _verify(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - start
driver.verify = timed_verify

def main():
    program = parse_file(sys.argv[1])
    start = time.perf_counter()
    result = driver.reduce(program, until=sys.argv[2])
    seconds = time.perf_counter() - start
    print(f"{seconds} {spent[0]} {len(result.program.body)} {driver.__file__}")

t = threading.Thread(target=main)
t.start()
t.join()
"""


def measure(
    tree: Path, program: Path, until: str, timeout: float
) -> tuple[float, float, int] | str:
    """(seconds, of which verifying, statements out) of one reduce in a fresh process on
    `tree`, or why not."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(program), until],
            env=env,
            cwd=tree,  # `-c` puts the working directory first on sys.path
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return f"failed: {last[:60]}"
    seconds, verifying, statements, module = out.stdout.split()
    if not Path(module).resolve().is_relative_to(tree):
        return f"failed: imported {module}, not from {tree}"
    return float(seconds), float(verifying), int(statements)


def _sums(n: int) -> str:
    body = "".join("  u = u + g\n" for _ in range(n - 2))
    return f"def train(w, g, m, lr):\n  u = g\n{body}  update = sign(u)\n  return update, m\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--dce-size", type=int, default=10_000)
    parser.add_argument("--old", type=Path, help="another checkout to time side by side")
    parser.add_argument("--old-sizes", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--chain", choices=("mixed", "sums"), default="mixed")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from lionsimplify.lang.mutate import long_chain
    from lionsimplify.lang.printer import print_program

    trees = [("this", ROOT, args.sizes)]
    if args.old:
        trees.append(("old", args.old.resolve(), args.old_sizes))
    runs = [(name, tree, n, "exact") for name, tree, sizes in trees for n in sizes]
    runs += [(name, tree, args.dce_size, "dce") for name, tree, _ in trees]
    print(
        f"{'tree':<5} {'until':<6} {'statements':>10} {'out':>8} {'seconds':>9} {'µs/stmt':>8}"
        f" {'verify s':>9} {'rest µs/stmt':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, tree, n, until in sorted(runs, key=lambda r: (r[3] != "exact", r[2], r[0])):
            path = Path(tmp) / f"chain{n}.txt"
            if not path.exists():
                path.write_text(print_program(long_chain(n)) if args.chain == "mixed" else _sums(n))
            got = measure(tree, path, until, args.timeout)
            if isinstance(got, str):
                print(f"{name:<5} {until:<6} {n:>10} {'':>8} {got:>9}")
                continue
            seconds, verifying, out = got
            per, rest = seconds / n * 1e6, (seconds - verifying) / n * 1e6
            print(
                f"{name:<5} {until:<6} {n:>10} {out:>8} {seconds:>9.2f} {per:>8.0f}"
                f" {verifying:>9.2f} {rest:>12.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
