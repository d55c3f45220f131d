"""A standalone JAX/optax module generated from a (lifted) program: text, never `exec`.

The module imports only jax and optax and defines `def <name>(learning_rate, b1=..., ...,
mu_dtype=None) -> optax.GradientTransformation`: one state array per parameter and state
variable (zeros at the start, in `mu_dtype`), pytree-aware (`jax.tree.map` over the parameter
tree, global reductions over the whole tree), jit-friendly (no Python control flow on values),
with optax's sign convention (the returned updates are added with `optax.apply_updates`, so they
are the program's update negated). Each program statement becomes one line.

Elementwise expressions are not written from a second list of function names: they are traced
from the operator table's own implementation (`Op.implementation(semantics)(xp, ...)`) with a
text-building stand-in for `xp`, so the emitted code computes what the interpreter computes.
Every identifier written into the file is validated first.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator, Mapping
from typing import Any

from lionsimplify.analysis.absexec import analyse
from lionsimplify.analysis.symbolic import MAX_FORMULA_OPS, dataflow, formula_size, math_text
from lionsimplify.emit.lifting import Lifted
from lionsimplify.lang.ir import Hyper, Operand, Program, Var
from lionsimplify.lang.ops import OPS, Semantics
from lionsimplify.lang.printer import format_number, print_program

#: Names the generated module itself uses; program names that clash are renamed.
RESERVED = frozenset(
    {
        "jax",
        "jnp",
        "optax",
        "params",
        "updates",
        "state",
        "count",
        "learning_rate",
        "init_fn",
        "update_fn",
        "mu_dtype",
        "tree",
        "x",
        "lambda",
        "_clip_by_global_norm",
        "_dot",
    }
)
_ASCII_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def valid_identifier(name: str) -> bool:
    """An ASCII Python identifier that is not a keyword: safe to write into generated code."""
    return bool(_ASCII_IDENT.match(name)) and not keyword.iskeyword(name)


def module_name(stem: str) -> str:
    """A valid function name from a file stem (`program1_lion` stays, `8-x` -> `opt_8_x`)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", stem).strip("_") or "optimizer"
    if not valid_identifier(name) or name in RESERVED or name[0].isdigit():
        name = f"opt_{name}"
    return name


class _Text:
    """An expression as text with its precedence, built by running an op's `impl` on it."""

    PREC = {"+": 1, "-": 1, "*": 2, "/": 2}

    def __init__(self, text: str, prec: int = 9) -> None:
        self.text, self.prec = text, prec

    @staticmethod
    def of(v: Any) -> _Text:
        return v if isinstance(v, _Text) else _Text(format_number(float(v)))

    def _bin(self, sym: str, other: Any, swap: bool = False) -> _Text:
        a, b = (_Text.of(other), self) if swap else (self, _Text.of(other))
        p = self.PREC[sym]
        left = a.text if a.prec >= p else f"({a.text})"
        right = b.text if b.prec > p or (b.prec == p and sym in "+*") else f"({b.text})"
        return _Text(f"{left} {sym} {right}", p)

    def __add__(self, o: Any) -> _Text:
        return self._bin("+", o)

    def __radd__(self, o: Any) -> _Text:
        return self._bin("+", o, True)

    def __sub__(self, o: Any) -> _Text:
        return self._bin("-", o)

    def __rsub__(self, o: Any) -> _Text:
        return self._bin("-", o, True)

    def __mul__(self, o: Any) -> _Text:
        return self._bin("*", o)

    def __rmul__(self, o: Any) -> _Text:
        return self._bin("*", o, True)

    def __truediv__(self, o: Any) -> _Text:
        return self._bin("/", o)

    def __rtruediv__(self, o: Any) -> _Text:
        return self._bin("/", o, True)

    def __neg__(self) -> _Text:
        return _Text(f"-{self.text}" if self.prec >= 3 else f"-({self.text})", 3)


class _JnpText:
    """Stands in for `jax.numpy` while tracing: `xp.sign(x)` gives the text `jnp.sign(x)`."""

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> _Text:
            parts = [_Text.of(a).text for a in args]
            parts += [f"{k}={v!r}" for k, v in kwargs.items()]
            return _Text(f"jnp.{name}({', '.join(parts)})")

        return call


def _elementwise(op: str, args: list[str], semantics: Semantics) -> str:
    impl = OPS[op].implementation(semantics)
    return _Text.of(impl(_JnpText(), *(_Text(a) for a in args))).text


