"""The e-graph engine `egglog` against the fixed-point driver, on the same programs and rules.

Issue 11 asks whether an e-graph (equality saturation, then extraction of the cheapest term)
finds simpler programs than `reduce`'s rule-by-rule fixed point, or gives simpler code at a
comparable speed. This script encodes each program's live dataflow (after dead-code
elimination) as egglog terms, gives egglog the exact rules of `passes/rules.py` (plus the
commutativity, associativity and constant folding an e-graph needs to find a rule's pattern
anywhere in a product, which the driver's factor lists do instead), saturates for a bounded
number of iterations, extracts by egglog's default cost (term size), writes the result back as
a program and counts its statements and state, next to `reduce`'s result and time.

Programs: the examples (math semantics, Lion's hyperparameters where named) and generated
search-style programs (`lang/mutate.py`, AdamW mutated as the Lion search did).
egglog is not a dependency of the project: install it by hand (`pip install egglog`); without
it this script says so and exits.

Run: PYTHONPATH=$PWD python benchmarks/compare_egglog.py [--generated 40] [--iterations 8]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lionsimplify.analysis.symbolic import (  # noqa: E402
    Node,
    Term,
    dataflow,
    program_from_terms,
    subterms,
)
from lionsimplify.lang.ir import Const, Hyper, Program, Var  # noqa: E402
from lionsimplify.lang.mutate import adamw, mutate  # noqa: E402
from lionsimplify.lang.ops import OPS  # noqa: E402
from lionsimplify.lang.parse import parse_file  # noqa: E402
from lionsimplify.passes.driver import reduce  # noqa: E402

PARAMS = {"β1": 0.9, "β2": 0.99, "λ": 0.01}

_DECLS = """
(datatype T (V String) (H String) (L f64) (Op0 String) (Op1 String T) (Op2 String T T)
  (Op3 String T T T))
