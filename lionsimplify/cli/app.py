"""What every command shares: the consoles, the common options, usage errors and JSON output.

Commands are plain click commands, one module each (`cli/check_cmd.py`, ...), registered in one
table (`COMMANDS` in `cli/__init__.py`) and imported only when invoked, so `check` never pays
for the funnel's or the proxies' imports. Click rather than typer: typer builds a pydantic
adapter for every parameter on every start (a quarter of a second) and prints its internal
types (`<list[Path]>`) as metavars. No analysis logic lives here.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from lionsimplify.cli import PipeClosed
from lionsimplify.lang.ir import Program


class _Console(Console):
    """Rich's console, except that a closed pipe (`| head`) is left to `cli.main` (exit 141):
    rich's own handler exits 1, which here means a negative finding."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise PipeClosed


console = _Console(highlight=False)
err_console = _Console(stderr=True, highlight=False)

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])


class Command(click.Command):
    """A click command whose help text renders as written: prose paragraphs are re-flowed to
    the terminal's width as a whole (never broken into ragged lines), indented lines (the
    examples) are kept verbatim so they can be copied."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = inspect.cleandoc(self.help or "")
        width = max(formatter.width - formatter.current_indent - 2, 30)
        formatter.write_paragraph()
        for i, para in enumerate(text.split("\n\n")):
            if i:
                formatter.write("\n")
            lines = para.splitlines()
            if lines and all(line.startswith(" ") for line in lines):
                formatter.write("".join(f"  {line}\n" for line in lines))
            else:
                flowed = textwrap.fill(" ".join(s.strip() for s in lines), width)
                formatter.write(textwrap.indent(flowed, "  ") + "\n")


def command(name: str) -> Callable[[F], click.Command]:
    """`@command("check")`: a command with this module's help rendering and `-h`."""
    return click.command(
        name, cls=Command, context_settings={"help_option_names": ["-h", "--help"]}
    )


def file_argument(name: str = "file", nargs: int = 1, **kw: Any) -> Callable[[F], F]:
    kind = click.Path(path_type=Path, dir_okay=kw.pop("dir_okay", True))
    metavar = kw.pop("metavar", "FILE" if nargs == 1 else "FILE...")
    return click.argument(name, nargs=nargs, type=kind, metavar=metavar, **kw)


def semantics_option(f: F) -> F:
    from lionsimplify.lang.ops import SEMANTICS

    return click.option(
        "--semantics",
        type=click.Choice(list(SEMANTICS)),
        default="math",
        show_default=True,
        metavar="NAME",
        help="Arithmetic: `math` (IEEE) or `hero` (the Hero library's).",
    )(f)


def param_option(f: F) -> F:
    return click.option(
        "--param",
        "param",
        multiple=True,
        metavar="NAME=VALUE",
        help="Hyperparameter value; repeatable; overrides a default in the signature.",
    )(f)


def json_option(what: str) -> Callable[[F], F]:
    return click.option("--json", "json_out", is_flag=True, help=f"Print {what} as JSON.")


def force_option(help: str) -> Callable[[F], F]:
    return click.option("--force", is_flag=True, help=help)


def ablate_option(help: str) -> Callable[[F], F]:
    return click.option("--ablate", is_flag=True, help=help)


def proxy_module_option(help: str) -> Callable[[F], F]:
    return click.option("--proxy-module", metavar="MODULE:NAME", help=help)


def seeds_option(minimum: int, help: str) -> Callable[[F], F]:
    """`--seeds N`: seeds 0..N-1 (at least `minimum`: a paired comparison needs two)."""
    kind = click.IntRange(minimum, 64)
    return click.option("--seeds", type=kind, default=3, show_default=True, metavar="N", help=help)


def lr_grid_option(default: str, example: str, help: str) -> Callable[[F], F]:
    """`--lr-grid X,Y,...`, handed to the command as a list of positive multipliers."""
    return click.option(
        "--lr-grid",
        default=default,
        show_default=True,
        metavar="X,Y,...",
        help=help,
        callback=_checked(lambda text: positive_numbers(text, "--lr-grid", example)),
    )


def base_lr_option(help: str) -> Callable[[F], F]:
    return _positive_option("--base-lr", 1.0, "LR", help)


def time_limit_option(help: str) -> Callable[[F], F]:
    return _positive_option("--time-limit", 1800.0, "SECONDS", help)


def _positive_option(name: str, default: float, metavar: str, help: str) -> Callable[[F], F]:
    return click.option(
        name,
        type=float,
        default=default,
        show_default=True,
        metavar=metavar,
        help=help,
        callback=_checked(lambda value: positive_number(value, name)),
    )


def _checked(check: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option callback that checks (and converts) the value as it is parsed, so a bad value
    is reported by the option's own message, whatever else the command line holds; skipped
    while the shell completes a command line (an error there would print into the prompt)."""
    return lambda ctx, _param, value: value if ctx.resilient_parsing else check(value)


def print_json(obj: Any) -> None:
    """Deterministic JSON on stdout (sorted keys), so results can be diffed and cached."""
    try:
        sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `--json | head`: see `cli.main`
        raise PipeClosed from None


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line error and leave with `code`."""
    err_console.print(f"[bold red]error[/]: {message}", soft_wrap=True)
    raise SystemExit(code)


def parse_params(items: tuple[str, ...] | list[str] | None) -> dict[str, float]:
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


def positive_number(value: float, option: str) -> float:
    """A positive finite option value (`--base-lr`), or a usage error."""
    if not (0 < value < math.inf):
        fail(f"{option} {value}: must be a positive finite number")
    return value


def positive_numbers(text: str, option: str, example: str) -> list[float]:
    """A comma-separated list of positive finite numbers (`--lr-grid`), or a usage error that
    shows `example`."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        fail(f"{option} {text!r}: expected comma-separated numbers, e.g. {example}")
    if not values or any(not (0 < v < math.inf) for v in values):
        fail(f"{option} {text!r}: every value must be a positive finite number")
    return values


def check_param_names(params: dict[str, float], *programs: Program) -> None:
    """Every `--param` must name a hyperparameter of at least one program: a typo (`--param
    beta1=0.9` for `β1`) would otherwise be silently ignored."""
    known = {h for p in programs for h in p.hyperparams()}
    unknown = sorted(set(params) - known)
    if unknown:
        have = ", ".join(sorted(known)) or "none"
        fail(f"--param {', '.join(unknown)}: no such hyperparameter (the program has: {have})")


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
