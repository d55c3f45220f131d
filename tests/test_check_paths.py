"""`check` reads folders and `.jsonl` run files as `dedup`, `diff` and `explain` do: the same
reader and order, one block (or JSON object) per program with every option applied to each, an
invalid program of a batch a negative finding (exit 1), one named on its own bad input (exit 2),
and no valid program at all the shared "no valid program" message (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import run_cli

SIGNSGD = "def train(w, g, lr):\n  u = sign(g) * lr\n  return u\n"
KIND = "def train(w, g, lr):\n  u = clip(g, g)\n  return u\n"
ADAGRAD = "def train(w, g, v, lr):\n  v = v + g * g\n  u = g / sqrt(v) * lr\n  return u, v\n"
DIVIDE = "  |   u = g / sqrt(v) * lr"


def _flat(text: str) -> str:
    """`text` without its spaces and line breaks: a long path may wrap anywhere."""
    return "".join(text.split())


def _folder(tmp_path: Path, **programs: str) -> Path:
    folder = tmp_path / "progs"
    folder.mkdir(parents=True)
    for name, text in programs.items():
        (folder / f"{name}.txt").write_text(text)
    return folder


def test_a_folder_is_checked_program_by_program_in_order(tmp_path: Path, capsys) -> None:
    folder = _folder(tmp_path, a=SIGNSGD, b=KIND, c=ADAGRAD)
    code, out, err = run_cli(capsys, "check", str(folder))
    assert code == 1  # b is invalid: a negative finding of the batch, not bad input
    flat = _flat(out)
    heads = [
        f"{folder / 'a.txt'}: valid program, 2 statements, math semantics",
        f"{folder / 'b.txt'}: invalid program, 1 statements, math semantics",
        f"{folder / 'c.txt'}: valid program, 5 statements, math semantics",
        f"{folder / 'c.txt'}:3:7: warning: division by",
    ]
    heads = [_flat(h) for h in heads]
    assert [flat.index(h) for h in heads] == sorted(flat.index(h) for h in heads)
    assert DIVIDE in out
    assert err.splitlines()[:3] == [
        f"{folder / 'b.txt'}:2:7: error: argument 2 of `clip` must be a scalar, but `g` is a "
        "tensor  [E301]",
        "  |   u = clip(g, g)",
        "  |       ^",
    ]
    # options apply to each program: W102 made strict fails, ignored it is not reported
    folder_ok = _folder(tmp_path / "ok", a=SIGNSGD, c=ADAGRAD)
    assert run_cli(capsys, "check", str(folder_ok))[0] == 0
    assert run_cli(capsys, "check", "--strict-code", "W102", str(folder_ok))[0] == 1
    code, out, _ = run_cli(capsys, "check", "--ignore", "W102", "--strict", str(folder_ok))
    assert code == 0 and "W102" not in out
    code, out, _ = run_cli(capsys, "check", "--json", str(folder))
    data = json.loads(out)
    assert code == 1
    assert [(d["path"], d["valid"]) for d in data] == [
        (str(folder / "a.txt"), True),
        (str(folder / "b.txt"), False),
        (str(folder / "c.txt"), True),
    ]
    assert [d["code"] for d in data[1]["diagnostics"]] == ["E301"]


def test_a_jsonl_run_file_is_checked_entry_by_entry_at_its_lines(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "programs.jsonl"
    lines = [{"id": "s1", "program": SIGNSGD}, {"id": "a1", "program": ADAGRAD}]
    runs.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")
    code, out, err = run_cli(capsys, "check", str(runs))
    assert code == 1 and f"{runs}:3:2: error: invalid JSON" in err
    flat = _flat(out)
    assert _flat(f"{runs}:s1: valid program") in flat and _flat(f"{runs}:a1: valid") in flat
    # a diagnostic of an entry's program: at the entry's line, its place in the message
    assert (
        _flat(f"{runs}:2: warning: in `program`, line 3, col 7: division by `t3`, which may be")
        in flat
    )
    assert f"{DIVIDE}\n  |       ^" in out
    code, out, _ = run_cli(capsys, "check", "--json", str(runs))
    data = json.loads(out)
    assert [d["path"] for d in data] == [f"{runs}:s1", f"{runs}:a1", f"{runs}:3"]
    (hazard,) = data[1]["diagnostics"]
    assert (hazard["path"], hazard["line"], hazard["col"]) == (str(runs), 2, None)
    assert data[2]["valid"] is False and data[2]["diagnostics"][0]["line"] == 3


def test_bad_input_a_named_file_no_valid_program_and_no_program(tmp_path: Path, capsys) -> None:
    folder = _folder(tmp_path, b=KIND)
    code, _, err = run_cli(capsys, "check", str(folder))
    assert code == 2 and err.startswith(f"{folder / 'b.txt'}:2:7: error:")
    assert err.strip().endswith(
        "error: no valid program: the only program read is invalid (its error is shown above); "
        "correct it and run again (`lionsimplify check FILE` shows each error with its line)"
    )
    # named on its own, an invalid file is bad input, as it always was: its error alone
    code, _, err = run_cli(capsys, "check", str(folder / "b.txt"), str(folder))
    assert code == 2 and "no valid program" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(capsys, "check", str(empty))
    assert code == 2 and f"error: no programs found in {empty}" in err
