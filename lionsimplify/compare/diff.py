"""What changed between two programs, and does it matter.

`diff_programs(a, b)` answers two questions:

1. **What changed, as a computation.** Both programs go through the reduction pipeline
   (`reduce.reduce(..., until="exact")` restricted to the passes labelled `exact`, so every exact
   pass added to `PASSES` applies here too, while a `direction` rewrite can never make two
   programs look alike; `raw=True` compares them as written) and into canonical form
   (`canonical.py`). The two
   dataflow graphs are then aligned value by value, not line by line: first values computed
   identically on both sides, then, from the outputs down, values computed by the same operation
   (a changed constant or operand), then values whose arguments correspond. What is left is only
   in one program. Each aligned pair is `same` (same operation on corresponding arguments),
   `changed` (an operand differs: a literal, a hyperparameter, or a rewired argument); changed
   literals and hyperparameters are also listed in a table with their relative change.

2. **Does it matter.** Both programs, as written, run on the verification trajectories of
   `verify.py` (the reduction just ran them there, so their outputs are reused) and their outputs are compared step by step with `verify.compare_updates`:
   `identical` (same canonical program, same outputs), `equivalent` (different form, same
   outputs; which fingerprint recognised it), `direction-equivalent` (each step's update differs
   only by a positive factor, whose range is reported), or `different` (the first step and output
   where they part, the relative deviation of the update, the cosine between updates). State
   variables are compared too, by canonical position, so a difference can be traced to the state
   where it starts; state that never reaches the update is reported as such.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from lionsimplify.analysis.absexec import analyse
from lionsimplify.analysis.canonical import (
    Canonical,
    assign_names,
    canonicalize,
    emit,
    output_names,
)
from lionsimplify.analysis.fingerprint import behavioural_hash, structural_hash
from lionsimplify.analysis.interp import require_params
from lionsimplify.analysis.liveness import eliminate_dead_code, live_statements
from lionsimplify.analysis.symbolic import Node, Term
from lionsimplify.lang.ir import Const, Hyper, Program, Stmt, Var
from lionsimplify.lang.ops import Semantics
from lionsimplify.lang.printer import format_operand, format_stmt, print_program
from lionsimplify.passes.driver import PASSES, reduce
from lionsimplify.passes.verify import RTOL, STEPS, compare_updates, outputs_on, trajectories

Verdict = Literal["identical", "equivalent", "direction-equivalent", "different"]
RowKind = Literal["same", "changed", "only-a", "only-b"]


@dataclass(frozen=True)
class OperandChange:
    position: int
    """0-based argument position in the statement."""
    a: str
    b: str
    kind: Literal["constant", "operand"]
    """`constant`: a literal or hyperparameter; `operand`: a different value is used."""


@dataclass(frozen=True)
class Row:
    """One line of the aligned view: a statement of A, of B, or a matched pair."""

    kind: RowKind
    a: Stmt | None
    b: Stmt | None
    changes: tuple[OperandChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "a": format_stmt(self.a) if self.a else None,
            "b": format_stmt(self.b) if self.b else None,
            "changes": [
                {"position": c.position, "a": c.a, "b": c.b, "kind": c.kind} for c in self.changes
            ],
        }


@dataclass(frozen=True)
class ConstantChange:
    where: str
    """The statement (B's side) with the changed operand shown as `·`."""
    a: str
    b: str
    a_value: float | None
    b_value: float | None

    @property
    def rel_change(self) -> float | None:
        if self.a_value is None or self.b_value is None or self.a_value == 0:
            return None
        return (self.b_value - self.a_value) / abs(self.a_value)

    def to_json(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "a": self.a,
            "b": self.b,
            "a_value": self.a_value,
            "b_value": self.b_value,
            "rel_change": self.rel_change,
        }


@dataclass(frozen=True)
class OutputDifference:
    output: str
    """`update` or a state's canonical name."""
    first_step: int | None
    """1-based step where the two first part beyond tolerance; None if they never do."""
    max_rel_dev: float
    reaches_update: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "first_step": self.first_step,
            "max_rel_dev": _num(self.max_rel_dev),
            "reaches_update": self.reaches_update,
        }


