"""Generate `examples/runs/`: small search runs scored for real on the smallest proxy.

    PYTHONPATH=. python examples/make_runs.py [--out examples/runs] [--force]

Each `evo-N` run is a regularized evolution like the Lion search, scaled down: the population
starts as mutants of the AdamW warm start (Program 3); every cycle a tournament of two picks a
parent, a mutant of it (insert / delete / modify a statement, or perturb a constant, see
`lionsimplify.lang.mutate`) is trained on the search proxy and joins the population, and the oldest
member leaves. Every child whose training finished is logged to `programs.jsonl` with its real
fitness (the proxy's metric: objective value, lower is better), its cycle as `step`, its parent
and its number of mutations. Children that diverged or failed get no fitness and are only
counted in `meta.json`, as a search would discard them.

The `paper` run holds Program 8 and Program 4 from the Lion paper with renamed / reordered
duplicates of each, and Lion itself (Program 1 with β1 = 0.9, β2 = 0.99, λ = 0.1) with a renamed
copy, all scored for real on the search proxy, as program files with the fitness in a
`# fitness:` comment.

Fitness is the proxy's objective (lower is better) at the best of the learning-rate multipliers
1, 10 and 100, under Hero semantics, one seed.

Nothing here invents a number: every fitness is the metric of a training run on this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lionsimplify.funnel.jobs import Job  # noqa: E402
from lionsimplify.funnel.proxy_evaluator import evaluate_job  # noqa: E402
from lionsimplify.lang.ir import Const, Hyper, Program, Var  # noqa: E402
from lionsimplify.lang.mutate import adamw, mutate  # noqa: E402
from lionsimplify.lang.parse import parse_file, parse_text  # noqa: E402
from lionsimplify.lang.printer import print_program  # noqa: E402

SEARCH_PROXY = "convex-s"
#: The search scores each program at its best learning-rate multiplier of this small grid.
SEARCH_MULTIPLIERS = (1.0, 10.0, 100.0)
#: Search outputs are Hero programs: they mean what the Hero library computes.
SEMANTICS = "hero"
#: Program 1 (Lion) with the usual hyperparameters (weight decay 10x AdamW's 0.01).
LION_VALUES = {"β1": 0.9, "β2": 0.99, "λ": 0.1}

#: Renamings used to make duplicates of the paper's programs (whole identifiers only).
RENAME = {"w": "weight", "g": "grad", "m": "mom", "v": "vel", "update": "step", "wd": "decay",
          "momentum": "mu", "weight_decay": "decay", "m2": "mom_sq", "abs_m": "mag"}  # fmt: skip


def renamed(program: Program) -> str:
    """The program's text with its variables renamed (a textual, not a semantic, change)."""
    text = print_program(program)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, RENAME)) + r")\b")
    return pattern.sub(lambda m: RENAME[m.group(1)], text)


def reordered(program: Program) -> str:
    """The program with every adjacent pair of independent statements swapped once."""
    body = list(program.body)
    i = 0
    while i + 1 < len(body):
        a, b = body[i], body[i + 1]
        reads_a = {x.name for x in a.args if isinstance(x, Var)}
        reads_b = {x.name for x in b.args if isinstance(x, Var)}
        if a.target not in reads_b and b.target not in reads_a and a.target != b.target:
            body[i], body[i + 1] = b, a
            i += 2
        else:
            i += 1
    return print_program(program.with_body(body))


def score(text: str, subject: str, seeds: tuple[int, ...] = (0,)) -> dict:
    """Train `text` on the search proxy (the funnel's own evaluator) and return its result."""
    job = Job(
        key=subject,
        subject=subject,
        kind="candidate",
        program=text,
        level=0,
        level_name="search",
        proxy=SEARCH_PROXY,
        seeds=seeds,
        lr_multipliers=SEARCH_MULTIPLIERS,
        time_limit_s=60.0,
        semantics=SEMANTICS,
    )
    return evaluate_job(job)


def with_values(program: Program, values: dict[str, float]) -> Program:
    """`program` with its named hyperparameters replaced by literal values."""
    body = [
        replace(s, args=tuple(Const(values[a.name]) if isinstance(a, Hyper) else a for a in s.args))
        for s in program.body
    ]
    return program.with_body(body)


