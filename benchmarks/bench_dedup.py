"""`dedup` throughput: CLI programs/s, in-process ms/program, memory per distinct text.

    PYTHONPATH=. python benchmarks/bench_dedup.py [--programs 2000]

The input is all-distinct programs (distinct AdamW mutants, as search makes them), the worst
case for de-duplication: every text is parsed, checked and fingerprinted, nothing is a cache hit.

1. In process, one core: `dedup()` over the programs, with Python's cyclic garbage collector at
   its default setting and with the setting `dedup` uses (see `compare/dedup.py`), side by side.
2. Memory kept per distinct text: what `tracemalloc` sees allocated and still held after
   `dedup()` returns its result (the result and the fingerprint caches), divided by the count.
3. The CLI (`lionsimplify dedup FILE.jsonl`, a fresh process each) with the table and `--json`:
   wall time and programs/s, start-up included.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lionsimplify.compare.dedup import dedup  # noqa: E402
from lionsimplify.lang.mutate import adamw, mutate  # noqa: E402
from lionsimplify.lang.printer import print_program  # noqa: E402
from lionsimplify.lang.sources import Source  # noqa: E402


def distinct_programs(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    texts: dict[str, None] = {}
    parent = adamw()
    while len(texts) < n:
        parent = mutate(adamw() if len(texts) % 20 == 0 else parent, rng, mutations=1)
        texts.setdefault(print_program(parent))
    return list(texts)


def _sources(texts: list[str]) -> list[Source]:
    return [Source(f"p{i}", t, "<bench>", {}) for i, t in enumerate(texts)]


def in_process(texts: list[str]) -> None:
    import contextlib

    import lionsimplify.compare.dedup as module

    print(f"in process, {len(texts)} distinct programs (best of 3, interleaved)")
    policies = {
        "GC as dedup sets it": module._gc_policy,
        "GC at its default": contextlib.nullcontext,
    }
    times: dict[str, list[float]] = {k: [] for k in policies}
    shipped = module._gc_policy
    try:
        for _ in range(3):
            for label, policy in policies.items():
                module._gc_policy = policy
                start = time.perf_counter()
                result = dedup(_sources(texts))
                times[label].append(time.perf_counter() - start)
    finally:
        module._gc_policy = shipped
    for label, ts in times.items():
        best = min(ts)
        print(
            f"  {label:<20} {best * 1e3 / len(texts):.3f} ms/program "
            f"({len(texts) / best:,.0f} programs/s), {len(result.classes)} classes"
        )


def memory(texts: list[str]) -> None:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = dedup(_sources(texts))
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(
        f"memory held after dedup (result + caches): {held / 2**20:.1f} MiB for {len(texts)} "
        f"texts = {held / len(texts) / 1024:.1f} KiB per distinct text ({len(result.classes)} "
        "classes)"
    )


def cli(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "programs.jsonl"
        path.write_text("".join(json.dumps({"program": t}) + "\n" for t in texts))
        for extra in ([], ["--json"]):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "lionsimplify", "dedup", str(path), *extra],
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            wall = time.perf_counter() - start
            what = "--json" if extra else "table"
            print(f"CLI dedup ({what:<6}): {wall:.2f} s = {len(texts) / wall:,.0f} programs/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--programs", type=int, default=2000)
    args = ap.parse_args()
    texts = distinct_programs(args.programs)
    in_process(texts)
    memory(texts)
    cli(texts)


if __name__ == "__main__":
    main()
