"""Rich rendering shared by the commands: programs, diagnostics, pass tables."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.text import Text

from lionsimplify.api import Diagnostic
from lionsimplify.lang.errors import Location, excerpt, source_lines
from lionsimplify.lang.ir import Program
from lionsimplify.lang.printer import print_program

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


#: Programs longer than this are shown without highlighting, even where colour shows: lexing
#: takes about 0.2 ms a line (2 s for 10,000 statements) and the characters are the same.
HIGHLIGHT_LINES = 2000


def program_syntax(program: Program | str, highlight: bool = True) -> Text:
    """Highlighted program text; print it with `soft_wrap=True` so no line is cut or wrapped at
    the terminal's width: what a user copies (or pipes) must read back as the same program.
    Pass `highlight=False` for a console without colour, where styles are dropped anyway."""
    text = program if isinstance(program, str) else print_program(program)
    if not highlight or text.count("\n") > HIGHLIGHT_LINES:
        return Text(text.rstrip("\n") + "\n")  # as `highlight` returns it
    from rich.syntax import Syntax  # imported when a program is shown: not cheap

    syntax = Syntax("", "python", theme="ansi_dark", background_color="default")
    return syntax.highlight(text.rstrip("\n"))


def diagnostic_text(d: Diagnostic) -> Text:
    """`path:line:col: warning: message  [CODE]`, the source line with a caret (drawn by
    `lang/errors.excerpt`, as for a parse error) and the help line, styled."""
    style = "bold red" if d.severity == "error" else "yellow"
    word = "error" if d.severity == "error" else "warning"
    text = Text()
    if d.path:
        text.append(f"{Location(d.path, d.line, d.col)}: ", style="bold")
    text.append(f"{word}: ", style=style)
    text.append(d.message)
    text.append(f"  [{d.code}]", style="dim")
    for line in excerpt(d.source_line, d.caret or d.col) if d.path else ():
        text.append("\n" + line)
    if d.help:
        text.append(f"\n  = help: {d.help}", style="cyan")
    return text


def struck_source(source: str, removed: dict[int, str]) -> Text:
    """The original program text with removed lines struck through and their reason beside."""
    out = Text()
    for n, line in enumerate(source_lines(source), start=1):
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
    anything trains; None (no display) when not `enabled` (e.g. under `--json`) or when the
    console is not a terminal (a pipe or a file gets no redrawn lines)."""
    if not enabled or not console.is_terminal:
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


def fitted_table(
    console: Console,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    wrap: Collection[str] = (),
    paths: Collection[str] = (),
    right: Collection[str] = (),
    title: str | None = None,
    sections: Collection[int] = (),
) -> Table:
    """A table that fits the console's width without hiding what tells rows apart.

    Wide enough: a boxed table, every column as wide as its widest cell except the free-text
    columns in `wrap`, which wrap at words, and the columns of file paths in `paths`, which
    break after a `/` (rich would cut a path anywhere: it wraps at spaces only). Narrower: no
    borders, and cells wrap. Too narrow even for that (a pipe at 60 columns): one block of
    `header  value` lines per row, long values broken onto more lines. Text is never cut short
    with an ellipsis, so two different names never print alike. `sections` are row indices
    after which a rule is drawn.
    """
    from rich import box
    from rich.table import Table

    def plain(cell: object) -> str:
        return cell.plain if isinstance(cell, Text) else str(cell)

    cells = [[plain(c) for c in r] for r in rows]
    n = len(headers)
    natural = [
        max([len(h), *(len(ln) for r in cells for ln in r[i].splitlines())])
        for i, h in enumerate(headers)
    ]
    words = [
        max([len(h), *(len(w) for r in cells for w in _pieces(r[i], h in paths))])
        for i, h in enumerate(headers)
    ]
    least_fixed = [
        len(h) + 10 if h in wrap else wd if h in paths else w
        for h, w, wd in zip(headers, natural, words, strict=True)
    ]
    fixed = sum(least_fixed)
    # Unboxed, two columns are still 3 apart: padding, the (blank) separator, padding.
    whole = sum(natural) + 3 * (n - 1) <= console.width  # every cell fits on one line
    # numbers, verdicts, statuses (and everything, when it fits) stay on one line
    short = [
        h not in wrap and h not in paths and (w <= 24 or whole)
        for h, w in zip(headers, natural, strict=True)
    ]
    least = sum(w if keep else wd for keep, w, wd in zip(short, natural, words, strict=True))
    boxed = fixed + 3 * n + 1 <= console.width
    if boxed or least + 3 * (n - 1) <= console.width:
        # path columns: as wide as their widest cell if that fits, else broken after a `/`
        room = console.width - (3 * n + 1 if boxed else 3 * (n - 1))
        room -= sum(
            f if boxed else (w if keep else wd)
            for h, f, w, wd, keep in zip(headers, least_fixed, natural, words, short, strict=True)
            if h not in paths
        )
        at = [i for i, h in enumerate(headers) if h in paths]
        fit = _shrink([natural[i] for i in at], [words[i] for i in at], room)
        width = dict(zip([h for h in headers if h in paths], fit, strict=True))
        rows = [
            [
                _break_path(c, width[h]) if h in width and isinstance(c, str) else c
                for h, c in zip(headers, r, strict=True)
            ]
            for r in rows
        ]
    else:
        width = {}
    if boxed:
        table = Table(title=title, title_justify="left", header_style="bold", box=box.HEAVY_HEAD)
        for h, w in zip(headers, natural, strict=True):
            free = h in wrap
            just = "right" if h in right else "left"
            table.add_column(h, justify=just, min_width=len(h) if free else width.get(h, w),
                             overflow="fold")  # fmt: skip
    elif least + 3 * (n - 1) <= console.width:
        table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                      pad_edge=False, show_edge=False)  # fmt: skip
        for h, w, keep in zip(headers, natural, short, strict=True):
            table.add_column(
                h,
                justify="right" if h in right else "left",
                overflow="fold",
                min_width=w if keep else width.get(h),
                no_wrap=keep,  # else rich narrows it first (widest), past its min_width
            )
    else:
        key = max(len(h) for h in headers)
        room = max(console.width - key - 2, 10)
        table = Table(title=title, title_justify="left", box=None, show_header=False,
                      pad_edge=False)  # fmt: skip
        table.add_column(style="bold", min_width=key)
        table.add_column(overflow="fold")
        for i, r in enumerate(cells):
            for j, (h, value) in enumerate(zip(headers, r, strict=True)):
                if value:
                    lines = textwrap.wrap(value, room, break_on_hyphens=False) or [""]
                    table.add_row(h, "\n".join(lines), end_section=j == n - 1)
            if i != len(cells) - 1:
                table.add_row("", "")
        return table
    for i, r in enumerate(rows):
        table.add_row(*(c if isinstance(c, Text) else str(c) for c in r), end_section=i in sections)
    return table


