"""The typer application object and the helpers every command shares.

Commands live in one module each (`cli/check.py`, `cli/reduce.py`, ...) and register themselves
on `app`; they parse arguments, call one library function and render its result with rich or as
JSON. No analysis logic lives here.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from lionsimplify.lang.ir import Program

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


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            console.print(f"lionsimplify {version('lionsimplify')}")
        except PackageNotFoundError:
            console.print("lionsimplify (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Reduce, simplify, verify and select optimizer programs found by program search."""


def print_json(obj: Any) -> None:
    """Deterministic JSON on stdout (sorted keys), so results can be diffed and cached."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line error and leave with `code`."""
    err_console.print(f"[bold red]error[/]: {message}", soft_wrap=True)
    raise typer.Exit(code)


def parse_params(items: list[str] | None) -> dict[str, float]:
    """`--param NAME=VALUE` options -> {NAME: VALUE}; a malformed one is a usage error.

    The value must be an ASCII decimal or scientific literal (Python's `float` also reads
    `١.٥` and `1_0`, which no user means), finite, and each name may be given once."""
    params: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            fail(f"--param {item!r}: expected NAME=VALUE, e.g. --param β1=0.9")
        text = value.strip()
        if text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            fail(f"--param {item!r}: the value must be finite")
        if not _NUMBER.fullmatch(text):
            fail(f"--param {item!r}: {value!r} is not a number (write e.g. 0.9 or 1e-3)")
        number = float(text)
        if not math.isfinite(number):
            fail(f"--param {item!r}: the value must be finite")
        if name in params:
            fail(f"--param {name}: given twice; give each hyperparameter once")
        params[name] = number
    return params


def check_param_names(params: dict[str, float], *programs: Program) -> None:
    """Every `--param` must name a hyperparameter of at least one program: a typo (`--param
    beta1=0.9` for `β1`) would otherwise be silently ignored."""
    known = {h for p in programs for h in p.hyperparams()}
    unknown = sorted(set(params) - known)
    if unknown:
        have = ", ".join(sorted(known)) or "none"
        fail(f"--param {', '.join(unknown)}: no such hyperparameter (the program has: {have})")


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
