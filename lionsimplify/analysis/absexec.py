"""Abstract execution: kinds and value ranges for every value, errors and hazards with lines.

Every value is either a scalar or a tensor (all tensors share the weight's shape, since every
tensor op is elementwise), and carries an interval that holds every value it can take, computed
from each op's `bounds` in the operator table. Inputs: weight, gradient and state are unbounded;
the learning-rate value is positive (it is a schedule value); `step` is at least 1;
hyperparameters are exactly their `--param` value when given, unbounded otherwise.

Errors make a program invalid (a tensor where the op needs a scalar). Hazards are warnings about
values that may leave an op's domain for some inputs: `sqrt`/`log`/`arcsin` of a value that may
be out of range, a division by a value that may be zero. The paper notes that abstract execution
does not catch such runtime errors; we report them with their line so a user can judge.

State variables start at zero; `state_invariant` finds an interval that holds each of them at
every step (a non-negative second moment stays non-negative). Three facts make the ranges
useful on search outputs: `x * x` is a square (never negative),
`x - x` is zero and `x / x` is one, when both operands are the same value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.ir import Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import FULL, INF, OPS, Interval, Kind, Semantics


@dataclass(frozen=True)
class Facts:
    kind: Kind
    interval: Interval

    def describe(self) -> str:
        lo, hi = self.interval
        return f"{self.kind} in [{_fmt(lo)}, {_fmt(hi)}]"


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" or "hazard"
    message: str
    location: Location | None
    help: str | None = None
    code: str = field(kw_only=True)
    """A stable code from `lang/diagnostics.py` (`E301`, `W101`, ...)."""

    def line(self) -> str:
        where = f"{self.location}: " if self.location else ""
        word = "error" if self.severity == "error" else "warning"
        return f"{where}{word}: {self.message}  [{self.code}]"

    def to_json(self) -> dict[str, object]:
        loc = self.location
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "path": loc.path if loc else None,
            "line": loc.line if loc else None,
            "col": loc.col if loc else None,
            "help": self.help,
        }


@dataclass
class Analysis:
    program: Program
    semantics: Semantics
    facts: list[Facts] = field(default_factory=list)
    """Facts of the value each statement assigns, by statement index."""
    outputs: dict[str, Facts] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def hazards(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "hazard"]

    def raise_errors(self) -> None:
        """Raise the first error as a `ProgramError` (what the CLI turns into exit code 2)."""
        if self.errors:
            e = self.errors[0]
            raise ProgramError(e.message, e.location, help=e.help, code=e.code)


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.4g}"


def _in_domain(x: Interval, domain: tuple[float, float, bool, bool]) -> bool:
    lo, hi, lo_open, hi_open = domain
    ok_lo = lo == -INF or (x[0] > lo if lo_open else x[0] >= lo)
    ok_hi = hi == INF or (x[1] < hi if hi_open else x[1] <= hi)
    return ok_lo and ok_hi


def _domain_words(domain: tuple[float, float, bool, bool]) -> str:
    lo, hi, lo_open, hi_open = domain
    return f"{'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"


def input_facts(program: Program) -> dict[str, Facts]:
    facts = {
        program.weight: Facts("tensor", FULL),
        program.grad: Facts("tensor", FULL),
        program.lr: Facts("scalar", (0.0, INF)),
    }
    for s in program.state:
        facts[s] = Facts("tensor", FULL)
    for e in program.extras:
        facts[e] = Facts("scalar", (1.0, INF))
    return facts


def analyse(
    program: Program,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    *,
    ranges: bool = True,
) -> Analysis:
    """Abstractly execute one step of `program`; see the module docstring.

    With `ranges=False` only kinds are tracked (errors, no hazards): the cheap validity check
    de-duplication runs on every program."""
    params = program.values(params)
    states = state_invariant(program, semantics, params) if ranges and program.state else {}
    return _execute(program, semantics, params, states, ranges=ranges)


#: One-step runs before a state bound that still moves is widened to infinity.
WIDEN_AFTER = 3


def state_invariant(
    program: Program, semantics: Semantics, params: Mapping[str, float]
) -> dict[str, Interval]:
    """An interval per state variable that holds its value at every step.

    State starts at zero, so run one step from [0, 0] and join what it returns, until nothing
    grows (a bound still moving after `WIDEN_AFTER` runs goes to ±inf). The result I contains 0
    and step(I) ⊆ I, so by induction every step's state lies in I: `v = interp(square(g), v,
    0.999)` is never negative, and `sqrt(v)` raises no hazard."""
    cur: dict[str, Interval] = {s: (0.0, 0.0) for s in program.state}
    sliced = _state_slice(program)
    for k in range(WIDEN_AFTER + 2):
        run = _execute(sliced, semantics, params, cur, ranges=True, hazards=False)
        if run.errors:
            break
        new = {}
        for s, out in zip(program.state, program.new_state, strict=True):
            lo, hi = run.outputs[out].interval
            new[s] = (min(cur[s][0], lo), max(cur[s][1], hi))
            if math.isnan(new[s][0]) or math.isnan(new[s][1]):
                new[s] = FULL
        if new == cur:
            return cur
        if k >= WIDEN_AFTER:
            new = {
                s: (cur[s][0] if lo == cur[s][0] else -INF, cur[s][1] if hi == cur[s][1] else INF)
                for s, (lo, hi) in new.items()
            }
        cur = new
    return {s: FULL for s in program.state}


def _state_slice(program: Program) -> Program:
    """Only the statements the new state values depend on (the update's own chain does not
    matter to the state invariant), so finding it costs little even on long programs."""
    needed = set(program.new_state)
    kept: list[Stmt] = []
    for stmt in reversed(program.body):
        if stmt.target in needed:
            kept.append(stmt)
            needed.discard(stmt.target)
            needed.update(a.name for a in stmt.args if isinstance(a, Var))
    state = program.new_state
    return replace(program, body=tuple(reversed(kept)), returns=(state[0], *state))


def _execute(
    program: Program,
    semantics: Semantics,
    params: Mapping[str, float],
    states: Mapping[str, Interval],
    *,
    ranges: bool,
    hazards: bool = True,
) -> Analysis:
    """One step of abstract execution with the state variables in `states` (unbounded if
    absent)."""
    result = Analysis(program, semantics)
    env = input_facts(program)
    for s, interval in states.items():
        env[s] = Facts("tensor", interval)

    def operand_facts(a: Operand) -> Facts:
        if isinstance(a, Var):
            return env[a.name]
        if isinstance(a, Const):
            return Facts("scalar", (a.value, a.value))
        if isinstance(a, Hyper) and a.name in params:
            v = float(params[a.name])
            return Facts("scalar", (v, v))
        return Facts("scalar", FULL)

    for stmt in program.body:
        op = OPS[stmt.op]
        args = [operand_facts(a) for a in stmt.args]
        for i, (want, got) in enumerate(zip(op.kinds_ok(), args, strict=True)):
            if want == "scalar" and got.kind == "tensor":
                result.diagnostics.append(
                    Diagnostic(
                        "error",
                        f"argument {i + 1} of `{op.name}` must be a scalar, but "
                        f"`{_name(stmt.args[i])}` is a tensor",
                        stmt.loc,
                        help="reduce it first, e.g. with `norm(...)`"
                        if op.name == "clip"
                        else None,
                        code="E301",
                    )
                )
        if ranges:
            if hazards:
                result.diagnostics.extend(_hazards(stmt, args, semantics))
            interval = _bounds(stmt, [a.interval for a in args])
        else:
            interval = FULL
        facts = Facts(op.result_kind([a.kind for a in args]), interval)
        env[stmt.target] = facts
        result.facts.append(facts)
    for name in program.returns:
        result.outputs[name] = env[name]
    return result


def _name(a: Operand) -> str:
    return a.name if isinstance(a, Var | Hyper) else repr(a.value)


def _bounds(stmt: Stmt, intervals: list[Interval]) -> Interval:
    op = OPS[stmt.op]
    same = len(stmt.args) == 2 and isinstance(stmt.args[0], Var) and stmt.args[0] == stmt.args[1]
    if same and op.name == "mul":
        return OPS["square"].bounds(intervals[0])
    if same and op.name == "sub":
        return (0.0, 0.0)
    try:
        lo, hi = op.bounds(*intervals)
    except (OverflowError, ValueError, ZeroDivisionError):
        return FULL
    if math.isnan(lo) or math.isnan(hi):
        return FULL
    return (lo, hi)


def _hazards(stmt: Stmt, args: list[Facts], semantics: Semantics) -> list[Diagnostic]:
    op = OPS[stmt.op]
    found: list[Diagnostic] = []
    domain = op.domain_for(semantics)
    if domain is not None and args:
        x = args[0].interval
        if semantics == "hero" and op.hero_abs:
            x = OPS["abs"].bounds(x)
        if not _in_domain(x, domain):
            what = (
                f"|{_name(stmt.args[0])}|"
                if semantics == "hero" and op.hero_abs
                else f"`{_name(stmt.args[0])}`"
            )
            found.append(
                Diagnostic(
                    "hazard",
                    f"`{op.name}` is defined on {_domain_words(domain)}, but {what} may be "
                    f"in [{_fmt(x[0])}, {_fmt(x[1])}]",
                    stmt.loc,
                    code="W101",
                )
            )
    if op.nonzero_arg is not None and not (semantics == "hero" and op.impl_hero is not None):
        d = args[op.nonzero_arg].interval
        if d[0] <= 0 <= d[1]:
            found.append(
                Diagnostic(
                    "hazard",
                    f"division by `{_name(stmt.args[op.nonzero_arg])}`, which may be zero "
                    f"(in [{_fmt(d[0])}, {_fmt(d[1])}])",
                    stmt.loc,
                    code="W102",
                )
            )
    if op.name == "power" and args[0].interval[0] < 0:
        e = stmt.args[1]
        if not (isinstance(e, Const) and float(e.value).is_integer()):
            found.append(
                Diagnostic(
                    "hazard",
                    f"`power` of `{_name(stmt.args[0])}`, which may be negative, to a "
                    "non-integer exponent gives NaN",
                    stmt.loc,
                    code="W103",
                )
            )
    return found
