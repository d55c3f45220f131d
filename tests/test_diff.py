"""`diff_programs`: the alignment, the constants table and the verdict (issue 6 acceptance)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lionsimplify.compare.diff import diff_programs
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.lang.printer import format_stmt

PROGRAMS = Path(__file__).resolve().parent.parent / "examples" / "programs"
VARIANTS = PROGRAMS / "variants"
PARAMS = {"β1": 0.9, "β2": 0.99, "λ": 0.01}


def diff(a: str | Path, b: str | Path, **kw: object):  # noqa: ANN201
    def load(x: str | Path):  # noqa: ANN202
        return parse_file(x) if isinstance(x, Path) else parse_text(x, "<b>")

    return diff_programs(load(a), load(b), params=PARAMS, **kw)  # type: ignore[arg-type]


def test_program8_vs_program4_only_the_rounded_constants_change() -> None:
    d = diff(PROGRAMS / "program8.txt", PROGRAMS / "program4.txt")
    assert d.verdict == "different"
    assert d.exit_code == 1
    assert not d.structural
    assert {r.kind for r in d.rows} == {"same", "changed"}
    pairs = {(c.a_value, c.b_value) for c in d.constants}
    # the learning-rate factor, the decay and the momentum constant, raw vs rounded (symbolic
    # passes may fold the two interpolations of `v` into one; then that constant is a product)
    assert {
        (0.8999999761581421, 0.899),
        (0.4601978361606598, 0.4602),
        (0.0002171761734643951, 0.0002),
    } <= pairs
    assert len(pairs) == 4
    assert all(abs(c.rel_change) < 0.1 for c in d.constants)  # type: ignore[arg-type]
    lr_factor = next(c for c in d.constants if c.b_value == 0.0002)
    assert lr_factor.rel_change == pytest.approx(-0.0791, abs=1e-3)
    # small measured deviation: the typical step is off by the learning-rate rounding (~8 %)
    assert d.evidence.median_rel_dev < 0.1
    assert d.evidence.cosine_mean > 0.9
    assert d.evidence.first is not None and d.evidence.first.first_step == 1
    # both write `m = cosh(update)`, a state that never reaches the update
    assert [n for n, _ in d.unused_state["a"]] == ["m"]
    assert [n for n, _ in d.unused_state["b"]] == ["m"]


def test_surface_rewrite_is_identical_or_equivalent() -> None:
    """Renamed, reordered, commutative arguments swapped, interp flipped, dead code added."""
    d = diff(PROGRAMS / "program3_adamw.txt", VARIANTS / "adamw_rewritten.txt")
    assert d.verdict in ("identical", "equivalent")
    assert d.exit_code == 0
    assert all(r.kind == "same" for r in d.rows)
    assert d.unified() == ""


def test_lion_rewritten_with_hyperparameters_is_identical() -> None:
    lion = PROGRAMS / "program1_lion.txt"
    text = (
        "def train(p, grad, mu, rate):\n"
        "  dead = cosh(grad)\n"
        "  mu_next = interp(grad, mu, β2)\n"
        "  decay = λ * p\n"
        "  c = interp(grad, mu, β1)\n"
        "  s = sign(c)\n"
        "  total = decay + s\n"
        "  total = rate * total\n"
        "  return total, mu_next\n"
    )
    assert diff(lion, text).verdict == "identical"


def test_adamw_with_sign_appended_is_different() -> None:
    d = diff(PROGRAMS / "program3_adamw.txt", VARIANTS / "adamw_sign.txt")
    assert d.verdict == "different"
    assert d.structural
    only_b = [format_stmt(r.b) for r in d.rows if r.kind == "only-b"]  # type: ignore[arg-type]
    assert len(only_b) == 1 and only_b[0].startswith("update = sign(")
    assert any(r.kind == "same" for r in d.rows)  # the moments are aligned as they are


def test_positive_bias_correction_inside_sign_is_equivalent() -> None:
    d = diff(PROGRAMS / "program1_lion.txt", VARIANTS / "lion_bias_corrected.txt")
    assert d.verdict == "equivalent"
    assert d.exit_code == 0
    assert d.evidence.behavioural_match  # structural too once a pass drops the factor
    assert "fingerprint matched" in d.summary()


def test_adam_bias_correction_is_direction_equivalent() -> None:
    d = diff(VARIANTS / "adam.txt", VARIANTS / "adam_bias_corrected.txt")
    assert d.verdict == "direction-equivalent"
    assert d.exit_code == 1
    lo, hi = d.evidence.factor_range  # type: ignore[misc]
    # update_B / update_A = sqrt(1 - β2^t) / (1 - β1^t), the same for every element of step t
    factors = [(1 - 0.99**t) ** 0.5 / (1 - 0.9**t) for t in range(1, 51)]
    assert (lo, hi) == (pytest.approx(min(factors)), pytest.approx(max(factors)))


def test_adamw_bias_correction_with_decay_after_ratio_is_different() -> None:
    d = diff(
        VARIANTS / "adamw_decay_after_ratio.txt",
        VARIANTS / "adamw_decay_after_ratio_bias_corrected.txt",
    )
    assert d.verdict == "different"
    assert d.evidence.factor_range is None
    assert d.evidence.cosine_min < 1 - 1e-6


def test_first_difference_names_the_state_that_parts_first() -> None:
    """Changing β2 changes the momentum at step 1; the update only sees it at step 2."""
    text = (PROGRAMS / "program1_lion.txt").read_text().replace("β2", "0.98")
    d = diff(PROGRAMS / "program1_lion.txt", text)
    assert d.verdict == "different"
    first = d.evidence.first
    assert first is not None and (first.output, first.first_step) == ("m", 1)
    update = d.evidence.outputs[0]
    assert update.output == "update" and update.first_step == 2
    (change,) = d.constants
    assert (change.a, change.b, change.a_value, change.b_value) == ("β2", "0.98", 0.99, 0.98)


def test_state_that_never_reaches_the_update() -> None:
    program4 = (PROGRAMS / "program4.txt").read_text()
    variant = program4.replace("m = cosh(update)", "m = sinh(update)")
    reduced = diff(PROGRAMS / "program4.txt", variant)
    assert reduced.verdict == "identical"
    assert reduced.unused_state["b"][0][0] == "m"
    raw = diff(PROGRAMS / "program4.txt", variant, raw=True)
    assert raw.verdict == "equivalent"  # the update agrees; the canonical programs do not
    dead = [o for o in raw.evidence.outputs if not o.reaches_update]
    assert len(dead) == 1 and dead[0].first_step == 1
    only = sorted(format_stmt(r.a or r.b) for r in raw.rows if r.kind.startswith("only"))  # type: ignore[arg-type]
    assert [s.split(" = ")[1].split("(")[0] for s in only] == ["cosh", "sinh"]


def test_raw_keeps_statements_that_reach_nothing() -> None:
    text = "def train(w, g, lr):\n  junk = exp(w)\n  u = g * lr\n  return u\n"
    plain = "def train(w, g, lr):\n  u = lr * g\n  return u\n"
    assert diff(plain, text).verdict == "identical"
    raw = diff(plain, text, raw=True)
    assert raw.verdict == "equivalent"
    assert [format_stmt(r.b) for r in raw.rows if r.kind == "only-b"] == ["t1 = exp(w)"]  # type: ignore[arg-type]


def test_hero_semantics_is_used_and_reported() -> None:
    d = diff(PROGRAMS / "program8.txt", PROGRAMS / "program4.txt", semantics="hero")
    assert d.semantics == "hero" and d.to_json()["semantics"] == "hero"
    assert d.verdict == "different" and not d.structural


def test_missing_hyperparameter_names_file_line_and_column() -> None:
    lion = parse_file(PROGRAMS / "program1_lion.txt")
    with pytest.raises(ProgramError) as exc:
        diff_programs(lion, lion, params={"β1": 0.9})
    assert exc.value.headline().startswith(f"{PROGRAMS / 'program1_lion.txt'}:4:")
    assert "β2" in exc.value.message


def test_invalid_program_is_a_program_error() -> None:
    bad = parse_text("def train(w, g, lr):\n  u = clip(g, w)\n  return u\n", "bad.txt")
    good = parse_text("def train(w, g, lr):\n  return g\n", "good.txt")
    with pytest.raises(ProgramError) as exc:
        diff_programs(good, bad)
    assert exc.value.headline().startswith("bad.txt:2:")


def test_json_is_deterministic_and_complete() -> None:
    a, b = PROGRAMS / "program8.txt", PROGRAMS / "program4.txt"
    first = json.dumps(diff(a, b).to_json(), sort_keys=True)
    assert first == json.dumps(diff(a, b).to_json(), sort_keys=True)
    obj = json.loads(first)
    assert obj["verdict"] == "different"
    assert obj["evidence"]["first_difference"] == {"output": "update", "step": 1}
    assert obj["structural_change"] is False
    assert len(obj["constants"]) == 4
    assert obj["canonical"]["a"].startswith("def train(w, g, m, lr):")


def test_stacked_verification_trajectories_match_each_seed_alone() -> None:
    """verify.trajectories() stacks the seeds' rows (one interpreter run per size): the rows
    must hold exactly what each seed's own trajectory gives."""
    from lionsimplify.analysis.interp import run
    from lionsimplify.passes.verify import (
        SEEDS,
        SIZES,
        STEPS,
        outputs_on,
        seed_trajectory,
        trajectories,
    )

    program = parse_file(PROGRAMS / "program8.txt")
    stacked = trajectories()
    assert len(stacked) == len(SIZES)
    k = SIZES.index(7)
    out = outputs_on(program, k)
    assert not out.updates.flags.writeable  # shared between callers
    rows = out.updates.shape[1] // len(SEEDS)
    for i, seed in enumerate(SEEDS):
        alone = run(program, seed_trajectory(seed, STEPS, 7)).updates
        assert np.array_equal(out.updates[:, i * rows : (i + 1) * rows], alone, equal_nan=True)


