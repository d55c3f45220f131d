"""Funnel benchmarks: intake throughput, local pool speed-up, time outside training.

    PYTHONPATH=. python benchmarks/bench_funnel.py [--intake N] [--skip-funnel]

1. Intake of N (default 100,000) search outputs generated the way search produces them:
   distinct mutants of the AdamW warm start, each appearing several times, some renamed
   (which the text cache cannot catch but the structural hash does). Generation is not timed.
2. The quick example funnel (`examples/runs`, default config) with `--workers 1` and
   `--workers 2`, each in a fresh output directory, side by side (target: >= 1.7x).
3. From the 2-worker run: the share of wall time outside evaluation,
   1 - sum(evaluation wall time) / (workers x wall time) (target: < 10%).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lionsimplify.funnel import FunnelOptions, load_config, run_funnel  # noqa: E402
from lionsimplify.funnel.runs import intake  # noqa: E402
from lionsimplify.lang.mutate import adamw, mutate  # noqa: E402
from lionsimplify.lang.printer import print_program  # noqa: E402


def _renamed(text: str, n: int) -> str:
    """The same program with its temporaries renamed (a new text, the same structure)."""
    for name in ("update", "sqrt_v", "g2", "wd"):
        text = re.sub(rf"\b{name}\b", f"{name}_{n}", text)
    return text


def make_search_output(root: Path, total: int, distinct: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    base = adamw()
    texts = []
    parent = base
    for i in range(distinct):
        parent = mutate(base if i % 20 == 0 else parent, rng, mutations=1)
        texts.append(print_program(parent))
    runs = root / "runs"
    per_run = total // 4
    for r in range(4):
        d = runs / f"run{r}"
        d.mkdir(parents=True)
        with (d / "programs.jsonl").open("w") as f:
            for step in range(per_run):
                text = rng.choice(texts)
                if rng.random() < 0.3:
                    text = _renamed(text, rng.randrange(5))
                obj = {"program": text, "fitness": rng.random(), "step": step}
                f.write(json.dumps(obj) + "\n")
    return runs


def bench_intake(total: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        runs = make_search_output(Path(tmp), total, distinct=total // 10)
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = intake(runs)
        dt = time.perf_counter() - t0
    data = result.to_json()
    print(
        f"intake: {data['read']} programs in {dt:.1f} s = {data['read'] / dt:,.0f} programs/s "
        f"(generation {gen:.0f} s, not counted); valid {data['valid']}, unique {data['unique']}, "
        f"duplicate rate {data['duplicate_rate']:.1%}, redundant statements "
        f"{data['redundant_statement_rate']:.1%}"
    )


def bench_funnel() -> None:
    config = load_config(None)
    from lionsimplify.proxies.baselines import tune

    t0 = time.perf_counter()
    for level in config.levels:  # warm the tuned-baseline cache so both runs start equal
        for name in ("adamw", "lion"):
            tune(name, level.proxy)
    print(f"baseline tuning cache warmed in {time.perf_counter() - t0:.0f} s (not counted)")
    walls = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            result = run_funnel(
                FunnelOptions(
                    ROOT / "examples" / "runs", Path(tmp) / "out", config, workers=workers
                )
            )
            walls[workers] = time.perf_counter() - t0
            n = sum(len(o.records) + len(o.baselines) for o in result.levels)
            recs = [r for o in result.levels for r in (*o.records.values(), *o.baselines.values())]
            trained = sum((r.get("train_s") or 0) + (r.get("compile_s") or 0) for r in recs)
            outside = 1 - result.eval_s / (workers * walls[workers])
            print(
                f"funnel --workers {workers}: {walls[workers]:.1f} s for {n} evaluations; "
                f"evaluation {result.eval_s:.1f} s summed over workers (of which compile + "
                f"train {trained:.1f} s); outside evaluation {outside:.1%} of worker-time"
            )
    print(f"speed-up workers 2 vs 1: {walls[1] / walls[2]:.2f}x (target >= 1.7x)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intake", type=int, default=100_000)
    ap.add_argument("--skip-funnel", action="store_true")
    args = ap.parse_args()
    bench_intake(args.intake)
    if not args.skip_funnel:
        bench_funnel()


if __name__ == "__main__":
    main()
