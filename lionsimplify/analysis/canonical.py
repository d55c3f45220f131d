"""Canonical form of a program: the same computation always prints the same way.

Two programs that compute the same thing are rarely written the same way: names differ,
independent statements come in another order, commutative arguments are swapped, `interp(m, g,
0.1)` is `interp(g, m, 0.9)`, a learning-rate factor is applied before or after a sum. `diff`
needs a form in which such differences vanish, so that what remains is what really changed.

The program is turned into a dataflow graph with one node per distinct value (hash-consed, so a
value computed twice is one node and `copy` statements disappear), then printed back:

- **Names by role**: inputs become `w`, `g`, `lr` and `m`, `v` (or `m1`, `m2`, ... with three or
  more state variables, in order of first use by the update); the update is `update`; the new
  value of a state variable takes the state's name when no later statement reads the old one;
  everything else is `t1`, `t2`, ... in statement order. Hyperparameters keep their names.
- **Order**: a depth-first post-order from the update, then from each new state, visiting
  arguments in canonical order; so the order depends on dataflow only.
- **Arguments**: the one normalisation of `analysis/normalise.py`, with a key that ignores
  constant values (so a changed constant does not reorder anything): commutative arguments
  sorted, `interp(x, y, a)` with a literal `a` in the orientation with `a > 1/2`; calls on
  literals only are folded.
- **Arithmetic normal form** (`normalise=True`): each maximal region of `+ - * /` (and `negative`,
  `square`, `cube`, `reciprocal`) is read as a sum of monomials over the region's inputs, a
  product is distributed over a sum, literal factors are multiplied out, and the sum is printed
  with its common factor and the size of the first term's coefficient pulled out. `(m / s + 0.46 * w) *
  (lr * 2e-4)` and `(m * lr') / s + (lr' * 0.46) * w` with `lr' = lr * 2e-4` print alike. Under
  `hero` semantics division is guarded, `x / y = x * (1 / (y + 1e-8))`, so there `x / y` is
  read as `x * reciprocal(y)` with Hero's (equally guarded) `reciprocal` kept as an opaque
  factor: numerators still normalise, denominators are never cancelled.

Every step only re-associates floating-point arithmetic (or cancels a factor against itself, as
in `x * y / y`), so the canonical program computes what the input computes up to rounding; the
tests check this by running both.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from lionsimplify.analysis.normalise import normal_call
from lionsimplify.lang.ir import COPY, Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import OPS, Semantics

#: Ops read as polynomial arithmetic by the normal form (each maps to a poly operation below).
ARITHMETIC = frozenset({"add", "sub", "mul", "div", "negative", "square", "cube", "reciprocal"})


_ROLE_RANK = {"weight": 0, "grad": 1, "state": 2, "lr": 3}


@dataclass(frozen=True)
class Node:
    """One value of the dataflow graph. `name`: input role, hyperparameter or op name."""

    kind: Literal["input", "const", "hyper", "op"]
    name: str = ""
    value: float = 0.0
    args: tuple[int, ...] = ()


Monomial = tuple[tuple[int, int], ...]
"""(factor node, exponent) pairs, in canonical factor order."""
Poly = dict[Monomial, float]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class Graph:
    """Hash-consed dataflow graph with two keys per node.

    `shape[i]` identifies the computation with every literal replaced by a placeholder; `full[i]`
    includes the literal values. Sorting uses `shape` first, so that changing a constant never
    changes the canonical order; identity (and common-subexpression merging) uses `full`.
    """

    def __init__(self, semantics: Semantics, state_keys: list[str], literals: Iterable[float]):
        self.semantics = semantics
        self.state_keys = state_keys
        self.literals = frozenset(literals)
        self.nodes: list[Node] = []
        self.index: dict[Node, int] = {}
        self.shape: list[str] = []
        self.full: list[str] = []
        self.depth: list[int] = []
        self.polys: dict[int, Poly] = {}

    # -- interning ------------------------------------------------------------------------------

    def _add(self, node: Node, shape: str, full: str, depth: int) -> int:
        found = self.index.get(node)
        if found is not None:
            return found
        self.nodes.append(node)
        self.shape.append(shape)
        self.full.append(full)
        self.depth.append(depth)
        self.index[node] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def input(self, role: str) -> int:
        key = self.state_keys[int(role.split(":")[1])] if role.startswith("state:") else role
        return self._add(Node("input", role), key, key, 0)

    def const(self, value: float) -> int:
        value = self.tidy(float(value)) + 0.0  # + 0.0 turns -0.0 into 0.0
        return self._add(Node("const", value=value), "c", f"c{value!r}", 0)

    def hyper(self, name: str) -> int:
        return self._add(Node("hyper", name), "h", f"h:{name}", 0)

    def op(self, name: str, args: list[int]) -> int:
        """The node `name(args)`, with literal-only calls folded and arguments canonicalised."""
        op = OPS[name]
        if all(self.nodes[a].kind == "const" for a in args) and op.result == "elementwise":
            folded = self._fold(name, args)
            if folded is not None:
                return self.const(folded)
        args = normal_call(name, args, self.sort_key, self._literal, self.const)
        shape = _digest(f"{name}({','.join(self.shape[a] for a in args)})")
        full = _digest(f"{name}({','.join(self.full[a] for a in args)})")
        depth = 1 + max((self.depth[a] for a in args), default=0)
        return self._add(Node("op", name, args=tuple(args)), shape, full, depth)

    def _literal(self, i: int) -> float | None:
        node = self.nodes[i]
        return node.value if node.kind == "const" else None

    def _fold(self, name: str, args: list[int]) -> float | None:
        values = [np.float64(self.nodes[a].value) for a in args]
        try:
            with np.errstate(all="ignore"):
                out = float(np.asarray(OPS[name].implementation(self.semantics)(np, *values)))
        except (TypeError, ValueError, ArithmeticError):
            return None
        return out if math.isfinite(out) else None

    def tidy(self, value: float) -> float:
        """Undo rounding noise of folded constants: snap to a program literal within 2 ulps,
        else take the shortest decimal within 1 ulp (`0.46019783616065986` -> `0.46019783616066`)."""
        if value in self.literals or not math.isfinite(value):
            return value
        ulp = math.ulp(value)
        for lit in self.literals:
            if abs(lit - value) <= 2 * ulp:
                return lit
        for digits in range(1, 18):
            short = float(f"{value:.{digits}g}")
            if abs(short - value) <= ulp:
                return short
        return value

    def sort_key(self, i: int) -> tuple[int, int, str, str]:
        """Computed values first, then inputs by role (w, g, state, lr, extras), hyperparameters,
        literals; within a group by the constant-blind key, then the full key."""
        node = self.nodes[i]
        if node.kind == "op":
            return (0, 0, self.shape[i], self.full[i])
        if node.kind == "input":
            rank = _ROLE_RANK.get(node.name.split(":")[0], len(_ROLE_RANK))
            return (1, rank, self.shape[i], self.full[i])
        return (2 if node.kind == "hyper" else 3, 0, self.shape[i], self.full[i])

    # -- arithmetic normal form -------------------------------------------------------------------

    def poly(self, i: int) -> Poly:
        if i in self.polys:
            return self.polys[i]
        node = self.nodes[i]
        if node.kind == "const":
            return {(): node.value} if node.value != 0 else {}
        return {((i, 1),): 1.0}

    def _monomial_key(self, mono: Monomial) -> tuple:
        deepest = max((self.depth[f] for f, _ in mono), default=-1)
        return (-deepest, [(self.sort_key(f), e) for f, e in mono])

    def _mono_mul(self, a: Monomial, b: Monomial, sign: int = 1) -> Monomial:
        exps: dict[int, int] = dict(a)
        for f, e in b:
            exps[f] = exps.get(f, 0) + sign * e
        return tuple(
            sorted(((f, e) for f, e in exps.items() if e), key=lambda fe: self.sort_key(fe[0]))
        )

    def _content(self, p: Poly) -> tuple[float, Monomial, Poly]:
        """Split a sum into coefficient × common monomial × primitive sum (first coefficient ±1)."""
        monos = sorted(p, key=self._monomial_key)
        first = monos[0]
        common: list[tuple[int, int]] = []
        for f, e in first:
            exps = [dict(m).get(f, 0) for m in monos]
            if all(x > 0 for x in exps) or all(x < 0 for x in exps):
                common.append((f, int(math.copysign(min(abs(x) for x in exps), e))))
        # pull out the first term's coefficient, but keep a positive term when there is one
        c0 = p[first] if all(c < 0 for c in p.values()) else abs(p[first])
        primitive = {self._mono_mul(m, tuple(common), -1): p[m] / c0 for m in monos}
        return c0, tuple(common), primitive

    def _as_factor(self, p: Poly) -> tuple[float, Monomial]:
        """A poly as one monomial: a sum becomes a single factor (its primitive part)."""
        if not p:
            return 0.0, ()
        if len(p) == 1:
            ((mono, c),) = p.items()
            return c, mono
        c0, common, primitive = self._content(p)
        s = self._lower_sum(primitive)
        return c0, self._mono_mul(common, ((s, 1),))

    def _mul(self, p: Poly, q: Poly) -> Poly:
        if len(p) > 1 and len(q) > 1:  # never expand a product of sums: keep them as factors
            cp, mp = self._as_factor(p)
            cq, mq = self._as_factor(q)
            return {self._mono_mul(mp, mq): cp * cq}
        if len(q) > 1:
            p, q = q, p
        out: Poly = {}
        for mq, cq in q.items():
            for mp, cp in p.items():
                m = self._mono_mul(mp, mq)
                out[m] = out.get(m, 0.0) + cp * cq
        return {m: c for m, c in out.items() if c != 0}

    def _inverse(self, p: Poly) -> Poly | None:
        c, mono = self._as_factor(p)
        if c == 0:
            return None
        return {tuple((f, -e) for f, e in mono): 1.0 / c}

    def _add_polys(self, p: Poly, q: Poly, scale: float = 1.0) -> Poly:
        out = dict(p)
        for m, c in q.items():
            out[m] = out.get(m, 0.0) + scale * c
        return {m: c for m, c in out.items() if c != 0}

    def arithmetic(self, name: str, args: list[int]) -> int:
        """The normal form of `name(args)` for an op in `ARITHMETIC`."""
        ps = [self.poly(a) for a in args]
        result: Poly | None
        if name == "add":
            result = self._add_polys(ps[0], ps[1])
        elif name == "sub":
            result = self._add_polys(ps[0], ps[1], -1.0)
        elif name == "negative":
            result = {m: -c for m, c in ps[0].items()}
        elif name == "mul":
            result = self._mul(ps[0], ps[1])
        elif name == "square":
            result = self._mul(ps[0], ps[0])
        elif name == "cube":
            result = self._mul(self._mul(ps[0], ps[0]), ps[0])
        elif self.semantics == "hero":  # x / (y + 1e-8): only the numerator is arithmetic
            recip = self.op("reciprocal", [args[-1]])
            result = (
                self.poly(recip) if name == "reciprocal" else self._mul(ps[0], self.poly(recip))
            )
        else:  # div, reciprocal
            result = self._inverse(ps[-1])
            if result is not None and name == "div":
                result = self._mul(ps[0], result)
        if result is None or not all(math.isfinite(c) for c in result.values()):
            return self.op(name, args)  # e.g. division by a literal zero: keep it as written
        node = self._lower(result)
        self.polys.setdefault(node, result)
        return node

    # -- lowering a poly back to statements ----------------------------------------------------

    def _lower(self, p: Poly) -> int:
        if not p:
            return self.const(0.0)
        if len(p) == 1:
            ((mono, c),) = p.items()
            return self._lower_term(mono, c)
        c0, common, primitive = self._content(p)
        s = self._lower_sum(primitive)
        return self._lower_term(self._mono_mul(common, ((s, 1),)), c0)

    def _lower_sum(self, p: Poly) -> int:
        """`a + b - c ...`, starting from the first term with a positive coefficient."""
        monos = sorted(p, key=self._monomial_key)
        lead = next((m for m in monos if p[m] > 0), monos[0])
        acc = self._lower_term(lead, p[lead])
        for m in monos:
            if m == lead:
                continue
            c = p[m]
            term = self._lower_term(m, abs(c))
            acc = self.op("add" if c > 0 else "sub", [acc, term])
        self.polys.setdefault(acc, p)
        return acc

    def _power(self, f: int, e: int) -> int:
        if e == 1:
            return f
        if e in (2, 3):
            return self.op("square" if e == 2 else "cube", [f])
        return self.op("power", [f, self.const(float(e))])

    def _product(self, factors: list[int]) -> int | None:
        acc: int | None = None
        for f in factors:
            acc = f if acc is None else self.op("mul", [acc, f])
        return acc

    def _lower_term(self, mono: Monomial, c: float) -> int:
        num = self._product([self._power(f, e) for f, e in mono if e > 0])
        den = self._product([self._power(f, -e) for f, e in mono if e < 0])
        if num is None and den is None:
            return self.const(c)
        if den is not None:
            num = self.op("reciprocal", [den]) if num is None else self.op("div", [num, den])
        assert num is not None
        if c == -1:
            return self.op("negative", [num])
        return num if c == 1 else self.op("mul", [num, self.const(c)])


# ---------------------------------------------------------------------------------------------
# Building the graph from a program, ordering it and printing it back.


@dataclass
class Built:
    graph: Graph
    outputs: list[int]
    """Node of the update, then of each new state in the program's state order."""
    extra_roots: list[int]
    """Values computed by statements that reach no output (kept with `keep_unused`)."""
    stmt_nodes: list[int] = field(default_factory=list)


