"""Command-line start-up: wall time of short commands, this checkout side by side with another.

    python benchmarks/bench_startup.py                       # this checkout only
    python benchmarks/bench_startup.py --old /tmp/old-ux     # and another checkout (its .venv)

Each command runs `--repeat` times, alternating between the checkouts so both see the same
machine load; the table gives medians and the ratio. Targets (issue 14): `check program8.txt`
≤ 0.3 s; an option error (`eval` without a value for a hyperparameter) reported before jax,
optax or sympy are imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "check program8": ["check", "examples/programs/program8.txt"],
    "reduce program8": ["reduce", "examples/programs/program8.txt", "--json"],
    "eval, missing --param": ["eval", "examples/programs/program1_lion.txt", "--proxy", "convex-s"],
    "--help": ["--help"],
    "python -c pass": None,
}


def _time(python: str, root: Path, args: list[str] | None) -> float:
    argv = [python, "-c", "pass"] if args is None else [python, "-m", "lionsimplify", *args]
    start = time.perf_counter()
    subprocess.run(argv, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, help="another checkout with its own .venv")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    sides = {"new": (sys.executable, ROOT)}
    if args.old is not None:
        sides["old"] = (str(args.old / ".venv" / "bin" / "python"), args.old)
    print(
        f"{'command':24} " + " ".join(f"{s:>9}" for s in sides) + ("  new/old" if args.old else "")
    )
    for name, cmd in COMMANDS.items():
        times: dict[str, list[float]] = {s: [] for s in sides}
        for _ in range(args.repeat):
            for side, (python, root) in sides.items():
                times[side].append(_time(python, root, cmd))
        med = {s: statistics.median(t) for s, t in times.items()}
        row = f"{name:24} " + " ".join(f"{med[s]:8.3f}s" for s in sides)
        if args.old:
            row += f"  {med['new'] / med['old']:.2f}"
        print(row)


if __name__ == "__main__":
    main()
