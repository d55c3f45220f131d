"""`lionsimplify diff`: output formats, many variants and exit codes (0 / 1 / 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

PROGRAMS = Path(__file__).resolve().parent.parent / "examples" / "programs"
VARIANTS = PROGRAMS / "variants"
P8, P4 = str(PROGRAMS / "program8.txt"), str(PROGRAMS / "program4.txt")
ADAMW = str(PROGRAMS / "program3_adamw.txt")
LION = str(PROGRAMS / "program1_lion.txt")
LION_PARAMS = ["--param", "β1=0.9", "--param", "β2=0.99", "--param", "λ=0.01"]


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str):  # noqa: ANN201
    return run_cli(capsys, *args)


def test_program8_vs_program4_side_by_side(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = cli(capsys, monkeypatch, "diff", P8, P4)
    assert code == 1
    assert "constants only" in out
    assert "0.8999999761581421" in out and "0.899" in out
    assert "-7.91%" in out  # the learning-rate factor 0.000217 -> 0.0002
    assert "verdict: different" in out
    assert "never reaches the update" in out


def test_identical_exits_0(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = cli(capsys, monkeypatch, "diff", ADAMW, str(VARIANTS / "adamw_rewritten.txt"))
    assert code == 0
    assert "verdict: identical" in out


def test_equivalent_exits_0_and_json(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = cli(
        capsys,
        monkeypatch,
        "diff",
        LION,
        str(VARIANTS / "lion_bias_corrected.txt"),
        "--json",
        *LION_PARAMS,
    )
    assert code == 0
    obj = json.loads(out)
    assert obj["verdict"] == "equivalent"
    assert obj["evidence"]["fingerprints"]["behavioural"] is True
    assert obj["params"] == {"β1": 0.9, "β2": 0.99, "λ": 0.01}


def test_direction_equivalent_exits_1(capsys, monkeypatch) -> None:  # noqa: ANN001
    a, b = str(VARIANTS / "adam.txt"), str(VARIANTS / "adam_bias_corrected.txt")
    code, out, _ = cli(
        capsys, monkeypatch, "diff", a, b, "--json", *LION_PARAMS[:4]
    )  # adam has no λ
    assert code == 1
    obj = json.loads(out)
    assert obj["verdict"] == "direction-equivalent"
    lo, hi = obj["evidence"]["factor_range"]
    assert 0 < lo < hi


def test_unified_format(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = cli(capsys, monkeypatch, "diff", P8, P4, "--format", "unified")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("--- ") and lines[1].startswith("+++ ")
    removed = [x for x in lines if x.startswith("-  ")]
    added = [x for x in lines if x.startswith("+  ")]
    assert any("interp(" in x and x.endswith(", 0.8999999761581421)") for x in removed)
    assert any("interp(" in x and x.endswith(", 0.899)") for x in added)
    assert any(x.startswith("   ") and "arcsin(" in x for x in lines)  # canonical context
    assert lines[-1].startswith("# different: they part at step 1")


def test_many_variants_matrix_and_json_list(capsys, monkeypatch) -> None:  # noqa: ANN001
    variants = [str(VARIANTS / "adamw_rewritten.txt"), str(VARIANTS / "adamw_sign.txt")]
    code, out, _ = cli(capsys, monkeypatch, "diff", ADAMW, *variants)
    assert code == 1  # one of them is different
    assert "identical" in out and "different" in out
    assert "adamw_rewritten.txt" in out and "adamw_sign.txt" in out
    code, out, _ = cli(capsys, monkeypatch, "diff", ADAMW, *variants, "--json")
    verdicts = [(Path(d["b"]).name, d["verdict"]) for d in json.loads(out)]
    assert verdicts == [("adamw_rewritten.txt", "identical"), ("adamw_sign.txt", "different")]


def test_directory_against_a_file(capsys, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "a.txt").write_text((VARIANTS / "adamw_rewritten.txt").read_text())
    (tmp_path / "b.txt").write_text(Path(ADAMW).read_text().replace("0.999", "0.99"))
    code, out, _ = cli(capsys, monkeypatch, "diff", str(tmp_path), "--against", ADAMW, "--json")
    assert code == 1
    result = json.loads(out)
    assert [d["verdict"] for d in result] == ["identical", "different"]
    assert all(d["a"] == ADAMW for d in result)
    (change,) = result[1]["constants"]
    assert (change["a_value"], change["b_value"]) == (0.999, 0.99)


def test_directory_compares_against_its_first_file(capsys, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "1.txt").write_text(Path(ADAMW).read_text())
    (tmp_path / "2.txt").write_text((VARIANTS / "adamw_rewritten.txt").read_text())
    code, out, _ = cli(capsys, monkeypatch, "diff", str(tmp_path), "--json")
    assert code == 0
    assert json.loads(out)["verdict"] == "identical"  # one comparison: an object


def test_raw_compares_as_written(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = cli(capsys, monkeypatch, "diff", P4, P4, "--raw", "--json")
    assert code == 0
    obj = json.loads(out)
    assert obj["raw"] is True and obj["verdict"] == "identical"
    assert "cosh" in obj["canonical"]["a"]  # the dead `m = cosh(update)` is kept


@pytest.mark.parametrize("which", ["first", "second"])
def test_bad_input_in_either_file_is_one_line_with_location(
    capsys, monkeypatch, tmp_path, which
) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.txt"
    bad.write_text("def train(w, g, m, lr):\n  m = interp(g, m, 0.9\n  return m, m\n")
    args = [str(bad), P4] if which == "first" else [P4, str(bad)]
    code, out, err = cli(capsys, monkeypatch, "diff", *args)
    assert code == 2
    assert out == ""
    headline = err.splitlines()[0]
    assert headline.startswith(f"{bad}:2:") and ": error: " in headline
    assert "Traceback" not in err


def test_type_error_in_program_is_exit_2(capsys, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.txt"
    bad.write_text("def train(w, g, lr):\n  u = clip(g, w)\n  return u\n")
    code, _, err = cli(capsys, monkeypatch, "diff", P4, str(bad))
    assert code == 2
    assert err.splitlines()[0].startswith(f"{bad}:2:")


def test_missing_hyperparameter_is_exit_2(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, _, err = cli(capsys, monkeypatch, "diff", LION, LION, "--param", "β1=0.9")
    assert code == 2
    assert err.startswith(f"{LION}:4:") and "β2" in err


def test_usage_errors_are_exit_2(capsys, monkeypatch) -> None:  # noqa: ANN001
    assert cli(capsys, monkeypatch, "diff", P4)[0] == 2  # only one program
    assert cli(capsys, monkeypatch, "diff", P4, P8, "--format", "side")[0] == 2
    assert cli(capsys, monkeypatch, "diff", P4, P8, "--semantics", "exact")[0] == 2
    code, _, err = cli(capsys, monkeypatch, "diff", P4, "missing.txt")
    assert code == 2 and err.startswith("missing.txt")


def test_help_documents_the_exit_codes(capsys, monkeypatch) -> None:  # noqa: ANN001
    code, out, _ = cli(capsys, monkeypatch, "diff", "--help")
    assert code == 0
    assert "Exit status: 0" in " ".join(out.split())
    assert "direction-equivalent" in out


def test_reference_inside_the_directory_is_not_compared_with_itself(
    capsys, monkeypatch, tmp_path
) -> None:  # noqa: ANN001
    ref = tmp_path / "ref.txt"
    ref.write_text(Path(ADAMW).read_text())
    (tmp_path / "other.txt").write_text((VARIANTS / "adamw_sign.txt").read_text())
    code, out, _ = cli(capsys, monkeypatch, "diff", str(tmp_path), "--against", str(ref), "--json")
    assert code == 1
    obj = json.loads(out)  # one comparison left: an object, not a list
    assert Path(obj["b"]).name == "other.txt" and obj["verdict"] == "different"


def test_an_invalid_program_in_a_folder_or_jsonl_is_skipped_not_fatal(
    capsys, monkeypatch, tmp_path
) -> None:  # noqa: ANN001
    """README: a bad line or file is one invalid candidate in diff as in dedup (listed, exit 1
    since it was not shown equivalent); a file named on its own stays bad input (exit 2)."""
    folder = tmp_path / "runs"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(Path(ADAMW).read_text())
    (folder / "bad.txt").write_text("def train(w, g, m, lr):\n  m = interp(g, m)\n  return m, m\n")
    code, out, err = cli(capsys, monkeypatch, "diff", str(folder))
    assert code == 1 and "verdict: identical" in out
    assert err.strip().splitlines() == [
        f"skipped: {folder / 'bad.txt'}:2:7: error: `interp` takes 3 arguments, got 2  [E202]",
        "  |   m = interp(g, m)",
        "  |       ^",
    ]
    code, _, err = cli(capsys, monkeypatch, "diff", str(folder / "a.txt"), str(folder / "bad.txt"))
    assert code == 2 and "^" in err
    # a .jsonl: entries are named by id, so the rows tell them apart; a bad line is skipped
    runs = tmp_path / "runs.jsonl"
    text = Path(ADAMW).read_text()
    lines = [{"program": text, "id": "x"}, {"program": text.replace("0.9)", "0.8)"), "id": "y"}]
    runs.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    code, out, err = cli(capsys, monkeypatch, "diff", str(runs), "--json")
    assert code == 1 and "skipped:" in err and "invalid JSON" in err
    data = json.loads(out)
    assert (data["a"], data["b"], data["verdict"]) == (f"{runs}:x", f"{runs}:y", "different")


def test_no_valid_program_is_the_shared_bad_input_message(capsys, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """As `explain` and `dedup`: no valid program in a folder or .jsonl is exit 2 with the one
    "no valid program" message after the skipped list, not the first program's error alone."""
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "bad.txt").write_text("def train(w, g, m, lr):\n  m = interp(g, m)\n  return m, m\n")
    code, _, err = cli(capsys, monkeypatch, "diff", str(folder))
    assert code == 2
    assert err.startswith(f"skipped: {folder / 'bad.txt'}:2:7: error: `interp` takes 3 arguments")
    assert "error: no valid program: the only program read is invalid" in err
    runs = tmp_path / "runs.jsonl"
    runs.write_text("not json\n" + json.dumps({"program": "def f(w, g, lr):\n  return q\n"}) + "\n")
    code, _, err = cli(capsys, monkeypatch, "diff", str(runs), "--against", ADAMW)
    assert code == 2 and "error: no valid program: all 2 programs read are invalid" in err
    # one valid program and no --against: nothing to compare it with, and the others are listed
    (folder / "a.txt").write_text(Path(ADAMW).read_text())
    code, _, err = cli(capsys, monkeypatch, "diff", str(folder))
    assert code == 2 and "skipped:" in err
    assert (
        "give at least two programs to compare (or one with --against FILE); 1 other program is invalid"
        in err
    )