_GLOBAL = {
    "clip": "_clip_by_global_norm({0}, {1})",
    "global_norm": "optax.tree.norm({0})",
    "dot": "_dot({0}, {1})",
    "cosine_sim": "_dot({0}, {1}) / (optax.tree.norm({0}) * optax.tree.norm({1}))",
}

_HELPERS = {
    "_clip_by_global_norm": '''def _clip_by_global_norm(tree, max_norm):
    """Scale the whole tree by min(1, max_norm / ‖tree‖) (`clip` in programs)."""
    norm = optax.tree.norm(tree)
    return jax.tree.map(lambda x: jnp.where(norm <= max_norm, x, x * (max_norm / norm)), tree)
''',
    "_dot": '''def _dot(a, b):
    """Σ a·b over every leaf of two trees (`dot` in programs)."""
    return sum(jnp.sum(x * y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))
''',
}


def jax_module_source(
    lifted: Lifted,
    name: str,
    *,
    semantics: Semantics = "math",
    source: str = "<program>",
    learning_rate: float | None = None,
    notes: tuple[str, ...] = (),
) -> str:
    """The text of a module defining `name(learning_rate, <hyperparameters>, mu_dtype=None)`.

    `learning_rate`, when given, becomes that argument's default (a tuned rate, say); `notes`
    are lines added to the module docstring (where that rate came from)."""
    program = lifted.program
    if not valid_identifier(name) or name in RESERVED:
        raise ValueError(f"{name!r} is not a usable Python function name")
    missing = [h for h, v in lifted.values.items() if v is None]
    if missing:
        raise ValueError(f"hyperparameter {', '.join(missing)} has no value (use --param)")
    for h in lifted.values:
        if not valid_identifier(h) or h in RESERVED:
            raise ValueError(f"hyperparameter name {h!r} cannot be written as a Python name")
    ident = _identifiers(program, set(lifted.values))
    kinds, results = _tree_kinds(program)
    body: list[str] = []
    helpers: set[str] = set()

    def ref(a: Operand) -> str:
        if isinstance(a, Var):
            return ident[a.name]
        if isinstance(a, Hyper):
            return a.name
        return format_number(a.value)

    for stmt in program.body:
        target = ident[stmt.target]
        args = [ref(a) for a in stmt.args]
        trees = [ref(a) for a in stmt.args if isinstance(a, Var) and kinds[a.name]]
        op = OPS[stmt.op]
        if stmt.op == "copy":
            line = args[0]
        elif stmt.op in _GLOBAL:
            line = _GLOBAL[stmt.op].format(*args)
            helpers.update(h for h in _HELPERS if h in line)
        elif stmt.op == "norm":
            line = f"jax.tree.map(lambda {args[0]}: jnp.linalg.norm({args[0]}.ravel()), {args[0]})"
        elif trees and op.arity:
            params = list(dict.fromkeys(trees))
            expr = _elementwise(stmt.op, args, semantics)
            line = f"jax.tree.map(lambda {', '.join(params)}: {expr}, {', '.join(params)})"
        else:
            line = _elementwise(stmt.op, args, semantics)
        body.append(f"{target} = {line}")
        kinds[stmt.target] = next(results)  # after the reads: `m = norm(m)` reads the tree

    # An update or new state that no tensor reaches (`return lr`, `m = 0.5`) is one number: it is
    # returned as a tree shaped like the parameters, as optax and the state's zeros expect.
    scalar = frozenset(ident[r] for r in program.returns if not kinds[r])
    return _render(
        lifted, name, semantics, source, ident, body, helpers, learning_rate, notes, scalar
    )


def _identifiers(program: Program, hypers: set[str]) -> dict[str, str]:
    """Program variable -> Python name: kept when valid and free, else a numbered `v<k>`."""
    out: dict[str, str] = {}
    used = set(RESERVED) | hypers
    names = list(program.inputs) + [s.target for s in program.body]
    for n in dict.fromkeys(names):
        ok = valid_identifier(n) and n not in used
        out[n] = n if ok else f"v{len(out)}"
        used.add(out[n])
    return out


def _tree_kinds(program: Program) -> tuple[dict[str, bool], Iterator[bool]]:
    """The inputs' kinds (True: a tree of arrays, a tensor; False: one scalar), and each
    statement's result's kind in order: a name may change kind when it is assigned again
    (`u = dot(g, m)`, then `u = u * g`), so kinds are followed statement by statement."""
    kinds = {n: True for n in (program.weight, program.grad, *program.state)}
    kinds.update({program.lr: False, **{e: False for e in program.extras}})
    facts = analyse(program).facts
    results = [
        s.op == "norm" or f.kind == "tensor" for s, f in zip(program.body, facts, strict=True)
    ]
    return kinds, iter(results)


