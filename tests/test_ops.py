"""The operator table: every library function is present and computes its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lionsimplify.lang.ops import ALIASES, EPS, OPS, lookup, suggest

# DESIGN.md §2: the paper's appendix list plus `negative`.
LIBRARY = [
    "abs",
    "cos",
    "sin",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "exp",
    "log",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "sign",
    "exp2",
    "exp10",
    "expm1",
    "log10",
    "log2",
    "log1p",
    "square",
    "sqrt",
    "cube",
    "cbrt",
    "reciprocal",
    "power",
    "maximum",
    "minimum",
    "norm",
    "global_norm",
    "dot",
    "cosine_sim",
    "clip",
    "interp",
    "get_pi",
    "get_e",
    "get_eps",
    "negative",
]

rng = np.random.default_rng(0)
X = rng.uniform(0.1, 0.9, size=(3, 5))  # inside every domain
Y = rng.uniform(-2, 2, size=(3, 5))


@pytest.mark.parametrize("name", LIBRARY)
def test_every_library_function_is_callable(name: str) -> None:
    assert lookup(name) is not None and lookup(name).name == name


def test_aliases_resolve() -> None:
    assert lookup("interpolate").name == "interp"
    assert lookup("clip_by_global_norm").name == "clip"
    assert lookup("min").name == "minimum" and lookup("max").name == "maximum"
    assert set(ALIASES) <= {"interpolate", "clip_by_global_norm", "min", "max", "neg"}


def test_infix_ops_are_not_callable_by_name() -> None:
    assert lookup("add") is None and lookup("copy") is None


UNARY = {
    "abs": np.abs,
    "cos": np.cos,
    "sin": np.sin,
    "tan": np.tan,
    "arcsin": np.arcsin,
    "arccos": np.arccos,
    "arctan": np.arctan,
    "exp": np.exp,
    "log": np.log,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "arcsinh": np.arcsinh,
    "arctanh": np.arctanh,
    "sign": np.sign,
    "exp2": lambda x: 2.0**x,
    "exp10": lambda x: 10.0**x,
    "expm1": lambda x: np.exp(x) - 1,
    "log10": np.log10,
    "log2": np.log2,
    "log1p": lambda x: np.log(1 + x),
    "square": lambda x: x * x,
    "sqrt": np.sqrt,
    "cube": lambda x: x**3,
    "cbrt": lambda x: np.sign(x) * np.abs(x) ** (1 / 3),
    "reciprocal": lambda x: 1 / x,
    "negative": lambda x: -x,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_definition(name: str) -> None:
    np.testing.assert_allclose(OPS[name].impl(np, X), UNARY[name](X), rtol=1e-12)


def test_arccosh_matches_definition() -> None:
    np.testing.assert_allclose(OPS["arccosh"].impl(np, 1 + X), np.arccosh(1 + X))


def test_binary_and_linear_algebra() -> None:
    np.testing.assert_allclose(OPS["power"].impl(np, X, Y), X**Y)
    np.testing.assert_allclose(OPS["maximum"].impl(np, X, Y), np.maximum(X, Y))
    np.testing.assert_allclose(OPS["minimum"].impl(np, X, Y), np.minimum(X, Y))
    norms = np.sqrt((Y**2).sum(-1, keepdims=True))
    np.testing.assert_allclose(OPS["norm"].impl(np, Y), norms)
    np.testing.assert_allclose(OPS["global_norm"].impl(np, Y), norms)
    np.testing.assert_allclose(OPS["dot"].impl(np, X, Y), (X * Y).sum(-1, keepdims=True))
    cos = (X * Y).sum(-1, keepdims=True) / (np.linalg.norm(X, axis=-1, keepdims=True) * norms)
    np.testing.assert_allclose(OPS["cosine_sim"].impl(np, X, Y), cos)


def test_interp_definition() -> None:
    # interp(x, y, a) = (1 - a) x + a y
    np.testing.assert_allclose(OPS["interp"].impl(np, X, Y, 0.9), 0.1 * X + 0.9 * Y)


def test_clip_is_clip_by_global_norm() -> None:
    big = Y * 100
    out = OPS["clip"].impl(np, big, np.full((3, 1), 2.0))
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 2.0)
    np.testing.assert_allclose(
        out / np.linalg.norm(out, axis=-1, keepdims=True),
        big / np.linalg.norm(big, axis=-1, keepdims=True),
    )
    small = Y * 1e-3
    np.testing.assert_array_equal(OPS["clip"].impl(np, small, np.full((3, 1), 2.0)), small)
    assert OPS["clip"].arg_kinds[1] == "scalar"


def test_constants() -> None:
    assert OPS["get_pi"].impl(np) == math.pi
    assert OPS["get_e"].impl(np) == math.e
    assert OPS["get_eps"].impl(np) == 1e-8


def test_hero_semantics_differ_where_hero_does() -> None:
    neg = -X
    hero = lambda name, *a: OPS[name].implementation("hero")(np, *a)  # noqa: E731
    np.testing.assert_allclose(hero("div", X, Y), X / (Y + EPS))
    np.testing.assert_allclose(hero("sqrt", neg), np.sqrt(X))
    np.testing.assert_allclose(hero("log", neg), np.log(X))
    np.testing.assert_allclose(hero("log2", neg), np.log2(X))
    np.testing.assert_allclose(hero("log10", neg), np.log10(X))
    np.testing.assert_allclose(hero("log1p", -2 - X), np.log(np.abs(-1 - X)))
    with np.errstate(invalid="ignore"):
        assert np.isnan(OPS["sqrt"].implementation("math")(np, neg)).all()


def test_jax_numpy_implementations_agree() -> None:
    jnp = pytest.importorskip("jax.numpy")
    for name in UNARY:
        np.testing.assert_allclose(
            np.asarray(OPS[name].impl(jnp, jnp.asarray(X))), UNARY[name](X), rtol=2e-6
        )


@pytest.mark.parametrize(
    ("name", "x", "inside"),
    [
        ("abs", (-2.0, 1.0), (0.0, 2.0)),
        ("square", (-3.0, 2.0), (0.0, 9.0)),
        ("exp", (0.0, 1.0), (1.0, math.e)),
        ("tanh", (-math.inf, math.inf), (-1.0, 1.0)),
        ("sign", (0.5, 3.0), (1.0, 1.0)),
        ("cosh", (-1.0, 2.0), (1.0, math.cosh(2.0))),
    ],
)
def test_bounds_hold(name: str, x: tuple[float, float], inside: tuple[float, float]) -> None:
    lo, hi = OPS[name].bounds(x)
    assert lo == pytest.approx(inside[0]) and hi == pytest.approx(inside[1])


def test_suggest_nearest_name() -> None:
    assert suggest("sgn") in {"sign", "sin"}
    assert suggest("interpolat") == "interpolate"
    assert suggest("zzzzzz") is None
