"""Import a module the tool generated (the emitted JAX/optax code) as a user would.

What is imported is the tool's own output, written by the test, never user text."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any


def import_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(tmp_path: Path, text: str, name: str) -> Any:
    """Write `text` as `name.py` under `tmp_path`, import it, and return its `name`."""
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return getattr(import_file(path, name), name)
