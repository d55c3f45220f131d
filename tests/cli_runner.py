"""Run the real command-line entry point in-process, as the CLI tests need it."""

from __future__ import annotations

import sys

import pytest

from lionsimplify.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`lionsimplify ARGS...` through `main` (with its error handling): (exit code, out, err)."""
    old = sys.argv
    sys.argv = ["lionsimplify", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err