#: A path's pieces: a run ending in `/`, a run without one, or white space.
_PATH_PIECES = re.compile(r"[^/\s]*/|[^/\s]+|\s+")


def _pieces(text: str, path: bool) -> list[str]:
    """The words of a cell, each cut after its `/`s too for a path: what it can break into."""
    if not path:
        return text.split()
    return [piece for piece in _PATH_PIECES.findall(text) if not piece.isspace()]


def _break_path(text: str, width: int) -> str:
    """`text` with a line break after a `/` (or at a space) wherever it is wider than `width`."""
    if len(text) <= width:
        return text
    lines, line = [], ""
    for piece in _PATH_PIECES.findall(text):
        if line and len(line) + len(piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        if line or not piece.isspace():
            line += piece
    return "\n".join([*lines, line.rstrip()])


def _shrink(widths: list[int], floors: list[int], room: int) -> list[int]:
    """`widths` narrowed, widest first (as rich narrows the columns that wrap), until they sum
    to at most `room`, none below its floor."""
    widths = list(widths)
    while sum(widths) > room:
        wider = [i for i, (w, f) in enumerate(zip(widths, floors, strict=True)) if w > f]
        if not wider:
            break
        widest = max(wider, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def print_table(
    console: Console,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Collection[str] = (),
    paths: Collection[str] = (),
    sections: Collection[int] = (),
) -> None:
    """Print `fitted_table(console, headers, rows, ...)`.

    Rich lays out every cell of a table on its own: about 0.25 ms a row, 2.6 s for the 10k
    rows `dedup` prints for 10k programs. When rich would draw the boxed layout with nothing
    to style (no colours: a pipe or a file) and every cell is plain one-line ASCII (no markup
    bracket, no space at either end), the lines
    are written here instead, with the same characters rich draws (`tests/test_render.py`
    checks that they are the same), in a few milliseconds."""
    from rich import box

    n = len(headers)
    plain = console.color_system is None and all(
        isinstance(c, str) and c.isascii() and c.isprintable() and "[" not in c and c == c.strip()
        for r in (headers, *rows)
        for c in r
    )
    widths = (
        [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)] if plain else []
    )
    if not plain or sum(widths) + 3 * n + 1 > console.width:
        table = fitted_table(console, headers, rows, right=right, paths=paths, sections=sections)
        console.print(table)
        return
    grid = box.HEAVY_HEAD
    padded = [w + 2 for w in widths]
    align = [">" if h in right else "<" for h in headers]

    def line(left: str, middle: str, end: str, values: Sequence[str]) -> str:
        inner = middle.join(f" {v:{a}{w}} " for v, a, w in zip(values, align, widths, strict=True))
        return f"{left}{inner}{end}"

    out = [grid.get_top(padded), line(grid.head_left, grid.head_vertical, grid.head_right, headers)]
    out.append(grid.get_row(padded, "head", edge=True))
    separator = grid.get_row(padded, "row", edge=True)
    breaks = set(sections)
    for i, r in enumerate(rows):
        out.append(line(grid.mid_left, grid.mid_vertical, grid.mid_right, r))
        if i in breaks and i != len(rows) - 1:
            out.append(separator)
    out.append(grid.get_bottom(padded))
    try:  # written past rich (fast for long tables), so its closed-pipe policy is applied here
        console.file.write("\n".join(out) + "\n")
        console.file.flush()
    except BrokenPipeError:
        console.on_broken_pipe()


def heading(console: Console, text: str) -> None:
    """A rule with `text` in it when it fits, else the text on its own lines: a title is never
    cut short with an ellipsis."""
    if Text.from_markup(text).cell_len + 6 <= console.width:
        console.rule(text)
    else:
        console.print(text)
