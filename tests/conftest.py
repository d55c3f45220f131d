"""Shared test configuration: `--runslow` turns on the proxy-training tests marked `slow`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from session_counts import COUNTS

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "examples" / "programs"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Baseline records and compiled executables go to one cache per session, never the
    user's home (modules that want their own cache set `LIONSIMPLIFY_CACHE` themselves)."""
    os.environ["LIONSIMPLIFY_CACHE"] = str(tmp_path_factory.getbasetemp() / "session-cache")


@pytest.fixture
def programs_dir() -> Path:
    return PROGRAMS


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    """Print what test modules counted (see `session_counts.py`)."""
    for key, n in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{key}: {n}")
