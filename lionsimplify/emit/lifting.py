"""Hyperparameters lifted out of a program and named by role, as the paper writes Lion.

Every literal (and every named hyperparameter) in a role position gets the name of that role:
the weight of the k-th `interp` is `bk` (`b1`, `b2`, ...), a factor of the weight is `wd`
(decoupled weight decay), a factor of the learning rate is `lr_scale`; any other literal is
`c1`, `c2`, ... Equal values in the same role share one name, and names are listed in that order
(interpolation weights, weight decay, learning-rate scale, others). A power of an
interpolation weight (bias correction `1 - b1 ** step`) reads that weight's name; 1e-8 is
`eps`; literals such as 0, 1, 2 are structure and stay as they are. The values become the signature's
defaults (`def train(w, g, m, lr, b1=0.9, ...)`), so the printed program reads back with its
values, and the JAX module uses them as keyword defaults. A temporary whose name a hyperparameter now takes is renamed
(`wd = w * wd` would not be a program).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lionsimplify.lang.ir import Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import EPS
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.rename import rename


@dataclass(frozen=True)
class Lifted:
    program: Program
    values: dict[str, float | None]
    """Hyperparameter name -> value (None: a named hyperparameter given no `--param` value)."""

    def params_text(self) -> str:
        """Comment lines with a rounded reading of each value (the full-precision values are the
        signature's defaults), so the text can follow the program and still parse."""
        lines = []
        for name, value in self.values.items():
            if value is None:
                lines.append(f"# {name}: no value; give it with --param {name}=VALUE")
            else:
                lines.append(f"# {name} ≈ {value:.5g}")
        return "\n".join(lines) + ("\n" if lines else "")

    def text(self) -> str:
        return print_program(self.program)


#: Literals that are structure, not tuning knobs (`1 - b1`, `x * 2`): never lifted.
STRUCTURAL = frozenset({-1.0, 0.0, 0.5, 1.0, 2.0})


def _role(
    stmt: Stmt, i: int, program: Program, inputs_live: set[str], betas: set[float]
) -> str | None:
    a = stmt.args[i]
    if isinstance(a, Const) and a.value in STRUCTURAL:
        return None
    if stmt.op == "interp" and i == 2:
        return "b"
    if stmt.op == "power" and i == 0 and isinstance(a, Const) and a.value in betas:
        return "b"  # bias correction 1 - b^step reads an interpolation weight
    if isinstance(a, Const) and a.value == EPS:
        return "eps"
    if stmt.op == "mul":
        other = stmt.args[1 - i]
        if isinstance(other, Var) and other.name in inputs_live:
            if other.name == program.weight:
                return "wd"
            if other.name == program.lr:
                return "lr_scale"
    return "c"


def lift(program: Program, params: Mapping[str, float] | None = None) -> Lifted:
    """Name every literal and hyperparameter of `program` by its role (see module docstring)."""
    params = program.values(params)
    names: dict[tuple[str, object], str] = {}
    values: dict[str, float | None] = {}
    counters: dict[str, int] = {}
    live = set(program.inputs)  # inputs not yet reassigned
    betas = {
        s.args[2].value for s in program.body if s.op == "interp" and isinstance(s.args[2], Const)
    }
    body = []
    for stmt in program.body:
        args: list[Operand] = []
        for i, a in enumerate(stmt.args):
            if not isinstance(a, Const | Hyper):
                args.append(a)
                continue
            role = _role(stmt, i, program, live, betas)
            if role is None:
                args.append(a)
                continue
            key = (role, a.value if isinstance(a, Const) else a.name)
            if key not in names:
                counters[role] = counters.get(role, 0) + 1
                n = counters[role]
                single = role in ("wd", "lr_scale", "eps") and n == 1
                names[key] = role if single else f"{role}{n}"
                values[names[key]] = a.value if isinstance(a, Const) else params.get(a.name)
            args.append(Hyper(names[key]))
        body.append(Stmt(stmt.target, stmt.op, tuple(args), stmt.loc))
        live.discard(stmt.target)
    order = {"b": 0, "wd": 1, "lr_scale": 2, "eps": 3, "c": 4}
    values = dict(sorted(values.items(), key=lambda kv: (order[kv[0].rstrip("0123456789")], kv[0])))
    clashes = {
        s.target: ("weight_decay" if s.target == "wd" else f"{s.target}_")
        for s in program.body
        if s.target in values and s.target not in program.inputs
    }
    given = tuple((k, v) for k, v in values.items() if v is not None)
    lifted = program.with_body(body, defaults=given)
    if clashes:
        lifted = rename(lifted, clashes)
    return Lifted(lifted, values)
