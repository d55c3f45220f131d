"""Abstract execution: kinds and value ranges for every value, errors and hazards with lines.

Every value is either a scalar or a tensor (all tensors share the weight's shape, since every
tensor op is elementwise), and carries facts that hold for every value the interpreter can
produce: an interval over the extended reals (an infinite end means the value may *be* that
infinity), whether it is surely finite, and whether it may be NaN. Inputs come from the one
domain table (`lang/domains.py`): weight and gradient are finite, the learning rate is >= 0,
`step` >= 1, hyperparameters are their `--param` value when given. State starts at 0 and holds
what the program wrote on earlier steps: its facts are a fixed point over steps (join with the
start, widened to infinite ends after a few rounds), which is why `v = interp(v, g * g, b)`
stays >= 0.

Errors make a program invalid (a tensor where the op needs a scalar). Hazards are warnings about
values that may leave an op's domain for some inputs: `sqrt`/`log`/`arcsin` of a value that may
be out of range, a division by a value that may be zero, and an overflow: an op whose arguments
are bounded but whose result may be infinite (`exp(1000.0)`). The paper notes that abstract
execution does not catch such runtime errors; we report them with their line so a user can
judge.

Three facts make the ranges useful on search outputs: `x * x` is a square (never negative),
`x - x` is zero and `x / x` is one, when both operands are the same value, unless that value
may be infinite (then they may be NaN, and the facts say so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from lionsimplify.lang.domains import input_domains
from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.ir import Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import EPS, FULL, INF, OPS, Interval, Kind, Semantics


@dataclass(frozen=True)
class Facts:
    kind: Kind
    interval: Interval
    finite: bool = False
    """Never ±inf (inputs, and values with a bounded interval or from a finite-preserving op)."""
    nan: bool = False
    """May be NaN."""

    def describe(self) -> str:
        lo, hi = self.interval
        return f"{self.kind} in [{_fmt(lo)}, {_fmt(hi)}]" + (" or NaN" if self.nan else "")

    def join(self, other: Facts) -> Facts:
        lo = min(self.interval[0], other.interval[0])
        hi = max(self.interval[1], other.interval[1])
        return Facts(self.kind, (lo, hi), self.finite and other.finite, self.nan or other.nan)

    def widen(self, new: Facts) -> Facts:
        """`new` (which contains self) with every end that moved pushed to infinity."""
        lo = new.interval[0] if new.interval[0] >= self.interval[0] else -INF
        hi = new.interval[1] if new.interval[1] <= self.interval[1] else INF
        return Facts(new.kind, (lo, hi), new.finite, new.nan)


#: Ops whose result is finite whenever their arguments are (and no hazard fires): bounded
#: functions, and `interp` with a weight in [0, 1] (a convex combination).
FINITE_PRESERVING = frozenset(
    {"copy", "negative", "abs", "sign", "sin", "cos", "tanh", "arctan", "arcsin", "arccos"}
    | {"maximum", "minimum", "sqrt", "cbrt", "arcsinh", "clip", "interp"}
)

#: Rounds of the state fixed point before widening, and in all (widening makes it converge).
WIDEN_AFTER = 2
MAX_ROUNDS = 8


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
            line = self.program.source_line(e.location)
            raise ProgramError(e.message, e.location, help=e.help, source_line=line, code=e.code)


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
    """Facts of every input at the first step, from the one domain table (state is 0)."""
    return {name: Facts(d.kind, d.interval, d.finite) for name, d in input_domains(program).items()}


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
    start = input_facts(program)
    if not ranges:
        env = {**start, **{s: Facts("tensor", FULL) for s in program.state}}
        return _step(program, semantics, params, env, ranges=False)
    state = _state_facts(program, semantics, params)
    return _step(program, semantics, params, {**start, **state}, ranges=True)


#: Per op: the argument positions that must be scalars, and how the result's kind follows.
_KIND_RULES = {
    name: (tuple(i for i, k in enumerate(op.kinds_ok()) if k == "scalar"), op.result)
    for name, op in OPS.items()
}

#: The ops that can be given a value of the wrong kind (`clip`'s bound must be a scalar).
_KIND_CHECKED = frozenset(name for name, (scalar_at, _) in _KIND_RULES.items() if scalar_at)


def check_kinds(program: Program) -> None:
    """Raise the first kind error (a tensor where an op needs a scalar) as a `ProgramError`.

    The same check as `analyse(ranges=False).raise_errors()`, for the common case in which
    nothing is wrong: de-duplication runs it on every program, so a program calling no op that
    needs a scalar is done at once, and otherwise kinds are followed as plain strings, without
    facts or diagnostics; a program with an error is analysed in full for its message."""
    if not any(stmt.op in _KIND_CHECKED for stmt in program.body):
        return
    kinds = {name: d.kind for name, d in input_domains(program).items()}
    for stmt in program.body:
        scalar_at, result = _KIND_RULES[stmt.op]
        args = [kinds[a.name] if type(a) is Var else "scalar" for a in stmt.args]
        if any(args[i] == "tensor" for i in scalar_at):
            analyse(program, ranges=False).raise_errors()
        if result == "scalar":
            kinds[stmt.target] = "scalar"
        elif result == "first":
            kinds[stmt.target] = args[0]
        else:
            kinds[stmt.target] = "tensor" if "tensor" in args else "scalar"


def state_invariant(
    program: Program, semantics: Semantics, params: Mapping[str, float]
) -> dict[str, Interval]:
    """An interval per state variable that holds its value at every step (a non-negative
    second moment stays non-negative): see `_state_facts`."""
    return {s: f.interval for s, f in _state_facts(program, semantics, params).items()}


def _state_facts(
    program: Program, semantics: Semantics, params: Mapping[str, float]
) -> dict[str, Facts]:
    """Facts that hold for each state variable at every step: start from the state's first
    value (0) and join what one step returns until nothing grows (a bound still moving after
    `WIDEN_AFTER` rounds is widened), so by induction every step's state lies inside."""
    start = input_facts(program)
    state = {s: start[s] for s in program.state}
    for round_ in range(MAX_ROUNDS):
        step = _step(program, semantics, params, {**start, **state}, ranges=True)
        new = {
            s: state[s].join(Facts("tensor", o.interval, o.finite, o.nan))
            for s, o in zip(
                program.state, (step.outputs[n] for n in program.new_state), strict=True
            )
        }
        if round_ >= WIDEN_AFTER:
            new = {s: state[s].widen(new[s]) for s in state}
        if new == state:
            return state
        state = new
    # not stable (cannot happen after widening, but never claim more than is known)
    return {s: Facts("tensor", FULL, False, True) for s in state}


