"""The fast path of `print_table` writes exactly what rich draws for the same table."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from lionsimplify.cli.render import fitted_table, print_table

HEADERS = ("class", "size", "member", "matched")
cell = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
odd_cell = st.sampled_from(["", " ", " a", "a ", "[b]x", "a\\b", "é", "a\tb", "x" * 70])


def _both(headers, rows, right, sections, width: int) -> tuple[str, str]:  # noqa: ANN001
    fast, slow = io.StringIO(), io.StringIO()
    print_table(Console(file=fast, width=width), headers, rows, right=right, paths=("member",),
                sections=sections)  # fmt: skip
    console = Console(file=slow, width=width)
    table = fitted_table(console, headers, rows, right=right, paths=("member",), sections=sections)
    console.print(table)
    return fast.getvalue(), slow.getvalue()


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(cell | odd_cell, cell, cell | odd_cell, cell), max_size=8),
    right=st.sets(st.sampled_from(HEADERS)),
    sections=st.sets(st.integers(0, 8)),
    width=st.integers(30, 140),
)
def test_print_table_writes_what_rich_draws(rows, right, sections, width) -> None:  # noqa: ANN001
    fast, slow = _both(HEADERS, rows, right, sections, width)
    assert fast == slow


def test_a_dedup_sized_table_is_the_same() -> None:
    rows = [
        (str(i) if i % 3 == 0 else "", "3", f"runs/a.jsonl:{i}", "structural") for i in range(300)
    ]
    fast, slow = _both(HEADERS, rows, {"class", "size"}, set(range(2, 300, 3)), 100)
    assert fast == slow


def _dedup_rows() -> list[tuple[str, str, str, str]]:
    """What `dedup examples/programs` prints: member paths relative to the common folder."""
    members = ["program1_lion.txt", "variants/lion_bias_corrected.txt", "program8.txt",
               "variants/adamw_decay_after_ratio_bias_corrected.txt", "a/b/c/d/e/f/g/h/i/j.txt"]  # fmt: skip
    return [(str(i + 1), "1", m, "representative") for i, m in enumerate(members)]


def test_paths_break_after_a_slash_so_a_class_stays_one_row_at_80_columns() -> None:
    out = io.StringIO()
    rows = _dedup_rows()
    print_table(Console(file=out, width=80), HEADERS, rows, right=("class",), paths=("member",))
    lines = out.getvalue().splitlines()
    assert max(len(ln) for ln in lines) <= 80
    assert lines[1].startswith("┃ class ┃ size ┃ member")  # boxed, one column each
    body = [ln.split("│") for ln in lines if ln.startswith("│")]
    assert [c[1].strip() for c in body if c[1].strip()] == ["1", "2", "3", "4", "5"]
    # each member's lines, joined, give the path back; it breaks only after a `/`
    members, current = [], ""
    for c in body:
        if c[1].strip() and current:
            members.append(current)
            current = ""
        part = c[3].strip()
        assert not current or current.endswith("/")
        current += part
    members.append(current)
    assert members == [r[2] for r in rows]
    assert "│ variants/  " in out.getvalue()


def test_without_paths_a_long_path_stacks_the_table() -> None:
    """The failure the `paths` columns fix: rich cannot wrap a path, so the table stacks."""
    out = io.StringIO()
    print_table(Console(file=out, width=80), HEADERS, _dedup_rows(), right=("class",))
    assert "┃ class" not in out.getvalue() and out.getvalue().startswith("class ")
