"""`dedup` throughput: in-process ms/program, memory per distinct text, CLI programs/s.

    PYTHONPATH=. python benchmarks/bench_dedup.py [--programs 2000 10000] [--old PATH] [--parallel]

The input is all-distinct programs (distinct AdamW mutants, as search makes them), the worst
case for de-duplication: every text is parsed, checked and fingerprinted, nothing is a cache hit.
`--old PATH` names another checkout of the project (`git worktree add /tmp/old main`): every
figure is then measured for both, side by side in one run, on the same programs, and the two
must group them into the very same classes (behavioural hash values may differ, which programs
share a class may not).

1. In process, one core, each measurement in a fresh process (so the parser's line caches start
   cold, as in the CLI): `dedup()` over the programs, best of `--repeat`, old and new
   interleaved. For this checkout also: the split by stage, `ast.parse` alone per program (the
   floor any parser built on `ast` pays), and `dedup` with Python's garbage collector at its
   default thresholds instead of the setting `dedup` uses; with `--parallel`, `dedup` in worker
   processes (`analysis/fingerprint_pool.py`, which it uses from 100k distinct texts).
2. Memory kept per distinct text: what `tracemalloc` sees allocated and still held after
   `dedup()` returns (the result and the fingerprint caches), divided by the count.
3. The CLI (`lionsimplify dedup FILE.jsonl`, a fresh process each, start-up included) with the
   table and with `--json`. Bytecode is cached (in a temporary folder) as an installed package's
   is, and one warm-up run precedes the timed ones.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def distinct_programs(n: int, seed: int = 0) -> list[str]:
    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program

    rng = random.Random(seed)
    texts: dict[str, None] = {}
    parent = adamw()
    while len(texts) < n:
        parent = mutate(adamw() if len(texts) % 20 == 0 else parent, rng, mutations=1)
        texts.setdefault(print_program(parent))
    return list(texts)


# ---------------------------------------------------------------------------------------------
# The measurements, each run in a fresh process with one checkout's package on `sys.path`.


def _sources(texts: list[str]) -> list:
    from lionsimplify.lang.sources import Source

    return [Source(f"p{i}", t, "<bench>", {}) for i, t in enumerate(texts)]


def _timed(texts: list[str]) -> dict:
    from lionsimplify.compare.dedup import dedup

    sources = _sources(texts)
    start = time.perf_counter()
    result = dedup(sources)
    wall = time.perf_counter() - start
    return {"seconds": wall, "classes": len(result.classes)}


def _memory(texts: list[str]) -> dict:
    from lionsimplify.compare.dedup import dedup

    sources = _sources(texts)
    dedup(_sources(["def train(w, g, lr):\n  u = sign(g) * lr\n  return u\n"]))  # imports done
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = dedup(sources)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {"bytes": held, "classes": len(result.classes)}


def _gc_default(texts: list[str]) -> dict:
    import contextlib

    import lionsimplify.compare.dedup as module

    module.collector_paused = contextlib.nullcontext
    return _timed(texts)


def _split(texts: list[str]) -> dict:
    """Seconds per stage over all programs (this checkout's functions, caches cold)."""
    import ast

    from lionsimplify.analysis.absexec import check_kinds
    from lionsimplify.analysis.fingerprint import (
        HashMemo,
        behavioural_hashes,
        collector_paused,
        structural_hash,
    )
    from lionsimplify.analysis.liveness import live_program
    from lionsimplify.lang.parse import parse_text

    out: dict[str, float] = {}

    def stage(name, fn, items):  # noqa: ANN001, ANN202
        start = time.perf_counter()
        done = [fn(x) for x in items]
        out[name] = time.perf_counter() - start
        return done

    with collector_paused():
        stage("ast.parse alone (the floor of any ast-based parser)", ast.parse, texts)
        programs = stage("parse", lambda t: parse_text(t, "<bench>"), texts)
        stage("kind check", check_kinds, programs)
        live = stage("liveness", live_program, programs)
        memo = HashMemo()  # as `Fingerprinter` keeps one
        hashes = stage(
            "structural hash", lambda p: structural_hash(p, reduced=True, memo=memo), live
        )
        firsts = list({h: p for h, p in reversed(list(zip(hashes, live, strict=True)))}.values())
        start = time.perf_counter()
        behavioural_hashes(firsts)
        out["behavioural hash (once per structure, side by side)"] = time.perf_counter() - start
    return out


def _parallel(texts: list[str]) -> dict:
    """`dedup` with the worker processes of `fingerprint_pool.py` (threshold lowered to 0)."""
    from lionsimplify.analysis.fingerprint_pool import cores
    from lionsimplify.compare.dedup import dedup

    sources = _sources(texts)
    start = time.perf_counter()
    result = dedup(sources, workers=cores(), parallel_min=0)
    return {
        "seconds": time.perf_counter() - start,
        "classes": len(result.classes),
        "workers": cores(),
    }


_MEASURES = {
    "timed": _timed,
    "memory": _memory,
    "gc-default": _gc_default,
    "split": _split,
    "parallel": _parallel,
}


def _measure_here(what: str, path: str) -> None:
    texts = [json.loads(line)["program"] for line in Path(path).read_text().splitlines()]
    print(json.dumps(_MEASURES[what](texts)))


def measure(root: Path, what: str, programs: Path) -> dict:
    """Run one measurement in a fresh process importing the package from `root`."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, __file__, "--measure", what, str(programs)],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
    )
    return json.loads(out.stdout)


def cli(root: Path, programs: Path, extra: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "lionsimplify", "dedup", str(programs), *extra],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
        env={**env, "PYTHONPATH": str(root), "COLUMNS": "100"},
    )
    return time.perf_counter() - start, out.stdout


def grouping(json_text: str) -> list[list[tuple[str, str]]]:
    """Which programs share a class, and how each matched: what must not change."""
    data = json.loads(json_text)
    return [[(m["id"], m["matched"]) for m in c["members"]] for c in data["classes"]]


# ---------------------------------------------------------------------------------------------


def run(n: int, versions: dict[str, Path], repeat: int, tmp: Path, parallel: bool) -> None:
    texts = distinct_programs(n)
    programs = tmp / f"programs{n}.jsonl"
    programs.write_text("".join(json.dumps({"program": t}) + "\n" for t in texts))
    print(f"\n{n} distinct programs")

    best: dict[str, float] = {}
    classes: dict[str, int] = {}
    for _ in range(repeat):
        for name, root in versions.items():
            r = measure(root, "timed", programs)
            best[name] = min(best.get(name, float("inf")), r["seconds"])
            classes[name] = r["classes"]
    print(f"  in process, best of {repeat}, caches cold:")
    for name in versions:
        ms = best[name] * 1e3 / n
        print(f"    {name:<4} {ms:.4f} ms/program ({n / best[name]:,.0f} programs/s), "
              f"{classes[name]} classes")  # fmt: skip
    if len(versions) == 2:
        print(f"    new is {best['old'] / best['new']:.2f}x faster")

    split = measure(versions["new"], "split", programs)
    print("  split of this checkout's stages (ms/program):")
    for stage, seconds in split.items():
        print(f"    {stage:<52} {seconds * 1e3 / n:.4f}")
    gc_default = min(measure(versions["new"], "gc-default", programs)["seconds"] for _ in range(2))
    print(f"  with the garbage collector at its default: {gc_default * 1e3 / n:.4f} ms/program "
          f"({gc_default / best['new']:.2f}x the time with dedup's setting)")  # fmt: skip

    if parallel:
        r = min((measure(versions["new"], "parallel", programs) for _ in range(2)),
                key=lambda r: r["seconds"])  # fmt: skip
        print(f"  in {r['workers']} worker processes (start-up included): "
              f"{r['seconds'] * 1e3 / n:.4f} ms/program ({best['new'] / r['seconds']:.2f}x the "
              f"speed of one process), {r['classes']} classes")  # fmt: skip

    for name, root in versions.items():
        mem = measure(root, "memory", programs)
        print(f"  memory held after dedup ({name}): {mem['bytes'] / 2**20:.1f} MiB = "
              f"{mem['bytes'] / n / 1024:.2f} KiB per distinct text")  # fmt: skip

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls: dict[tuple[str, str], float] = {}
    outputs: dict[tuple[str, str], str] = {}
    for name, root in versions.items():
        env_v = {**env, "PYTHONPYCACHEPREFIX": str(tmp / f"pycache-{name}")}
        cli(root, programs, ["--json"], env_v)  # warm-up: bytecode written once
    for _ in range(repeat):
        for name, root in versions.items():
            env_v = {**env, "PYTHONPYCACHEPREFIX": str(tmp / f"pycache-{name}")}
            for what, extra in (("table", []), ("--json", ["--json"])):
                wall, out = cli(root, programs, extra, env_v)
                walls[name, what] = min(walls.get((name, what), float("inf")), wall)
                outputs[name, what] = out
    print(f"  CLI, best of {repeat}, start-up included:")
    for name in versions:
        for what in ("table", "--json"):
            wall = walls[name, what]
            print(f"    {name:<4} {what:<7} {wall:.2f} s = {n / wall:,.0f} programs/s")
    if len(versions) == 2:
        same = grouping(outputs["old", "--json"]) == grouping(outputs["new", "--json"])
        print(f"  old and new group the programs identically: {'yes' if same else 'NO'}")
        if not same:
            raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--programs", type=int, nargs="+", default=[2000, 10000])
    ap.add_argument("--old", type=Path, help="another checkout to compare with, side by side")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parallel", action="store_true", help="also time the worker processes")
    ap.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        _measure_here(*args.measure)
        return
    sys.path.insert(0, str(ROOT))
    versions = {"new": ROOT}
    if args.old:
        versions = {"old": args.old.resolve(), "new": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.programs:
            run(n, versions, args.repeat, Path(tmp), args.parallel)


if __name__ == "__main__":
    main()