@dataclass(frozen=True)
class Evidence:
    """What running both programs on the verification trajectories measured."""

    max_rel_dev: float
    """Largest per-step relative deviation of B's update from A's (‖a − b‖∞ / ‖a‖∞)."""
    median_rel_dev: float
    cosine_min: float
    cosine_mean: float
    factor_range: tuple[float, float] | None
    """For `direction-equivalent`: the range of c in update_B = c · update_A."""
    nan_mismatch: int
    """Update elements that are NaN in one program and a number in the other."""
    outputs: tuple[OutputDifference, ...]
    structural_match: bool
    behavioural_match: bool
    trajectories: int
    steps: int

    @property
    def first(self) -> OutputDifference | None:
        """The output that parts first (the update on ties)."""
        parted = [o for o in self.outputs if o.first_step is not None]
        return min(parted, key=lambda o: o.first_step) if parted else None  # type: ignore[arg-type,return-value]

    def to_json(self) -> dict[str, Any]:
        first = self.first
        return {
            "max_rel_dev": _num(self.max_rel_dev),
            "median_rel_dev": _num(self.median_rel_dev),
            "cosine_min": _num(self.cosine_min),
            "cosine_mean": _num(self.cosine_mean),
            "factor_range": list(self.factor_range) if self.factor_range else None,
            "nan_mismatch": self.nan_mismatch,
            "first_difference": (
                {"step": first.first_step, "output": first.output} if first else None
            ),
            "outputs": [o.to_json() for o in self.outputs],
            "fingerprints": {
                "structural": self.structural_match,
                "behavioural": self.behavioural_match,
            },
            "trajectories": self.trajectories,
            "steps": self.steps,
        }


@dataclass(frozen=True)
class Diff:
    a: Program
    b: Program
    semantics: Semantics
    params: Mapping[str, float]
    raw: bool
    verdict: Verdict
    canonical_a: Program
    """A's canonical form, named jointly with B's so that matched values share names."""
    canonical_b: Program
    rows: tuple[Row, ...]
    constants: tuple[ConstantChange, ...]
    evidence: Evidence
    unused_state: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """`a`/`b` -> (state name, why it never reaches the update)."""

    @property
    def structural(self) -> bool:
        """True when more than literals and hyperparameters differ."""
        return any(
            r.kind in ("only-a", "only-b") or any(c.kind == "operand" for c in r.changes)
            for r in self.rows
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict in ("identical", "equivalent") else 1

    def summary(self) -> str:
        """One sentence: the verdict and its main evidence."""
        e = self.evidence
        runs = f"{e.trajectories} trajectories × {e.steps} steps"
        if self.verdict == "identical":
            return "identical: the same canonical program"
        if self.verdict == "equivalent":
            matched = (
                "structural fingerprint matched"
                if e.structural_match
                else "behavioural fingerprint matched"
                if e.behavioural_match
                else "no fingerprint matched; outputs agree within tolerance"
            )
            return f"equivalent: different form, same outputs on {runs} ({matched})"
        if self.verdict == "direction-equivalent":
            lo, hi = e.factor_range or (float("nan"), float("nan"))
            return (
                f"direction-equivalent: each update of B is c × A's, c in [{lo:.4g}, {hi:.4g}] "
                f"(positive, varies by step), on {runs}"
            )
        first = e.first
        where = f"they part at step {first.first_step} in `{first.output}`" if first else ""
        if e.nan_mismatch:
            where += f"{'; ' if where else ''}{e.nan_mismatch} update elements are NaN in one only"
        return (
            f"different: {where}; relative deviation of the update: median "
            f"{e.median_rel_dev:.3g}, max {e.max_rel_dev:.3g}; cosine between updates: mean "
            f"{e.cosine_mean:.4f}, min {e.cosine_min:.4f}; on {runs}"
        )

    def unified(self, context: int = 3) -> str:
        """A unified diff of the two canonical programs."""
        lines = difflib.unified_diff(
            print_program(self.canonical_a).splitlines(keepends=True),
            print_program(self.canonical_b).splitlines(keepends=True),
            fromfile=f"{self.a.path} (canonical)",
            tofile=f"{self.b.path} (canonical)",
            n=context,
        )
        return "".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.path,
            "b": self.b.path,
            "semantics": self.semantics,
            "params": dict(sorted(self.params.items())),
            "raw": self.raw,
            "verdict": self.verdict,
            "summary": self.summary(),
            "structural_change": self.structural,
            "evidence": self.evidence.to_json(),
            "rows": [r.to_json() for r in self.rows],
            "constants": [c.to_json() for c in self.constants],
            "canonical": {
                "a": print_program(self.canonical_a),
                "b": print_program(self.canonical_b),
            },
            "unused_state": {
                side: [{"name": n, "reason": why} for n, why in items]
                for side, items in sorted(self.unused_state.items())
            },
        }


def _num(x: float) -> float | str:
    return float(x) if np.isfinite(x) else str(x)


