"""Diagnostic codes: every error and hazard has one from the table, the docs page is generated
from it, and `check --explain/--ignore/--strict-code` select by code."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from cli_runner import run_cli

from lionsimplify.lang.diagnostics import CODES, Severity, markdown

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lionsimplify"
P8 = str(ROOT / "examples" / "programs" / "program8.txt")


def _calls() -> list[tuple[str, ast.Call]]:
    """Every construction of an error or hazard in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in ("ProgramError", "Diagnostic") or (
                name == "error" and isinstance(f, ast.Attribute) and path.name == "parse.py"
            ):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return found


def test_every_error_and_hazard_is_raised_with_a_code_from_the_table() -> None:
    calls = _calls()
    assert len(calls) > 60
    used = set()
    for where, call in calls:
        code = next((k.value for k in call.keywords if k.arg == "code"), None)
        assert code is not None, f"{where}: no code="
        if isinstance(code, ast.Constant):
            assert code.value in CODES, f"{where}: {code.value} is not in the table"
            used.add(code.value)
        else:  # passing on the code of the error it wraps, or the helper's own parameter
            wraps = isinstance(code, ast.Attribute) and code.attr == "code"
            assert wraps or (isinstance(code, ast.Name) and code.id == "code"), where
    assert used == set(CODES), f"codes in the table that nothing raises: {set(CODES) - used}"


def test_codes_are_stable_in_shape_and_severity() -> None:
    for code, entry in CODES.items():
        assert re.fullmatch(r"[EW]\d{3}", code) and entry.code == code
        assert (entry.severity is Severity.ERROR) == code.startswith("E")
        assert entry.summary and entry.explanation and re.fullmatch(r"[a-z-]+", entry.name)


def test_docs_page_is_generated_from_the_table() -> None:
    page = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert page == markdown(), "run: python -m lionsimplify.lang.diagnostics > docs/diagnostics.md"


@pytest.mark.parametrize("code", [c for c in CODES.values() if c.example])
def test_each_example_raises_its_code(code, tmp_path, capsys) -> None:
    path = tmp_path / "example.txt"
    path.write_text(code.example + "\n", encoding="utf-8")
    # `check` reads a hyperparameter without a value; running the program needs one
    command = "reduce" if code.code == "E205" else "check"
    exit_code, out, err = run_cli(capsys, command, str(path))
    if code.severity is Severity.ERROR:
        assert exit_code == 2
        assert err.startswith(f"{path}:") and ": error: " in err.splitlines()[0]
        assert err.splitlines()[0].endswith(f"[{code.code}]")
    else:
        assert exit_code == 0 and f"[{code.code}]" in out
        assert run_cli(capsys, "check", str(path), "--strict-code", code.code)[0] == 1
        exit_code, out, _ = run_cli(capsys, "check", str(path), "--ignore", code.code)
        assert exit_code == 0 and f"[{code.code}]" not in out


def test_explain_prints_the_entry(capsys) -> None:
    code, out, _ = run_cli(capsys, "check", "--explain", "w102")
    assert code == 0 and out.startswith("W102 division-by-zero (hazard)")
    code, _, err = run_cli(capsys, "check", "--explain", "X999")
    assert code == 2 and "unknown code" in err


def test_strict_code_and_ignore_select_hazards(capsys) -> None:
    code, out, _ = run_cli(capsys, "check", P8, "--json")
    codes = {d["code"] for d in json.loads(out)[0]["diagnostics"]}
    assert codes == {"W101", "W102"} and code == 0
    assert run_cli(capsys, "check", P8, "--strict")[0] == 1
    assert run_cli(capsys, "check", P8, "--strict-code", "W103")[0] == 0
    assert run_cli(capsys, "check", P8, "--strict-code", "W102")[0] == 1
    args = ("check", P8, "--strict", "--ignore", "W101", "--ignore", "W102")
    assert run_cli(capsys, *args)[0] == 0
    code, _, err = run_cli(capsys, "check", P8, "--ignore", "E201")
    assert code == 2 and "only hazards" in err