(relation pos (T))
(relation nonneg (T))
"""


def _rules(lr: str) -> str:
    """The exact rules of `passes/rules.py` as egglog rewrites (math semantics)."""
    comm = [n for n, op in OPS.items() if op.commutative and op.arity == 2]
    out = [f'(rewrite (Op2 "{c}" a b) (Op2 "{c}" b a))' for c in comm]
    out += [
        # associativity, and division as a factor, so a pattern is found anywhere in a product
        '(birewrite (Op2 "mul" (Op2 "mul" a b) c) (Op2 "mul" a (Op2 "mul" b c)))',
        '(birewrite (Op2 "add" (Op2 "add" a b) c) (Op2 "add" a (Op2 "add" b c)))',
        '(birewrite (Op2 "div" (Op2 "mul" a b) c) (Op2 "mul" a (Op2 "div" b c)))',
        # fold-constants (arithmetic)
        '(rewrite (Op2 "mul" (L a) (L b)) (L (* a b)))',
        '(rewrite (Op2 "add" (L a) (L b)) (L (+ a b)))',
        '(rewrite (Op2 "sub" (L a) (L b)) (L (- a b)))',
        '(rewrite (Op2 "div" (L a) (L b)) (L (/ a b)) :when ((!= b 0.0)))',
        # neutral-elements
        '(rewrite (Op2 "mul" x (L 1.0)) x)',
        '(rewrite (Op2 "add" x (L 0.0)) x)',
        '(rewrite (Op2 "sub" x (L 0.0)) x)',
        '(rewrite (Op2 "div" x (L 1.0)) x)',
        # sqrt-of-square, sign-of-sign, interp-endpoints
        '(rewrite (Op1 "sqrt" (Op2 "mul" x x)) (Op1 "abs" x))',
        '(rewrite (Op1 "sqrt" (Op1 "square" x)) (Op1 "abs" x))',
        '(rewrite (Op1 "sign" (Op1 "sign" x)) (Op1 "sign" x))',
        '(rewrite (Op3 "interp" x y (L 0.0)) x)',
        '(rewrite (Op3 "interp" x y (L 1.0)) y)',
        # sign-from-ratio
        '(rewrite (Op2 "div" x (Op1 "abs" x)) (Op1 "sign" x))',
        '(rewrite (Op2 "div" (Op1 "abs" x) x) (Op1 "sign" x))',
        # fold-interp-chain, interp-increment
        '(rewrite (Op3 "interp" x (Op3 "interp" x y a) b) (Op3 "interp" x y (Op2 "mul" a b)))',
        '(rewrite (Op3 "interp" (Op3 "interp" x y (L a)) y (L b))'
        ' (Op3 "interp" x y (L (- 1.0 (* (- 1.0 a) (- 1.0 b))))))',
        '(rewrite (Op3 "interp" v (Op2 "add" v x) a) (Op2 "add" v (Op2 "mul" x a)))',
        # factor-common-scalar
        '(rewrite (Op2 "add" (Op2 "mul" a s) (Op2 "mul" b s)) (Op2 "mul" (Op2 "add" a b) s))',
        # positive-factors-in-sign, with positivity as relations
        f'(rule ((= e (V "{lr}"))) ((pos e)))',
        "(rule ((= e (L c)) (> c 0.0)) ((pos e)))",
        "(rule ((= e (L c)) (>= c 0.0)) ((nonneg e)))",
        "(rule ((pos e)) ((nonneg e)))",
        '(rule ((= e (Op2 "mul" a b)) (pos a) (pos b)) ((pos e)))',
        '(rule ((= e (Op2 "div" a b)) (pos a) (pos b)) ((pos e)))',
        '(rule ((= e (Op2 "add" a b)) (pos a) (nonneg b)) ((pos e)))',
        '(rule ((= e (Op1 "sqrt" a)) (pos a)) ((pos e)))',
        '(rule ((= e (Op1 "exp" a))) ((pos e)))',
        '(rule ((= e (Op1 "sqrt" a))) ((nonneg e)))',
        '(rule ((= e (Op1 "abs" a))) ((nonneg e)))',
        '(rule ((= e (Op1 "square" a))) ((nonneg e)))',
        '(rewrite (Op1 "sign" (Op2 "mul" c x)) (Op1 "sign" x) :when ((pos c)))',
        '(rewrite (Op1 "sign" (Op2 "div" x c)) (Op1 "sign" x) :when ((pos c)))',
        '(rewrite (Op1 "sign" c) (L 1.0) :when ((pos c)))',
    ]
    return "\n".join(out)


def _encode(program: Program) -> tuple[str, list[str]] | None:
    """Let-bindings for every subterm of the outputs, and the names of the outputs."""
    flow = dataflow(program)
    names: dict[Node, str] = {}
    lines: list[str] = []

    def ref(n: Node) -> str | None:
        if isinstance(n, Term):
            return names[n]
        if isinstance(n, Var):
            return f'(V "{n.name}")'
        if isinstance(n, Hyper):
            return f'(H "{n.name}")'
        if not math.isfinite(n.value):
            return None
        return f"(L {float(n.value)!r})"

    for i, t in enumerate(subterms(flow.outputs)):
        args = [ref(a) for a in t.args]
        if any(a is None for a in args):
            return None
        names[t] = f"$t{i}"
        call = " ".join(args)  # type: ignore[arg-type]
        lines.append(f'(let $t{i} (Op{len(args)} "{t.op}" {call}))')
    outs = [ref(o) for o in flow.outputs]
    if any(o is None for o in outs):
        return None
    for k, o in enumerate(outs):
        lines.append(f"(let $out{k} {o})")
    return "\n".join(lines), [f"$out{k}" for k in range(len(outs))]


def _parse_sexpr(text: str) -> Node:
    """An extracted egglog term back as a hash-consed term (iteratively: terms can be deep)."""
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()
    stack: list[list] = [[]]
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "(":
            stack.append([])
        elif tok == ")":
            items = stack.pop()
            stack[-1].append(_node(items))
        elif tok.startswith('"'):
            stack[-1].append(tok.strip('"'))
        else:
            stack[-1].append(tok)
        i += 1
    return stack[0][0]


def _node(items: list) -> Node:
    head, *rest = items
    if head == "V":
        return Var(rest[0])
    if head == "H":
        return Hyper(rest[0])
    if head == "L":
        return Const(float(rest[0]))
    return Term(rest[0], tuple(rest[1:]))


def run_egglog(program: Program, iterations: int) -> tuple[Program, float] | None:
    from egglog import bindings

    encoded = _encode(program)
    if encoded is None:
        return None
    lets, outs = encoded
    text = "\n".join(
        [_DECLS, _rules(program.lr), lets, f"(run {iterations})", *(f"(extract {o})" for o in outs)]
    )
    start = time.perf_counter()
    egraph = bindings.EGraph()
    results = egraph.run_program(*egraph.parse_program(text))
    extracted = [r for r in results if type(r).__name__ == "ExtractBest"]
    terms = [_parse_sexpr(r.termdag.to_string(r.term)) for r in extracted]
    seconds = time.perf_counter() - start
    return program_from_terms(terms, program), seconds


def programs(generated: int) -> list[tuple[str, Program]]:
    out = []
    for path in sorted((ROOT / "examples" / "programs").rglob("*.txt")):
        out.append((str(path.relative_to(ROOT)), parse_file(path)))
    rng = random.Random(0)
    for k in range(generated):
        out.append((f"mutant{k}", mutate(adamw(), rng, mutations=rng.randint(2, 12))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--generated", type=int, default=40)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--show", action="store_true", help="print each program's row")
    args = parser.parse_args()
    try:
        import egglog  # noqa: F401
    except ImportError:
        print("egglog is not installed (pip install egglog): nothing to compare")
        return
    rows = []
    for name, program in programs(args.generated):
        params = {h: PARAMS.get(h, 0.5) for h in program.hyperparams()}
        start = time.perf_counter()
        ours = reduce(program, params=params)
        ours_s = time.perf_counter() - start
        live = reduce(program, until="dce", params=params).program
        got = run_egglog(live, args.iterations)
        if got is None:
            continue
        theirs, egg_s = got
        row = (name, len(live.body), len(ours.program.body), len(theirs.body), ours_s, egg_s)
        rows.append(row)
        if args.show:
            print(f"{name:<60} live {row[1]:>3}  reduce {row[2]:>3}  egglog {row[3]:>3}"
                  f"  {ours_s * 1e3:7.1f} ms  {egg_s * 1e3:8.1f} ms")  # fmt: skip
    fewer = sum(r[3] < r[2] for r in rows)
    more = sum(r[3] > r[2] for r in rows)
    print(f"{len(rows)} programs, egglog run {args.iterations} iterations, extraction by term size")
    print(f"statements: live {sum(r[1] for r in rows)}, reduce {sum(r[2] for r in rows)}, "
          f"egglog {sum(r[3] for r in rows)}; egglog fewer on {fewer}, more on {more}")  # fmt: skip
    print(f"time per program (median): reduce {statistics.median(r[4] for r in rows) * 1e3:.1f} ms"
          f" (incl. verification of every step), egglog "
          f"{statistics.median(r[5] for r in rows) * 1e3:.1f} ms (unverified); "
          f"totals {sum(r[4] for r in rows):.2f} s vs {sum(r[5] for r in rows):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