def test_only_exact_passes_shape_the_comparison(monkeypatch) -> None:  # noqa: ANN001
    """A `direction` pass (here: doubling the update) is valid for `reduce`, but must not take
    part in `diff`: it would hide a scale difference between two programs."""
    import lionsimplify.compare.diff as diff_module
    from lionsimplify.lang.ir import Const, Stmt, Var
    from lionsimplify.passes.driver import PASSES, Pass, PassResult

    def double(program, ctx):  # noqa: ANN001, ANN202
        body = (*program.body, Stmt("doubled", "mul", (Var(program.update), Const(2.0))))
        return PassResult(program.with_body(body, returns=("doubled", *program.new_state)), ())

    monkeypatch.setattr(diff_module, "PASSES", [*PASSES, Pass("double", "direction", double)])
    adam = (VARIANTS / "adam.txt").read_text()
    d = diff(adam, adam.replace("update = update * lr", "update = update * lr * 3"))
    assert d.verdict == "direction-equivalent"
    assert "2.0" not in "".join(format_stmt(r.a) for r in d.rows if r.a)


def test_nan_in_one_program_only_is_a_difference() -> None:
    a = "def train(w, g, lr):\n  u = sqrt(g)\n  return u\n"
    b = "def train(w, g, lr):\n  u = sqrt(abs(g))\n  return u\n"
    d = diff(a, b)
    assert d.verdict == "different"
    assert d.evidence.nan_mismatch > 0
    assert d.evidence.first is not None and d.evidence.first.first_step == 1
    assert "NaN in one only" in d.summary()
