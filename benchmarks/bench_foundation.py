"""Foundation benchmark: reduce (through DCE) + fingerprint Program 8, and dedup throughput.

Run by hand: `python benchmarks/bench_foundation.py [--programs 100000]`. Everything runs in
this one process on one core, side by side, and the figures are printed as measured.

The dedup corpus imitates search output: a few thousand distinct mutants of the AdamW warm start
(insert/delete/modify mutations, as regularized evolution makes them), each appearing many times
under different variable names, with independent statements reordered and dead statements added,
which is what makes ~90% of a real search's programs duplicates (the paper's cache hit rate).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lionsimplify.analysis.fingerprint import behavioural_hash, structural_hash  # noqa: E402
from lionsimplify.compare.dedup import dedup  # noqa: E402
from lionsimplify.lang.ir import Program, Stmt, Var  # noqa: E402
from lionsimplify.lang.mutate import adamw, mutate  # noqa: E402
from lionsimplify.lang.parse import parse_text  # noqa: E402
from lionsimplify.lang.printer import print_program  # noqa: E402
from lionsimplify.lang.sources import Source  # noqa: E402
from lionsimplify.passes.driver import reduce  # noqa: E402
from lionsimplify.passes.verify import _outputs_cached  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def per_call(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def variant(p: Program, rng: random.Random) -> Program:
    """The same program as search might print it again: renamed, reordered, with dead code."""
    names = sorted({s.target for s in p.body} - set(p.inputs))
    fresh = rng.sample(range(10_000), len(names))
    mapping = {n: f"v{k}" for n, k in zip(names, fresh, strict=True)}
    ren = lambda a: Var(mapping.get(a.name, a.name)) if isinstance(a, Var) else a  # noqa: E731
    body = [
        Stmt(mapping.get(s.target, s.target), s.op, tuple(ren(a) for a in s.args)) for s in p.body
    ]
    if rng.random() < 0.5:
        body.insert(rng.randrange(len(body) + 1), Stmt("dead", "cosh", (Var(p.grad),)))
    returns = tuple(mapping.get(r, r) for r in p.returns)
    return replace(p, body=tuple(body), returns=returns)


def corpus(n: int, distinct: int, seed: int = 0) -> list[Source]:
    rng = random.Random(seed)
    base = [mutate(adamw(), rng, mutations=rng.randint(1, 6)) for _ in range(distinct)]
    out = []
    for i in range(n):
        p = variant(rng.choice(base), rng)
        out.append(Source(f"p{i}", print_program(p), f"p{i}"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--programs", type=int, default=100_000)
    ap.add_argument("--distinct", type=int, default=3_000)
    args = ap.parse_args()

    text = (ROOT / "examples" / "programs" / "program8.txt").read_text()
    t_parse = per_call(lambda: parse_text(text), 500)
    p8 = parse_text(text)

    def reduce_cold() -> None:
        _outputs_cached.cache_clear()  # time the verification runs, not the output cache
        reduce(p8, until="dce")

    t_dce = per_call(reduce_cold, 20)
    t_dce_noverify = per_call(lambda: structural_hash(p8), 500)
    t_beh = per_call(lambda: behavioural_hash(p8), 200)
    print("Program 8 (per call, this machine, one core):")
    print(f"  parse                              {t_parse * 1e6:8.0f} us")
    print(f"  DCE + structural hash              {t_dce_noverify * 1e6:8.0f} us")
    print(f"  behavioural hash                   {t_beh * 1e6:8.0f} us")
    print(
        f"  parse + DCE + both fingerprints    {(t_parse + t_dce_noverify + t_beh) * 1e6:8.0f} us"
    )
    print(f"  reduce --until dce (DCE verified on 3 trajectories x 50 steps) {t_dce * 1e3:6.1f} ms")

    t0 = time.perf_counter()
    sources = corpus(args.programs, args.distinct)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = dedup(sources)
    t_dedup = time.perf_counter() - t0
    texts = len({s.text for s in sources})
    print(
        f"\ndedup of {args.programs} generated programs ({texts} distinct texts, "
        f"{args.distinct} distinct mutants; generated in {t_gen:.1f} s):"
    )
    print(f"  classes {len(result.classes)}, invalid {len(result.invalid)}")
    print(f"  wall {t_dedup:.2f} s -> {args.programs / t_dedup:,.0f} programs/s on one core")
    print(
        f"  duplicate rate {1 - len(result.classes) / max(1, result.total - len(result.invalid)):.1%}"
    )


if __name__ == "__main__":
    main()
