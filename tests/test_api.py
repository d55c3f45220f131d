"""The library API: one call per task, typed results, the same answers the commands print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

import lionsimplify as ls
from lionsimplify.lang.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
P8 = ROOT / "examples" / "programs" / "program8.txt"
P4 = ROOT / "examples" / "programs" / "program4.txt"


def test_simplify_returns_typed_results_matching_reduce_json(capsys) -> None:
    result = ls.simplify(P8)
    assert isinstance(result, ls.Simplification)
    assert result.label is ls.Label.EXACT and isinstance(result.label, str)
    assert result.text.startswith("def train(w, g, m, lr, b1=0.8999999761581421")
    assert parse_text(result.text) == result.lifted.program  # reads back as it is
    _, out, _ = run_cli(capsys, "reduce", str(P8), "--json")
    data = json.loads(out)
    assert data["lifted"]["program"] == result.text
    assert list(result.side_conditions) == data["side_conditions"]
    assert "## Result" in result.derivation()


def test_simplify_options_are_typed() -> None:
    only_dce = ls.simplify(P8, until=ls.Stage.DCE)
    assert len(only_dce.program.body) > len(ls.simplify(P8).program.body)
    ablated = ls.simplify(P8, ablate=True)
    assert ablated.label is ls.Label.APPROXIMATE
    module = ls.simplify(P8, jax_name="lion8").jax_module
    assert module is not None and "def lion8(" in module
    with pytest.raises(ValueError, match="validate"):
        ls.simplify(P8, ablate=True, validate="vision-s")


def test_check_reports_instead_of_raising(tmp_path: Path) -> None:
    ok = ls.check(P8)
    assert ok.valid and {d.code for d in ok.hazards} == {"W101", "W102"}
    assert all(d.severity is ls.Severity.HAZARD for d in ok.hazards)
    assert ok.outputs["update"].startswith("tensor in")
    assert ls.check(P8, ignore={"W101"}).hazards[0].code == "W102"
    bad = tmp_path / "bad.txt"
    bad.write_text("def train(w, g, lr):\n  u = sgn(g)\n  return u\n")
    found = ls.check(bad)
    assert not found.valid and found.program is None
    (err,) = found.errors
    assert (err.code, err.line, err.col) == ("E201", 2, 7)
    assert str(err).startswith(f"{bad}:2:7: error: unknown function")


def test_diff_and_bad_input() -> None:
    d = ls.diff(P8, P4)
    assert d.verdict == "different" and d.exit_code == 1
    assert ls.diff(P8, P8).verdict == "identical"
    with pytest.raises(ls.ProgramError) as info:
        ls.simplify(ROOT / "no-such-file.txt")
    assert info.value.code == "E001"