def build(
    program: Program,
    *,
    semantics: Semantics = "math",
    normalise: bool = True,
    state_keys: list[str] | None = None,
    keep_unused: bool = False,
) -> Built:
    """The dataflow graph of `program`; `state_keys[i]` labels state input i in the keys."""
    keys = state_keys or ["state"] * len(program.state)
    g = Graph(semantics, keys, program.constants())
    env: dict[str, int] = {
        program.weight: g.input("weight"),
        program.grad: g.input("grad"),
        program.lr: g.input("lr"),
    }
    env.update({e: g.input(e) for e in program.extras})
    env.update({s: g.input(f"state:{i}") for i, s in enumerate(program.state)})
    stmt_nodes = []
    for stmt in program.body:
        args = [_operand(g, env, a) for a in stmt.args]
        if stmt.op == COPY:
            node = args[0]
        elif normalise and stmt.op in ARITHMETIC:
            node = g.arithmetic(stmt.op, args)
        else:
            node = g.op(stmt.op, args)
        env[stmt.target] = node
        stmt_nodes.append(node)
    outputs = [env[r] for r in program.returns]
    extra: list[int] = []
    if keep_unused:
        reached = set(_postorder(g, outputs))
        for n in stmt_nodes:
            if n not in reached and g.nodes[n].kind == "op":
                extra.append(n)
                reached.update(_postorder(g, [n]))
    return Built(g, outputs, extra, stmt_nodes)


