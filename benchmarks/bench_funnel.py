"""Funnel benchmarks: intake throughput, local pool speed-up, time outside training.

    PYTHONPATH=. python benchmarks/bench_funnel.py [--intake N] [--skip-funnel]

1. Intake of N (default 100,000) search outputs generated the way search produces them:
   distinct mutants of the AdamW warm start, each appearing several times, some renamed
   (which the text cache cannot catch but the structural hash does). Generation is not timed.
2. The quick example funnel (`examples/runs`, default config) with `--workers 1` and
   `--workers 2`, each in a fresh output directory, side by side (target: >= 1.7x).
3. From the 2-worker run: the share of wall time outside evaluation,
   1 - sum(evaluation wall time) / (workers x wall time) (target: < 10%).
4. (`--pool`) The local pool alone, side by side in one run: the same N evaluations (Program 1
   on vision-s, each job its own seeds, the level-A learning-rate grid of the default config)
   through 1 worker on one core, 1 worker on every core, 2 workers pinned to their share of the
   cores, and 2 unpinned workers, all on one warmed compilation cache, so every evaluation
   costs what it costs a long-lived worker (trace, load the executable, train). Prints
   throughput and the mean evaluation time per configuration, and the machine's load average
   before each, since on a shared machine that decides what a second worker can gain. Two
   ratios: 2 pinned workers against 1 worker on every core (what `--workers 2` buys on this
   machine: at most cores / cores one worker already keeps busy), and against 1 worker on one
   core (whether a worker per core scales, the machine-independent question).
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
    """One process against the parallel intake (every available core), same input, same run."""
    from lionsimplify.analysis.fingerprint_pool import cores

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        runs = make_search_output(Path(tmp), total, distinct=total // 10)
        gen = time.perf_counter() - t0
        print(f"intake input: {total} programs generated in {gen:.0f} s (not counted)")
        results = {}
        for workers in (1, cores()):
            t0 = time.perf_counter()
            result = intake(runs, workers=workers, parallel_min=0 if workers > 1 else 1)
            dt = time.perf_counter() - t0
            results[workers] = result.to_json()
            data = results[workers]
            print(
                f"intake, {workers} process(es): {data['read']} programs in {dt:.1f} s = "
                f"{data['read'] / dt:,.0f} programs/s; valid {data['valid']}, unique "
                f"{data['unique']}, duplicate rate {data['duplicate_rate']:.1%}, redundant "
                f"statements {data['redundant_statement_rate']:.1%}"
            )
    print(f"same result from both: {len(set(map(json.dumps, results.values()))) == 1}")


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


LION = (ROOT / "examples" / "programs" / "program1_lion.txt").read_text()
GRID = load_config(None).levels[0].lr_multipliers


def _pool_jobs(n: int) -> list:
    from lionsimplify.funnel.jobs import Job

    return [
        Job(
            key=f"pool-{i}",
            subject=f"lion-{i}",
            kind="candidate",
            program=LION,
            level=0,
            level_name="A",
            proxy="vision-s",
            seeds=(3 * i, 3 * i + 1, 3 * i + 2),
            lr_multipliers=GRID,
            time_limit_s=600.0,
            base_lr=3e-4,
            params={"β1": 0.9, "β2": 0.99, "λ": 0.01},
        )
        for i in range(n)
    ]


Config = tuple[int, bool, bool]
"""(workers, pinned, on one core only)."""


def _label(config: Config) -> str:
    workers, pin, one_core = config
    where = "on one core " if one_core else ("pinned      " if pin else "unpinned    ")
    return f"--workers {workers} {where}"


def _run_pool(config: Config, jobs: list) -> tuple[float, list[dict]]:
    import os

    from lionsimplify.funnel.executors import LocalExecutor

    workers, pin, one_core = config
    saved = os.sched_getaffinity(0)
    if one_core:  # the pool shares out the coordinator's cores: give it only the first
        os.sched_setaffinity(0, {min(saved)})
    try:
        pool = LocalExecutor(workers=workers, pin=pin)
        t0 = time.perf_counter()
        try:
            results = [r for kind, _, r in pool.execute(jobs) if kind == "done"]
        finally:
            pool.close()
    finally:
        os.sched_setaffinity(0, saved)
    return time.perf_counter() - t0, results


def bench_pool(n: int, rounds: int = 2) -> None:
    import os
    import statistics

    configs: tuple[Config, ...] = (
        (1, True, True),
        (1, True, False),
        (2, True, False),
        (2, False, False),
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIONSIMPLIFY_CACHE"] = tmp
        t0 = time.perf_counter()
        for config in configs:  # each setting's executables (XLA flags are in the key)
            _run_pool(config, _pool_jobs(config[0]))
        print(f"\npool: compilation cache warmed in {time.perf_counter() - t0:.1f} s (not counted)")
        print(f"each evaluation: Program 1 on vision-s, 3 seeds x {len(GRID)} lr multipliers")
        jobs = _pool_jobs(n)
        rates: dict[Config, list[float]] = {c: [] for c in configs}
        for r in range(rounds):  # interleaved, so a change in the machine's load hits all alike
            for config in configs:
                load = os.getloadavg()[0]
                wall, results = _run_pool(config, jobs)
                assert all(x["status"] == "ok" for x in results), results
                rates[config].append(len(results) / wall)
                mean = {k: statistics.mean(x[k] for x in results) for k in ("wall_s", "train_s")}
                print(
                    f"round {r + 1}: {_label(config)} {len(results)} evaluations in {wall:5.1f} s = "
                    f"{60 * len(results) / wall:5.1f}/min; per evaluation {mean['wall_s']:.2f} s "
                    f"(training {mean['train_s']:.2f} s); load average before {load:.1f}"
                )
    best = {c: max(v) for c, v in rates.items()}
    two = best[(2, True, False)]
    print(
        f"throughput (best round) on {len(os.sched_getaffinity(0))} cores: 2 pinned / 1 on every "
        f"core {two / best[(1, True, False)]:.2f}x (target >= 1.8x), 2 unpinned / 1 on every core "
        f"{best[(2, False, False)] / best[(1, True, False)]:.2f}x, 2 pinned / 1 on one core "
        f"{two / best[(1, True, True)]:.2f}x (a worker per core: ideal 2x)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intake", type=int, default=100_000)
    ap.add_argument("--skip-funnel", action="store_true")
    ap.add_argument("--pool", type=int, default=0, metavar="N", help="also time N pool jobs")
    args = ap.parse_args()
    if args.intake:
        bench_intake(args.intake)
    if not args.skip_funnel:
        bench_funnel()
    if args.pool:
        bench_pool(args.pool)


if __name__ == "__main__":
    main()