def evolve(run: int, population: int, cycles: int, seed: int) -> tuple[list[dict], int]:
    rng = random.Random(seed)
    pop: list[tuple[str, float, str]] = []
    log: list[dict] = []
    discarded = 0

    def consider(text: str, step: int, parent: str | None, mutations: int) -> None:
        nonlocal discarded
        cid = f"evo{run}-{len(log) + discarded:03d}"
        res = score(text, cid)
        if res["status"] != "ok":
            discarded += 1
            return
        fitness = round(float(res["metric"]), 6)
        log.append(
            {
                "id": cid,
                "step": step,
                "fitness": fitness,
                "parent": parent,
                "mutations": mutations,
                "program": text,
            }
        )
        pop.append((text, fitness, cid))
        print(f"  {cid} step {step:3d} fitness {fitness:.5f}", flush=True)

    warm = adamw()
    consider(print_program(warm), 0, None, 0)
    while len(pop) < population:
        consider(print_program(mutate(warm, rng, mutations=rng.randint(1, 2))), 0, "adamw", 1)
    for step in range(1, cycles + 1):
        a, b = rng.sample(pop, 2)
        parent = min(a, b, key=lambda t: t[1])  # lower objective is better
        n = rng.randint(1, 3)
        child = mutate(parse_text(parent[0], parent[2]), rng, mutations=n)
        consider(print_program(child), step, parent[2], n)
        if len(pop) > population:
            pop.pop(0)  # regularized evolution: the oldest leaves
    return log, discarded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "examples" / "runs")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--population", type=int, default=6)
    ap.add_argument("--cycles", type=int, default=14)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--paper-only", action="store_true", help="only (re)write the paper run")
    ap.add_argument("--force", action="store_true", help="overwrite files in an existing --out")
    args = ap.parse_args()
    if args.out.exists() and any(args.out.iterdir()) and not args.force:
        sys.exit(f"error: {args.out} is not empty; pass --force to overwrite its run files")
    for run in range(1, 0 if args.paper_only else args.runs + 1):
        print(f"run evo-{run}: population {args.population}, {args.cycles} cycles", flush=True)
        log, discarded = evolve(run, args.population, args.cycles, args.seed * 100 + run)
        d = args.out / f"evo-{run}"
        d.mkdir(parents=True, exist_ok=True)
        with (d / "programs.jsonl").open("w") as f:
            for entry in log:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
        meta = {
            "higher_is_better": False,
            "proxy": SEARCH_PROXY,
            "search": "regularized evolution from AdamW (examples/make_runs.py)",
            "discarded": discarded,
        }
        (d / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    paper = args.out / "paper"
    paper.mkdir(parents=True, exist_ok=True)
    programs = ROOT / "examples" / "programs"
    lion = with_values(parse_file(programs / "program1_lion.txt"), LION_VALUES)
    p8 = parse_file(programs / "program8.txt")
    p4 = parse_file(programs / "program4.txt")
    texts = {
        "program1_lion": print_program(lion),
        "program1_lion_renamed": renamed(lion),
        "program8": print_program(p8),
        "program8_renamed": renamed(p8),
        "program8_reordered": reordered(p8),
        "program4": print_program(p4),
        "program4_renamed": renamed(p4),
        "program4_reordered": reordered(p4),
    }
    print("run paper", flush=True)
    for name, text in texts.items():
        res = score(text, name)
        if res["status"] != "ok":
            sys.exit(f"error: {name} did not train on {SEARCH_PROXY}: {res['error']}")
        fitness = round(float(res["metric"]), 6)
        print(f"  {name} fitness {fitness:.5f}", flush=True)
        header = f"# fitness: {fitness}\n# source: Lion paper (Chen et al. 2023), {name}\n"
        (paper / f"{name}.txt").write_text(header + text)
    (paper / "run.toml").write_text(
        f"# Programs from the Lion paper, scored on {SEARCH_PROXY} (objective: lower is better)\n"
        "higher_is_better = false\n"
    )


if __name__ == "__main__":
    main()
