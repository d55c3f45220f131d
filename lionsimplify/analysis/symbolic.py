"""The symbolic view of a program: its live dataflow as expression terms, and back to IR.

A program body reassigns names freely (`g = clip(g, lr); g = arcsin(g)`), which makes rewriting
statement by statement awkward. Here every output (the update, then each new state) becomes one
expression `Term` over the inputs, literals and hyperparameters; shared subexpressions are equal
terms, so "the same value" is plain equality. Rewrite rules (`lionsimplify/passes/`) act on terms;
`program_from_terms` writes terms back as one operation per line, each shared subexpression once,
in the paper's style (a chain of operations reuses one name: `update = sign(update)`).

Terms convert to sympy (`to_sympy`) for the derivation report and for checking the rules
themselves, and sympy expressions convert back (`from_sympy`). Functions without a faithful sympy
counterpart (`clip`, `norm`, `global_norm`, `dot`, `cosine_sim`) and every function whose sympy
form cannot be written back as one IR operation stay opaque sympy `Function`s named after the op;
`interp` is a sympy function of its own so that it keeps its shape, with its evaluation rules
(weight 0 or 1) and `expand_interp` to its definition. sympy is imported lazily: `check` and
`reduce` never pay for it unless a report asks for formulas.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lionsimplify.analysis.walk import bottom_up
from lionsimplify.lang.ir import COPY, Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import OPS, Semantics
from lionsimplify.lang.printer import format_number


class Term:
    """`op(args...)` with `op` a name from the operator table; leaves are IR operands.

    Terms are hash-consed: constructing a term equal to one that exists returns that object, so
    "the same value" is identity (`==` is `is`, O(1) however deep the terms), and a term's hash
    is its identity's (the interpreter's own, no Python call), so memo tables keyed by terms cost
    O(1) per lookup.
    Literals are told apart by their bits (`0.0` and `-0.0` are different terms' arguments).
    This is the one node type of every dataflow graph: the rules', the facts', the canonical
    form's (`analysis/canonical.py`, whose leaves are inputs named by role) and the structural
    fingerprint's (`analysis/fingerprint.py`). `depth` (1 + the deepest argument's, leaves 0)
    orders the canonical form's sums, deepest term first.
    """

    __slots__ = ("op", "args", "depth", "__weakref__")
    op: str
    args: tuple[Node, ...]
    depth: int

    _lock = threading.Lock()

    def __new__(cls, op: str, args: tuple[Node, ...]) -> Term:
        return _intern(op, tuple(args), (op, *map(_key, args)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("terms are immutable")

    def __reduce__(self) -> tuple[type[Term], tuple[str, tuple[Node, ...]]]:
        return (Term, (self.op, self.args))  # unpickling interns again

    def __repr__(self) -> str:
        return f"Term({format_term(self, 3)!r})"


def _intern(op: str, args: tuple[Node, ...], key: tuple) -> Term:
    """The one term `op(args)`, whose key (`op`, then `_key` of each argument) is given."""
    ref = _TABLE.get(key)
    found = ref() if ref is not None else None
    if found is not None:
        return found
    with Term._lock:
        ref = _TABLE.get(key)
        found = ref() if ref is not None else None
        if found is None:
            depth = 0
            for a in args:
                if type(a) is Term and a.depth > depth:
                    depth = a.depth
            found = object.__new__(Term)
            init = object.__setattr__
            init(found, "op", op)
            init(found, "args", args)
            init(found, "depth", depth + 1)
            _TABLE[key] = weakref.ref(found)
            _RECENT.append(found)
            if len(_TABLE) >= _sweep_at:
                _sweep()
    return found


#: The hash-consing table: key -> weak reference to the one live term with that key. (A
#: `WeakValueDictionary` runs Python code on every lookup, insert and death, which was a third of
#: fingerprinting a program; here a lookup is a dict read.) Entries of dead terms stay until the
#: table has doubled since the last sweep, so memory stays within twice the live terms' entries.
#: Keys hold argument terms by `id`, never alive: a dead entry whose id is reused reads as a miss.
_TABLE: dict[tuple, weakref.ref[Term]] = {}
_sweep_at = 1024

#: The last terms made stay alive a little longer, so that one made again soon after its last
#: holder dropped it is found rather than made anew: the next program of a search output shares
#: most terms with the previous one, the next rule pass most terms with the last (on
#: `benchmarks/bench_dedup.py`'s mutants the structural hash is about 10% faster with it).
_RECENT: deque[Term] = deque(maxlen=256)


def _sweep() -> None:
    """Drop the entries of dead terms (called under `Term._lock`)."""
    global _sweep_at
    for key in [k for k, ref in _TABLE.items() if ref() is None]:
        del _TABLE[key]
    _sweep_at = max(1024, 2 * len(_TABLE))


def sweep() -> None:
    """Drop the entries of dead terms now: for a caller that held many terms at once and let
    them go (`dedup`'s `HashMemo`), so that their entries do not outlive the batch."""
    with Term._lock:
        _sweep()


def _key(a: Node) -> object:
    """How an argument takes part in a term's identity: a term by its `id` (alive while the
    term that holds it is), an input by its name, a literal by its bits (`Const(0.0) ==
    Const(-0.0)`), a hyperparameter as itself."""
    kind = type(a)
    if kind is Term:
        return id(a)
    if kind is Hyper:
        return a
    return a.name if kind is Var else ("c", float(a.value).hex())  # type: ignore[union-attr]


#: A node of the dataflow: an operation, or a leaf (an input `Var`, a `Const`, a `Hyper`).
Node = Term | Var | Const | Hyper


@dataclass(frozen=True)
class Dataflow:
    """Each output of a program as a term: `outputs[0]` the update, then each new state."""

    program: Program
    outputs: tuple[Node, ...]
    terms: tuple[Term, ...]
    """Every distinct term the body computes, in statement order: a term after its arguments
    (of a live program, exactly `subterms(outputs)` in another order)."""


@lru_cache(maxsize=8)
def dataflow(program: Program) -> Dataflow:
    """The live dataflow of `program`: one term per returned value.

    Remembered for the last few programs: each rule pass of a round starts from the program the
    previous one left, usually unchanged."""
    return fresh_dataflow(program)


def fresh_dataflow(program: Program) -> Dataflow:
    """`dataflow` without the memo, for callers that see each program once (the structural
    fingerprint): looking a program up in the memo hashes every statement of it."""
    env: dict[str, Node] = {}  # an input not assigned yet is its own operand, `Var(name)`
    value = env.get
    terms: dict[Term, None] = {}
    for s in program.body:
        if s.op == COPY:
            a = s.args[0]
            env[s.target] = value(a.name, a) if type(a) is Var else a
            continue
        args = []
        key: list[object] = [s.op]  # `Term`'s key, made here with the arguments (hot loop)
        for a in s.args:
            kind = type(a)
            if kind is Var:
                a = value(a.name, a)  # noqa: PLW2901
                kind = type(a)
            args.append(a)
            if kind is Term:
                key.append(id(a))
            elif kind is Var:
                key.append(a.name)  # type: ignore[union-attr]
            else:
                key.append(_key(a))
        env[s.target] = t = _intern(s.op, tuple(args), tuple(key))
        terms[t] = None
    outputs = tuple(env.get(r) or Var(r) for r in program.returns)
    return Dataflow(program, outputs, tuple(terms))


def subterms(nodes: Iterable[Node]) -> list[Term]:
    """Every distinct `Term` under `nodes`, children before parents (post-order, iterative)."""
    seen: set[Term] = set()
    order: list[Term] = []
    for root in nodes:
        if not isinstance(root, Term) or root in seen:
            continue
        stack: list[tuple[Term, int]] = [(root, 0)]
        while stack:
            t, i = stack.pop()
            if i < len(t.args):
                stack.append((t, i + 1))
                a = t.args[i]
                if isinstance(a, Term) and a not in seen:
                    stack.append((a, 0))
            elif t not in seen:
                seen.add(t)
                order.append(t)
    return order


# ---------------------------------------------------------------------------------------------
# Text of a term (for change descriptions and docstrings).


def format_term(node: Node, depth: int = 6) -> str:
    """A one-line infix rendering; subterms deeper than `depth` are elided as `…`."""
    if isinstance(node, Const):
        return format_number(node.value)
    if isinstance(node, Var | Hyper):
        return node.name
    if depth <= 0:
        return "…"
    op = OPS[node.op]
    args = [format_term(a, depth - 1) for a in node.args]
    if op.symbol is not None:
        wrap = [
            f"({a})" if isinstance(x, Term) and OPS[x.op].symbol else a
            for a, x in zip(args, node.args, strict=True)
        ]
        return f"{wrap[0]} {op.symbol} {wrap[1]}"
    if node.op == "negative":
        return f"-{args[0]}"
    return f"{node.op}({', '.join(args)})"


# ---------------------------------------------------------------------------------------------
# Terms -> one operation per line.


def _chain_from(node: Node, program: Program, memo: dict[Term, str | None]) -> str | None:
    """The input a chain of operations that keep its meaning starts from, if any.

    `arcsin(clip(g, lr))` is still "the gradient" (clipping and odd near-identities keep its
    sign and scale roughly), and `lr * 0.0002` is still "the learning rate"; so the paper
    writes `g = clip(g, lr)`, `g = arcsin(g)`, `lr = lr * 0.0002`, and so do we. Remembered
    per term in `memo`, so naming every statement of a long chain stays linear.
    """
    path: list[Term] = []
    n = node
    while isinstance(n, Term) and n not in memo:
        path.append(n)
        if not n.args:
            break
        n = n.args[0]
    if isinstance(n, Term):
        start = memo.get(n)
    else:
        start = n.name if isinstance(n, Var) and n.name in (program.grad, program.lr) else None
    lr = Var(program.lr)
    for t in reversed(path):
        if start is not None:
            op = OPS[t.op]
            if start == program.grad:
                keeps = op.result == "first" or (op.arity == 1 and op.parity == "odd")
            else:
                keeps = t.op in ("mul", "div")
            scalar = all(isinstance(a, Const | Hyper) or a == lr for a in t.args[1:])
            start = start if keeps and scalar else None
        memo[t] = start
    return start


def _hint(
    node: Term, program: Program, names: Mapping[Term, str], chains: dict[Term, str | None]
) -> str:
    """A readable name for a temporary, in the paper's style."""
    if node.op == "mul" and any(a == Var(program.weight) for a in node.args):
        return "wd"
    start = _chain_from(node, program, chains)
    if start is not None:
        return start
    if node.op == "interp":
        return "c"
    named = [names.get(a) if isinstance(a, Term) else getattr(a, "name", None) for a in node.args]
    base = next((n for n in named if n), None)
    if base and len(base) <= 8 and "_" not in base:
        return f"{node.op}_{base}"
    return "t"


def program_from_terms(outputs: Sequence[Node], like: Program) -> Program:
    """Write terms back as a program with `like`'s inputs, one operation per statement.

    Statements come in dependency order (the update first, then each new state); a shared
    subterm is computed once. Names: each output's root gets the output's name (the update's
    name, then each state's own name); an operation that only feeds the first argument of the
    next one reuses that one's name (`update = sign(update)`); a chain starting at the gradient
    or the learning rate keeps that name (`g = clip(g, lr)`, `lr = lr * 0.0002`). A name is only
    reused once nothing still needs the value it holds; otherwise a numbered name is taken.
    """
    update_name = like.update if like.update not in like.inputs else "update"
    out_names = [update_name, *like.state]
    order = subterms(outputs)
    index = {t: i for i, t in enumerate(order)}
    end = len(order)

    # uses: parents per term, and the last statement (or the end) that reads each value
    parents: dict[Term, list[tuple[Term, int]]] = {t: [] for t in order}
    last_use: dict[Node, int] = {}
    for t in order:
        for pos, a in enumerate(t.args):
            if isinstance(a, Term):
                parents[a].append((t, pos))
            if isinstance(a, Term | Var):
                last_use[a] = max(last_use.get(a, -1), index[t])
    for n in outputs:
        last_use[n] = end

    # preferred names, parents before children
    roots: dict[Term, str] = {}
    for n, name in zip(outputs, out_names, strict=True):
        if isinstance(n, Term) and n not in roots:
            roots[n] = name
    preferred: dict[Term, str | None] = {}
    chains: dict[Term, str | None] = {}
    for t in reversed(order):
        if t in roots:
            preferred[t] = roots[t]
            continue
        ps = parents[t]
        inherit = len(ps) == 1 and ps[0][1] == 0 and _chain_from(t, like, chains) is None
        preferred[t] = preferred[ps[0][0]] if inherit else None

    hypers = set(like.hyperparams())
    holder: dict[str, Node] = {name: Var(name) for name in like.inputs}
    names: dict[Term, str] = {}
    body: list[Stmt] = []

    def free(name: str, i: int) -> bool:
        held = holder.get(name)
        return name not in hypers and (held is None or last_use.get(held, -1) <= i)

    def operand(n: Node) -> Operand:
        return Var(names[n]) if isinstance(n, Term) else n  # type: ignore[return-value]

    for i, t in enumerate(order):
        want = preferred[t] or _hint(t, like, names, chains)
        name, k = want, 1
        while not free(name, i):
            k += 1
            name = f"{want}{k}"
        names[t] = name
        holder[name] = t
        body.append(Stmt(name, t.op, tuple(operand(a) for a in t.args)))

    returns: list[str] = []
    for n, name in zip(outputs, out_names, strict=True):
        src = operand(n)
        if isinstance(src, Var) and holder.get(src.name) == n:
            returns.append(src.name)
            continue
        k = 1
        target = name
        # `end - 1`: free once every statement has run, but never a name an output still holds
        while not free(target, end - 1) or target in like.inputs:
            k += 1
            target = f"{name}{k}"
        body.append(Stmt(target, COPY, (src,)))
        holder[target] = n
        last_use[n] = end
        returns.append(target)
    return like.with_body(body, returns=tuple(returns))


# ---------------------------------------------------------------------------------------------
# sympy


_SP: dict[str, Any] = {}


def _sympy() -> Any:
    """Import sympy on first use and define the project's sympy functions once."""
    if _SP:
        return _SP["sp"]
    import sympy as sp

    class interp(sp.Function):  # noqa: N801  (named as in programs)
        """(1 - a)·x + a·y, kept whole so programs keep their shape."""

        nargs = 3

        @classmethod
        def eval(cls, x: Any, y: Any, a: Any) -> Any:
            if a == 0:
                return x
            if a == 1:
                return y
            return None

    _SP["sp"] = sp
    _SP["interp"] = interp
    return sp


def expand_interp(expr: Any) -> Any:
    """Replace every `interp(x, y, a)` by its definition `(1 - a)·x + a·y`."""
    _sympy()
    return expr.replace(_SP["interp"], lambda x, y, a: (1 - a) * x + a * y)


def _opaque(name: str) -> Any:
    sp = _sympy()
    return sp.Function(name)


#: ops written in sympy as plain arithmetic (Add/Mul/Pow), which `from_sympy` reads back
_ARITH = {
    "add",
    "sub",
    "mul",
    "div",
    "negative",
    "square",
    "cube",
    "sqrt",
    "reciprocal",
    "power",
    "copy",
}


def _reverse_table() -> dict[Any, str]:
    """sympy function class -> op name, for ops whose sympy form is one function call."""
    sp = _sympy()
    if "reverse" in _SP:
        return _SP["reverse"]  # type: ignore[no-any-return]
    table: dict[Any, str] = {}
    probe = [sp.Symbol(f"_p{i}") for i in range(3)]
    for op in OPS.values():
        if op.name in _ARITH or op.arity == 0 or op.name == "interp":
            continue
        try:
            e = op.sym(sp, *probe[: op.arity])
        except (TypeError, ValueError):  # a sympy form that needs more than symbols
            continue
        if isinstance(e, sp.Function) and tuple(e.args) == tuple(probe[: op.arity]):
            table.setdefault(type(e), op.name)
    _SP["reverse"] = table
    return table


def symbols_for(program: Program) -> dict[str, Any]:
    """sympy symbols of the inputs (by name): reals; the learning rate and `step` positive."""
    sp = _sympy()
    out: dict[str, Any] = {}
    for name in program.inputs:
        if name == program.lr or name in program.extras:
            out[name] = sp.Symbol(name, positive=True)
        else:
            out[name] = sp.Symbol(name, real=True)
    for h in program.hyperparams():
        out[h] = sp.Symbol(h, real=True)
    return out


def to_sympy(node: Node, program: Program, semantics: Semantics = "math") -> Any:
    """The sympy expression of a term.

    Arithmetic uses the op table's sympy forms (under `hero`, its hero forms, e.g.
    `x / (y + 1e-8)`); `interp` stays an `interp` function; ops whose sympy form is not one
    function of their arguments, and ops without a faithful counterpart, are opaque functions.
    """
    sp = _sympy()
    syms = symbols_for(program)
    reverse = set(_reverse_table().values())

    def conv(n: Node) -> Generator[Node, Any, Any]:
        if isinstance(n, Const):
            return (
                sp.Float(n.value) if not float(n.value).is_integer() else sp.Integer(int(n.value))
            )
        if isinstance(n, Var | Hyper):
            return syms.get(n.name) or sp.Symbol(n.name, real=True)
        op = OPS[n.op]
        args = []
        for a in n.args:
            args.append((yield a))
        if n.op == "interp":
            return _SP["interp"](*args)
        if n.op in _ARITH or n.op in reverse or op.arity == 0:
            return op.sympy_form(semantics)(sp, *args)
        return _opaque(n.op)(*args)

    return bottom_up(conv, node, {})


def from_sympy(expr: Any, program: Program) -> Node:
    """A sympy expression (math semantics) back as a term over `program`'s inputs.

    Symbols that name an input become `Var`s, other symbols `Hyper`s; numbers become literals;
    `Add`/`Mul`/`Pow` become `+ - * /`, `sqrt`, `square`, `cube`, `reciprocal`, `power`.
    """
    sp = _sympy()
    reverse = _reverse_table()
    inputs = set(program.inputs)

    def num(v: Any) -> Const:
        return Const(float(v))

    def conv(e: Any) -> Node:
        if e.is_Number or e.is_NumberSymbol or (e.is_number and not e.free_symbols):
            return num(sp.N(e))
        if e.is_Symbol:
            return Var(e.name) if e.name in inputs else Hyper(e.name)
        if isinstance(e, sp.Add):
            terms = list(e.args)
            pos = [t for t in terms if not _negative_coeff(sp, t)] or terms[:1]
            neg = [t for t in terms if t not in pos]
            acc = conv(pos[0])
            for t in pos[1:]:
                acc = Term("add", (acc, conv(t)))
            for t in neg:
                acc = Term("sub", (acc, conv(-t)))
            return acc
        if isinstance(e, sp.Mul):
            coeff, rest = e.as_coeff_Mul()
            if coeff == -1:
                return Term("negative", (conv(rest),))
            numer, denom = [], []
            scalar = set(program.extras) | {program.lr} | set(program.hyperparams())

            def order_key(f: Any) -> tuple[bool, bool]:
                free_names = {x.name for x in f.free_symbols}
                return (f.is_number, free_names <= scalar)

            for f in sorted(e.args, key=order_key):
                b, x = f.as_base_exp()
                if x.is_Number and x < 0:
                    denom.append(b if x == -1 else b ** (-x))
                else:
                    numer.append(f)
            acc = conv(numer[0]) if numer else Const(1.0)
            for f in numer[1:]:
                acc = Term("mul", (acc, conv(f)))
            for f in denom:
                acc = Term("div", (acc, conv(f)))
            return acc
        if isinstance(e, sp.Pow):
            b, x = e.args
            cb = conv(b)
            if x == sp.Rational(1, 2):
                return Term("sqrt", (cb,))
            if x == 2:
                return Term("square", (cb,))
            if x == 3:
                return Term("cube", (cb,))
            if x == -1:
                return Term("reciprocal", (cb,))
            if x == sp.Rational(-1, 2):
                return Term("reciprocal", (Term("sqrt", (cb,)),))
            return Term("power", (cb, conv(x)))
        if isinstance(e, _SP["interp"]):
            return Term("interp", tuple(conv(a) for a in e.args))
        if type(e) in reverse:
            return Term(reverse[type(e)], tuple(conv(a) for a in e.args))
        name = type(e).__name__
        if isinstance(e, sp.Function) and name in OPS:
            return Term(name, tuple(conv(a) for a in e.args))
        raise ValueError(f"no program operation for sympy expression {e}")

    return conv(expr)


def _negative_coeff(sp: Any, t: Any) -> bool:
    c, _ = t.as_coeff_Mul()
    return bool(c.is_Number and c < 0)


#: Most operations a formula written out in full may have (`--jax`'s docstring, the report's
#: LaTeX): a shared value is written once per use, so the text of a program that reuses values
#: grows exponentially with its depth; longer formulas are left out and the program shown instead.
MAX_FORMULA_OPS = 200


def formula_size(node: Node) -> int:
    """Operations in `node` written out as a tree (each use of a shared value counted), capped
    just above `MAX_FORMULA_OPS`; linear in the term graph."""

    def size(n: Node) -> Generator[Node, int, int]:
        total = 1
        for a in n.args if isinstance(n, Term) else ():
            if isinstance(a, Term):
                total += yield a
        return min(total, MAX_FORMULA_OPS + 1)

    return bottom_up(size, node, {}) if isinstance(node, Term) else 0


def math_text(node: Node, names: Mapping[str, str] | None = None) -> str:
    """A term as a formula with `interp` written out, e.g. `sign((1 - b1)·g + b1·m)`."""
    names = names or {}

    def go(n: Node) -> Generator[Node, tuple[str, int], tuple[str, int]]:
        """(text, precedence) of `n`; a parent wraps it in parentheses where it binds less."""
        if isinstance(n, Const):
            return format_number(n.value), 5
        if isinstance(n, Var | Hyper):
            return names.get(n.name, n.name), 5
        sub = []
        for x in n.args:
            sub.append((yield x))

        def at(i: int, parent_prec: int) -> str:
            text, prec = sub[i]
            return f"({text})" if prec < parent_prec else text

        if n.op == "interp":
            return f"(1 - {at(2, 3)})·{at(0, 2)} + {at(2, 3)}·{at(1, 2)}", 1
        if n.op in ("add", "sub"):
            return f"{at(0, 1)} {OPS[n.op].symbol} {at(1, 2)}", 1
        if n.op in ("mul", "div"):
            sym = "·" if n.op == "mul" else " / "
            return f"{at(0, 2)}{sym}{at(1, 3)}", 2
        if n.op == "negative":
            return f"-{at(0, 3)}", 3
        if n.op == "square":
            return f"{at(0, 3)}²", 3
        if n.op == "abs":
            return f"|{at(0, 0)}|", 4
        return f"{n.op}({', '.join(at(i, 0) for i in range(len(sub)))})", 4

    return bottom_up(go, node, {})[0]
