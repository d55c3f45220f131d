"""Canonical form of a program: the same computation always prints the same way.

Two programs that compute the same thing are rarely written the same way: names differ,
independent statements come in another order, commutative arguments are swapped, `interp(m, g,
0.1)` is `interp(g, m, 0.9)`, a learning-rate factor is applied before or after a sum. `diff`
needs a form in which such differences vanish, so that what remains is what really changed.

The program is turned into a dataflow graph of the one hash-consed term type the rewrite rules,
the facts and the structural fingerprint read (`symbolic.Term`), with the inputs as leaves named
by role, so a value computed twice is one node and `copy` statements disappear; `Graph` adds only
the keys that order it and the arithmetic normal form. Then it is printed back:

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
from dataclasses import dataclass

import numpy as np

from lionsimplify.analysis.normalise import normal_call
from lionsimplify.analysis.symbolic import Node, Term, subterms
from lionsimplify.lang.ir import COPY, Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import OPS, Semantics

#: Ops read as polynomial arithmetic by the normal form (each maps to a poly operation below).
ARITHMETIC = frozenset({"add", "sub", "mul", "div", "negative", "square", "cube", "reciprocal"})


_ROLE_RANK = {"weight": 0, "grad": 1, "state": 2, "lr": 3}


Monomial = tuple[tuple[Node, int], ...]
"""(factor node, exponent) pairs, in canonical factor order."""
Poly = dict[Monomial, float]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _literal(n: Node) -> float | None:
    """A literal's value (as a float: a term made elsewhere may hold an integer literal)."""
    return float(n.value) if isinstance(n, Const) else None


def role_input(role: str) -> Var:
    """The leaf of an input in the canonical graph, named by its role: `weight`, `grad`, `lr`,
    an extra input's own name, or `state:i` (i: the state's position in the program)."""
    return Var(role)