def _operand(g: Graph, env: dict[str, int], a: Operand) -> int:
    if isinstance(a, Var):
        return env[a.name]
    if isinstance(a, Const):
        return g.const(a.value)
    return g.hyper(a.name)


def _postorder(g: Graph, roots: list[int]) -> list[int]:
    """Op nodes reachable from `roots`, each after its arguments (iterative DFS)."""
    seen: set[int] = set()
    order: list[int] = []
    for root in roots:
        stack: list[tuple[int, int]] = [(root, 0)]
        while stack:
            n, i = stack.pop()
            if n in seen:
                continue
            args = g.nodes[n].args
            if i < len(args):
                stack.append((n, i + 1))
                stack.append((args[i], 0))
            else:
                seen.add(n)
                if g.nodes[n].kind == "op":
                    order.append(n)
    return order


def state_names(count: int) -> list[str]:
    """Canonical state names: `m`; `m`, `v`; or `m1`, `m2`, ... for three and more."""
    if count <= 2:
        return ["m", "v"][:count]
    return [f"m{i + 1}" for i in range(count)]


@dataclass(frozen=True)
class Canonical:
    """A program in canonical form, with what `diff` needs to align two of them."""

    program: Program
    graph: Graph
    source: Program
    """The program this is the canonical form of."""
    order: tuple[int, ...]
    """The op nodes in statement order."""
    outputs: tuple[int, ...]
    """Node of the update, then of each new state in canonical state order."""
    state_order: tuple[int, ...]
    """`state_order[k]` is the index in the input program of canonical state k."""
    names: dict[int, str]
    unused: tuple[int, ...] = ()


