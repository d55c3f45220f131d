"""Rich rendering shared by the commands: programs, diagnostics, pass tables."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text

from lionsimplify.absexec import Diagnostic
from lionsimplify.ir import Program
from lionsimplify.printer import print_program


def program_syntax(program: Program | str) -> Syntax:
    text = program if isinstance(program, str) else print_program(program)
    return Syntax(text.rstrip("\n"), "python", theme="ansi_dark", background_color="default")


def diagnostic_text(d: Diagnostic) -> Text:
    style = "bold red" if d.severity == "error" else "yellow"
    word = "error" if d.severity == "error" else "warning"
    text = Text()
    if d.location:
        text.append(f"{d.location}: ", style="bold")
    text.append(f"{word}: ", style=style)
    text.append(d.message)
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
