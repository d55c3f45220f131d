"""The funnel's last steps with the real evaluator: fair tuning, the ablation phase, and winners
that carry their tuning. Everything trains on `vision-s` or `convex-s` (seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lionsimplify.funnel import FunnelOptions, parse_config, run_funnel, write_outputs
from lionsimplify.funnel.config import load_config
from lionsimplify.funnel.jobs import Job
from lionsimplify.funnel.proxy_evaluator import evaluate_job
from lionsimplify.funnel.winners import lr_linear, tuned
from lionsimplify.lang.parse import parse_file, parse_text

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "examples" / "programs"

#: Lion with an `arcsin(clip(g, lr))` in front: what the search leaves and the paper removed.
PLANTED = """\
# fitness: 0.5
def train(w, g, m, lr):
  c = clip(g, lr)
  c = arcsin(c)
  c = interp(c, m, 0.9)
  u = sign(c)
  m = interp(g, m, 0.99)
  wd = w * 0.1
  u = u + wd
  lr = lr * 0.001
  u = u * lr
  return u, m
"""

MECHANICS = """
semantics = "hero"
winners = 1
ablation_margin = 0.01
[entry]
per_run_top_k = 1
[[level]]
name = "A"
proxy = "vision-s"
seeds = [0, 1]
lr_multipliers = [3.0]
time_limit_s = 300
rule = "top"
top_fraction = 1.0
"""


def test_a_useless_arcsin_clip_is_ablated_and_the_winner_has_none(tmp_path: Path) -> None:
    runs = tmp_path / "runs" / "r"
    runs.mkdir(parents=True)
    (runs / "planted.txt").write_text(PLANTED)
    out = tmp_path / "out"
    result = run_funnel(FunnelOptions(runs.parent, out, parse_config(MECHANICS, "m.toml")))
    data = write_outputs(result, out)
    (fp,) = result.finalists
    simp = result.simplifications[fp]
    assert set(simp.accepted) == {"drop-clip", "drop-arcsin"}
    assert [t.ablations for t in simp.trials] == [
        ("drop-clip",),
        ("drop-arcsin",),
        ("drop-clip", "drop-arcsin"),
    ]  # each alone, then together
    winner = (out / data["winner_files"][0]).read_text()
    program = [line for line in winner.splitlines() if not line.startswith("#")]
    assert program[0].startswith("def train") and "sign(" in "".join(program)
    assert not any("arcsin" in line or "clip" in line for line in program)
    assert "drop-arcsin: accepted" in winner
    report = (out / "report.md").read_text()
    assert "| `drop-clip` + `drop-arcsin` |" in report
    module = (out / data["winner_files"][1]).read_text()
    assert "learning_rate=0.003," in module  # 1 (schedule peak) × 3 (multiplier) × 0.001
    ledger = [r for r in result_records(out) if r.get("phase") == "ablation"]
    assert len(ledger) == 3


def result_records(out: Path) -> list[dict]:
    from lionsimplify.funnel.ledger import LEDGER_NAME, read_ledger

    return list(read_ledger(out / LEDGER_NAME).records.values())


def _job(
    subject: str, program: str | None = None, base_lr: float | None = None, level_index: int = 0
) -> Job:
    level = load_config(None).levels[level_index]  # default: the smallest level
    kind = "candidate" if program else "baseline"
    return Job(subject, subject, kind, program, 1, level.name, level.proxy, level.seeds,
               level.lr_multipliers, 600.0, base_lr=base_lr, semantics="hero",
               wd_multipliers=level.wd_multipliers)  # fmt: skip


#: optax.adamw (bias correction, eps, wd 0.01) as a search program would write it, renamed.
ADAMW_RENAMED = """\
def train(weight, grad, mom, vel, lr, *, step):
  grad2 = square(grad)
  mom = interp(grad, mom, 0.9)
  vel = interp(grad2, vel, 0.999)
  c1 = power(0.9, step)
  c1 = 1 - c1
  c2 = power(0.999, step)
  c2 = 1 - c2
  mom_hat = mom / c1
  vel_hat = vel / c2
  denom = sqrt(vel_hat)
  denom = denom + 1e-8
  step_ = mom_hat / denom
  decay = weight * 0.01
  step_ = step_ + decay
  lr = lr * 0.001
  step_ = step_ * lr
  return step_, mom, vel
