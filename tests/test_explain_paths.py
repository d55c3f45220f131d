"""`explain` reads folders and `.jsonl` run files as `dedup` and `diff` do: the same reader and
order, an invalid program in a folder or run file listed and skipped (exit 1: a mixed batch),
one named on its own bad input (exit 2), and `--json` with one object per program."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import run_cli

SIGNSGD = "def train(w, g, lr):\n  u = sign(g) * lr\n  return u\n"
KIND = "def train(w, g, lr):\n  u = clip(g, g)\n  return u\n"
EMA = "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = m * lr\n  return u, m\n"


def _folder(tmp_path: Path, **programs: str) -> Path:
    folder = tmp_path / "progs"
    folder.mkdir()
    for name, text in programs.items():
        (folder / f"{name}.txt").write_text(text)
    return folder


def test_a_folder_is_explained_in_order_and_an_invalid_program_listed(
    tmp_path: Path, capsys
) -> None:
    folder = _folder(tmp_path, a=SIGNSGD, b=KIND, c=EMA)
    code, out, err = run_cli(capsys, "explain", str(folder))
    assert code == 1
    a, c = out.index(str(folder / "a.txt")), out.index(str(folder / "c.txt"))
    assert a < out.index("identical: signSGD") < c < out.index("identical: SGD with EMA momentum")
    assert err.splitlines()[:3] == [
        f"skipped: {folder / 'b.txt'}:2:7: error: argument 2 of `clip` must be a scalar, but "
        "`g` is a tensor  [E301]",
        "  |   u = clip(g, g)",
        "  |       ^",
    ]
    code, out, _ = run_cli(capsys, "explain", "--json", str(folder))
    data = json.loads(out)
    assert code == 1
    assert [d["source"] for d in data] == [str(folder / f"{n}.txt") for n in "abc"]
    assert [d.get("verdict") for d in data] == ["identical", None, "identical"]
    assert data[1] == {
        "source": str(folder / "b.txt"),
        "error": f"{folder / 'b.txt'}:2:7: error: argument 2 of `clip` must be a scalar, but "
        "`g` is a tensor  [E301]",
        "line": 2,
        "col": 7,
    }


def test_a_folder_of_valid_programs_exits_0(tmp_path: Path, capsys) -> None:
    assert run_cli(capsys, "explain", str(_folder(tmp_path, a=SIGNSGD, c=EMA)))[0] == 0


def test_a_jsonl_run_file_is_read_entry_by_entry(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "programs.jsonl"
    lines = [{"id": "s1", "program": SIGNSGD}, {"id": "e1", "program": EMA}]
    runs.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")
    code, out, err = run_cli(capsys, "explain", "--json", str(runs))
    data = json.loads(out)
    assert code == 1 and "skipped:" in err and "invalid JSON" in err
    assert [d["source"] for d in data] == [f"{runs}:s1", f"{runs}:e1", f"{runs}:3"]
    assert data[2]["line"] == 3 and "invalid JSON" in data[2]["error"]


def test_no_valid_program_and_an_invalid_named_file_are_bad_input(tmp_path: Path, capsys) -> None:
    folder = _folder(tmp_path, b=KIND)
    code, _, err = run_cli(capsys, "explain", str(folder))
    assert code == 2 and "no valid program: the only program read is invalid" in err
    code, _, err = run_cli(capsys, "explain", str(folder / "b.txt"), str(folder))
    assert code == 2 and err.startswith(f"{folder / 'b.txt'}:2:7: error:")
    assert "skipped" not in err
