"""Command-line entry point: `lionsimplify COMMAND ...`.

`COMMANDS` is the one table of commands: name -> (module, one-line summary). A command's module
is imported only when that command runs (or its help is shown), so `lionsimplify check` starts
without importing jax, sympy or the funnel. A test checks that every summary is the first line
of its command's help.

The group runs in click's standalone mode, which prints usage errors with exit code 2; `main`
adds the rest of the contract: `ProgramError` (bad input) becomes a compiler-style message with
exit code 2, and any other unexpected exception a one-line internal error (set
LIONSIMPLIFY_DEBUG=1 for the traceback), so a user never sees a Python traceback.

Two ways a command stops early are not findings, so they must not exit 1 (a negative finding
here), which is what click's standalone mode would make of them: Ctrl-C prints `interrupted` and
exits 130, and a reader that closes the pipe early (`| head`) ends the command quietly with 141,
the status of a process ended by SIGPIPE. Both are taken before click sees them.
A failure of the system itself (`> /dev/full`) is a one-line error with exit 2, not a bug.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import NoReturn

import click

EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports a process stopped by Ctrl-C."""
EXIT_PIPE_CLOSED = 141
"""128 + SIGPIPE, as a shell reports a process whose reader closed the pipe."""
SYSTEM_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})
EXIT_SYSTEM = 2
"""The operating system refused what the command needed (disk full): a one-line error, as for
bad input, not the internal-error exit 3 that asks for a bug report."""


class Interrupted(Exception):
    """Ctrl-C inside a command, carried past click (which would turn it into exit code 1)."""


class PipeClosed(Exception):
    """The reader of stdout went away (raised where the commands write stdout: `app.console`,
    `app.print_json`), so that a broken pipe elsewhere (a worker's) is never taken for it."""


#: name -> (module under lionsimplify.cli defining `command`, its help's first line)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "check_cmd",
        "Parse and abstract-execute programs: report errors and hazards with file:line:col.",
    ),
    "reduce": (
        "reduce_cmd",
        "Reduce a program: remove dead code and state, simplify, verify every step, emit.",
    ),
    "dedup": (
        "dedup_cmd",
        "Group programs that compute the same thing, and say which fingerprint matched.",
    ),
    "diff": (
        "diff_cmd",
        "Show what changed between programs as computations, and whether it matters.",
    ),
    "proxies": (
        "proxies_cmd",
        "List the proxy tasks: name, task, scale, parameters, steps, fitness metric.",
    ),
    "eval": (
        "eval_cmd",
        "Train a program on a proxy task and compare it with tuned AdamW and Lion.",
    ),
    "funnel": (
        "funnel_cmd",
        "Select the best programs of search runs by training them on proxy tasks, level by level.",
    ),
    "explain": (
        "explain_cmd",
        "Name what a program is: the known optimizer it equals, with its constants, and its properties.",
    ),
}


def load_command(name: str) -> click.Command:
    module = importlib.import_module(f"lionsimplify.cli.{COMMANDS[name][0]}")
    return module.command


class LazyGroup(click.Group):
    """Lists commands from `COMMANDS` and imports a command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted from None


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        click.echo(f"lionsimplify {version('lionsimplify')}")
    except PackageNotFoundError:
        click.echo("lionsimplify (not installed)")
    ctx.exit()


@click.group(
    "lionsimplify",
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Run `lionsimplify COMMAND --help` for a command's options and examples. Shell "
    'completion: eval "$(_LIONSIMPLIFY_COMPLETE=bash_source lionsimplify)" in ~/.bashrc '
    "(zsh_source, fish_source for other shells).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Print the version and exit.",
)
def cli() -> None:
    """Reduce, simplify, verify and select optimizer programs found by program search."""


def entry() -> None:
    """The `lionsimplify` program (console script, `python -m lionsimplify`): `main`, then,
    after Ctrl-C, an exit that skips the interpreter's teardown. Interrupted inside a JAX
    computation (`eval`), XLA's threads crashed that teardown (SIGSEGV, 2 of 3 tries) after
    `interrupted` was printed; every file the tool writes is complete by then (atomic outputs,
    fsynced ledger lines). Tests call `main`, which only raises SystemExit."""
    try:
        main()
    except SystemExit as exc:
        if exc.code != EXIT_INTERRUPTED:
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)


def main() -> None:
    from lionsimplify.lang.errors import ProgramError

    try:
        cli.main(prog_name="lionsimplify")
    except ProgramError as exc:
        from lionsimplify.cli.app import err_console

        err_console.print(exc.render(), markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except (KeyboardInterrupt, Interrupted):
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except PipeClosed:
        # Whatever is still buffered for stdout cannot be written: send it nowhere, so the
        # interpreter's final flush does not print a BrokenPipeError of its own.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_PIPE_CLOSED)
    except OSError as exc:
        # The system refused a write the command needed (`> /dev/full`, a disk or quota that
        # fills up, a read-only or failing disk): not a bug to report. Any other OSError is one.
        if exc.errno not in SYSTEM_FAILURES:
            _internal_error(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        sys.exit(EXIT_SYSTEM)
    except Exception as exc:  # the last line of defence: never show a traceback
        _internal_error(exc)


def _internal_error(exc: Exception) -> NoReturn:
    if os.environ.get("LIONSIMPLIFY_DEBUG"):
        raise exc
    print(
        f"error: internal error: {type(exc).__name__}: {exc} "
        "(please report it; set LIONSIMPLIFY_DEBUG=1 to see the traceback)",
        file=sys.stderr,
    )
    sys.exit(3)
