"""Does `reduce` scale linearly? Time per statement on generated chains of 1k, 10k, 100k statements.

Two kinds of chain, each size reduced in a fresh subprocess (in-process time of `reduce`, not
counting imports or parsing), split into differential verification (the interpreter, issue 14
item 2) and everything else (the analyses and rewrites); a flat time per statement means linear:

- `mixed`: `lang/mutate.long_chain(N)`, one chain of N dependent statements with work for the
  exact rules all along it (a neutral `* 1.0` every tenth statement, a `sqrt(u * u)`, a positive
  `lr` inside `sign`);
- `sums`: `u = u + g` repeated, a sum whose every term the rules inspect (once quadratic:
  `is_scalar` walked the whole chain below each sum).

Then the command line, wall time of a fresh process as a user runs it (output to a pipe):
`lionsimplify reduce --until dce` on the mixed chain of `--dce-size` statements, and `check` on
the same file for reference. Targets (issue 14): mixed 10k ≤ 10 s, 100k ≤ 100 s, `--until dce`
at 10k ≤ 2 s.

`--old PATH` runs every row, in the same run, against another checkout (e.g. main at the start of
a change: `git worktree add --detach /tmp/old main`), each old row next to the new one, with the
recursion limit and thread stack raised so that recursive walks get as far as they can;
`--old-sizes` picks its sizes (default: the same).

Run: PYTHONPATH=$PWD python benchmarks/bench_scaling.py [--sizes 1000 10000 100000]
         [--chains mixed sums] [--dce-size 10000] [--old /tmp/old] [--timeout 900]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import sys, threading, time
sys.setrecursionlimit(1_000_000)
threading.stack_size(1 << 29)
from pathlib import Path
from lionsimplify.lang.parse import parse_text
from lionsimplify.passes import driver

spent = [0.0]
def timed_verify(*args, _verify=driver.verify, **kwargs):
    start = time.perf_counter()
    try:
        return _verify(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - start
driver.verify = timed_verify

failed = []
def main():
    try:
        # parse_text: the command line's 1 MiB input limit is no part of what is timed here
        program = parse_text(Path(sys.argv[1]).read_text(), sys.argv[1])
        start = time.perf_counter()
        result = driver.reduce(program, until=sys.argv[2])
        seconds = time.perf_counter() - start
        print(f"{seconds} {spent[0]} {len(result.program.body)} {driver.__file__}")
    except BaseException as exc:
        failed.append(f"{type(exc).__name__}: {exc}")

t = threading.Thread(target=main)
t.start()
t.join()
if failed:
    sys.exit(failed[0])
"""

#: The command line as `lionsimplify ARGS` runs it, refusing to run another checkout's package.
_CLI = r"""
import runpy, sys
from pathlib import Path
import lionsimplify
if not Path(lionsimplify.__file__).resolve().is_relative_to(Path(sys.argv[1]).resolve()):
    sys.exit(f"imported {lionsimplify.__file__}, not from {sys.argv[1]}")
sys.argv = ["lionsimplify", *sys.argv[2:]]
runpy.run_module("lionsimplify", run_name="__main__")
"""


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


def measure(
    tree: Path, program: Path, until: str, timeout: float
) -> tuple[float, float, int] | str:
    """(seconds, of which verifying, statements out) of one reduce in a fresh process on
    `tree`, or why not."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(program), until],
            env=_env(tree),
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


def measure_cli(tree: Path, args: list[str], timeout: float) -> float | str:
    """Wall seconds of `lionsimplify ARGS` in a fresh process on `tree` (stdout to a pipe),
    or why not."""
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CLI, str(tree), *args],
            env=_env(tree),
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s"
    seconds = time.perf_counter() - start
    if out.returncode not in (0, 1):  # 1: hazards under --strict; not used here
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return f"failed: {last[:60]}"
    return seconds


def _sums(n: int) -> str:
    body = "".join("  u = u + g\n" for _ in range(n - 2))
    return f"def train(w, g, m, lr):\n  u = g\n{body}  update = sign(u)\n  return update, m\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--chains", nargs="+", choices=("mixed", "sums"), default=["mixed", "sums"])
    parser.add_argument("--dce-size", type=int, default=10_000)
    parser.add_argument("--old", type=Path, help="another checkout to time side by side")
    parser.add_argument("--old-sizes", type=int, nargs="+", help="default: --sizes")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from lionsimplify.lang.mutate import long_chain
    from lionsimplify.lang.printer import print_program

    trees = [("new", ROOT, args.sizes)]
    if args.old:
        trees.append(("old", args.old.resolve(), args.old_sizes or args.sizes))
    print(
        f"{'chain':<6} {'tree':<4} {'statements':>10} {'out':>7} {'seconds':>9} {'µs/stmt':>8}"
        f" {'verify s':>9} {'rest µs/stmt':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp:

        def source(chain: str, n: int) -> Path:
            path = Path(tmp) / f"{chain}{n}.txt"
            if not path.exists():
                path.write_text(print_program(long_chain(n)) if chain == "mixed" else _sums(n))
            return path

        for chain in args.chains:
            for n in sorted({n for _, _, sizes in trees for n in sizes}):
                for name, tree, sizes in trees:
                    if n not in sizes:
                        continue
                    got = measure(tree, source(chain, n), "exact", args.timeout)
                    if isinstance(got, str):
                        print(f"{chain:<6} {name:<4} {n:>10} {'':>7} {got:>9}", flush=True)
                        continue
                    seconds, verifying, out = got
                    per, rest = seconds / n * 1e6, (seconds - verifying) / n * 1e6
                    print(
                        f"{chain:<6} {name:<4} {n:>10} {out:>7} {seconds:>9.2f} {per:>8.0f}"
                        f" {verifying:>9.2f} {rest:>12.0f}",
                        flush=True,
                    )
        print(f"\ncommand line, mixed chain of {args.dce_size} statements, wall seconds")
        path = source("mixed", args.dce_size)
        for command in (["reduce", "--until", "dce"], ["check"]):
            for name, tree, _ in trees:
                got = measure_cli(tree, [*command, str(path)], args.timeout)
                shown = got if isinstance(got, str) else f"{got:.2f}"
                print(f"{' '.join(command):<20} {name:<4} {shown:>9}", flush=True)


if __name__ == "__main__":
    main()
