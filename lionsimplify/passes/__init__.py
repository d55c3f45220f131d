"""The rewrite passes of `reduce`, as data (see `rules.py` for how a rule becomes a pass).

`EXACT_PASSES` run to a fixed point after dead-code elimination; `ABLATION_PASSES` are only
proposed (or applied with `--ablate`); `RENAME` runs last.
"""

from __future__ import annotations

from lionsimplify.passes.ablations import ABLATION_RULES
from lionsimplify.passes.base import Context, Pass, PassResult
from lionsimplify.passes.dead_code import DEAD_CODE
from lionsimplify.passes.rename import RENAME
from lionsimplify.passes.rules import RULES, Rule, rule_pass

EXACT_PASSES: list[Pass] = [rule_pass(r) for r in RULES]
ABLATION_PASSES: list[Pass] = [rule_pass(r) for r in ABLATION_RULES]

__all__ = [
    "ABLATION_PASSES",
    "DEAD_CODE",
    "EXACT_PASSES",
    "RENAME",
    "Context",
    "Pass",
    "PassResult",
    "Rule",
]