def canonicalize(
    program: Program,
    *,
    semantics: Semantics = "math",
    normalise: bool = True,
    keep_unused: bool = False,
) -> Canonical:
    """The canonical form of `program` (see the module docstring).

    `keep_unused` keeps statements that reach no output (for comparing programs as written);
    otherwise they vanish, as they cannot be aligned by dataflow.
    """
    n = len(program.state)
    state_order = list(range(n)) if n <= 1 else _state_order(program, semantics, normalise)
    # The final graph: states labelled by canonical position, which is what the keys use.
    labels = [""] * n
    for k, i in enumerate(state_order):
        labels[i] = f"state:{k}"
    final = build(
        program,
        semantics=semantics,
        normalise=normalise,
        state_keys=labels,
        keep_unused=keep_unused,
    )
    g = final.graph
    outputs = [final.outputs[0]] + [final.outputs[1 + i] for i in state_order]
    order = _postorder(g, outputs + final.extra_roots)
    names = assign_names(program, g, order, outputs, state_order)
    canon = emit(program, g, order, outputs, state_order, names)
    return Canonical(
        canon,
        g,
        program,
        tuple(order),
        tuple(outputs),
        tuple(state_order),
        names,
        tuple(final.extra_roots),
    )


def _state_order(program: Program, semantics: Semantics, normalise: bool) -> list[int]:
    """The canonical order of the state variables: order of first use, then what they hold."""
    n = len(program.state)
    # Round 1: states unlabelled; a state's signature is what its new value computes.
    first = build(program, semantics=semantics, normalise=normalise)
    sigs = [first.graph.shape[o] + first.graph.full[o] for o in first.outputs[1:]]
    # Round 2: states labelled by signature; their order is the order of first use.
    second = build(program, semantics=semantics, normalise=normalise, state_keys=sigs)
    roots = [second.outputs[0]] + sorted(second.outputs[1:], key=second.graph.sort_key)
    seen = _postorder(second.graph, roots)
    used = [second.graph.index.get(Node("input", f"state:{i}")) for i in range(n)]
    rank = {node: k for k, node in enumerate(_inputs_in_order(second.graph, seen))}
    return sorted(range(n), key=lambda i: (rank.get(used[i], n + 1), sigs[i]))


