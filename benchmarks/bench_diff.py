"""Benchmark: `diff` of two 200-statement programs, verification included (target: under 1 s).

Program A is generated (fixed seed): 200 statements over the weight, the gradient, two state
variables and the learning rate, plus a few dead statements. Program B is A renamed, with its
independent statements in another order and two literals changed, so the diff has real work to
do: reduce both, canonicalise, align, and run both on every verification trajectory.

The script prints the time of each phase and, side by side in the same run, the time of one
plain `verify()` of the two programs (the differential-execution floor every verdict needs), so
the ratio says how much the diff itself adds. It does so twice: for the live programs (the
reduction has nothing to do) and for the programs with their dead statements, where
`reduce()` also verifies its dead-code pass on each program (two more interpreter runs each).

    PYTHONPATH=$PWD python benchmarks/bench_diff.py
"""

from __future__ import annotations

import random
import statistics
import time

from lionsimplify.analysis.canonical import canonicalize
from lionsimplify.analysis.liveness import eliminate_dead_code
from lionsimplify.compare.diff import align, diff_programs
from lionsimplify.lang.ir import Const, Program, Stmt, Var
from lionsimplify.passes.driver import reduce
from lionsimplify.passes.verify import _outputs_cached, verify

STATEMENTS = 200
TARGET_S = 1.0


def generate(seed: int = 0, n: int = STATEMENTS) -> Program:
    """A valid program whose values stay finite: every op keeps magnitudes bounded."""
    rng = random.Random(seed)
    names = ["w", "g", "m", "v", "lr"]
    body: list[Stmt] = []
    for i in range(n):
        recent = names[-6:]
        x = Var(names[-1])  # a chain: every statement reaches the update
        y = Var(rng.choice(names))
        kind = rng.randrange(8)
        if kind == 0:
            stmt = Stmt(f"a{i}", "interp", (x, y, Const(round(rng.uniform(0.6, 0.99), 3))))
        elif kind == 1:
            stmt = Stmt(f"a{i}", "tanh", (x,))
        elif kind == 2:
            stmt = Stmt(f"a{i}", "add", (x, y))
        elif kind == 3:
            stmt = Stmt(f"a{i}", "mul", (x, Const(round(rng.uniform(0.1, 0.9), 3))))
        elif kind == 4:
            stmt = Stmt(f"a{i}", "sub", (x, y))
        elif kind == 5:
            stmt = Stmt(f"a{i}", "sign", (x,))
        elif kind == 6:
            stmt = Stmt(f"a{i}", "maximum", (x, y))
        else:
            stmt = Stmt(f"a{i}", "mul", (Var(rng.choice(recent)), Var(f"a{i - 1}" if i else "g")))
            body.append(Stmt(f"b{i}", "tanh", (stmt.args[0],)))
            stmt = Stmt(f"a{i}", "mul", (Var(f"b{i}"), Var(rng.choice(["g", "lr"]))))
        body.append(stmt)
        names.append(stmt.target)
        if i % 40 == 39:  # dead code for the reduction to remove
            body.append(Stmt(f"dead{i}", "exp", (Var(rng.choice(names)),)))
    body.append(Stmt("m_new", "interp", (Var("g"), Var("m"), Const(0.9))))
    body.append(Stmt("v_new", "interp", (Var(names[-3]), Var("v"), Const(0.99))))
    body.append(Stmt("update", "mul", (Var(names[-1]), Var("lr"))))
    return Program("w", "g", ("m", "v"), "lr", tuple(body), ("update", "m_new", "v_new"))


def variant(program: Program, seed: int = 1) -> Program:
    """Rename every variable, move independent statements, change two literals."""
    rng = random.Random(seed)
    body = list(program.body)
    # move statements later while their value is not read yet (a valid reordering)
    for _ in range(300):
        i = rng.randrange(len(body) - 1)
        a, b = body[i], body[i + 1]
        if all(not (isinstance(x, Var) and x.name == a.target) for x in b.args) and not any(
            isinstance(x, Var) and x.name == b.target for x in a.args
        ):
            body[i], body[i + 1] = b, a
    changed = 0
    for k in range(len(body) - 1, -1, -1):  # the last two interps: closest to the update
        s = body[k]
        if changed < 2 and s.op == "interp" and s.target not in ("m_new", "v_new"):
            body[k] = Stmt(s.target, s.op, (*s.args[:2], Const(s.args[2].value + 0.001)))  # type: ignore[union-attr]
            changed += 1
    inputs = set(program.inputs)
    rename = {s.target: f"x{k}" for k, s in enumerate(body) if s.target not in inputs}

    def r(name: str) -> str:
        return rename.get(name, name)

    body = [
        Stmt(r(s.target), s.op, tuple(Var(r(a.name)) if isinstance(a, Var) else a for a in s.args))
        for s in body
    ]
    return Program(
        program.weight,
        program.grad,
        program.state,
        program.lr,
        tuple(body),
        tuple(r(x) for x in program.returns),
        path="variant",
    )


def best_of(fn, repeat: int = 5) -> tuple[float, float]:  # noqa: ANN001
    """Best and median wall time; program outputs are never reused between repetitions."""
    times = []
    for _ in range(repeat):
        _outputs_cached.cache_clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def scenario(title: str, a: Program, b: Program) -> float:
    diff_programs(a, b)  # warm the trajectories once, as any run after start-up would
    result = diff_programs(a, b)
    ra, rb = reduce(a).program, reduce(b).program
    ca, cb = canonicalize(ra), canonicalize(rb)
    phases = {
        "reduce both": lambda: (reduce(a), reduce(b)),
        "canonicalise both": lambda: (canonicalize(ra), canonicalize(rb)),
        "align": lambda: align(ca, cb),
        "verify(A, B) alone": lambda: verify(ra, rb, "exact"),
        "diff_programs (total)": lambda: diff_programs(a, b),
    }
    print(f"\n{title}: A {len(a.body)} statements, B {len(b.body)} (reduced: {len(ra.body)})")
    print(
        f"  verdict {result.verdict}; {len(result.constants)} constants changed; "
        f"{sum(r.kind != 'same' for r in result.rows)} of {len(result.rows)} rows differ"
    )
    timings = {name: best_of(fn) for name, fn in phases.items()}
    for name, (best, median) in timings.items():
        print(f"  {name:24s} best {best * 1e3:8.1f} ms   median {median * 1e3:8.1f} ms")
    total = timings["diff_programs (total)"][0]
    floor = timings["verify(A, B) alone"][0]
    print(f"  diff / one verify():  {total / floor:.2f}x")
    print(
        f"  diff / 1 s target:    {total / TARGET_S:.2f}  ({'OK' if total < TARGET_S else 'SLOW'})"
    )
    return total


def main() -> None:
    a = generate()
    b = variant(a)
    scenario(
        "live programs (nothing to reduce)",
        eliminate_dead_code(a).program,
        eliminate_dead_code(b).program,
    )
    scenario("with dead statements (reduce() verifies its pass on both)", a, b)


if __name__ == "__main__":
    main()
