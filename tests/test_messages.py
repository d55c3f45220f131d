"""Messages that are true: no false hazards on the standard optimizers, hazards that are real
still reported, side conditions stated on the final program, titles that say what happened."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

from lionsimplify.analysis.absexec import analyse, state_invariant
from lionsimplify.analysis.interp import random_trajectory, run
from lionsimplify.lang.parse import parse_file, parse_text

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
P8 = str(ROOT / "examples" / "programs" / "program8.txt")
OPTIMIZERS = ["adamw", "adam", "adagrad", "rmsprop", "lion"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_standard_optimizers_raise_no_hazard_under_strict(name: str, capsys) -> None:
    code, out, err = run_cli(capsys, "check", "--strict", str(DATA / f"{name}.txt"))
    assert code == 0, out + err
    assert "no errors or hazards" in out


@pytest.mark.parametrize(
    ("body", "code"),
    [
        # a state that can be negative: sqrt of it is a real hazard
        ("  v = interp(g, v, 0.9)\n  update = sqrt(v) * lr\n", "W101"),
        # no eps: v is 0 wherever g has been 0, and 0/0 is NaN
        ("  v = interp(square(g), v, 0.9)\n  update = g / sqrt(v) * lr\n", "W102"),
        # a weight outside [0, 1] lets the state go negative
        ("  v = interp(square(g), v, 1.5)\n  update = sqrt(v) * lr\n", "W101"),
    ],
)
def test_real_hazards_are_still_reported(body: str, code: str) -> None:
    program = parse_text(f"def train(w, g, v, lr):\n{body}  return update, v\n")
    assert code in {d.code for d in analyse(program).hazards}


@pytest.mark.parametrize("name", [*OPTIMIZERS, "adamw_bias"])
def test_state_invariant_holds_on_real_trajectories(name: str) -> None:
    """Soundness: every state value a real run produces lies in the invariant's interval."""
    program = parse_file(DATA / f"{name}.txt")
    bounds = state_invariant(program, "math", program.values())
    traj = random_trajectory(seed=0, steps=30, size=8, grad_scales=(1e-4, 1.0, 1e2))
    out = run(program, traj)
    for i, s in enumerate(program.state):
        values = np.asarray(out.states[i])
        lo, hi = bounds[s]
        assert np.all(values >= lo) and np.all(values <= hi), (s, bounds[s])


def test_power_of_a_beta_keeps_the_bias_correction_positive() -> None:
    program = parse_file(DATA / "adamw_bias.txt")
    facts = analyse(program).facts
    bc1 = next(f for s, f in zip(program.body, facts, strict=True) if s.target == "bc1")
    assert bc1.interval[0] > 0 and bc1.interval[1] <= 1


def test_side_conditions_use_the_final_names_and_forms(capsys) -> None:
    code, out, _ = run_cli(capsys, "reduce", P8, "--json")
    assert code == 0
    data = json.loads(out)
    # the state `v` of Program 8 is called `m` in the result
    assert data["side_conditions"] == ["interp(arcsin(clip(g, lr)), m, 0.8999999761581421) != 0"]
    code, out, _ = run_cli(capsys, "reduce", P8, "--ablate", "--json")
    # after dropping clip and arcsin, the condition is on what the final program computes
    assert json.loads(out)["side_conditions"] == ["interp(g, m, 0.8999999761581421) != 0"]


def test_ablation_table_title_says_what_happened(capsys) -> None:
    _, out, _ = run_cli(capsys, "reduce", P8)
    assert "proposed: apply with --ablate" in out and "applied by" not in out
    _, out, _ = run_cli(capsys, "reduce", P8, "--ablate")
    assert "applied by --ablate: drop-arcsin, drop-clip" in " ".join(out.split())


def test_validate_title_names_validate_not_ablate(capsys) -> None:
    from lionsimplify.cli.reduce_cmd import render_reduction
    from lionsimplify.passes.driver import reduce

    result = reduce(parse_file(P8), ablate={"drop-clip"})
    render_reduction(result, Path(P8), None, "--validate vision-s")
    out = " ".join(capsys.readouterr().out.split())  # the title may wrap
    assert "settled by --validate vision-s: applied drop-clip" in out and "--ablate" not in out
    assert "rejected" in out  # drop-arcsin: trained, and not applied


@pytest.mark.parametrize("seed", range(40))
def test_state_invariant_holds_on_mutated_programs(seed: int) -> None:
    """Soundness on search-style programs (AdamW mutated as the Lion search did): every
    finite state value of a real run lies in the invariant's interval."""
    import random

    from lionsimplify.lang.mutate import adamw, mutate

    program = mutate(adamw(), random.Random(seed), mutations=1 + seed % 6)
    bounds = state_invariant(program, "math", program.values())
    traj = random_trajectory(seed=seed, steps=20, size=6, grad_scales=(1e-3, 1.0, 1e2))
    with np.errstate(all="ignore"):
        out = run(program, traj)
    for i, s in enumerate(program.state):
        values = np.asarray(out.states[i], dtype=float)
        values = values[np.isfinite(values)]
        lo, hi = bounds[s]
        assert np.all(values >= lo) and np.all(values <= hi), (s, bounds[s], program)


def test_a_divisor_that_is_always_zero_is_not_called_possibly_zero() -> None:
    found = analyse(parse_text("def train(w, g, lr):\n  z = g - g\n  u = g / z\n  return u\n"))
    assert [h.message for h in found.hazards] == [
        "division by `z`, which is always zero (in [0, 0])"
    ]
    found = analyse(parse_text("def train(w, g, lr):\n  u = g / w\n  return u\n"))
    assert "which may be zero" in found.hazards[0].message