"""


def _within_spread(a: dict, b: dict) -> bool:
    assert a["status"] == b["status"] == "ok"
    return abs(a["metric"] - b["metric"]) <= 2 * (a["metric_sd"] + b["metric_sd"]) + 1e-6


def test_adamw_as_a_candidate_ties_the_tuned_adamw_baseline() -> None:
    """Fair tuning: the same search for both, so the same algorithm scores the same. (The
    paper's Program 3 has no bias correction: on vision-m it scores 0.908 against 0.944, an
    algorithmic gap that the tuning rightly keeps; see README.)"""
    cand = evaluate_job(_job("adamw-renamed", ADAMW_RENAMED))
    base = evaluate_job(_job("baseline:adamw"))
    assert _within_spread(cand, base), (cand["metric"], base["metric"])


def test_program1_as_a_candidate_ties_the_lion_baseline() -> None:
    program = (PROGRAMS / "program1_lion.txt").read_text()
    for name, value in (("β1", "0.9"), ("β2", "0.99"), ("λ", "0.1")):
        program = program.replace(name, value)
    cand = evaluate_job(_job("program1", program, base_lr=1e-4))  # the Lion baseline's peak
    base = evaluate_job(_job("baseline:lion"))
    assert _within_spread(cand, base), (cand["metric"], base["metric"])


@pytest.mark.slow
@pytest.mark.parametrize("level_index", [1])
def test_fairness_at_every_further_level_of_the_default_config(level_index: int) -> None:
    """The same two checks on the default config's larger levels (vision-m: minutes)."""
    cand = evaluate_job(_job("adamw-renamed", ADAMW_RENAMED, level_index=level_index))
    assert _within_spread(cand, evaluate_job(_job("baseline:adamw", level_index=level_index)))
    program = (PROGRAMS / "program1_lion.txt").read_text()
    for name, value in (("β1", "0.9"), ("β2", "0.99"), ("λ", "0.1")):
        program = program.replace(name, value)
    cand = evaluate_job(_job("program1", program, base_lr=1e-4, level_index=level_index))
    assert _within_spread(cand, evaluate_job(_job("baseline:lion", level_index=level_index)))


def test_raw_program8_gets_a_finite_fitness_on_the_search_proxy() -> None:
    """`lr` is the schedule (at most 1), so `arcsin(clip(g, lr))` stays in its domain."""
    text = (PROGRAMS / "program8.txt").read_text()
    job = Job("p8", "p8", "candidate", text, 0, "search", "convex-s", (0,), (1.0, 10.0, 100.0),
              120.0, semantics="hero")  # fmt: skip
    res = evaluate_job(job)
    assert res["status"] == "ok" and res["metric"] is not None and res["metric"] < 1e3


LINEAR = "def train(w, g, m, lr):\n  u = sign(m)\n  wd = w * 0.1\n  u = u + wd\n  u = u * lr\n  return u, m\n"  # fmt: skip
CLIPS = "def train(w, g, m, lr):\n  g = clip(g, lr)\n  u = g * lr\n  return u, m\n"
SQUARED = "def train(w, g, m, lr):\n  u = g * lr\n  u = u * lr\n  return u, m\n"
STATE = "def train(w, g, m, lr):\n  m = g * lr\n  u = m * lr\n  return u, m\n"
PLUS = "def train(w, g, m, lr):\n  u = g * lr\n  u = u + 1e-3\n  return u, m\n"


@pytest.mark.parametrize(
    ("text", "linear"),
    [(LINEAR, True), (CLIPS, False), (SQUARED, False), (STATE, False), (PLUS, False)],
)
def test_lr_linearity_is_checked_on_the_program(text: str, linear: bool) -> None:
    assert lr_linear(parse_text(text)) is linear


def test_a_linear_winner_folds_its_lr_scale_into_the_learning_rate() -> None:
    from lionsimplify.passes.driver import reduce

    red = reduce(parse_file(PROGRAMS / "program8.txt"), semantics="hero", ablate=True)
    record = {"best_multiplier": 3.0, "best_wd_multiplier": 0.3, "base_lr": 1.0, "tuning": []}
    t = tuned(red.program, record, params={}, semantics="hero", proxy="vision-m")
    assert t.learning_rate == pytest.approx(3.0 * 0.0002171761734643951)
    assert "lr_scale" not in t.lifted.values
    assert t.lifted.values["wd"] == pytest.approx(0.3 * 0.4601978361606598)
    raw = reduce(parse_file(PROGRAMS / "program8.txt"), semantics="hero")
    kept = tuned(raw.program, record, params={}, semantics="hero", proxy="vision-m")
    assert kept.learning_rate is None and any("optax.scale(3)" in n for n in kept.notes)
