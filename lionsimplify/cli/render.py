"""Rich rendering shared by the commands: programs, diagnostics, pass tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.text import Text

from lionsimplify.analysis.absexec import Diagnostic
from lionsimplify.lang.ir import Program
from lionsimplify.lang.printer import print_program

if TYPE_CHECKING:
    from rich.console import Console


def program_syntax(program: Program | str) -> Text:
    """Highlighted program text; print it with `soft_wrap=True` so no line is cut or wrapped at
    the terminal's width: what a user copies (or pipes) must read back as the same program."""
    from rich.syntax import Syntax  # imported when a program is shown: not cheap

    text = program if isinstance(program, str) else print_program(program)
    syntax = Syntax("", "python", theme="ansi_dark", background_color="default")
    return syntax.highlight(text.rstrip("\n"))


def diagnostic_text(d: Diagnostic) -> Text:
    style = "bold red" if d.severity == "error" else "yellow"
    word = "error" if d.severity == "error" else "warning"
    text = Text()
    if d.location:
        text.append(f"{d.location}: ", style="bold")
    text.append(f"{word}: ", style=style)
    text.append(d.message)
    text.append(f"  [{d.code}]", style="dim")
    if d.help:
        text.append(f"\n  = help: {d.help}", style="cyan")
    return text


def struck_source(source: str, removed: dict[int, str]) -> Text:
    """The original program text with removed lines struck through and their reason beside."""
    out = Text()
    for n, line in enumerate(source.splitlines(), start=1):
        if n in removed:
            out.append(line, style="strike dim red")
            out.append(f"   # {removed[n]}", style="italic dim")
        else:
            out.append(line)
        out.append("\n")
    return out


@contextmanager
def training_progress(console: Console, enabled: bool = True) -> Iterator[Callable | None]:
    """A progress callback `(label, steps done, steps total)` drawing one bar per label while
    anything trains; None (no display) when not `enabled`, e.g. under `--json`."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        ids: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in ids:
                ids[label] = bar.add_task(label, total=total)
            bar.update(ids[label], completed=done)

        yield progress
