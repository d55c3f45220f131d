"""The reduction pipeline: a list of named passes, each verified before it is kept.

A `Pass` (see `lionsimplify/passes/`) is a small unit: a name, the label it claims (`exact`,
`direction` or `approximate`), its stage, and a function from a program to a rewritten program
plus a description of what changed. The driver runs dead-code elimination, then the exact
passes round after round until none changes anything, then proposes the ablations, and last
renames inputs by role. After every pass it checks the claim by differential execution
(`verify.py`): a pass whose result does not meet its label is rolled back and reported, never
silently applied. `approximate` passes are only proposed as ablations, unless `ablate=True`.

New passes are added by appending to `PASSES` (or to the rule lists in `lionsimplify/passes/`),
not by editing the driver: the driver only looks at each pass's stage.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from lionsimplify.analysis.interp import require_params
from lionsimplify.analysis.symbolic import Node, Term, dataflow, subterms
from lionsimplify.lang.ir import Program, Var
from lionsimplify.lang.ops import SEMANTICS, Semantics
from lionsimplify.lang.printer import print_program
from lionsimplify.passes import ABLATION_PASSES, DEAD_CODE, EXACT_PASSES, RENAME
from lionsimplify.passes.ablations import ABLATION_RULES
from lionsimplify.passes.base import Condition, Context, Pass, PassResult
from lionsimplify.passes.dead_code import dead_code_pass
from lionsimplify.passes.rules import RULES, rewrite_term
from lionsimplify.passes.verify import Label, Verification, verify, warnings

__all__ = [
    "DEAD_CODE",
    "PASSES",
    "STAGES",
    "Context",
    "Pass",
    "PassRecord",
    "PassResult",
    "Reduction",
    "reduce",
    "dead_code_pass",
    "run_pass",
]

Status = Literal["applied", "rolled back", "proposed", "unchanged"]

#: Rounds of the exact stage before the driver stops looking for a fixed point (each round
#: must change something, and every rule shrinks or reshapes terms, so this is a safety net).
MAX_ROUNDS = 8


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
    """Wall time of the pass and its verification (not in `to_json`: output is deterministic)."""
    why: str = ""
    conditions: tuple[Condition, ...] = ()
    """`side_conditions` that are about a computed value, as terms (see `Reduction`)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "why": self.why,
            "changes": list(self.changes),
            **{k: v for k, v in self.details.items()},
            "side_conditions": list(self.side_conditions),
            "verification": self.verification.to_json() if self.verification else None,
            "before": print_program(self.before),
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
    notes: tuple[str, ...] = ()
    """Semantics caveats: rewrites not offered under this semantics, and why."""

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

    @property
    def side_conditions(self) -> tuple[str, ...]:
        """The side conditions the result depends on, stated on the final program: a condition
        on a value is carried through every later pass (rewritten by later rules and
        ablations, renamed with the inputs) and kept only if that value is still computed."""
        applied = [p for p in self.passes if p.status == "applied"]
        final = set(subterms(dataflow(self.program).outputs))
        ctx = Context(self.semantics, self.params)
        out: dict[str, None] = {}
        for i, rec in enumerate(applied):
            structured = {str(c) for c in rec.conditions}
            for text in rec.side_conditions:
                if text not in structured:
                    out[text] = None
            for cond in rec.conditions:
                term = cond.term
                for later in applied[i + 1 :]:
                    term = _carry(term, later, ctx)
                if term in final:
                    out[str(Condition(term, cond.relation))] = None
        return tuple(out)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Caveats of applied passes' verdicts (see `verify.warnings`), by pass name."""
        found = (
            f"{p.name}: {w}"
            for p in self.passes
            if p.status == "applied" and p.verification is not None
            for w in warnings(p.verification)
        )
        return tuple(dict.fromkeys(found))

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.original.path,
            "semantics": self.semantics,
            "params": dict(sorted(self.params.items())),
            "label": self.label,
            "program": print_program(self.program),
            "passes": [p.to_json() for p in self.passes],
            "ablations": [p.to_json() for p in self.ablations],
            "side_conditions": list(self.side_conditions),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "stats": self.stats(),
        }


#: The passes. The driver runs them by stage: `dce`, then `exact` to a fixed point (with `dce`
#: again), then `ablation` (proposed), then `names`.
PASSES: list[Pass] = [DEAD_CODE, *EXACT_PASSES, *ABLATION_PASSES, RENAME]

#: Every stage a pass may belong to, in the order the driver runs them.
PIPELINE_STAGES = ("dce", "exact", "ablation", "names")

#: `--until` stages. Ablation passes are proposed and names made canonical whenever `exact` runs.
STAGES = ("dce", "exact")


