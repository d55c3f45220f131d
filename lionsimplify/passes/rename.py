"""Renaming by role: canonical input names (`w g m lr`), so equal algorithms read the same.

The weight is `w`, the gradient `g`, the learning rate `lr`; the single state variable of a
Lion-like program is its momentum `m` (two are `m`, `v`). Renaming changes no value (the
driver still verifies it); temporaries that would clash with a new name get a fresh one.
"""

from __future__ import annotations

from lionsimplify.lang.ir import Program, Stmt, Var
from lionsimplify.passes.base import Context, Pass, PassResult

STATE_NAMES = {1: ("m",), 2: ("m", "v")}


def canonical_inputs(program: Program) -> dict[str, str]:
    """Old input name -> canonical name, for the inputs that have a role-based name."""
    wanted = {program.weight: "w", program.grad: "g", program.lr: "lr"}
    wanted.update(zip(program.state, STATE_NAMES.get(len(program.state), ()), strict=False))
    return wanted


def rename(program: Program, mapping: dict[str, str]) -> Program:
    """Rename variables everywhere (targets, operands, inputs, returns); hyperparameters stay."""
    taken = set(mapping.values()) | set(program.hyperparams())
    names = {n for s in program.body for n in [s.target]} | set(program.inputs)
    full = dict(mapping)
    for n in sorted(names - set(mapping)):
        if n in taken:
            k = 2
            while f"{n}{k}" in taken or f"{n}{k}" in names:
                k += 1
            full[n] = f"{n}{k}"
            taken.add(full[n])

    def r(name: str) -> str:
        return full.get(name, name)

    body = [
        Stmt(
            r(s.target),
            s.op,
            tuple(Var(r(a.name)) if isinstance(a, Var) else a for a in s.args),
            s.loc,
        )
        for s in program.body
    ]
    return program.with_body(
        body,
        weight=r(program.weight),
        grad=r(program.grad),
        lr=r(program.lr),
        state=tuple(r(s) for s in program.state),
        extras=tuple(r(e) for e in program.extras),
        returns=tuple(r(x) for x in program.returns),
    )


def rename_by_role(program: Program, ctx: Context) -> PassResult | None:
    """Inputs take their role's name: weight `w`, gradient `g`, learning rate `lr`, the single
    state `m` (two: `m`, `v`). Names carry no meaning in the language, so nothing changes."""
    hypers = set(program.hyperparams())
    mapping = {
        old: new
        for old, new in canonical_inputs(program).items()
        if old != new and new not in hypers
    }
    if not mapping:
        return None
    new = rename(program, mapping)
    if new == program:
        return None
    changes = tuple(f"`{old}` is now `{name}`" for old, name in mapping.items())
    return PassResult(new, changes, {"renamed": dict(sorted(mapping.items()))})


RENAME = Pass(
    "rename-by-role",
    "exact",
    rename_by_role,
    stage="names",
    why=" ".join((rename_by_role.__doc__ or "").split()),
)