class Graph:
    """The canonical form's builder and normaliser over the shared terms (`symbolic.Term`).

    Its nodes are hash-consed terms whose leaves are inputs named by role (`role_input`),
    literals (`Const`) and hyperparameters (`Hyper`), so a value computed twice is one node and
    `copy` statements disappear. What the graph adds is two keys per node for one build:
    `shape[n]` identifies the computation with every literal replaced by a placeholder; `full[n]`
    includes the literal values. Sorting uses `shape` first, so that changing a constant never
    changes the canonical order. The keys belong to the build, not to the term, because a state
    input's key is its label in this build (`state_keys`): while the state order is being
    decided, states are labelled by what they compute, so two states may share a key but never
    a node.
    """

    def __init__(self, semantics: Semantics, state_keys: list[str], literals: Iterable[float]):
        self.semantics = semantics
        self.state_keys = state_keys
        self.literals = frozenset(literals)
        self.shape: dict[Node, str] = {}
        self.full: dict[Node, str] = {}
        self.polys: dict[Node, Poly] = {}

    # -- nodes ------------------------------------------------------------------------------------

    def _add(self, node: Node, shape: str, full: str) -> Node:
        if node not in self.full:
            self.shape[node] = shape
            self.full[node] = full
        return node

    def input(self, role: str) -> Node:
        key = self.state_keys[int(role.split(":")[1])] if role.startswith("state:") else role
        return self._add(role_input(role), key, key)

    def const(self, value: float) -> Node:
        value = self.tidy(float(value)) + 0.0  # + 0.0 turns -0.0 into 0.0
        return self._add(Const(value), "c", f"c{value!r}")

    def hyper(self, name: str) -> Node:
        return self._add(Hyper(name), "h", f"h:{name}")

    def op(self, name: str, args: list[Node]) -> Node:
        """The node `name(args)`, with literal-only calls folded and arguments canonicalised."""
        op = OPS[name]
        if all(isinstance(a, Const) for a in args) and op.result == "elementwise":
            folded = self._fold(name, args)
            if folded is not None:
                return self.const(folded)
        args = normal_call(name, args, self.sort_key, _literal, self.const)
        node = Term(name, tuple(args))
        if node not in self.full:
            self.shape[node] = _digest(f"{name}({','.join(self.shape[a] for a in args)})")
            self.full[node] = _digest(f"{name}({','.join(self.full[a] for a in args)})")
        return node

    def _fold(self, name: str, args: list[Node]) -> float | None:
        values = [np.float64(_literal(a)) for a in args]
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

    def sort_key(self, n: Node) -> tuple[int, int, str, str]:
        """Computed values first, then inputs by role (w, g, state, lr, extras), hyperparameters,
        literals; within a group by the constant-blind key, then the full key."""
        if isinstance(n, Term):
            return (0, 0, self.shape[n], self.full[n])
        if isinstance(n, Var):
            rank = _ROLE_RANK.get(n.name.split(":")[0], len(_ROLE_RANK))
            return (1, rank, self.shape[n], self.full[n])
        return (2 if isinstance(n, Hyper) else 3, 0, self.shape[n], self.full[n])

    # -- arithmetic normal form -------------------------------------------------------------------

    def poly(self, n: Node) -> Poly:
        if n in self.polys:
            return self.polys[n]
        value = _literal(n)
        if value is not None:
            return {(): value} if value != 0 else {}
        return {((n, 1),): 1.0}

    def _monomial_key(self, mono: Monomial) -> tuple:
        deepest = max((f.depth if isinstance(f, Term) else 0 for f, _ in mono), default=-1)
        return (-deepest, [(self.sort_key(f), e) for f, e in mono])

    def _mono_mul(self, a: Monomial, b: Monomial, sign: int = 1) -> Monomial:
        exps: dict[Node, int] = dict(a)
        for f, e in b:
            exps[f] = exps.get(f, 0) + sign * e
        return tuple(
            sorted(((f, e) for f, e in exps.items() if e), key=lambda fe: self.sort_key(fe[0]))
        )

    def _content(self, p: Poly) -> tuple[float, Monomial, Poly]:
        """Split a sum into coefficient × common monomial × primitive sum (first coefficient ±1)."""
        monos = sorted(p, key=self._monomial_key)
        first = monos[0]
        common: list[tuple[Node, int]] = []
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

    def arithmetic(self, name: str, args: list[Node]) -> Node:
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

    def _lower(self, p: Poly) -> Node:
        if not p:
            return self.const(0.0)
        if len(p) == 1:
            ((mono, c),) = p.items()
            return self._lower_term(mono, c)
        c0, common, primitive = self._content(p)
        s = self._lower_sum(primitive)
        return self._lower_term(self._mono_mul(common, ((s, 1),)), c0)

    def _lower_sum(self, p: Poly) -> Node:
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

    def _power(self, f: Node, e: int) -> Node:
        if e == 1:
            return f
        if e in (2, 3):
            return self.op("square" if e == 2 else "cube", [f])
        return self.op("power", [f, self.const(float(e))])

    def _product(self, factors: list[Node]) -> Node | None:
        acc: Node | None = None
        for f in factors:
            acc = f if acc is None else self.op("mul", [acc, f])
        return acc

    def _lower_term(self, mono: Monomial, c: float) -> Node:
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
    outputs: list[Node]
    """Node of the update, then of each new state in the program's state order."""
    extra_roots: list[Term]
    """Values computed by statements that reach no output (kept with `keep_unused`)."""


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
    env: dict[str, Node] = {
        program.weight: g.input("weight"),
        program.grad: g.input("grad"),
        program.lr: g.input("lr"),
    }
    env.update({e: g.input(e) for e in program.extras})
    env.update({s: g.input(f"state:{i}") for i, s in enumerate(program.state)})
    stmt_nodes: list[Node] = []
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
    extra: list[Term] = []
    if keep_unused:
        reached = set(subterms(outputs))
        for n in stmt_nodes:
            if isinstance(n, Term) and n not in reached:
                extra.append(n)
                reached.update(subterms([n]))
    return Built(g, outputs, extra)


