"""The typer application object and the helpers every command shares.

Commands live in one module each (`cli/check.py`, `cli/reduce.py`, ...) and register themselves
on `app`; they parse arguments, call one library function and render its result with rich or as
JSON. No analysis logic lives here.
"""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

app = typer.Typer(
    name="lionsimplify",
    help="Reduce, simplify, verify and select optimizer programs found by program search.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2


def print_json(obj: Any) -> None:
    """Deterministic JSON on stdout (sorted keys), so results can be diffed and cached."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line error and leave with `code`."""
    err_console.print(f"[bold red]error[/]: {message}", soft_wrap=True)
    raise typer.Exit(code)