def run_pass(p: Pass, program: Program, ctx: Context, *, check: bool = True) -> PassRecord | None:
    """Apply one pass and verify its label; None when it had nothing to do."""
    start = time.perf_counter()
    result = p.apply(program, ctx)
    if result is None or result.program == program:
        return None
    verification = (
        verify(
            program,
            result.program,
            p.label,
            semantics=ctx.semantics,
            params=ctx.params,
            side_conditions=result.side_conditions,
        )
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
        conditions=result.conditions,
        verification=verification,
        seconds=time.perf_counter() - start,
        why=p.why,
    )


RULES_BY_NAME = {r.name: r for r in (*RULES, *ABLATION_RULES)}


def _renamed(node: Node, mapping: Mapping[str, str]) -> Node:
    if isinstance(node, Var):
        return Var(mapping.get(node.name, node.name))
    if isinstance(node, Term):
        return Term(node.op, tuple(_renamed(a, mapping) for a in node.args))
    return node


def _carry(term: Node, rec: PassRecord, ctx: Context) -> Node:
    """`term` (a value of `rec.before`) as it reads in `rec.after`."""
    renamed = rec.details.get("renamed")
    if renamed:
        return _renamed(term, renamed)
    rule = RULES_BY_NAME.get(rec.name)
    return term if rule is None else rewrite_term(rule, term, rec.before, ctx)


class _Driver:
    """Applies passes in order, keeping the records and never retrying a rolled-back pass on
    the same program."""

    def __init__(self, program: Program, ctx: Context) -> None:
        self.current = program
        self.ctx = ctx
        self.records: list[PassRecord] = []
        self.failed: set[tuple[str, Program]] = set()

    def step(self, p: Pass) -> bool:
        if self.failed and (p.name, self.current) in self.failed:  # (hashing a program costs)
            return False
        rec = run_pass(p, self.current, self.ctx)
        if rec is None:
            return False
        self.records.append(rec)
        if rec.status != "applied":
            self.failed.add((p.name, self.current))
            return False
        self.current = rec.after
        return True

    def fixed_point(self, passes: list[Pass]) -> None:
        for _ in range(MAX_ROUNDS):
            if not any([self.step(p) for p in passes]):
                return


def reduce(
    program: Program,
    *,
    until: str = "exact",
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    ablate: bool | Collection[str] = False,
    passes: list[Pass] | None = None,
) -> Reduction:
    """Run the pipeline up to stage `until`; propose (or with `ablate`, apply) ablations.

    `ablate=True` applies every ablation; a collection of pass names applies just those (what
    `--validate` does with the ablations the proxy task accepted)."""
    if until not in STAGES:
        raise ValueError(f"unknown stage {until!r}; expected one of {', '.join(STAGES)}")
    ctx = Context(semantics, program.values(params))
    require_params(program, ctx.params)  # every pass is verified, which needs numbers
    # the values ride in the signature from here on, so every program the result holds (and
    # every text printed from it) reads back with its values
    program = replace(
        program, defaults=tuple((h, float(ctx.params[h])) for h in program.hyperparams())
    )
    pipeline = PASSES if passes is None else passes
    unknown = {p.stage for p in pipeline} - set(PIPELINE_STAGES)
    if unknown:
        raise ValueError(f"unknown pass stage(s) {sorted(unknown)}; expected {PIPELINE_STAGES}")
    by_stage = {stage: [p for p in pipeline if p.stage == stage] for stage in PIPELINE_STAGES}
    drive = _Driver(program, ctx)
    for p in by_stage["dce"]:
        drive.step(p)
    ablations: list[PassRecord] = []
    notes: list[str] = []
    if until == "exact":
        exact = by_stage["exact"] + by_stage["dce"]
        drive.fixed_point(exact)
        notes = _caveats(exact, drive.current, ctx)
        for p in by_stage["ablation"]:
            rec = run_pass(p, drive.current, ctx)
            if rec is not None:
                ablations.append(replace(rec, status="proposed"))
        chosen = [
            p for p in by_stage["ablation"] if ablate is True or (ablate and p.name in ablate)
        ]
        if chosen and ablations:
            for p in chosen:
                drive.step(p)
            drive.fixed_point(exact)
        for p in by_stage["names"]:
            drive.step(p)
    return Reduction(
        program,
        drive.current,
        tuple(drive.records),
        tuple(ablations),
        semantics,
        ctx.params,
        tuple(notes),
    )


def _caveats(passes: list[Pass], program: Program, ctx: Context) -> list[str]:
    """Caveats of passes that would rewrite `program` under the other semantics but not this."""
    notes = []
    for p in passes:
        if not p.caveat:
            continue
        for other in SEMANTICS:
            if other == ctx.semantics:
                continue
            if p.apply(program, Context(other, ctx.params)) is not None and (
                p.apply(program, ctx) is None
            ):
                notes.append(f"{p.name}: {p.caveat}")
    return notes