def _step(
    program: Program,
    semantics: Semantics,
    params: Mapping[str, float],
    env: dict[str, Facts],
    *,
    ranges: bool,
) -> Analysis:
    """One step of abstract execution from the facts in `env` (inputs and state)."""
    result = Analysis(program, semantics)
    env = dict(env)

    def operand_facts(a: Operand) -> Facts:
        if isinstance(a, Var):
            return env[a.name]
        if isinstance(a, Const):
            return Facts("scalar", (a.value, a.value), math.isfinite(a.value), math.isnan(a.value))
        if isinstance(a, Hyper) and a.name in params:
            v = float(params[a.name])
            return Facts("scalar", (v, v), math.isfinite(v), math.isnan(v))
        return Facts("scalar", FULL, True)

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
        kind = op.result_kind([a.kind for a in args])
        point = _point_value(stmt, args, semantics) if ranges else None
        if point is not None:
            facts = point
            hazards = _hazards(stmt, args, semantics)
            if not hazards and math.isinf(point.interval[0]) and all(a.finite for a in args):
                hazards.append(_overflow(stmt, args, certain=True))
            result.diagnostics.extend(hazards)
        elif ranges:
            hazards = _hazards(stmt, args, semantics)
            interval = _bounds(stmt, [a.interval for a in args], semantics)
            if op.name == "cosine_sim" and len({a.kind for a in args}) > 1:
                interval = FULL  # a scalar's norm is one element's: no longer within [-1, 1]
            facts = _flags(stmt, args, kind, interval, bool(hazards))
            if not facts.finite and not hazards and args and all(_bounded(a) for a in args):
                hazards.append(_overflow(stmt, args, certain=False))
            result.diagnostics.extend(hazards)
        else:
            facts = Facts(kind, FULL)
        env[stmt.target] = facts
        result.facts.append(facts)
    for name in program.returns:
        result.outputs[name] = env[name]
    return result


def _point_value(stmt: Stmt, args: list[Facts], semantics: Semantics) -> Facts | None:
    """The exact facts of an elementwise op on single known numbers (`exp(1000.0)`, `tan(c)`),
    computed with the interpreter's own float64 implementation; None otherwise."""
    op = OPS[stmt.op]
    if op.reduction is not None or not all(
        a.interval[0] == a.interval[1] and not a.nan for a in args
    ):
        return None
    with np.errstate(all="ignore"):
        v = float(op.implementation(semantics)(np, *(np.float64(a.interval[0]) for a in args)))
    kind = op.result_kind([a.kind for a in args])
    if math.isnan(v):
        return Facts(kind, FULL, False, True)
    return Facts(kind, (v, v), math.isfinite(v))


def _bounded(f: Facts) -> bool:
    return f.finite and math.isfinite(f.interval[0]) and math.isfinite(f.interval[1])


def _same_operands(stmt: Stmt) -> bool:
    a = stmt.args
    return len(a) == 2 and isinstance(a[0], Var) and a[0] == a[1]


