"""`lionsimplify eval` and `lionsimplify proxies` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

ROOT = Path(__file__).parent.parent
LION = str(ROOT / "examples" / "programs" / "program1_lion.txt")
LION_PARAMS = ["--param", "β1=0.9", "--param", "β2=0.99", "--param", "λ=0.1"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("LIONSIMPLIFY_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(capsys, *args)


def test_proxies_json_lists_every_task_and_scale(capsys):
    code, out, _ = cli(["proxies", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert {r["name"] for r in rows} >= {f"{t}-{s}" for t in ("vision", "language", "convex")
                                         for s in "sml"}  # fmt: skip
    for row in rows:
        assert {"name", "task", "scale", "params", "steps", "metric"} <= set(row)
        assert row["name"] == f"{row['task']}-{row['scale']}" and row["params"] > 0


def test_proxies_only_with_a_prefix_no_proxy_has_is_an_error(capsys):
    """`--only vison` printed an empty table with exit 0."""
    code, out, err = cli(["proxies", "--only", "vison"], capsys)
    assert code == 2 and out == "" and "--only vison: no proxy's name starts with it" in err
    code, out, _ = cli(["proxies", "--only", "vision", "--json"], capsys)
    assert code == 0 and {p["name"] for p in json.loads(out)} == {
        "vision-s",
        "vision-m",
        "vision-l",
    }


def test_proxies_measure_times_an_evaluation(capsys):
    code, out, _ = cli(["proxies", "--measure", "--only", "convex-s", "--json"], capsys)
    assert code == 0
    (row,) = json.loads(out)
    assert row["status"] == "ok" and row["compile_s"] > 0 and row["evals_per_min"] > 0


def test_eval_lion_against_adamw_json_and_plot(tmp_path, capsys):
    plot = tmp_path / "curves.png"
    args = ["eval", LION, "--proxy", "convex-s", "--base-lr", "0.03", *LION_PARAMS,
            "--seeds", "2", "--lr-grid", "0.3,1", "--baselines", "adamw", "--json",
            "--plot", str(plot)]  # fmt: skip
    code, out, err = cli(args, capsys)
    assert code == 0, err
    data = json.loads(out)
    cand = data["candidate"]
    assert cand["status"] == "ok" and cand["seeds"] == [0, 1]
    assert [row["lr"] for row in cand["summary"]] == pytest.approx([0.009, 0.03])
    assert data["baselines"]["adamw"]["status"] == "ok"
    assert isinstance(data["delta_vs_adamw"], float)
    assert data["params"] == {"β1": 0.9, "β2": 0.99, "λ": 0.1}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the plot is never overwritten without --force, and that is checked before training
    code, _, err = cli(args, capsys)
    assert code == 2 and "exists" in err and "--force" in err


def test_eval_table_output(capsys):
    args = ["eval", LION, "--proxy", "convex-s", "--base-lr", "0.03", *LION_PARAMS,
            "--seeds", "1", "--baselines", "adamw"]  # fmt: skip
    code, out, _ = cli(args, capsys)
    assert code == 0
    assert "candidate" in out and "×1" in out and "adamw" in out and "objective" in out
    assert "candidate vs AdamW:" in out


def test_eval_diverging_program_exits_1(tmp_path, capsys):
    prog = tmp_path / "nan.txt"
    prog.write_text("def train(w, g, lr):\n  u = g / 0.0\n  return u\n")
    code, out, _ = cli(["eval", str(prog), "--proxy", "convex-s", "--seeds", "1",
                        "--baselines", "", "--json"], capsys)  # fmt: skip
    assert code == 1
    assert json.loads(out)["candidate"]["status"] == "diverged"


def test_eval_divergence_points_at_the_hazard_that_explains_it(tmp_path, capsys):
    """Program 3 (AdamW without eps) divides 0 by 0 on vision-s, where some gradient
    coordinates stay 0: a divergence names the hazards that explain it and the semantics that
    guards them, instead of leaving a bare 'diverged'. (Here the divisor is 0 everywhere.)"""
    prog = tmp_path / "no_eps.txt"
    prog.write_text("def train(w, g, lr):\n  z = g - g\n  u = g / z\n  u = u * lr\n  return u\n")
    ok = tmp_path / "ok.txt"  # no hazard, no note (it diverges by its step size)
    ok.write_text("def train(w, g, lr):\n  u = g * 1e30\n  u = u * lr\n  return u\n")
    code, out, _ = cli(["eval", str(prog), "--proxy", "convex-s", "--seeds", "1", "--baselines",
                        "", "--base-lr", "0.1", "--lr-grid", "1"], capsys)  # fmt: skip
    assert code == 1 and "candidate: diverged" in out, out
    assert "no_eps.txt:3:7: warning: division by" in out and "--semantics hero" in out
    code, out, _ = cli(["eval", str(ok), "--proxy", "convex-s", "--seeds", "1", "--baselines",
                        "", "--lr-grid", "1"], capsys)  # fmt: skip
    assert code == 1 and "candidate: diverged" in out and "hazards" not in out, out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--proxy", "convex-s"], "hyperparameters `β1`, `β2`, `λ` have no value"),
        (["--proxy", "convex-q", *LION_PARAMS], "bad proxy name `convex-q`"),
        (["--proxy", "chess-s", *LION_PARAMS], "unknown proxy task `chess`"),
        (["--proxy", "convex-s", *LION_PARAMS, "--param", "β3=1"], "no such hyperparameter"),
        (["--proxy", "convex-s", *LION_PARAMS, "--lr-grid", "1,x"], "comma-separated numbers"),
        (["--proxy", "convex-s", *LION_PARAMS, "--time-limit", "0"], "--time-limit 0.0: must be"),
        (["--proxy", "convex-s", *LION_PARAMS, "--baselines", "adam"], "unknown baseline adam"),
        (["--proxy", "convex-s", *LION_PARAMS, "--plot", "c.pdf"], "PNG"),
    ],
)
def test_eval_bad_input_is_one_line_and_exit_2(args, message, capsys):
    code, out, err = cli(["eval", LION, *args], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_eval_syntax_error_points_at_the_line(tmp_path, capsys):
    prog = tmp_path / "bad.txt"
    prog.write_text("def train(w, g, lr):\n  u = g +\n  return u\n")
    code, _, err = cli(["eval", str(prog), "--proxy", "convex-s"], capsys)
    assert code == 2 and f"{prog}:2:" in err and "Traceback" not in err


def test_the_commands_do_not_import_jax_until_they_run():
    code = (
        "import sys; from lionsimplify.cli import main; "
        "assert 'jax' not in sys.modules, 'jax imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