def _inputs_in_order(g: Graph, order: list[int]) -> list[int]:
    out: list[int] = []
    for n in order:
        for a in g.nodes[n].args:
            if g.nodes[a].kind == "input" and a not in out:
                out.append(a)
    return out


def input_names(program: Program, g: Graph, state_order: tuple[int, ...] | list[int]) -> dict:
    """Canonical name of every input node, avoiding the program's hyperparameter names."""
    taken = set(program.hyperparams())
    names: dict[int, str] = {}

    def fresh(base: str) -> str:
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    canon_states = state_names(len(state_order))
    for role, base in (("weight", "w"), ("grad", "g"), ("lr", "lr")):
        names[g.input(role)] = fresh(base)
    for k, i in enumerate(state_order):
        names[g.input(f"state:{i}")] = fresh(canon_states[k])
    for e in program.extras:
        names[g.input(e)] = fresh(e)
    return names


def output_names(
    program: Program,
    g: Graph,
    order: list[int],
    outputs: list[int],
    state_order: tuple[int, ...] | list[int],
) -> dict[int, str]:
    """Names of the inputs and of the op nodes that are outputs (`update`, `m`, `m_new`, ...)."""
    names = input_names(program, g, state_order)
    taken = set(names.values()) | set(program.hyperparams())
    position = {n: k for k, n in enumerate(order)}

    def fresh(base: str) -> str:
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    if g.nodes[outputs[0]].kind == "op":
        names[outputs[0]] = fresh("update")
    for k, i in enumerate(state_order):
        node = outputs[1 + k]
        if g.nodes[node].kind != "op" or node in names:
            continue
        state_in = g.input(f"state:{i}")
        readers_before = all(
            position[r] < position[node] for r in order if state_in in g.nodes[r].args and r != node
        )
        state_name = names[state_in]
        names[node] = state_name if readers_before else fresh(f"{state_name}_new")
    return names


