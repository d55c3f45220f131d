"""The reduction pipeline: a list of named passes, each verified before it is kept.

A `Pass` is a small unit: a name, the label it claims (`exact`, `direction` or `approximate`)
and a function from a program to a rewritten program plus a description of what changed. The
driver runs the passes in order; after each one it checks the claim by differential execution
(`verify.py`). A pass whose result does not meet its label is rolled back and reported, never
silently applied. `approximate` passes are only proposed as ablations, unless `ablate=True`.

New passes are added by appending to `PASSES` (see `symbolic_passes.py`), not by editing the
driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lionsimplify.interp import require_params
from lionsimplify.ir import Program
from lionsimplify.liveness import eliminate_dead_code
from lionsimplify.ops import Semantics
from lionsimplify.printer import format_stmt, print_program
from lionsimplify.verify import Label, Verification, verify

Status = Literal["applied", "rolled back", "proposed", "unchanged"]


@dataclass(frozen=True)
class Context:
    semantics: Semantics
    params: Mapping[str, float]


@dataclass(frozen=True)
class PassResult:
    program: Program
    changes: tuple[str, ...]
    """One human-readable line per change ("removed `m = cosh(update)`: state `m` is ...")."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Machine-readable extras for `--json` (e.g. the removed statements)."""
    side_conditions: tuple[str, ...] = ()
    """Where the rewrite is only valid under a condition, e.g. "m != 0"."""


@dataclass(frozen=True)
class Pass:
    name: str
    label: Label
    apply: Callable[[Program, Context], PassResult | None]
    """Returns None when the pass has nothing to do."""
    stage: str = "exact"
    """`dce`, `exact` (exact/direction rewrites) or `ablation` (approximate: proposed only)."""


@dataclass(frozen=True)
class PassRecord:
    name: str
    label: Label
    status: Status
    before: Program
    after: Program
    changes: tuple[str, ...]
    details: Mapping[str, Any]
    side_conditions: tuple[str, ...]
    verification: Verification | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "changes": list(self.changes),
            **{k: v for k, v in self.details.items()},
            "side_conditions": list(self.side_conditions),
            "verification": self.verification.to_json() if self.verification else None,
            "seconds": round(self.seconds, 4),
            "program": print_program(self.after),
        }


@dataclass(frozen=True)
class Reduction:
    original: Program
    program: Program
    passes: tuple[PassRecord, ...]
    ablations: tuple[PassRecord, ...]
    semantics: Semantics
    params: Mapping[str, float]

    def stats(self) -> dict[str, int]:
        return {
            "statements_in": len(self.original.body),
            "statements_out": len(self.program.body),
            "state_in": len(self.original.state),
            "state_out": len(self.program.state),
        }

    @property
    def label(self) -> Label:
        applied = [p.label for p in self.passes if p.status == "applied"]
        for label in ("approximate", "direction"):
            if label in applied:
                return label  # type: ignore[return-value]
        return "exact"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.original.path,
            "semantics": self.semantics,
            "params": dict(sorted(self.params.items())),
            "label": self.label,
            "program": print_program(self.program),
            "passes": [p.to_json() for p in self.passes],
            "ablations": [p.to_json() for p in self.ablations],
            "stats": self.stats(),
        }


# ---------------------------------------------------------------------------------------------
# Dead-code elimination as a pass.


def dead_code_pass(program: Program, ctx: Context) -> PassResult | None:
    """Remove statements and state that cannot reach any update (see `liveness.py`)."""
    dead = eliminate_dead_code(program)
    if not dead.removed and not dead.removed_state:
        return None
    changes = [f"removed `{format_stmt(r.stmt)}`: {r.reason}" for r in dead.removed]
    changes += [f"removed state `{name}`: {why}" for name, why in dead.removed_state]
    removed = [
        {
            "statement": format_stmt(r.stmt),
            "line": r.stmt.loc.line if r.stmt.loc else None,
            "reason": r.reason,
        }
        for r in dead.removed
    ]
    state = [{"name": n, "reason": why} for n, why in dead.removed_state]
    return PassResult(dead.program, tuple(changes), {"removed": removed, "removed_state": state})


DEAD_CODE = Pass("dead-code", "exact", dead_code_pass, stage="dce")

#: The passes, in order. Symbolic passes append themselves here (see `symbolic_passes.py`).
PASSES: list[Pass] = [DEAD_CODE]

#: `--until` stages. Ablation passes (stage `ablation`) are proposed whenever `exact` runs.
STAGES = ("dce", "exact")


def run_pass(p: Pass, program: Program, ctx: Context, *, check: bool = True) -> PassRecord | None:
    """Apply one pass and verify its label; None when it had nothing to do."""
    start = time.perf_counter()
    result = p.apply(program, ctx)
    if result is None or result.program == program:
        return None
    verification = (
        verify(program, result.program, p.label, semantics=ctx.semantics, params=ctx.params)
        if check
        else None
    )
    ok = verification is None or verification.ok
    status: Status = "applied" if ok else "rolled back"
    return PassRecord(
        name=p.name,
        label=p.label,
        status=status,
        before=program,
        after=result.program,
        changes=result.changes,
        details=result.details,
        side_conditions=result.side_conditions,
        verification=verification,
        seconds=time.perf_counter() - start,
    )


def reduce(
    program: Program,
    *,
    until: str = "exact",
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    ablate: bool = False,
    passes: list[Pass] | None = None,
) -> Reduction:
    """Run the pipeline up to stage `until`; propose (or with `ablate`, apply) ablations."""
    if until not in STAGES:
        raise ValueError(f"unknown stage {until!r}; expected one of {', '.join(STAGES)}")
    ctx = Context(semantics, dict(params or {}))
    require_params(program, ctx.params)  # every pass is verified, which needs numbers
    stop = STAGES.index(until)
    records: list[PassRecord] = []
    ablations: list[PassRecord] = []
    current = program
    for p in passes if passes is not None else PASSES:
        if p.stage == "ablation" and until == "dce":
            continue
        if p.stage != "ablation" and STAGES.index(p.stage) > stop:
            continue
        rec = run_pass(p, current, ctx)
        if rec is None:
            continue
        if p.label == "approximate" or p.stage == "ablation":
            if ablate and rec.status == "applied":
                current = rec.after
                records.append(rec)
            else:
                ablations.append(replace(rec, status="proposed"))
            continue
        records.append(rec)
        if rec.status == "applied":
            current = rec.after
    return Reduction(program, current, tuple(records), tuple(ablations), semantics, ctx.params)
