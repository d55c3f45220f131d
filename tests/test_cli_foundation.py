"""The `check`, `reduce --until dce` and `dedup` commands as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

PROGRAMS = Path(__file__).parent.parent / "examples" / "programs"
P8 = str(PROGRAMS / "program8.txt")


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(capsys, *args)


def test_check_reports_hazards_with_lines(capsys) -> None:
    code, out, _ = cli(["check", P8], capsys)
    assert code == 0
    assert "program8.txt:7:7: warning: `arcsin`" in out
    code, _, _ = cli(["check", "--strict", P8], capsys)
    assert code == 1


def test_check_json(capsys) -> None:
    code, out, _ = cli(["check", "--json", str(PROGRAMS / "program1_lion.txt")], capsys)
    data = json.loads(out)
    assert code == 0 and data[0]["hyperparams"] == ["β1", "β2", "λ"] and data[0]["valid"]


def test_reduce_until_dce_json(capsys) -> None:
    code, out, _ = cli(["reduce", P8, "--until", "dce", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["stats"] == {
        "statements_in": 21,
        "statements_out": 12,
        "state_in": 2,
        "state_out": 1,
    }
    dce = data["passes"][0]
    assert dce["name"] == "dead-code" and dce["label"] == "exact" and dce["status"] == "applied"
    assert {
        "statement": "m = cosh(update)",
        "line": 19,
        "reason": "state `m` is overwritten before it is read in the next step",
    } in dce["removed"]
    assert data["program"].startswith("def train(w, g, v, lr):")


def test_reduce_terminal_output_strikes_removed_lines(capsys) -> None:
    code, out, _ = cli(["reduce", P8, "--until", "dce"], capsys)
    assert code == 0
    assert "state `m` is overwritten before it is read in the next step" in out
    assert "statements 21 -> 12, state 2 -> 1" in out


def test_reduce_output_file_is_never_overwritten_without_force(tmp_path, capsys) -> None:
    out_file = tmp_path / "out.txt"
    out_file.write_text("mine")
    code, _, err = cli(["reduce", P8, "--until", "dce", "-o", str(out_file)], capsys)
    assert code == 2 and "--force" in err and out_file.read_text() == "mine"
    code, _, _ = cli(["reduce", P8, "--until", "dce", "-o", str(out_file), "--force"], capsys)
    assert code == 0 and out_file.read_text().startswith("def train(w, g, v, lr):")


def test_reduce_needs_hyperparameter_values(capsys) -> None:
    code, _, err = cli(["reduce", str(PROGRAMS / "program1_lion.txt")], capsys)
    assert code == 2 and "have no value" in err and "--param" in err
    code, _, err = cli(["reduce", P8, "--param", "oops"], capsys)
    assert code == 2 and "NAME=VALUE" in err


def test_dedup_command(tmp_path, capsys) -> None:
    (tmp_path / "a.txt").write_text((PROGRAMS / "program8.txt").read_text())
    (tmp_path / "b.txt").write_text((PROGRAMS / "program8.txt").read_text().replace("v845", "zz"))
    code, out, _ = cli(["dedup", "--json", str(tmp_path)], capsys)
    data = json.loads(out)
    assert code == 0 and len(data["classes"]) == 1 and data["classes"][0]["size"] == 2


def test_dedup_refuses_a_param_no_program_reads(capsys) -> None:
    """As every other command: `--param beta1=0.9` for `β1` is an error, not silently unused."""
    code, out, err = cli(["dedup", str(PROGRAMS), "--param", "beta1=0.9"], capsys)
    assert code == 2 and out == ""
    assert "--param beta1: no program reads it (they read: β1, β2, λ)" in err
    code, out, _ = cli(["dedup", str(PROGRAMS), "--param", "β1=0.9", "--json"], capsys)
    assert code == 0 and json.loads(out)["valid"] == 11


def test_dedup_exit_code_says_whether_any_program_was_valid(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("def train(w, g, lr):\n  u = foo(g)\n  return u\n")
    (tmp_path / "bad2.txt").write_text("def train(w, g, lr):\n  return g +\n")
    # some valid: exit 0, the invalid listed
    code, out, err = cli(["dedup", str(bad), P8], capsys)
    assert code == 0 and "2 programs, 1 valid, 1 classes" in out
    assert err.splitlines()[:3] == [
        f"skipped: {bad}:2:7: error: unknown function `foo`  [E201]",
        "  |   u = foo(g)",
        "  |       ^",
    ]
    # none valid: the JSON is still printed, then exit 2
    code, out, err = cli(["dedup", "--json", str(tmp_path)], capsys)
    data = json.loads(out)
    assert code == 2 and data["programs"] == 2 and data["valid"] == 0 and not data["classes"]
    assert err.strip() == (
        "error: no valid program: all 2 programs read are invalid (each error is in the JSON's "
        "`invalid`); correct them and run again (`lionsimplify check FILE` shows each error "
        "with its line)"
    )
    # no program at all
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = cli(["dedup", str(empty)], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: no programs found in {empty}: name program files")


BAD_FILES = {
    "empty.txt": b"",
    "junk.bin": bytes(range(256)),
    "syntax.txt": b"def train(w, g, lr):\n  u = (g\n  return u\n",
    "unknown.txt": b"def train(w, g, lr):\n  u = sgn(g)\n  return u\n",
}


@pytest.mark.parametrize("command", ["check", "reduce", "dedup"])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_input_one_line_exit_2_no_traceback(command, name, tmp_path, capsys) -> None:
    f = tmp_path / name
    f.write_bytes(BAD_FILES[name])
    code, out, err = cli([command, str(f)], capsys)
    if command == "dedup":
        # dedup lists each invalid program (unreadable or binary ones too) as skipped; with no
        # valid one left it says so last and exits 2 (it printed an empty table, exit 0)
        lines = err.strip().splitlines()
        assert code == 2 and out == "" and "Traceback" not in err
        assert lines[0].startswith(f"skipped: {f}")  # then its source line, caret and help
        assert not any(ln.startswith(("skipped", "error")) for ln in lines[1:-1])
        assert lines[-1].startswith("error: no valid program: the only program read is invalid")
        return
    assert code == 2
    assert "Traceback" not in err + out
    first = err.strip().splitlines()[0]
    assert first.startswith(f"{f}:") and ": error: " in first


def test_check_and_reduce_dce_do_not_import_jax() -> None:
    code = (
        "import sys\nfrom lionsimplify.cli import main\n"
        f"for argv in (['x', 'check', {P8!r}], ['x', 'reduce', {P8!r}, '--until', 'dce']):\n"
        "    sys.argv = argv\n"
        "    try:\n        main()\n    except SystemExit:\n        pass\n"
        "print('JAX', 'jax' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "JAX False" in out.stdout


def test_usage_error_exits_2_without_traceback(capsys) -> None:
    code, out, err = cli(["check", "--semantics", "foo", P8], capsys)
    assert code == 2 and "Traceback" not in out + err and "internal error" not in err


def test_error_without_a_file_location_is_not_given_a_fake_one(capsys) -> None:
    code, _, err = cli(["eval", P8, "--proxy", "nope-s"], capsys)
    assert code == 2 and err.startswith("error: unknown proxy task `nope`")