def assign_names(
    program: Program,
    g: Graph,
    order: list[int],
    outputs: list[int],
    state_order: tuple[int, ...] | list[int],
    temp: dict[int, str] | None = None,
) -> dict[int, str]:
    """Names for inputs and op nodes; `temp` gives the names of the non-output op nodes,
    which are otherwise `t1, t2, ...` in statement order."""
    names = output_names(program, g, order, outputs, state_order)
    if temp is not None:
        names.update({n: temp[n] for n in order if n not in names})
        return names
    taken = set(names.values()) | set(program.hyperparams())
    counter = 0
    for n in order:
        if n in names:
            continue
        counter += 1
        while f"t{counter}" in taken:
            counter += 1
        names[n] = f"t{counter}"
    return names


def operand(g: Graph, names: dict[int, str], n: int) -> Operand:
    node = g.nodes[n]
    if node.kind == "const":
        return Const(node.value)
    if node.kind == "hyper":
        return Hyper(node.name)
    return Var(names[n])


def emit(
    program: Program,
    g: Graph,
    order: list[int],
    outputs: list[int],
    state_order: tuple[int, ...] | list[int],
    names: dict[int, str],
) -> Program:
    """Print the graph back as a `Program` with the given names."""
    body = [
        Stmt(names[n], g.nodes[n].name, tuple(operand(g, names, a) for a in g.nodes[n].args))
        for n in order
    ]
    canon_states = tuple(names[g.input(f"state:{i}")] for i in state_order)
    returns = []
    for k, n in enumerate(outputs):
        if g.nodes[n].kind in ("const", "hyper"):  # a literal output needs a statement
            target = "update" if k == 0 else f"{canon_states[k - 1]}_new"
            body.append(Stmt(target, COPY, (operand(g, names, n),)))
            returns.append(target)
        else:
            returns.append(names[n])
    return Program(
        weight=names[g.input("weight")],
        grad=names[g.input("grad")],
        state=canon_states,
        lr=names[g.input("lr")],
        body=tuple(body),
        returns=tuple(returns),
        extras=tuple(names[g.input(e)] for e in program.extras),
        path=program.path,
        defaults=program.defaults,
    ).with_body(tuple(body))  # drops defaults of hyperparameters no longer read
