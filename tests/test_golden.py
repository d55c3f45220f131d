"""README's commands on the example programs print exactly what they printed when captured.

The golden files were captured from the CLI before the analyses were rewritten (iterative,
hash-consed terms, rules as patterns); a refactoring must not change a byte of them. To
regenerate them after an intended change, run the test with `LIONSIMPLIFY_REGEN_GOLDEN=1`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
PROGRAMS = "examples/programs"
_EXAMPLES = sorted(p.stem for p in (ROOT / PROGRAMS).glob("*.txt"))
_VARIANTS = sorted(p.stem for p in (ROOT / PROGRAMS / "variants").glob("*.txt"))


def _params(path: Path) -> list[str]:
    """Values for the hyperparameters a program names (reduce verifies, which needs numbers)."""
    text = path.read_text()
    values = {"β1": "0.9", "β2": "0.99", "λ": "0.01"}
    return [arg for k, v in values.items() if k in text for arg in ("--param", f"{k}={v}")]


#: golden file name -> command line (paths relative to the repository root)
COMMANDS: dict[str, list[str]] = {
    **{f"check-{n}": ["check", f"{PROGRAMS}/{n}.txt"] for n in _EXAMPLES},
    **{
        f"reduce-{n}": [
            "reduce",
            f"{PROGRAMS}/{n}.txt",
            "--params",
            *_params(ROOT / PROGRAMS / f"{n}.txt"),
        ]
        for n in _EXAMPLES
    },
    **{
        f"reduce-json-{n}": [
            "reduce",
            f"{PROGRAMS}/{n}.txt",
            "--json",
            *_params(ROOT / PROGRAMS / f"{n}.txt"),
        ]
        for n in _EXAMPLES
    },
    **{
        f"reduce-json-hero-{n}": [
            "reduce",
            f"{PROGRAMS}/variants/{n}.txt",
            "--json",
            "--semantics",
            "hero",
            *_params(ROOT / PROGRAMS / "variants" / f"{n}.txt"),
        ]
        for n in _VARIANTS
    },
    "dedup-programs": ["dedup", PROGRAMS],
    "dedup-variants": ["dedup", f"{PROGRAMS}/variants"],
    "diff-8-4": ["diff", f"{PROGRAMS}/program8.txt", f"{PROGRAMS}/program4.txt"],
    "diff-json-1-adamw": [
        "diff",
        f"{PROGRAMS}/program1_lion.txt",
        f"{PROGRAMS}/program3_adamw.txt",
        "--json",
        *_params(ROOT / PROGRAMS / "program1_lion.txt"),
    ],
}


def _run(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    code, out, err = run_cli(capsys, *args)
    return f"exit {code}\n--- stdout\n{out}--- stderr\n{err}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_output_is_byte_identical(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    got = _run(capsys, COMMANDS[name])
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("LIONSIMPLIFY_REGEN_GOLDEN") == "1":
        path.write_text(got)
    assert got == path.read_text()
