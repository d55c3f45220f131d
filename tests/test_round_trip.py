"""Every program the tool writes is an input every command accepts as it is, values included.

Each kind of output (`reduce -o`, `reduce --params -o`, the code blocks of `--report`, funnel
winners) is written once, then fed back to `check`, `reduce`, `diff` and `eval`; none may fail
with bad input (exit 2) or an internal error (exit 3), and the values must survive the trip.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.lang.printer import print_program

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "examples" / "programs"
P8 = str(PROGRAMS / "program8.txt")
P1 = str(PROGRAMS / "program1_lion.txt")
P1_VALUES = ["--param", "β1=0.9", "--param", "β2=0.99", "--param", "λ=0.01"]

FUNNEL_TOML = """
evaluator = "funnel_fakes:evaluate"
hard_timeout_grace_s = 1
winners = 2
[entry]
per_run_top_k = 3
overall_top_k = 3
[[level]]
name = "A"
proxy = "fake-s"
seeds = [0]
time_limit_s = 5
top_fraction = 1.0
"""
ADAMW_LIKE = (
    "def train(w, g, m, v, lr):\n  m = interp(g, m, 0.9)\n  g2 = g * g\n  v = interp(g2, v, 0.999)\n"
    "  s = sqrt(v)\n  s = s + 1e-08\n  u = m / s\n  d = w * 0.01\n  u = u + d\n"
    "  u = u * lr\n  return u, m, v\n"
)
LION_LIKE = (
    "def train(w, g, m, lr):\n  u = interp(g, m, 0.9)\n  u = sign(u)\n  m = interp(g, m, 0.99)\n"
    "  d = w * 0.1\n  u = u + d\n  u = u * lr\n  return u, m\n"
)


def _ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_cli(capsys, *args)
    assert code == 0, f"lionsimplify {' '.join(args)} -> {code}\n{err}"
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One file of each kind the tool writes."""
    out = tmp_path_factory.mktemp("written")
    capsys = _NoCapture()
    files = {
        "reduce -o": out / "p8.txt",
        "reduce --params -o": out / "p8_params.txt",
        "reduce --params -o (named)": out / "p1_params.txt",
    }
    for args in (
        ["reduce", P8, "-o", str(files["reduce -o"])],
        ["reduce", P8, "--params", "-o", str(files["reduce --params -o"]), "--report",
         str(out / "p8.md")],
        ["reduce", P1, *P1_VALUES, "--params", "-o", str(files["reduce --params -o (named)"])],
    ):  # fmt: skip
        code, _, err = capsys.run(*args)
        assert code == 0, err
    blocks = re.findall(r"```python\n(.*?)```", (out / "p8.md").read_text(), re.S)
    assert len(blocks) == 3  # original, result, lifted
    for i, block in enumerate(blocks):
        files[f"report block {i}"] = out / f"block{i}.txt"
        files[f"report block {i}"].write_text(block)
    files.update(_winners(out))
    return files


class _NoCapture:
    """`run_cli` for a module-scoped fixture, which cannot take the function-scoped capsys."""

    def run(self, *args: str) -> tuple[int, str, str]:
        import contextlib
        import io

        from lionsimplify.cli import main

        old = sys.argv
        sys.argv = ["lionsimplify", *args]
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        finally:
            sys.argv = old
        return code, out.getvalue(), err.getvalue()


def _winners(out: Path) -> dict[str, Path]:
    from lionsimplify.funnel import FunnelOptions, parse_config, run_funnel, write_outputs

    tests = str(Path(__file__).resolve().parent)
    if tests not in sys.path:
        sys.path.insert(0, tests)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), tests, old or ""])
    try:
        runs = out / "runs" / "r1"
        runs.mkdir(parents=True)
        lines = [
            {"program": ADAMW_LIKE, "fitness": 0.8, "step": 1, "id": "adamw"},
            {"program": LION_LIKE, "fitness": 0.9, "step": 2, "id": "lion"},
        ]
        (runs / "programs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        config = parse_config(FUNNEL_TOML, "fake.toml")
        result = run_funnel(FunnelOptions(out / "runs", out / "funnel", config))
        write_outputs(result, out / "funnel")
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    winners = sorted((out / "funnel" / "winners").glob("*.txt"))
    assert len(winners) == 2
    return {f"winner {p.name}": p for p in winners}


def test_every_output_parses_and_carries_its_values(written: dict[str, Path]) -> None:
    for what, path in written.items():
        program = parse_file(path)
        assert set(dict(program.defaults)) == set(program.hyperparams()), what
        assert parse_text(print_program(program)) == program, what
    named = parse_file(written["reduce --params -o (named)"])
    assert sorted(dict(named.defaults).values()) == [0.01, 0.9, 0.99]
    lifted = parse_file(written["reduce --params -o"])
    assert dict(lifted.defaults)["b1"] == 0.8999999761581421  # full precision, not the ≈ reading
    original = parse_file(written["report block 0"])
    assert original.defaults == () and len(original.body) == 21


@pytest.mark.parametrize("command", ["check", "reduce", "diff"])
def test_every_output_is_accepted_by_every_command(
    written: dict[str, Path], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for what, path in written.items():
        args = {
            "check": ["check", str(path), "--json"],
            "reduce": ["reduce", str(path), "--until", "dce", "--json"],
            "diff": ["diff", str(path), P8, "--json"],
        }[command]
        code, out, err = run_cli(capsys, *args)
        assert code in (0, 1), f"{what}: lionsimplify {' '.join(args)} -> {code}\n{err}"
        json.loads(out)


def test_a_written_program_reads_back_equivalent_to_its_source(
    written: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Values included: the lifted program with its signature's values is the reduced one."""
    code, out, err = run_cli(capsys, "diff", str(written["reduce --params -o"]),
                             str(written["reduce -o"]), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["verdict"] in ("identical", "equivalent")


def test_eval_trains_a_written_program_without_params(
    written: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = _ok(capsys, "eval", str(written["reduce --params -o (named)"]), "--proxy", "convex-s",
              "--base-lr", "0.03", "--seeds", "1", "--lr-grid", "1", "--baselines", "adamw",
              "--json")  # fmt: skip
    data = json.loads(out)
    assert data["candidate"]["status"] == "ok"
    assert data["params"] == {"b1": 0.9, "b2": 0.99, "wd": 0.01}


def test_a_signature_default_is_overridden_by_param(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:  # fmt: skip
    path = tmp_path / "p.txt"
    path.write_text("def train(w, g, m, lr, b1=0.9):\n  m = interp(g, m, b1)\n  u = sign(m)\n"
                    "  u = u * lr\n  return u, m\n")  # fmt: skip
    out = _ok(capsys, "reduce", str(path), "--params", "--param", "b1=0.5", "--json")
    assert json.loads(out)["lifted"]["params"] == {"b1": 0.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("def train(w, g, lr, b1=x):\n  u = g * b1\n  return u\n", "must be a number"),
        ("def train(w, g, lr, b1=0.9):\n  b1 = g * lr\n  return b1\n", "assigned in the body"),
        ("def train(w, g, lr=0.1):\n  u = g * lr\n  return u\n", "without a default"),
    ],
)
def test_bad_defaults_are_one_line_errors(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    code, _, err = run_cli(capsys, "check", str(path))
    assert code == 2 and message in err
    assert err.startswith(f"{path}:1:")