# ---------------------------------------------------------------------------------------------
# The driver.


def diff_programs(
    a: Program,
    b: Program,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    raw: bool = False,
) -> Diff:
    """Compare `b` against `a`: aligned canonical forms, constant changes and the verdict.

    Raises `ProgramError` (with the file, line and column) when either program is invalid or
    uses a hyperparameter without a value in `params`.
    """
    params = dict(params or {})
    for p in (a, b):
        analyse(p, semantics, params).raise_errors()
        require_params(p, params)
    if raw:
        ra, rb = a, b
    else:
        passes = [p for p in PASSES if p.label == "exact" and p.stage != "ablation"]
        ra = reduce(a, until="exact", semantics=semantics, params=params, passes=passes).program
        rb = reduce(b, until="exact", semantics=semantics, params=params, passes=passes).program
    ca = canonicalize(ra, semantics=semantics, normalise=not raw, keep_unused=raw)
    cb = canonicalize(rb, semantics=semantics, normalise=not raw, keep_unused=raw)
    match = align(ca, cb)
    rows, ja, jb = _rows(ca, cb, match)
    evidence = _measure(a, b, ca, cb, semantics, params, (ra, rb))
    exact = evidence.nan_mismatch == 0 and evidence.max_rel_dev <= RTOL
    verdict: Verdict
    if exact:
        verdict = "identical" if _same_as_written(a, b, ca, cb, semantics, raw) else "equivalent"
    elif evidence.factor_range is not None:
        verdict = "direction-equivalent"
    else:
        verdict = "different"
    unused = {side: eliminate_dead_code(p).removed_state for side, p in (("a", a), ("b", b))}
    return Diff(
        a=a,
        b=b,
        semantics=semantics,
        params=params,
        raw=raw,
        verdict=verdict,
        canonical_a=ja,
        canonical_b=jb,
        rows=tuple(rows),
        constants=tuple(_constants(rows, params)),
        evidence=evidence,
        unused_state={k: v for k, v in unused.items() if v},
    )


def _same_as_written(
    a: Program, b: Program, ca: Canonical, cb: Canonical, semantics: Semantics, raw: bool
) -> bool:
    """`identical` means the same program up to names, order, dead code and arithmetic form:
    canonicalisation alone, not rewriting. Two programs that only a rewrite pass (e.g. dropping
    a positive factor inside `sign`) brings together are `equivalent`."""

    # hyperparameters' default values are compared by running (the evidence), not as text
    def same(x: Program, y: Program) -> bool:
        return replace(x, defaults=()) == replace(y, defaults=())

    if raw:
        return same(ca.program, cb.program)
    da, db = eliminate_dead_code(a).program, eliminate_dead_code(b).program
    if da == ca.source and db == cb.source:  # the reduction did nothing beyond dead code
        return same(ca.program, cb.program)
    return same(
        canonicalize(da, semantics=semantics).program,
        canonicalize(db, semantics=semantics).program,
    )


# ---------------------------------------------------------------------------------------------
# Alignment.


def align(ca: Canonical, cb: Canonical) -> dict[Term, Term]:
    """Match A's computed values to B's (term of A -> term of B), by dataflow.

    The two sides' terms are the shared hash-consed terms, but a value of A is only ever looked
    up in A's tables and a value of B in B's: which inputs a term's leaves are differs between
    the two programs' graphs, so keys (`Graph.full`), not identity, say what corresponds."""
    ga, gb = ca.graph, cb.graph
    match: dict[Term, Term] = {}
    taken: set[Term] = set()

    def pair(x: Term, y: Term) -> None:
        match[x] = y
        taken.add(y)

    # 1. values computed identically (same operations on the same inputs and literals)
    full_a, full_b = ga.full, gb.full
    by_full = {full_b[n]: n for n in cb.order}
    for n in ca.order:
        m = by_full.get(full_a[n])
        if m is not None and m not in taken:
            pair(n, m)
    # 2. from the outputs down: the same operation, possibly on changed operands
    queue: deque[tuple[Node, Node]] = deque(
        zip(ca.outputs + ca.unused, cb.outputs + cb.unused, strict=False)
    )
    while queue:
        x, y = queue.popleft()
        if not isinstance(x, Term) or not isinstance(y, Term):
            continue
        if x in match or y in taken or x.op != y.op:
            continue
        pair(x, y)
        queue.extend(zip(x.args, y.args, strict=True))
    # 3. bottom-up: the same operation on corresponding arguments (literals may differ)
    grew = True
    while grew:
        grew = False
        index: dict[tuple, Term] = {}
        for n in ca.order:
            if n not in match:
                key = _corr_key(n.args, match.get)
                if key is not None:
                    index.setdefault((n.op, key), n)
        for m in cb.order:
            if m in taken:
                continue
            key = _corr_key(m.args, lambda y: y if y in taken else None)
            x = index.pop((m.op, key), None) if key is not None else None
            if x is not None:
                pair(x, m)
                grew = True
    return match


