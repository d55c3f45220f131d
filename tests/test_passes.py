"""Each rewrite rule: what it rewrites, what it leaves alone, and that it is sound."""

from __future__ import annotations

import pytest

from lionsimplify.analysis.facts import positive
from lionsimplify.analysis.symbolic import Term, dataflow, expand_interp, to_sympy
from lionsimplify.lang.ir import Const, Var
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes import ABLATION_PASSES, EXACT_PASSES, RENAME, Context
from lionsimplify.passes.ablations import NEAR_IDENTITY, PASS_THROUGH
from lionsimplify.passes.rules import RULES, apply_rule
from lionsimplify.passes.verify import verify

MATH = Context("math", {})
HERO = Context("hero", {})
RULE = {r.name: r for r in RULES}


def prog(body: str, sig: str = "w, g, m, lr") -> object:
    lines = "\n".join(f"  {line.strip()}" for line in body.strip().splitlines())
    return parse_text(f"def train({sig}):\n{lines}\n", "t.txt")


def rewrite(name: str, program, ctx=MATH):
    result = apply_rule(RULE[name], program, ctx)
    return None if result is None else result


def ops(program) -> list[str]:
    return [s.op for s in program.body]


def test_every_rule_says_why_it_is_sound():
    for p in [*EXACT_PASSES, *ABLATION_PASSES, RENAME]:
        assert len(p.why) > 30, p.name
    assert len({p.name for p in EXACT_PASSES + ABLATION_PASSES}) == len(
        EXACT_PASSES + ABLATION_PASSES
    )


def test_fold_constants_including_get_pi_and_calls_on_literals():
    p = prog("a = get_pi()\nb = sqrt(4.0)\nc = a * b\nu = g * c\nreturn u, m")
    r = rewrite("fold-constants", p)
    assert ops(r.program) == ["mul"]
    assert r.program.body[0].args[1] == Const(2 * 3.141592653589793)


def test_fold_constants_uses_the_semantics():
    p = prog("a = 1.0 / 2.0\nu = g * a\nreturn u, m")
    assert rewrite("fold-constants", p).program.body[0].args[1] == Const(0.5)
    hero = rewrite("fold-constants", p, HERO).program.body[0].args[1]
    assert hero == Const(1.0 / (2.0 + 1e-8))


def test_sqrt_of_square_and_sign_from_ratio():
    p = prog("s = m * m\nr = sqrt(s)\nu = m / r\nreturn u, m")
    r1 = rewrite("sqrt-of-square", p)
    assert ops(r1.program) == ["abs", "div"]
    r2 = rewrite("sign-from-ratio", r1.program)
    assert ops(r2.program) == ["sign"]
    assert r2.side_conditions == ("m != 0",)


def test_sign_from_ratio_is_not_offered_under_hero():
    p = prog("a = abs(m)\nu = m / a\nreturn u, m")
    assert rewrite("sign-from-ratio", p, HERO) is None
    assert RULE["sign-from-ratio"].caveat


def test_sign_of_sign_and_interp_endpoints():
    p = prog("a = sign(g)\nb = sign(a)\nc = interp(b, m, 0.0)\nu = interp(g, c, 1.0)\nreturn u, m")
    assert ops(rewrite("sign-of-sign", p).program) == ["sign", "interp", "interp"]
    assert ops(rewrite("interp-endpoints", p).program) == ["sign", "sign"]


def test_positive_factors_leave_sign_lr_literals_and_bias_correction():
    p = prog(
        "bc = 1 - power(0.9, step)\nx = m / bc\ny = x * lr\nz = y * 3.0\nu = sign(z)\nreturn u, m",
        sig="w, g, m, lr, *, step",
    )
    r = rewrite("positive-factors-in-sign", p)
    assert print_program(r.program).splitlines()[1] == "  u = sign(m)"


def test_negative_or_unknown_factors_stay_inside_sign():
    p = prog("y = m * g\nz = y * -2.0\nu = sign(z)\nreturn u, m")
    assert rewrite("positive-factors-in-sign", p) is None


