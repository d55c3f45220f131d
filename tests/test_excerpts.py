"""Every diagnostic with a place shows its source line and a caret, drawn the same way whether
the parser found it (E2xx) or an analysis after parsing (E301 kind mismatches, E205 missing
values, W1xx hazards), in every command that reports it; JSON output stays as documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

KIND = "def train(w, g, lr):\n  u = clip(g, g)\n  return u\n"
MISSING = "def train(w, g, m, lr):\n  m = interp(g, m, beta)\n  return m, m\n"
HAZARD = "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = g / m\n  return u, m\n"
UNKNOWN = "def train(w, g, lr):\n  u = sgn(g)\n  return u\n"


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _excerpt(output: str, headline_part: str) -> list[str]:
    """The headline holding `headline_part` and the two lines after it."""
    lines = output.splitlines()
    i = next(i for i, ln in enumerate(lines) if headline_part in ln)
    return lines[i : i + 3]


def test_kind_mismatch_shows_line_and_caret_in_check(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path, "kind.txt", KIND)
    code, out, err = run_cli(capsys, "check", path)
    assert code == 2
    assert _excerpt(err, "[E301]") == [
        f"{path}:2:7: error: argument 2 of `clip` must be a scalar, but `g` is a tensor  [E301]",
        "  |   u = clip(g, g)",
        "  |       ^",
    ]


def test_post_parse_errors_render_as_parse_errors_do(tmp_path: Path, capsys) -> None:
    """The same three-part shape (headline, `  | line`, `  | ^`) for E201 and E301."""
    parse = _excerpt(run_cli(capsys, "check", _file(tmp_path, "u.txt", UNKNOWN))[2], "[E201]")
    after = _excerpt(run_cli(capsys, "check", _file(tmp_path, "k.txt", KIND))[2], "[E301]")
    assert parse[1:] == ["  |   u = sgn(g)", "  |       ^"]
    assert after[1].startswith("  |   u = ") and after[2] == parse[2]


@pytest.mark.parametrize("command", ["reduce", "eval", "dedup"])
def test_kind_mismatch_shows_line_and_caret_in_reduce_eval_and_dedup(
    tmp_path: Path, capsys, command: str
) -> None:
    path = _file(tmp_path, "kind.txt", KIND)
    _file(tmp_path, "ok.txt", "def train(w, g, lr):\n  u = sign(g)\n  return u\n")
    args = {"reduce": [path], "eval": [path, "--proxy", "convex-s"], "dedup": [str(tmp_path)]}
    code, _, err = run_cli(capsys, command, *args[command])
    assert _excerpt(err, "[E301]")[1:] == ["  |   u = clip(g, g)", "  |       ^"]
    # an invalid program is bad input everywhere (eval trained it, and called it diverged)
    assert code == (0 if command == "dedup" else 2)


@pytest.mark.parametrize("command", ["reduce", "eval"])
def test_missing_value_points_at_the_hyperparameter(tmp_path: Path, capsys, command: str) -> None:
    path = _file(tmp_path, "miss.txt", MISSING)
    extra = ["--proxy", "convex-s"] if command == "eval" else []
    code, _, err = run_cli(capsys, command, path, *extra)
    assert code == 2
    assert _excerpt(err, "[E205]") == [
        f"{path}:2:20: error: hyperparameter `beta` has no value  [E205]",
        "  |   m = interp(g, m, beta)",
        "  |                    ^",
    ]


def test_hazards_show_line_and_caret(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path, "haz.txt", HAZARD)
    code, out, _ = run_cli(capsys, "check", path)
    assert code == 0
    assert _excerpt(out, "[W102]")[1:] == ["  |   u = g / m", "  |       ^"]


def test_json_diagnostics_are_unchanged(tmp_path: Path, capsys) -> None:
    path = _file(tmp_path, "kind.txt", KIND)
    _, out, _ = run_cli(capsys, "check", "--json", path)
    (diag,) = json.loads(out)[0]["diagnostics"]
    assert set(diag) == {"severity", "code", "message", "path", "line", "col", "help"}
    assert (diag["line"], diag["col"]) == (2, 7)


def test_a_jsonl_entry_shows_its_programs_line(tmp_path: Path, capsys) -> None:
    """The entry is located at its line of the file; the excerpt is its program's line, with
    the caret at the column the message gives."""
    runs = tmp_path / "programs.jsonl"
    ok = {"id": "ok", "program": "def train(w, g, lr):\n  u = sign(g)\n  return u\n"}
    runs.write_text(json.dumps(ok) + "\n" + json.dumps({"id": "bad", "program": KIND}) + "\n")
    code, _, err = run_cli(capsys, "dedup", str(runs))
    assert code == 0
    assert _excerpt(err, "[E301]") == [
        f"skipped: {runs}:2: error: in `program`, line 2, col 7: argument 2 of `clip` must be "
        "a scalar, but `g` is a tensor  [E301]",
        "  |   u = clip(g, g)",
        "  |       ^",
    ]