def _corr_key(args: tuple[Node, ...], partner: Any) -> tuple | None:
    """Arguments as (B term of a matched value | input role | `literal`); None if unmatched."""
    key = []
    for a in args:
        if isinstance(a, Term):
            p = partner(a)
            if p is None:
                return None
            key.append(("value", p))
        elif isinstance(a, Var):
            key.append(("input", a.name))
        else:
            key.append(("literal",))
    return tuple(key)


def _rows(
    ca: Canonical, cb: Canonical, match: dict[Term, Term]
) -> tuple[list[Row], Program, Program]:
    """The aligned rows in a merged order, and both canonical programs with joint names."""
    back = {y: x for x, y in match.items()}
    pos_a = {n: k for k, n in enumerate(ca.order)}
    entries: list[tuple[tuple[int, int, int], Term | None, Term | None]] = []
    for n in ca.order:
        entries.append(((pos_a[n], 0, 0), n, match.get(n)))
    anchor = -1
    for k, m in enumerate(cb.order):
        if m in back:
            anchor = pos_a[back[m]]
        else:
            entries.append(((anchor, 1, k), None, m))
    entries.sort(key=lambda e: e[0])

    # joint names: a value and its partner share `tK`; outputs keep their role names
    outs_a = output_names(ca.program, list(ca.order), list(ca.outputs), ca.state_order)
    outs_b = output_names(cb.program, list(cb.order), list(cb.outputs), cb.state_order)
    reserved = set(outs_a.values()) | set(outs_b.values())
    reserved |= set(ca.program.hyperparams()) | set(cb.program.hyperparams())
    temp_a: dict[Term, str] = {}
    temp_b: dict[Term, str] = {}
    counter = 0
    for _, x, y in entries:
        if (x is None or x in outs_a) and (y is None or y in outs_b):
            continue
        counter += 1
        while f"t{counter}" in reserved:
            counter += 1
        if x is not None:
            temp_a[x] = f"t{counter}"
        if y is not None:
            temp_b[y] = f"t{counter}"
    na = assign_names(ca.program, list(ca.order), list(ca.outputs), ca.state_order, temp_a)
    nb = assign_names(cb.program, list(cb.order), list(cb.outputs), cb.state_order, temp_b)
    ja = emit(ca.program, list(ca.order), list(ca.outputs), ca.state_order, na)
    jb = emit(cb.program, list(cb.order), list(cb.outputs), cb.state_order, nb)
    stmt_a = dict(zip(ca.order, ja.body, strict=False))
    stmt_b = dict(zip(cb.order, jb.body, strict=False))

    rows = []
    for _, x, y in entries:
        if x is None:
            rows.append(Row("only-b", None, stmt_b[y]))  # type: ignore[index]
        elif y is None:
            rows.append(Row("only-a", stmt_a[x], None))
        else:
            changes = _operand_changes(ca, cb, x, y, match, stmt_a[x], stmt_b[y])
            rows.append(Row("changed" if changes else "same", stmt_a[x], stmt_b[y], changes))
    return rows, ja, jb


def _operand_changes(
    ca: Canonical, cb: Canonical, x: Term, y: Term, match: dict[Term, Term], sa: Stmt, sb: Stmt
) -> tuple[OperandChange, ...]:
    ga, gb = ca.graph, cb.graph
    out = []
    for i, (p, q) in enumerate(zip(x.args, y.args, strict=True)):
        if isinstance(p, Term) or isinstance(q, Term):
            same = isinstance(p, Term) and match.get(p) is q
        else:
            same = ga.full[p] == gb.full[q]
        if same:
            continue
        literal = isinstance(p, Const | Hyper) and isinstance(q, Const | Hyper)
        out.append(
            OperandChange(
                i,
                format_operand(sa.args[i]),
                format_operand(sb.args[i]),
                "constant" if literal else "operand",
            )
        )
    return tuple(out)


