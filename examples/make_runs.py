"""Generate `examples/runs/`: small search runs scored for real on the smallest proxy.

    PYTHONPATH=. python examples/make_runs.py [--out examples/runs] [--force]

Every run is a regularized evolution like the Lion search, scaled down: every cycle a tournament
of two picks a parent, a mutant of it (insert / delete / modify a statement, or perturb a
constant, see `lionsimplify.lang.mutate`) is trained on the search proxy and joins the
population, and the oldest member leaves. Everything the search produced is logged to
`programs.jsonl`, as a search log would hold it: each child that trained with its real fitness
(the proxy's metric: objective value, lower is better), its cycle as `step`, its parent and its
number of mutations; a child that diverged or failed with its `status` and no fitness; and, now
and then, a broken mutant (one that reads a variable never set, say) with `status: "broken"`.

* `evo-1`, `evo-2` start from mutants of the AdamW warm start (Program 3).
* `lion` is the lineage the Lion paper's search left: its starting population is raw Program 8
  (the search output, with its redundant statements), renamed and reordered duplicates of it,
  Program 4 and relatives of Program 4's shape with other constants; it then evolves like the
  others. No hand-simplified Lion is planted: whatever the funnel makes of these is its own.

Fitness is the proxy's objective (lower is better) at the best of the learning-rate multipliers
1, 10 and 100, under Hero semantics, one seed. A program receives the schedule value as `lr`
(peak 1) and scales it itself; the multiplier scales its update (the trainer's rule), so
`clip(g, lr)` and `arcsin` in Program 8 see an `lr` of at most 1, as in the paper's search.

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
from lionsimplify.lang.ir import Const, Program, Var  # noqa: E402
from lionsimplify.lang.mutate import adamw, is_valid, mutate, mutate_once  # noqa: E402
from lionsimplify.lang.parse import parse_file, parse_text  # noqa: E402
from lionsimplify.lang.printer import print_program  # noqa: E402

SEARCH_PROXY = "convex-s"
#: The search scores each program at its best learning-rate multiplier of this small grid.
SEARCH_MULTIPLIERS = (1.0, 10.0, 100.0)
#: Search outputs are Hero programs: they mean what the Hero library computes.
SEMANTICS = "hero"

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


def relative(program: Program, rng: random.Random) -> Program:
    """`program` with every non-structural constant scaled by a random factor in [0.7, 1.4]:
    the same shape with other constants, as constant mutations leave in a search."""
    body = [
        replace(s, args=tuple(
            Const(round(a.value * rng.uniform(0.7, 1.4), 6))
            if isinstance(a, Const) and a.value not in (0.0, 1.0, 2.0) else a
            for a in s.args
        ))
        for s in program.body
    ]  # fmt: skip
    return program.with_body(body)


def broken(program: Program, rng: random.Random) -> str | None:
    """The text of a mutant that does not check (a search logs those too), if one comes up."""
    for _ in range(50):
        child = mutate_once(program, rng)
        if not is_valid(child):
            try:
                return print_program(child)
            except ValueError:
                continue
    return None


class Search:
    """A regularized evolution whose every child is logged (see the module docstring)."""

    def __init__(self, name: str, seed: int, population: int) -> None:
        self.name = name
        self.rng = random.Random(seed)
        self.population = population
        self.pop: list[tuple[str, float, str]] = []
        self.log: list[dict] = []

    def consider(self, text: str, step: int, parent: str | None, mutations: int) -> None:
        cid = f"{self.name}-{len(self.log):03d}"
        entry = {"id": cid, "step": step, "parent": parent, "mutations": mutations,
                 "program": text}  # fmt: skip
        res = score(text, cid)
        if res["status"] != "ok":
            self.log.append({**entry, "status": res["status"], "error": res["error"]})
            print(f"  {cid} step {step:3d} {res['status']}", flush=True)
            return
        fitness = round(float(res["metric"]), 6)
        self.log.append({**entry, "fitness": fitness})
        self.pop.append((text, fitness, cid))
        print(f"  {cid} step {step:3d} fitness {fitness:.5f}", flush=True)

    def evolve(self, cycles: int, broken_every: int = 6) -> None:
        for step in range(1, cycles + 1):
            a, b = self.rng.sample(self.pop, 2)
            parent = min(a, b, key=lambda t: t[1])  # lower objective is better
            program = parse_text(parent[0], parent[2])
            if step % broken_every == 0:
                text = broken(program, self.rng)
                if text is not None:
                    self.log.append({"id": f"{self.name}-{len(self.log):03d}", "step": step,
                                     "parent": parent[2], "mutations": 1, "program": text,
                                     "status": "broken"})  # fmt: skip
            n = self.rng.randint(1, 3)
            self.consider(print_program(mutate(program, self.rng, mutations=n)), step, parent[2], n)
            while len(self.pop) > self.population:
                self.pop.pop(0)  # regularized evolution: the oldest leaves

    def write(self, out: Path, search: str) -> None:
        d = out / self.name
        d.mkdir(parents=True, exist_ok=True)
        with (d / "programs.jsonl").open("w") as f:
            for entry in self.log:
                f.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
        meta = {
            "higher_is_better": False,
            "proxy": SEARCH_PROXY,
            "search": search,
            "logged": len(self.log),
            "trained": sum("fitness" in e for e in self.log),
        }
        (d / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def evo_run(run: int, population: int, cycles: int, seed: int) -> Search:
    search = Search(f"evo-{run}", seed, population)
    warm = adamw()
    search.consider(print_program(warm), 0, None, 0)
    while len(search.pop) < population:
        text = print_program(mutate(warm, search.rng, mutations=search.rng.randint(1, 2)))
        search.consider(text, 0, "adamw", 1)
    search.evolve(cycles)
    return search


def lion_run(population: int, cycles: int, seed: int) -> Search:
    search = Search("lion", seed, population)
    programs = ROOT / "examples" / "programs"
    p8 = parse_file(programs / "program8.txt")
    p4 = parse_file(programs / "program4.txt")
    start = [print_program(p8), renamed(p8), reordered(p8), print_program(p4), renamed(p4)]
    start += [print_program(relative(p4, search.rng)) for _ in range(max(0, population - 5))]
    for text in start:
        search.consider(text, 0, None, 0)
    if len(search.pop) < 2:
        sys.exit(f"error: the Program 8 / Program 4 family did not train on {SEARCH_PROXY}")
    search.evolve(cycles)
    return search


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "examples" / "runs")
    ap.add_argument("--runs", type=int, default=2, help="runs from the AdamW warm start")
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--cycles", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="overwrite files in an existing --out")
    args = ap.parse_args()
    if args.out.exists() and any(args.out.iterdir()) and not args.force:
        sys.exit(f"error: {args.out} is not empty; pass --force to overwrite its run files")
    for run in range(1, args.runs + 1):
        print(f"run evo-{run}: population {args.population}, {args.cycles} cycles", flush=True)
        search = evo_run(run, args.population, args.cycles, args.seed * 100 + run)
        search.write(args.out, "regularized evolution from AdamW (examples/make_runs.py)")
    print(f"run lion: population {args.population}, {args.cycles} cycles", flush=True)
    search = lion_run(args.population, args.cycles, args.seed * 100)
    search.write(args.out, "regularized evolution from the Lion paper's Program 8 and Program 4 "
                 "family (examples/make_runs.py)")  # fmt: skip


if __name__ == "__main__":
    main()
