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
    print_table(Console(file=fast, width=width), headers, rows, right=right, sections=sections)
    console = Console(file=slow, width=width)
    console.print(fitted_table(console, headers, rows, right=right, sections=sections))
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