def _operand(g: Graph, env: dict[str, Node], a: Operand) -> Node:
    if isinstance(a, Var):
        return env[a.name]
    if isinstance(a, Const):
        return g.const(a.value)
    return g.hyper(a.name)


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
    order: tuple[Term, ...]
    """The op nodes in statement order."""
    outputs: tuple[Node, ...]
    """Node of the update, then of each new state in canonical state order."""
    state_order: tuple[int, ...]
    """`state_order[k]` is the index in the input program of canonical state k."""
    names: dict[Node, str]
    unused: tuple[Term, ...] = ()


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
    order = subterms(outputs + final.extra_roots)
    names = assign_names(program, order, outputs, state_order)
    canon = emit(program, order, outputs, state_order, names)
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
    rank = {node: k for k, node in enumerate(_inputs_in_order(subterms(roots)))}
    return sorted(range(n), key=lambda i: (rank.get(role_input(f"state:{i}"), n + 1), sigs[i]))


def _inputs_in_order(order: list[Term]) -> list[Node]:
    out: list[Node] = []
    for n in order:
        for a in n.args:
            if isinstance(a, Var) and a not in out:
                out.append(a)
    return out


def input_names(program: Program, state_order: tuple[int, ...] | list[int]) -> dict[Node, str]:
    """Canonical name of every input node, avoiding the program's hyperparameter names."""
    taken = set(program.hyperparams())
    names: dict[Node, str] = {}

    def fresh(base: str) -> str:
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    canon_states = state_names(len(state_order))
    for role, base in (("weight", "w"), ("grad", "g"), ("lr", "lr")):
        names[role_input(role)] = fresh(base)
    for k, i in enumerate(state_order):
        names[role_input(f"state:{i}")] = fresh(canon_states[k])
    for e in program.extras:
        names[role_input(e)] = fresh(e)
    return names


def output_names(
    program: Program,
    order: list[Term],
    outputs: list[Node],
    state_order: tuple[int, ...] | list[int],
) -> dict[Node, str]:
    """Names of the inputs and of the op nodes that are outputs (`update`, `m`, `m_new`, ...)."""
    names = input_names(program, state_order)
    taken = set(names.values()) | set(program.hyperparams())
    position = {n: k for k, n in enumerate(order)}

    def fresh(base: str) -> str:
        while base in taken:
            base += "_"
        taken.add(base)
        return base

    if isinstance(outputs[0], Term):
        names[outputs[0]] = fresh("update")
    for k, i in enumerate(state_order):
        node = outputs[1 + k]
        if not isinstance(node, Term) or node in names:
            continue
        state_in = role_input(f"state:{i}")
        readers_before = all(
            position[r] < position[node] for r in order if state_in in r.args and r != node
        )
        state_name = names[state_in]
        names[node] = state_name if readers_before else fresh(f"{state_name}_new")
    return names


def assign_names(
    program: Program,
    order: list[Term],
    outputs: list[Node],
    state_order: tuple[int, ...] | list[int],
    temp: dict[Term, str] | None = None,
) -> dict[Node, str]:
    """Names for inputs and op nodes; `temp` gives the names of the non-output op nodes,
    which are otherwise `t1, t2, ...` in statement order."""
    names = output_names(program, order, outputs, state_order)
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


def operand(names: dict[Node, str], n: Node) -> Operand:
    value = _literal(n)
    if value is not None:
        return Const(value)
    if isinstance(n, Hyper):
        return n
    return Var(names[n])


def emit(
    program: Program,
    order: list[Term],
    outputs: list[Node],
    state_order: tuple[int, ...] | list[int],
    names: dict[Node, str],
) -> Program:
    """Print the graph back as a `Program` with the given names."""
    body = [Stmt(names[n], n.op, tuple(operand(names, a) for a in n.args)) for n in order]
    canon_states = tuple(names[role_input(f"state:{i}")] for i in state_order)
    returns = []
    for k, n in enumerate(outputs):
        if isinstance(n, Const | Hyper):  # a literal output needs a statement
            target = "update" if k == 0 else f"{canon_states[k - 1]}_new"
            body.append(Stmt(target, COPY, (operand(names, n),)))
            returns.append(target)
        else:
            returns.append(names[n])
    return Program(
        weight=names[role_input("weight")],
        grad=names[role_input("grad")],
        state=canon_states,
        lr=names[role_input("lr")],
        body=tuple(body),
        returns=tuple(returns),
        extras=tuple(names[role_input(e)] for e in program.extras),
        path=program.path,
        defaults=program.defaults,
    ).with_body(tuple(body))  # drops defaults of hyperparameters no longer read
