"""The operator table: the single home of every library function a program may call.

Each `Op` says how many arguments it takes and of which kind (tensor or scalar), what kind it
returns, how to compute it (one implementation written against an array namespace `xp`, so the
same code serves numpy and `jax.numpy`), how it differs under Hero semantics, how it reads in
sympy, and the facts the analyses need: the domain it is defined on, the range it maps an input
interval to, whether it is commutative, odd or positively homogeneous.

Two semantics exist (DESIGN.md §2): `math` is plain IEEE arithmetic as the paper's listings read;
`hero` is what the released Hero library computes: `x / y` is `x / (y + 1e-8)`, and `sqrt`, `log`,
`log10`, `log2` act on `|x|` (`log1p(x)` is `log(|1 + x|)`). Hero's `reciprocal` is taken to be
`1 / (x + 1e-8)`, the same guarded division.

Nothing here imports jax or sympy: numeric code receives its array module, sympy code receives
the `sympy` module (plus the project's extra sympy functions) as its first argument.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["scalar", "tensor"]
ArgKind = Literal["any", "scalar"]
Semantics = Literal["math", "hero"]
SEMANTICS: tuple[Semantics, ...] = ("math", "hero")

#: Hero's guard in divisions and the value of `get_eps()`.
EPS = 1e-8

INF = math.inf
Interval = tuple[float, float]
FULL: Interval = (-INF, INF)


@dataclass(frozen=True)
class Op:
    """One library function. See the module docstring for the meaning of each field."""

    name: str
    arity: int
    impl: Callable[..., Any]
    """`impl(xp, *args)` under `math` semantics; `xp` is numpy or jax.numpy."""
    sym: Callable[..., Any]
    """`sym(sp, *args)`: the sympy expression under `math` semantics."""
    bounds: Callable[..., Interval]
    """Maps the argument intervals to an interval that holds every result (math semantics)."""
    arg_kinds: tuple[ArgKind, ...] = ()
    result: Literal["elementwise", "scalar", "first"] = "elementwise"
    """`elementwise`: a tensor if any argument is one; `scalar`: a reduction; `first`: like arg 0."""
    impl_hero: Callable[..., Any] | None = None
    sym_hero: Callable[..., Any] | None = None
    domain: tuple[float, float, bool, bool] | None = None
    """(lo, hi, lo_open, hi_open) for the first argument under math semantics; None: everywhere."""
    domain_hero: tuple[float, float, bool, bool] | None = None
    hero_abs: bool = False
    """Under hero semantics the first argument is taken by absolute value (√|x|, ln |x|)."""
    nonzero_arg: int | None = None
    """Index of an argument that must not be zero (a divisor), under math semantics."""
    symbol: str | None = None
    """Infix symbol for `+ - * /`; the printer writes these as operators."""
    commutative: bool = False
    parity: Literal["odd", "even"] | None = None
    homogeneous: float | None = None
    """k such that f(c·x) = c^k·f(x) for every c > 0 (unary ops): 0 for sign, 1 for abs, ½ for √."""
    reduction: Literal["leaf", "global"] | None = None
    """For ops that reduce a tensor to a scalar: per parameter leaf or across the whole pytree."""
    callable: bool = True
    """False for ops written only as operators or assignments (`+`, `x = y`)."""
    doc: str = ""

    def kinds_ok(self) -> tuple[ArgKind, ...]:
        return self.arg_kinds or ("any",) * self.arity

    def result_kind(self, arg_kinds: list[Kind]) -> Kind:
        if self.result == "scalar":
            return "scalar"
        if self.result == "first":
            return arg_kinds[0]
        return "tensor" if "tensor" in arg_kinds else "scalar"

    def implementation(self, semantics: Semantics) -> Callable[..., Any]:
        if semantics == "hero" and self.impl_hero is not None:
            return self.impl_hero
        return self.impl

    def sympy_form(self, semantics: Semantics) -> Callable[..., Any]:
        if semantics == "hero" and self.sym_hero is not None:
            return self.sym_hero
        return self.sym

    def domain_for(self, semantics: Semantics) -> tuple[float, float, bool, bool] | None:
        return self.domain_hero if semantics == "hero" else self.domain


# ---------------------------------------------------------------------------------------------
# Interval helpers (for `bounds`). Intervals are closed [lo, hi] with infinite ends allowed.


def _mulf(a: float, b: float) -> float:
    """Product for interval ends where 0 · ∞ counts as 0 (the end is approached, not reached)."""
    return 0.0 if a == 0 or b == 0 else a * b


def _hull(*values: float) -> Interval:
    vals = [v for v in values if not math.isnan(v)]
    return (min(vals), max(vals)) if vals else FULL


def _clip_to(x: Interval, lo: float, hi: float) -> Interval | None:
    a, b = max(x[0], lo), min(x[1], hi)
    return (a, b) if a <= b else None


def _safe(f: Callable[[float], float], v: float) -> float:
    try:
        return f(v)
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan


def _monotone(
    f: Callable[[float], float], lo: float = -INF, hi: float = INF, *, increasing: bool = True
) -> Callable[[Interval], Interval]:
    """Bounds of a function monotone on [lo, hi]: map the clipped ends."""

    def bounds(x: Interval) -> Interval:
        c = _clip_to(x, lo, hi)
        if c is None:
            return FULL
        a, b = _safe(f, c[0]), _safe(f, c[1])
        if math.isnan(a):
            a = -INF if increasing else INF
        if math.isnan(b):
            b = INF if increasing else -INF
        return (a, b) if increasing else (b, a)

    return bounds


def _abs_bounds(x: Interval) -> Interval:
    lo, hi = x
    if lo >= 0:
        return x
    if hi <= 0:
        return (-hi, -lo)
    return (0.0, max(-lo, hi))


def _even(f_on_nonneg: Callable[[Interval], Interval]) -> Callable[[Interval], Interval]:
    return lambda x: f_on_nonneg(_abs_bounds(x))


def _add_bounds(x: Interval, y: Interval) -> Interval:
    lo, hi = x[0] + y[0], x[1] + y[1]
    return (-INF if math.isnan(lo) else lo, INF if math.isnan(hi) else hi)


def _neg_bounds(x: Interval) -> Interval:
    return (-x[1], -x[0])


def _mul_bounds(x: Interval, y: Interval) -> Interval:
    return _hull(*(_mulf(a, b) for a in x for b in y))


def _recip_bounds(x: Interval) -> Interval:
    lo, hi = x
    if lo > 0 or hi < 0:
        return (_safe(lambda v: 1 / v, hi), _safe(lambda v: 1 / v, lo))
    if lo == 0 and hi > 0:
        return (_safe(lambda v: 1 / v, hi), INF)
    if hi == 0 and lo < 0:
        return (-INF, _safe(lambda v: 1 / v, lo))
    return FULL


def _div_bounds(x: Interval, y: Interval) -> Interval:
    return _mul_bounds(x, _recip_bounds(y))


def _sign_bounds(x: Interval) -> Interval:
    s = lambda v: (v > 0) - (v < 0)  # noqa: E731
    return (float(s(x[0])), float(s(x[1])))


def _interp_bounds(x: Interval, y: Interval, a: Interval) -> Interval:
    if a[0] >= 0 and a[1] <= 1:
        return _hull(x[0], x[1], y[0], y[1])
    one_minus_a = (1 - a[1], 1 - a[0])
    return _add_bounds(_mul_bounds(one_minus_a, x), _mul_bounds(a, y))


def _clip_bounds(x: Interval, s: Interval) -> Interval:
    # scaling by a factor in (0, 1] keeps the sign and never grows |x|
    return _hull(min(x[0], 0.0), max(x[1], 0.0)) if s[0] >= 0 else FULL


def _pow_end(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        return INF
    except (ValueError, ZeroDivisionError):
        return math.nan


def _power_bounds(x: Interval, y: Interval) -> Interval:
    # For x > 0 (or x >= 0 with y > 0), x^y is monotone in x for each y and in y for each x,
    # so its extremes over the box are at the corners: `power(0.9, step)` is in (0, 0.9], which
    # keeps a bias correction `1 - 0.9^step` away from zero.
    if x[0] > 0 or (x[0] == 0 and y[0] > 0):
        corners = [_pow_end(a, b) for a in x for b in y]
        if not any(math.isnan(c) for c in corners):
            return (min(corners), max(corners))
    if x[0] >= 0:
        return (0.0, INF)
    return FULL


def _const(v: float) -> Callable[[], Interval]:
    return lambda: (v, v)


_NONNEG = (0.0, INF)
_UNIT = (-1.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Numeric implementations that need more than one numpy call.


# Reductions act on the last axis and keep it: the interpreter stacks independent trajectories
# on the leading axes, so a row of a (batch, size) array is one parameter tensor. Scalars are
# arrays of shape (..., 1) and broadcast against tensors.


def _sum(xp: Any, x: Any) -> Any:
    return xp.sum(x, axis=-1, keepdims=True)


def _norm(xp: Any, x: Any) -> Any:
    return xp.sqrt(_sum(xp, xp.square(x)))


def _clip(xp: Any, x: Any, s: Any) -> Any:
    n = _norm(xp, x)
    return xp.where(n <= s, x, x * (s / n))


def _interp(xp: Any, x: Any, y: Any, a: Any) -> Any:
    return (1 - a) * x + a * y


def _cosine_sim(xp: Any, x: Any, y: Any) -> Any:
    # a scalar against a tensor stands for the constant tensor (as in `x * y`), so its norm is
    # taken over the tensor's shape: without this, `cosine_sim(c, g)` was Σg / ‖g‖, not a cosine
    x, y = xp.broadcast_arrays(x, y)
    return _sum(xp, x * y) / (_norm(xp, x) * _norm(xp, y))


# ---------------------------------------------------------------------------------------------
# The table.

_D_NONNEG = (0.0, INF, False, True)
_D_POS = (0.0, INF, True, True)
_D_UNIT = (-1.0, 1.0, False, False)

_OPS: list[Op] = [
    # arithmetic
    Op(
        "add",
        2,
        lambda xp, x, y: x + y,
        lambda sp, x, y: x + y,
        _add_bounds,
        symbol="+",
        callable=False,
        commutative=True,
        doc="x + y",
    ),
    Op(
        "sub",
        2,
        lambda xp, x, y: x - y,
        lambda sp, x, y: x - y,
        lambda x, y: _add_bounds(x, _neg_bounds(y)),
        symbol="-",
        callable=False,
        doc="x - y",
    ),
    Op(
        "mul",
        2,
        lambda xp, x, y: x * y,
        lambda sp, x, y: x * y,
        _mul_bounds,
        symbol="*",
        callable=False,
        commutative=True,
        doc="x * y",
    ),
    Op(
        "div",
        2,
        lambda xp, x, y: x / y,
        lambda sp, x, y: x / y,
        _div_bounds,
        symbol="/",
        callable=False,
        impl_hero=lambda xp, x, y: x / (y + EPS),
        sym_hero=lambda sp, x, y: x / (y + EPS),
        nonzero_arg=1,
        doc="x / y  (hero: x / (y + 1e-8))",
    ),
    Op(
        "negative",
        1,
        lambda xp, x: -x,
        lambda sp, x: -x,
        _neg_bounds,
        parity="odd",
        homogeneous=1,
        doc="-x",
    ),
    Op(
        "power",
        2,
        lambda xp, x, y: xp.power(x, y),
        lambda sp, x, y: x**y,
        _power_bounds,
        doc="x ** y",
    ),
    Op(
        "maximum",
        2,
        lambda xp, x, y: xp.maximum(x, y),
        lambda sp, x, y: sp.Max(x, y),
        lambda x, y: (max(x[0], y[0]), max(x[1], y[1])),
        commutative=True,
        doc="elementwise maximum",
    ),
    Op(
        "minimum",
        2,
        lambda xp, x, y: xp.minimum(x, y),
        lambda sp, x, y: sp.Min(x, y),
        lambda x, y: (min(x[0], y[0]), min(x[1], y[1])),
        commutative=True,
        doc="elementwise minimum",
    ),
    # unary
    Op(
        "abs",
        1,
        lambda xp, x: xp.abs(x),
        lambda sp, x: sp.Abs(x),
        _abs_bounds,
        parity="even",
        homogeneous=1,
        doc="|x|",
    ),
    Op(
        "sign",
        1,
        lambda xp, x: xp.sign(x),
        lambda sp, x: sp.sign(x),
        _sign_bounds,
        parity="odd",
        homogeneous=0,
        doc="sign(x) in {-1, 0, 1}",
    ),
    Op(
        "square",
        1,
        lambda xp, x: xp.square(x),
        lambda sp, x: x**2,
        _even(_monotone(lambda v: v * v, 0.0)),
        parity="even",
        homogeneous=2,
        doc="x²",
    ),
    Op(
        "cube",
        1,
        lambda xp, x: x * x * x,
        lambda sp, x: x**3,
        _monotone(lambda v: v**3),
        parity="odd",
        homogeneous=3,
        doc="x³",
    ),
    Op(
        "sqrt",
        1,
        lambda xp, x: xp.sqrt(x),
        lambda sp, x: sp.sqrt(x),
        _monotone(math.sqrt, 0.0),
        domain=_D_NONNEG,
        homogeneous=0.5,
        hero_abs=True,
        impl_hero=lambda xp, x: xp.sqrt(xp.abs(x)),
        sym_hero=lambda sp, x: sp.sqrt(sp.Abs(x)),
        doc="√x  (hero: √|x|)",
    ),
    Op(
        "cbrt",
        1,
        lambda xp, x: xp.cbrt(x),
        lambda sp, x: sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3),
        _monotone(lambda v: math.copysign(abs(v) ** (1 / 3), v)),
        parity="odd",
        doc="real cube root",
    ),
    Op(
        "reciprocal",
        1,
        lambda xp, x: 1 / x,
        lambda sp, x: 1 / x,
        _recip_bounds,
        nonzero_arg=0,
        parity="odd",
        homogeneous=-1,
        impl_hero=lambda xp, x: 1 / (x + EPS),
        sym_hero=lambda sp, x: 1 / (x + EPS),
        doc="1 / x  (hero: 1 / (x + 1e-8))",
    ),
    Op("exp", 1, lambda xp, x: xp.exp(x), lambda sp, x: sp.exp(x), _monotone(math.exp), doc="eˣ"),
    Op(
        "exp2",
        1,
        lambda xp, x: xp.exp2(x),
        lambda sp, x: 2**x,
        _monotone(lambda v: 2.0**v),
        doc="2ˣ",
    ),
    Op(
        "exp10",
        1,
        lambda xp, x: xp.power(10.0, x),
        lambda sp, x: 10**x,
        _monotone(lambda v: 10.0**v),
        doc="10ˣ",
    ),
    Op(
        "expm1",
        1,
        lambda xp, x: xp.expm1(x),
        lambda sp, x: sp.exp(x) - 1,
        _monotone(math.expm1),
        parity=None,
        doc="eˣ - 1",
    ),
    Op(
        "log",
        1,
        lambda xp, x: xp.log(x),
        lambda sp, x: sp.log(x),
        _monotone(math.log, 0.0),
        domain=_D_POS,
        domain_hero=(0.0, INF, True, True),
        hero_abs=True,
        impl_hero=lambda xp, x: xp.log(xp.abs(x)),
        sym_hero=lambda sp, x: sp.log(sp.Abs(x)),
        doc="ln x  (hero: ln |x|)",
    ),
    Op(
        "log2",
        1,
        lambda xp, x: xp.log2(x),
        lambda sp, x: sp.log(x, 2),
        _monotone(math.log2, 0.0),
        domain=_D_POS,
        domain_hero=(0.0, INF, True, True),
        hero_abs=True,
        impl_hero=lambda xp, x: xp.log2(xp.abs(x)),
        sym_hero=lambda sp, x: sp.log(sp.Abs(x), 2),
        doc="log₂ x  (hero: log₂ |x|)",
    ),
    Op(
        "log10",
        1,
        lambda xp, x: xp.log10(x),
        lambda sp, x: sp.log(x, 10),
        _monotone(math.log10, 0.0),
        domain=_D_POS,
        domain_hero=(0.0, INF, True, True),
        hero_abs=True,
        impl_hero=lambda xp, x: xp.log10(xp.abs(x)),
        sym_hero=lambda sp, x: sp.log(sp.Abs(x), 10),
        doc="log₁₀ x  (hero: log₁₀ |x|)",
    ),
    Op(
        "log1p",
        1,
        lambda xp, x: xp.log1p(x),
        lambda sp, x: sp.log(1 + x),
        _monotone(math.log1p, -1.0),
        domain=(-1.0, INF, True, True),
        domain_hero=None,
        impl_hero=lambda xp, x: xp.log(xp.abs(1 + x)),
        sym_hero=lambda sp, x: sp.log(sp.Abs(1 + x)),
        doc="ln(1 + x)  (hero: ln |1 + x|)",
    ),
    Op(
        "sin",
        1,
        lambda xp, x: xp.sin(x),
        lambda sp, x: sp.sin(x),
        lambda x: _UNIT,
        parity="odd",
        doc="sin x",
    ),
    Op(
        "cos",
        1,
        lambda xp, x: xp.cos(x),
        lambda sp, x: sp.cos(x),
        lambda x: _UNIT,
        parity="even",
        doc="cos x",
    ),
    Op(
        "tan",
        1,
        lambda xp, x: xp.tan(x),
        lambda sp, x: sp.tan(x),
        lambda x: FULL,
        parity="odd",
        doc="tan x",
    ),
    Op(
        "arcsin",
        1,
        lambda xp, x: xp.arcsin(x),
        lambda sp, x: sp.asin(x),
        _monotone(math.asin, -1.0, 1.0),
        domain=_D_UNIT,
        domain_hero=_D_UNIT,
        parity="odd",
        doc="arcsin x",
    ),
    Op(
        "arccos",
        1,
        lambda xp, x: xp.arccos(x),
        lambda sp, x: sp.acos(x),
        _monotone(math.acos, -1.0, 1.0, increasing=False),
        domain=_D_UNIT,
        domain_hero=_D_UNIT,
        doc="arccos x",
    ),
    Op(
        "arctan",
        1,
        lambda xp, x: xp.arctan(x),
        lambda sp, x: sp.atan(x),
        _monotone(math.atan),
        parity="odd",
        doc="arctan x",
    ),
    Op(
        "sinh",
        1,
        lambda xp, x: xp.sinh(x),
        lambda sp, x: sp.sinh(x),
        _monotone(math.sinh),
        parity="odd",
        doc="sinh x",
    ),
    Op(
        "cosh",
        1,
        lambda xp, x: xp.cosh(x),
        lambda sp, x: sp.cosh(x),
        _even(_monotone(math.cosh, 0.0)),
        parity="even",
        doc="cosh x",
    ),
    Op(
        "tanh",
        1,
        lambda xp, x: xp.tanh(x),
        lambda sp, x: sp.tanh(x),
        _monotone(math.tanh),
        parity="odd",
        doc="tanh x",
    ),
    Op(
        "arcsinh",
        1,
        lambda xp, x: xp.arcsinh(x),
        lambda sp, x: sp.asinh(x),
        _monotone(math.asinh),
        parity="odd",
        doc="arcsinh x",
    ),
    Op(
        "arccosh",
        1,
        lambda xp, x: xp.arccosh(x),
        lambda sp, x: sp.acosh(x),
        _monotone(math.acosh, 1.0),
        domain=(1.0, INF, False, True),
        domain_hero=(1.0, INF, False, True),
        doc="arccosh x",
    ),
    Op(
        "arctanh",
        1,
        lambda xp, x: xp.arctanh(x),
        lambda sp, x: sp.atanh(x),
        _monotone(math.atanh, -1.0, 1.0),
        domain=(-1.0, 1.0, True, True),
        domain_hero=(-1.0, 1.0, True, True),
        parity="odd",
        doc="arctanh x",
    ),
    # linear algebra
    Op(
        "norm",
        1,
        _norm,
        lambda sp, x: sp.Function("norm")(x),
        lambda x: _NONNEG,
        result="scalar",
        reduction="leaf",
        homogeneous=1,
        doc="‖x‖₂ of one parameter",
    ),
    Op(
        "global_norm",
        1,
        _norm,
        lambda sp, x: sp.Function("global_norm")(x),
        lambda x: _NONNEG,
        result="scalar",
        reduction="global",
        homogeneous=1,
        doc="‖x‖₂ over all parameters",
    ),
    Op(
        "dot",
        2,
        lambda xp, x, y: _sum(xp, x * y),
        lambda sp, x, y: sp.Function("dot")(x, y),
        lambda x, y: FULL,
        result="scalar",
        reduction="global",
        commutative=True,
        doc="Σ x·y over all parameters",
    ),
    Op(
        "cosine_sim",
        2,
        _cosine_sim,
        lambda sp, x, y: sp.Function("cosine_sim")(x, y),
        lambda x, y: _UNIT,
        result="scalar",
        reduction="global",
        commutative=True,
        doc="⟨x, y⟩ / (‖x‖‖y‖) over all parameters",
    ),
    Op(
        "clip",
        2,
        _clip,
        lambda sp, x, s: sp.Function("clip")(x, s),
        _clip_bounds,
        arg_kinds=("any", "scalar"),
        result="first",
        reduction="global",
        doc="clip by global norm: x·min(1, s/‖x‖)",
    ),
    Op(
        "interp",
        3,
        _interp,
        lambda sp, x, y, a: (1 - a) * x + a * y,
        _interp_bounds,
        doc="(1 - a)·x + a·y",
    ),
    # plain assignment `x = y` (not callable by name)
    Op(
        "copy",
        1,
        lambda xp, x: x,
        lambda sp, x: x,
        lambda x: x,
        homogeneous=1,
        callable=False,
        doc="x (a plain assignment)",
    ),
    # constants
    Op("get_pi", 0, lambda xp: math.pi, lambda sp: sp.pi, _const(math.pi), doc="π"),
    Op("get_e", 0, lambda xp: math.e, lambda sp: sp.E, _const(math.e), doc="e"),
    Op("get_eps", 0, lambda xp: EPS, lambda sp: sp.Float(EPS), _const(EPS), doc="1e-8"),
]

OPS: dict[str, Op] = {op.name: op for op in _OPS}

#: Names found in real search outputs that mean a table entry.
ALIASES: dict[str, str] = {
    "interpolate": "interp",
    "clip_by_global_norm": "clip",
    "min": "minimum",
    "max": "maximum",
    "neg": "negative",
}

#: Infix symbol -> op name, for the parser and printer.
BINARY_SYMBOLS: dict[str, str] = {op.symbol: op.name for op in _OPS if op.symbol}

#: Names a program may call (what `check` accepts), without the infix-only ops.
CALLABLE_NAMES: tuple[str, ...] = tuple(
    sorted({op.name for op in _OPS if op.callable} | set(ALIASES))
)


def lookup(name: str) -> Op | None:
    """The op called `name` in a program, resolving aliases; None if there is none."""
    name = ALIASES.get(name, name)
    op = OPS.get(name)
    if op is None or not op.callable:
        return None
    return op


def suggest(name: str) -> str | None:
    """The nearest callable name, for a "did you mean" hint."""
    close = difflib.get_close_matches(name, CALLABLE_NAMES, n=1, cutoff=0.6)
    return close[0] if close else None
