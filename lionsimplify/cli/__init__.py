"""Command-line entry point: `lionsimplify COMMAND ...`.

Each command module registers itself on the shared typer `app` when imported. The app runs in
click's standalone mode, which prints usage errors with exit code 2 and honours `typer.Exit`;
`main` adds the rest of the contract: `ProgramError` (bad input) becomes a compiler-style message
with exit code 2, and any other unexpected exception a one-line internal error (set
LIONSIMPLIFY_DEBUG=1 for the traceback), so a user never sees a Python traceback.
"""

from __future__ import annotations

import os
import sys

from lionsimplify.cli import check_cmd as _check  # noqa: F401  (registers the command)
from lionsimplify.cli import dedup_cmd as _dedup  # noqa: F401
from lionsimplify.cli import diff_cmd as _diff  # noqa: F401
from lionsimplify.cli import eval_cmd as _evaluate  # noqa: F401
from lionsimplify.cli import explain_cmd as _explain  # noqa: F401
from lionsimplify.cli import funnel_cmd as _funnel  # noqa: F401
from lionsimplify.cli import proxies_cmd as _proxies  # noqa: F401
from lionsimplify.cli import reduce_cmd as _reduce  # noqa: F401
from lionsimplify.cli.app import EXIT_BAD_INPUT, app, err_console
from lionsimplify.lang.errors import ProgramError


def main() -> None:
    try:
        app()
    except ProgramError as exc:
        err_console.print(exc.render(), markup=False, highlight=False, soft_wrap=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: never show a traceback
        if os.environ.get("LIONSIMPLIFY_DEBUG"):
            raise
        err_console.print(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(please report it; set LIONSIMPLIFY_DEBUG=1 to see the traceback)",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(3)