def _render(
    lifted: Lifted,
    name: str,
    semantics: Semantics,
    source: str,
    ident: Mapping[str, str],
    body: list[str],
    helpers: set[str],
    learning_rate: float | None = None,
    notes: tuple[str, ...] = (),
    scalar: frozenset[str] = frozenset(),
) -> str:
    p = lifted.program
    flow = dataflow(p)
    if max(formula_size(o) for o in flow.outputs) > MAX_FORMULA_OPS:
        rule = [f"(more than {MAX_FORMULA_OPS} operations as one formula: see the program below)"]
    else:
        rule = [f"update = {math_text(flow.outputs[0])}"]
        rule += [f"{s} <- {math_text(o)}" for s, o in zip(p.state, flow.outputs[1:], strict=True)]
    rule.append(f"{p.weight} <- {p.weight} - update")
    state_keys = [ident[s] for s in p.state]
    hyper_args = [f"    {h}={format_number(v)}," for h, v in lifted.values.items()]  # type: ignore[arg-type]
    arg_docs = [
        f"      {h}: {format_number(v)} in the reduced program."  # type: ignore[arg-type]
        for h, v in lifted.values.items()
    ]
    program_text = [f"      {line}" for line in print_program(p).splitlines()]
    reads_weight = any(Var(p.weight) in s.args for s in p.body)
    inputs = [f"{ident[p.grad]} = updates"]
    if reads_weight:
        inputs.append(f"{ident[p.weight]} = params")
    inputs += [f'{k} = state["{k}"]' for k in state_keys]
    inputs.append(
        f"{ident[p.lr]} = learning_rate(count) if callable(learning_rate) else learning_rate"
    )
    if "step" in p.extras:
        inputs.append(f"{ident['step']} = (count + 1).astype(jnp.float32)")
    returns = [
        f"optax.tree.full_like(updates, {r})" if r in scalar else r
        for r in (ident[r] for r in p.returns)
    ]
    init_state = [f'"{k}": optax.tree.zeros_like(params, dtype=mu_dtype),' for k in state_keys]
    new_state = [
        f'"{k}": optax.tree.cast({r}, mu_dtype),'
        for k, r in zip(state_keys, returns[1:], strict=True)
    ]
    check_params = [
        "        if params is None:",
        f'            raise ValueError("{name} reads the parameters: pass params to update")',
    ]
    lines = [
        f'"""`{name}`: an optax optimizer emitted by lionsimplify from {source}.',
        "",
        f"Update rule ({semantics} semantics), for every parameter w with gradient g; lr is the",
        "learning rate at this step and the state starts at zero:",
        "",
        *(f"    {r}" for r in rule),
        "",
        "In optax's convention the returned updates are `-update`, applied with",
        "`optax.apply_updates`. Generated code: edit the program, not this file.",
        *(["", *notes] if notes else []),
        '"""',
        "",
        "import jax",
        "import jax.numpy as jnp",
        "import optax",
        "",
        "",
        *(h + "\n" for h in sorted(_HELPERS[k] for k in helpers)),
        f"def {name}(",
        "    learning_rate,"
        if learning_rate is None
        else f"    learning_rate={format_number(learning_rate)},",
        *hyper_args,
        "    mu_dtype=None,",
        "):",
        '    """The reduced program as an `optax.GradientTransformation`.',
        "",
        "    Program (hyperparameters lifted):",
        "",
        *program_text,
        "",
        "    Args:",
        "      learning_rate: a float or an optax schedule (step count -> learning rate).",
        *arg_docs,
        "      mu_dtype: dtype of the state arrays (default: the parameters' dtype).",
        "",
        "    Returns:",
        f"      An `optax.GradientTransformation` keeping {len(state_keys)} array(s) per parameter.",
        '    """',
        "",
        "    def init_fn(params):",
        "        return {",
        '            "count": jnp.zeros([], jnp.int32),',
        *(f"            {line}" for line in init_state),
        "        }",
        "",
        "    def update_fn(updates, state, params=None):",
        *(check_params if reads_weight else []),
        '        count = state["count"]',
        *(f"        {line}" for line in inputs),
        *(f"        {line}" for line in body),
        f"        new_updates = jax.tree.map(lambda u: -u, {returns[0]})",
        "        new_state = {",
        '            "count": optax.safe_increment(count),',
        *(f"            {line}" for line in new_state),
        "        }",
        "        return new_updates, new_state",
        "",
        "    return optax.GradientTransformation(init_fn, update_fn)",
        "",
    ]
    return "\n".join(lines)
