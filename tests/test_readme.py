"""README's command outputs are generated (`docs/update_readme.py`): fail when one is stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(
        "update_readme", ROOT / "docs" / "update_readme.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_readme_blocks_are_current() -> None:
    gen = _generator()
    text = gen.README.read_text(encoding="utf-8")
    blocks = gen.BLOCK.findall(text)
    assert len(blocks) >= 6
    new = gen.update(text)
    assert new == text, "README.md is stale: run python docs/update_readme.py"


def test_a_changed_output_is_detected() -> None:
    gen = _generator()
    text = (
        "<!-- BEGIN generated: lionsimplify check examples/bad.txt -->\n"
        "```\n$ lionsimplify check examples/bad.txt\nold output\n```\n<!-- END generated -->\n"
    )
    new = gen.update(text)
    assert "old output" not in new and "unknown function `sgn`  [E201]" in new
    assert gen.run("lionsimplify check examples/bad.txt | head -n 1").count("\n") == 1