def test_positivity_facts():
    p = prog("u = g\nreturn u, m", sig="w, g, m, lr, *, step")
    bc = Term("sub", (Const(1.0), Term("power", (Const(0.9), Var("step")))))
    assert positive(bc, p, MATH) is not None
    assert (
        positive(Term("sub", (Const(1.0), Term("power", (Const(1.1), Var("step"))))), p, MATH)
        is None
    )
    assert positive(Term("add", (Term("sqrt", (Var("m"),)), Const(1e-8))), p, MATH) is not None
    assert positive(Var("m"), p, MATH) is None
    assert positive(Term("mul", (Var("lr"), Const(0.5))), p, MATH) is not None
    # exp(x) underflows to 0.0 in float64 below x ≈ -745: positive only with bounded x
    assert positive(Term("exp", (Term("add", (Var("g"), Var("g"))),)), p, MATH) is None
    assert positive(Term("exp", (Term("tanh", (Var("g"),)),)), p, MATH) is not None


def test_fold_interp_chain_uses_the_exact_product():
    p = prog("c = interp(g, m, 0.899)\nm = interp(g, c, 1.109)\nu = sign(c)\nreturn u, m")
    r = rewrite("fold-interp-chain", p)
    new_m = dataflow(r.program).outputs[1]
    assert new_m == Term("interp", (Var("g"), Var("m"), Const(0.899 * 1.109)))
    # the update still reads the first interpolation
    assert dataflow(r.program).outputs[0] == Term(
        "sign", (Term("interp", (Var("g"), Var("m"), Const(0.899))),)
    )


def test_interp_increment():
    p = prog("x = square(g)\ny = m + x\nm = interp(m, y, 0.1)\nu = g / m\nreturn u, m")
    r = rewrite("interp-increment", p)
    assert dataflow(r.program).outputs[1] == Term(
        "add", (Var("m"), Term("mul", (Term("square", (Var("g"),)), Const(0.1))))
    )


def test_factor_common_scalar_reveals_decoupled_weight_decay():
    p = prog("s = lr * 0.01\na = sign(m) * s\nb = s * 0.5\nb = b * w\nu = a + b\nreturn u, m")
    r = rewrite("factor-common-scalar", p)
    assert dataflow(r.program).outputs[0] == Term(
        "mul",
        (
            Term("add", (Term("sign", (Var("m"),)), Term("mul", (Var("w"), Const(0.5))))),
            Term("mul", (Var("lr"), Const(0.01))),
        ),
    )


@pytest.mark.parametrize(
    "name, body",
    [
        ("fold-interp-chain", "c = interp(g, m, a)\nm = interp(g, c, b)\nu = m\nreturn u, m"),
        ("interp-increment", "y = m + g\nm = interp(m, y, a)\nu = m\nreturn u, m"),
        ("factor-common-scalar", "x = g * lr\ny = w * lr\nu = x + y\nreturn u, m"),
        ("neutral-elements", "x = g * 1.0\ny = x + 0.0\nu = y - 0.0\nreturn u, m"),
    ],
)
def test_algebraic_rules_are_identities_in_sympy(name, body):
    """A second, symbolic proof beside differential execution, for the purely algebraic rules."""
    p = prog(body)
    r = rewrite(name, p)
    assert r is not None
    for before, after in zip(dataflow(p).outputs, dataflow(r.program).outputs, strict=True):
        diff = expand_interp(to_sympy(before, p)) - expand_interp(to_sympy(after, p))
        assert diff.expand() == 0


@pytest.mark.parametrize("name", [r.name for r in RULES])
def test_rules_are_verified_on_a_program_they_rewrite(name):
    p = prog(
        "k = get_pi()\nk = k * 0.1\ns = m * m\ns = sqrt(s)\nd = m / s\nd = sign(d)\n"
        "d = sign(d)\nc = interp(g, m, 0.9)\nc = interp(g, c, 1.1)\ne = abs(g)\ne = g / e\ny = c + e\n"
        "n = interp(c, y, 0.5)\nn = interp(n, g, 0.0)\nh = power(g, 2)\nh = power(h, 0.5)\n"
        "h = h * 0.25\nb = m * 0.75\nh = h + b\nn = n + h\nq = d * lr\nq = q * k\nr = w * lr\n"
        "r = r * k\nu = q + r\nu = u * 1.0\nz = sign(u)\nz = z * lr\nreturn z, n"
    )
    r = rewrite(name, p)
    assert r is not None, f"{name} found nothing to do"
    assert verify(p, r.program, RULE[name].label).ok


def test_near_identities_come_from_the_operator_table():
    assert {"arcsin", "tanh", "sin", "arctan"} <= set(NEAR_IDENTITY)
    assert not {"cos", "exp", "sign", "abs", "square"} & set(NEAR_IDENTITY)
    assert PASS_THROUGH == ("clip",)
