"""The funnel with the real evaluator: proxy training, statuses, winners, the example runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from generated_module import import_file

from lionsimplify.funnel import FunnelOptions, parse_config, run_funnel, write_outputs
from lionsimplify.funnel.ledger import LEDGER_NAME, read_ledger
from lionsimplify.lang.parse import parse_file

ROOT = Path(__file__).resolve().parent.parent

LION = """\
def train(w, g, m, lr):
  c = interp(g, m, 0.9)
  u = sign(c)
  m = interp(g, m, 0.99)
  wd = w * 0.1
  u = u + wd
  u = u * lr
  return u, m
"""
SGD = "def train(w, g, m, lr):\n  u = g * lr\n  return u, m\n"
EXPLODES = "def train(w, g, m, lr):\n  u = w * -1000.0\n  u = u + g\n  return u, m\n"
RAISES = "def train(w, g, m, lr):\n  u = g * κ\n  u = u * lr\n  return u, m\n"

TINY = """
semantics = "math"
winners = 2
[entry]
per_run_top_k = 4
overall_top_k = 4
[[level]]
name = "A"
proxy = "convex-s"
seeds = [0]
lr_multipliers = [0.01, 0.1, 1.0]
time_limit_s = 60
top_fraction = 0.7
[[level]]
name = "B"
proxy = "convex-m"
seeds = [0, 1]
lr_multipliers = [0.01, 0.1, 1.0]
time_limit_s = 60
top_fraction = 0.5
"""


@pytest.fixture(autouse=True)
def _baseline_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Tuned baselines are cached per session, never in the user's cache directory."""
    monkeypatch.setenv("LIONSIMPLIFY_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _runs(root: Path) -> Path:
    run = root / "runs" / "r1"
    run.mkdir(parents=True)
    rows = [(LION, 0.9, 1), (SGD, 0.5, 2), (EXPLODES, 0.8, 3), (RAISES, 0.7, 4)]
    run.joinpath("programs.jsonl").write_text(
        "".join(json.dumps({"program": p, "fitness": f, "step": s}) + "\n" for p, f, s in rows)
    )
    return root / "runs"


def test_tiny_real_funnel_records_every_status_and_picks_lion(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = parse_config(TINY, "tiny.toml")
    result = run_funnel(FunnelOptions(_runs(tmp_path), out, config, workers=1))
    write_outputs(result, out)
    level_a = {
        r["subject"]: r for r in read_ledger(out / LEDGER_NAME).records.values() if r["level"] == 1
    }
    by_program = {c.fingerprint: c.program for c in result.entrants}
    status = {}
    for fp, rec in level_a.items():
        if fp in by_program:
            ops = {s.op for s in by_program[fp].body}
            status["lion" if "sign" in ops else "sgd" if len(ops) == 1 else "explodes"] = rec
    assert status["explodes"]["status"] == "diverged"
    assert status["lion"]["status"] == "ok" and status["sgd"]["status"] == "ok"
    # a program that cannot be run (no value for κ) is reported with its reason, not fatal
    assert not result.intake.invalid
    assert [i.reason for i in result.intake.rejected] == [
        f"{tmp_path / 'runs' / 'r1' / 'programs.jsonl'}:4: error: in `program`, line 2, col 11: "
        "hyperparameter `κ` has no value  [E205]"
    ]
    assert level_a["baseline:adamw"]["status"] == "ok"
    # the run went on to level B, and Lion is a finalist
    assert len(result.levels) == 2
    lion_fp = next(fp for fp, p in by_program.items() if "sign" in {s.op for s in p.body})
    assert lion_fp in result.finalists
    n = result.finalists.index(lion_fp) + 1
    winner_txt = out / "winners" / f"{n:02d}-{lion_fp}.txt"
    assert parse_file(winner_txt).state == ("m",), "the winner file is a program"
    assert "# derivation" in winner_txt.read_text()
    # the emitted module is the optimizer: for this Lion program, optax.lion
    module = import_file(winner_txt.with_suffix(".py"), "winner")
    import jax.numpy as jnp
    import optax

    ours = getattr(module, f"winner_{n:02d}")(1e-3)
    ref = optax.lion(1e-3, b1=0.9, b2=0.99, weight_decay=0.1)
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    state_o, state_r = ours.init(params), ref.init(params)
    for grads in ({"w": jnp.array([0.5, 0.1, -0.3])}, {"w": jnp.array([-0.2, 0.4, 0.3])}):
        u_o, state_o = ours.update(grads, state_o, params)
        u_r, state_r = ref.update(grads, state_r, params)
        assert jnp.allclose(u_o["w"], u_r["w"], atol=1e-7)
    report = (out / "report.md").read_text()
    assert "Semantics: `math`" in report and "## Leaderboard" in report


def test_time_limit_is_recorded_as_timeout_and_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "out"
    # the smallest limit the config takes: with its executable cached, a convex-s evaluation
    # can finish inside 50 ms, but not inside 1 ms
    config = parse_config(TINY.replace("time_limit_s = 60", "time_limit_s = 0.001", 1), "t.toml")
    result = run_funnel(FunnelOptions(_runs(tmp_path), out, config, workers=1))
    write_outputs(result, out)
    level_a = [r for r in read_ledger(out / LEDGER_NAME).records.values() if r["level"] == 1]
    assert {r["status"] for r in level_a if r["candidate"]} <= {"timeout", "failed"}
    assert any(r["status"] == "timeout" for r in level_a)
    assert result.finalists == []
    assert "No candidate passed every level." in (out / "report.md").read_text()


@pytest.mark.slow
def test_example_runs_with_the_default_config(tmp_path: Path) -> None:
    """The acceptance run: `lionsimplify funnel examples/runs --out DIR`, default config."""
    out = tmp_path / "f"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from lionsimplify.cli import main; main()", "funnel",
           str(ROOT / "examples" / "runs"), "--out", str(out), "--workers", "2", "--json"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=2400)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data["intake"]["unique"] < data["intake"]["valid"], "duplicates were merged"
    winners = [row for row in data["leaderboard"] if row["finalist"]]
    assert winners
    # measured (README): raw Program 8 from the `lion` run comes out as Lion
    first = winners[0]
    assert "lion:lion-000" in first["sources"], "raw Program 8 is the first winner"
    simp = data["ablations"][first["fingerprint"]]
    assert {"drop-clip", "drop-arcsin"} <= set(simp["accepted"])
    text = (out / data["winner_files"][0]).read_text().split("# derivation")[0]
    assert "sign(" in text and "arcsin" not in text and "clip(" not in text
    for plot in ("funnel.png", "curves.png", "fitness_vs_meta.png", "meta_overfitting.png"):
        assert (out / "plots" / plot).stat().st_size > 1000
    for f in data["winner_files"]:
        assert (out / f).exists()
    assert read_ledger(out / LEDGER_NAME).duplicates == 0
