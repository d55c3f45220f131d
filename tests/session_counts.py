"""Counts that test modules record for closing notes (hostile inputs tried, `exact` verdicts
re-checked), printed by `conftest.pytest_terminal_summary` at the end of the session."""

from __future__ import annotations

COUNTS: dict[str, int] = {}


def add(key: str, n: int = 1) -> None:
    COUNTS[key] = COUNTS.get(key, 0) + n
