"""The one table of input domains: what values each input of a program may take.

Abstract execution (`analysis/absexec.py`), the facts the rewrite rules ask for
(`analysis/facts.py`) and the differential verifier (`passes/verify.py`) all read this table, so
an assumption made in one place is made, or sampled, in all of them (DESIGN.md §6):

- weight and gradient: any finite real number;
- state: starts at 0 and then holds whatever the program wrote (absexec computes that range);
- the learning-rate value: a schedule value, >= 0, and 0 does happen (the end of a cosine
  decay). A rewrite that needs it positive must print `lr > 0` as a side condition, and the
  verifier samples steps with lr = 0 so the condition is tested, not assumed away;
- `step`: the 1-based step count, >= 1;
- a hyperparameter without a value: any finite real (with `--param` it is that value).
"""

from __future__ import annotations

from dataclasses import dataclass

from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import INF, Interval, Kind


@dataclass(frozen=True)
class Domain:
    """The values one input role may take: a kind, an interval and whether it is finite."""

    role: str
    kind: Kind
    interval: Interval
    finite: bool
    words: str


WEIGHT = Domain("weight", "tensor", (-INF, INF), True, "any finite real")
GRAD = Domain("gradient", "tensor", (-INF, INF), True, "any finite real")
STATE_START = Domain("state", "tensor", (0.0, 0.0), True, "0 at the first step")
LR = Domain("lr", "scalar", (0.0, INF), True, ">= 0 (a schedule value; 0 at a decay's end)")
STEP = Domain("step", "scalar", (1.0, INF), True, ">= 1 (the 1-based step count)")
HYPER = Domain("hyperparameter", "scalar", (-INF, INF), True, "any finite real unless given")

#: Extra keyword inputs by name (see `ir.EXTRA_INPUTS`).
EXTRAS: dict[str, Domain] = {"step": STEP}


def input_domains(program: Program) -> dict[str, Domain]:
    """Every input of `program` with its domain; state is given its *starting* value."""
    table = {program.weight: WEIGHT, program.grad: GRAD, program.lr: LR}
    for s in program.state:
        table[s] = STATE_START
    for e in program.extras:
        table[e] = EXTRAS[e]
    return table


def lr_positive(program: Program) -> str:
    """The side condition a rewrite prints when it relies on the learning rate being > 0."""
    return f"{program.lr} > 0"


def relies_on_lr_positive(program: Program, side_conditions: tuple[str, ...]) -> bool:
    """Whether `lr > 0` is among the side conditions (alone or in an `a and b` conjunction)."""
    want = lr_positive(program)
    return any(want in c.split(" and ") for c in side_conditions)


#: Steps at the end of every verification trajectory where the learning rate is 0 (the end of
#: a schedule), and the extreme gradient scales the verifier adds to the usual ones.
LR_ZERO_STEPS = 5
EXTREME_GRAD_SCALES = (1e-8, 1e6)
