"""`lionsimplify reduce` on the command line: outputs, files, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
P8 = str(ROOT / "examples" / "programs" / "program8.txt")
P1 = str(ROOT / "examples" / "programs" / "program1_lion.txt")
LION = ["--param", "β1=0.9", "--param", "β2=0.99", "--param", "λ=0.01"]


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, *args)


def test_terminal_output_shows_each_pass_the_ablations_and_the_lifted_program(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "reduce", P8, "--params")
    assert code == 0
    for name in ("dead-code", "sqrt-of-square", "sign-from-ratio", "fold-interp-chain"):
        assert name in out
    assert "drop-clip" in out and "drop-arcsin" in out
    assert "side condition" in out
    assert "b2=0.9982196781841992" in out  # in the signature, as the parser reads it
    assert "lr_scale=0.0002171761734643951" in out
    assert "more (see --json or --report)" in out  # long change lists are cut short


def test_json_output(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "reduce", P8, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["label"] == "exact" and data["semantics"] == "math"
    assert [p["name"] for p in data["ablations"]] == ["drop-clip", "drop-arcsin"]
    assert all(p["verification"]["measured"] == "exact" for p in data["passes"])
    assert data["lifted"]["params"]["wd"] == 0.4601978361606598
    assert "before" in data["passes"][1] and "program" in data["passes"][1]
    _, again, _ = cli(monkeypatch, capsys, "reduce", P8, "--json")
    assert again == out  # byte-identical: no timings, sorted keys


def test_report_jax_and_output_files_are_written_and_never_overwritten(
    monkeypatch, capsys, tmp_path
):
    report, module, prog = tmp_path / "d.md", tmp_path / "lion.py", tmp_path / "out.txt"
    args = ["reduce", P8, "--report", str(report), "--jax", str(module), "-o", str(prog)]
    code, out, _ = cli(monkeypatch, capsys, *args)
    assert code == 0
    md = report.read_text()
    assert md.startswith("# Derivation:")
    assert "| 3 | `sign-from-ratio` | exact | exact |" in md
    assert "```diff" in md and "## Ablation candidates" in md and "`drop-arcsin`" in md
    assert r"m &\leftarrow \beta_{2} m + \left(1 - \beta_{2}\right)" in md  # LaTeX rule
    assert "def program8(" in module.read_text()
    assert "update = sign(update)" in prog.read_text()
    before = report.read_text()
    code, _, err = cli(monkeypatch, capsys, *args)
    assert code == 2 and "exists; pass --force" in err
    code, _, _ = cli(monkeypatch, capsys, *args, "--force")
    assert code == 0 and report.read_text() == before  # deterministic


def test_jax_module_with_params_for_program1(monkeypatch, capsys, tmp_path):
    module = tmp_path / "lion.py"
    code, _, _ = cli(
        monkeypatch, capsys, "reduce", P1, *LION, "--jax", str(module), "--name", "lion"
    )
    assert code == 0
    # Program 1 is identical to Lion, so the module is optax's own built-in (issue 12)
    text = module.read_text()
    assert (
        "def lion(\n    learning_rate,\n    b1=0.9,\n    b2=0.99,\n    weight_decay=0.01," in text
    )
    assert "return optax.lion(learning_rate=lr, b1=b1, b2=b2, weight_decay=weight_decay)" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--name", "not-a-name", "--jax", "x.py"], "--name"),
        (["--semantics", "ieee"], "--semantics"),
        (["--until", "sympy"], "--until"),
        (["--param", "β1"], "expected NAME=VALUE"),
        # checked as parsed, even when --validate (which uses them) is not given
        (["--lr-grid", "1,x"], "--lr-grid '1,x': expected comma-separated numbers, e.g. 1,3,10"),
        (["--base-lr", "0"], "--base-lr 0.0: must be a positive finite number"),
        (["--time-limit", "-3"], "--time-limit -3.0: must be a positive finite number"),
        (["--validate", "convex-s", "--time-limit", "nan"], "--time-limit nan: must be"),
        # one of the two was silently ignored: --ablate did nothing, --until dce did nothing
        (["--until", "dce", "--ablate"], "--until dce stops before the ablations that --ablate"),
        (["--until", "dce", "--validate", "convex-s"], "that --validate applies; use one"),
        # options for --validate or --jax alone did nothing
        (["--seeds", "5"], "--seeds only applies with --validate PROXY"),
        (["--margin", "0.1", "--base-lr", "3"], "--margin, --base-lr only apply with --validate"),
        (["--name", "lion8"], "--name names the function of the --jax module: add --jax"),
    ],
)
def test_bad_options_exit_2_with_one_clear_line(monkeypatch, capsys, args, message):
    code, out, err = cli(monkeypatch, capsys, "reduce", P8, *args)
    assert code == 2
    assert message in out + err
    assert "Traceback" not in out + err


def test_missing_hyperparameter_names_it_with_its_line(monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, "reduce", P1)
    assert code == 2
    assert "program1_lion.txt:2:" in err and "`β1`" in err


def test_a_long_program_prints_plain_and_reads_back(monkeypatch, capsys, tmp_path):
    """Past `HIGHLIGHT_LINES` the program is not lexed for colour (seconds at 10k statements):
    the text printed is the program, statement for statement."""
    from lionsimplify.cli.render import HIGHLIGHT_LINES, program_syntax
    from lionsimplify.lang.mutate import long_chain
    from lionsimplify.lang.parse import parse_text
    from lionsimplify.lang.printer import print_program

    program = long_chain(HIGHLIGHT_LINES + 10)
    assert not program_syntax(program).spans
    assert program_syntax(long_chain(20)).spans
    path = tmp_path / "chain.txt"
    path.write_text(print_program(program))
    code, out, _ = cli(monkeypatch, capsys, "reduce", "--until", "dce", str(path))
    assert code == 0
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def train("))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("  return "))
    assert parse_text("\n".join(lines[start : end + 1]) + "\n", "<out>") == program


def test_a_program_written_under_hero_semantics_says_so(tmp_path, capsys) -> None:
    """Under hero, Program 8 keeps `c / abs_c` (= c / (|c| + 1e-8)); read back as math (the
    default) it is NaN where c = 0. The written file says how to read it, and still parses."""
    from lionsimplify.lang.parse import parse_file

    out = tmp_path / "p8h.txt"
    code, _, _ = run_cli(capsys, "reduce", P8, "--semantics", "hero", "-o", str(out))
    assert code == 0
    first, *_ = out.read_text().splitlines()
    assert first.startswith("# hero semantics") and "--semantics hero" in first
    assert parse_file(out).body
    math_out = tmp_path / "p8.txt"
    assert run_cli(capsys, "reduce", P8, "-o", str(math_out))[0] == 0
    assert not math_out.read_text().startswith("#")