def _constants(rows: list[Row], params: Mapping[str, float]) -> list[ConstantChange]:
    def value(op: object) -> float | None:
        if isinstance(op, Const):
            return op.value
        if isinstance(op, Hyper):
            return params.get(op.name)
        return None

    out = []
    for r in rows:
        for c in r.changes:
            if c.kind != "constant" or r.a is None or r.b is None:
                continue
            blank = list(r.b.args)
            blank[c.position] = Var("·")
            where = format_stmt(Stmt(r.b.target, r.b.op, tuple(blank)))
            out.append(
                ConstantChange(
                    where, c.a, c.b, value(r.a.args[c.position]), value(r.b.args[c.position])
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# Running both programs.


def _measure(
    a: Program,
    b: Program,
    ca: Canonical,
    cb: Canonical,
    semantics: Semantics,
    params: Mapping[str, float],
    reduced: tuple[Program, Program],
) -> Evidence:
    """Compare the updates of the programs as written, and the state of their reduced forms
    by canonical position (a reduction may fold or rename state). Both are usually cached:
    `reduce` just verified one against the other."""
    ra, rb = reduced
    states = [
        (ca.program.state[k], ca.state_order[k], cb.state_order[k])
        for k in range(min(len(ca.state_order), len(cb.state_order)))
    ]
    live_a, live_b = _live_states(ra), _live_states(rb)
    max_dev, cos_min, cos_sum, cos_n, nan = 0.0, 1.0, 0.0, 0, 0
    fmin, fmax, direction = np.inf, -np.inf, True
    devs = []
    first: list[int | None] = [None] * (1 + len(states))
    out_dev = [0.0] * (1 + len(states))
    trajs = trajectories(STEPS)
    for t in range(len(trajs)):
        oa = outputs_on(a, t, semantics=semantics, params=params)
        ob = outputs_on(b, t, semantics=semantics, params=params)
        sa = outputs_on(ra, t, semantics=semantics, params=params).states
        sb = outputs_on(rb, t, semantics=semantics, params=params).states
        m = compare_updates(oa.updates, ob.updates)
        nan += m["new_nan"] + m["nan_resolved"]
        row_dev = m["row_dev"]
        devs.append(row_dev.ravel())
        max_dev = max(max_dev, float(np.max(row_dev)))
        cos_min = min(cos_min, float(np.min(m["cos"])))
        cos_sum += float(np.sum(m["cos"]))
        cos_n += m["cos"].size
        if not m["direction_ok"]:
            direction = False
        defined = m["factor"][m["factor_defined"]]  # no factor where A's update is 0
        if defined.size:
            fmin, fmax = min(fmin, float(np.min(defined))), max(fmax, float(np.max(defined)))
        pairs = [(oa.updates, ob.updates, row_dev)]
        pairs += [
            (sa[ia], sb[ib], compare_updates(sa[ia], sb[ib])["row_dev"]) for _, ia, ib in states
        ]
        for k, (x, y, dev) in enumerate(pairs):
            out_dev[k] = max(out_dev[k], float(np.max(dev)))
            # a step parts when a row deviates, or is NaN in one program only
            bad = np.any((dev > RTOL) | np.any(np.isnan(x) != np.isnan(y), axis=-1), axis=-1)
            if bad.any():
                step = int(np.argmax(bad)) + 1
                first[k] = step if first[k] is None else min(first[k], step)  # type: ignore[type-var]
    exact = nan == 0 and max_dev <= RTOL
    with np.errstate(all="ignore"):  # NaN updates are hashed too; numpy would warn on the cast
        behavioural = behavioural_hash(ra, semantics=semantics, params=params) == behavioural_hash(
            rb, semantics=semantics, params=params
        )
    outputs = [OutputDifference("update", first[0], out_dev[0], True)]
    for j, (name, ia, ib) in enumerate(states):
        reaches = live_a[ia] and live_b[ib]
        outputs.append(OutputDifference(name, first[j + 1], out_dev[j + 1], reaches))
    return Evidence(
        max_rel_dev=max_dev,
        median_rel_dev=float(np.median(np.concatenate(devs))),
        cosine_min=cos_min,
        cosine_mean=cos_sum / max(cos_n, 1),
        factor_range=(fmin, fmax) if direction and nan == 0 and not exact else None,
        nan_mismatch=nan,
        outputs=tuple(outputs),
        structural_match=structural_hash(ra) == structural_hash(rb),
        behavioural_match=behavioural,
        trajectories=len(trajs) * trajs[0].grads.shape[1],
        steps=STEPS,
    )


def _live_states(program: Program) -> list[bool]:
    """For each state variable: does its value reach the update (across steps)?"""
    _, outputs = live_statements(program)
    return [i + 1 in outputs for i in range(len(program.state))]