def _flags(stmt: Stmt, args: list[Facts], kind: Kind, interval: Interval, hazard: bool) -> Facts:
    """Whether the result is surely finite and whether it may be NaN (see the docstring)."""
    op = stmt.op
    all_finite = all(a.finite for a in args)
    finite = (math.isfinite(interval[0]) and math.isfinite(interval[1])) or (
        all_finite and not hazard and op in FINITE_PRESERVING
    )
    if op == "interp" and not (0 <= args[2].interval[0] <= args[2].interval[1] <= 1):
        finite = math.isfinite(interval[0]) and math.isfinite(interval[1])
    nan = hazard or any(a.nan for a in args)
    if op == "cosine_sim":  # 0 / 0 for a zero vector (state at the first step)
        nan = nan or any(a.interval[0] <= 0 <= a.interval[1] for a in args)
    if not all_finite and not nan:
        nan = _inf_arithmetic_nan(stmt, args)
    return Facts(kind, interval, finite and not nan, nan)


def _inf_arithmetic_nan(stmt: Stmt, args: list[Facts]) -> bool:
    """Whether an argument that may be infinite can make the result NaN (inf - inf, 0 · inf,
    inf / inf, sin(inf), ...). Conservative for ops not listed."""

    def pinf(f: Facts) -> bool:
        return not f.finite and f.interval[1] == INF

    def ninf(f: Facts) -> bool:
        return not f.finite and f.interval[0] == -INF

    def inf(f: Facts) -> bool:
        return pinf(f) or ninf(f)

    def zero(f: Facts) -> bool:
        return f.interval[0] <= 0 <= f.interval[1]

    op = stmt.op
    if _same_operands(stmt) and op in ("sub", "div"):
        return True
    if op == "add":
        x, y = args
        return (pinf(x) and ninf(y)) or (ninf(x) and pinf(y))
    if op == "sub":
        x, y = args
        return (pinf(x) and pinf(y)) or (ninf(x) and ninf(y))
    if op == "mul":
        x, y = args
        return (inf(x) and zero(y)) or (zero(x) and inf(y))
    if op == "div":
        x, y = args
        return inf(x) and inf(y)
    if op == "interp":
        x, y, a = args
        lo, hi = a.interval
        if not a.finite or lo <= 0 or hi >= 1:  # 0 · inf at the ends, or unbounded weights
            return True
        return (pinf(x) and ninf(y)) or (ninf(x) and pinf(y))
    if op in ("copy", "negative", "abs", "sign", "square", "cube", "sqrt", "cbrt", "exp"):
        return False
    if op in ("exp2", "exp10", "expm1", "log", "log2", "log10", "log1p", "tanh", "arctan"):
        return False
    if op in ("sinh", "cosh", "arcsinh", "arccosh", "norm", "global_norm", "reciprocal"):
        return False
    return op not in ("maximum", "minimum")


def _name(a: Operand) -> str:
    return a.name if isinstance(a, Var | Hyper) else repr(a.value)


def _bounds(stmt: Stmt, intervals: list[Interval], semantics: Semantics) -> Interval:
    """The operator table's bounds, with the same-operand facts; NaN there (when the operand
    may be infinite) is recorded by `_flags`. Hero's `√|x|`, `ln |x|` are bounded through
    |x|, its guarded division `x / (y + 1e-8)` through the shifted denominator."""
    op = OPS[stmt.op]
    if semantics == "hero" and op.impl_hero is not None:
        if op.hero_abs:
            return op.bounds(OPS["abs"].bounds(intervals[0]))
        if op.name in ("div", "reciprocal"):
            num = intervals[0] if op.name == "div" else (1.0, 1.0)
            den = intervals[-1]
            return OPS["div"].bounds(num, (den[0] + EPS, den[1] + EPS))
        return FULL
    if _same_operands(stmt) and op.name == "mul":
        return OPS["square"].bounds(intervals[0])
    if _same_operands(stmt) and op.name == "sub":
        return (0.0, 0.0)
    if _same_operands(stmt) and op.name == "div":
        return (1.0, 1.0)
    try:
        lo, hi = op.bounds(*intervals)
    except (OverflowError, ValueError, ZeroDivisionError):
        return FULL
    if math.isnan(lo) or math.isnan(hi):
        return FULL
    return (lo, hi)


def _overflow(stmt: Stmt, args: list[Facts], *, certain: bool) -> Diagnostic:
    ranges = ", ".join(
        f"`{_name(a)}` in [{_fmt(f.interval[0])}, {_fmt(f.interval[1])}]"
        for a, f in zip(stmt.args, args, strict=True)
        if not isinstance(a, Const)
    )
    values = ", ".join(_fmt(f.interval[0]) for f in args)
    if certain:
        message = f"`{stmt.op}({values})` overflows to infinity"
    else:
        message = f"`{stmt.op}` may overflow to infinity ({ranges})"
    return Diagnostic("hazard", message, stmt.loc, code="W104")


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
            certain = d[0] == d[1] == 0  # `g / 0.0`, `g / (g - g)`: not a possibility
            found.append(
                Diagnostic(
                    "hazard",
                    f"division by `{_name(stmt.args[op.nonzero_arg])}`, which "
                    f"{'is always zero' if certain else 'may be zero'} "
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
