"""What every pass shares: the `Pass` unit, its context and its result.

A pass is data: a name, the label it claims (`exact`, `direction` or `approximate`), the stage it
belongs to and a function from a program to a rewritten program plus a description of what
changed. The driver (`lionsimplify/passes/driver.py`) verifies every claim by differential execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import Semantics
from lionsimplify.passes.verify import Label

if TYPE_CHECKING:  # analysis.facts reads `Context`: a runtime import here would be circular
    from lionsimplify.analysis.symbolic import Node


@dataclass(frozen=True)
class Context:
    semantics: Semantics
    params: Mapping[str, float]


@dataclass(frozen=True)
class Condition:
    """A side condition on a computed value: `term relation`, e.g. `interp(g, m, 0.9) != 0`."""

    term: Node
    relation: str = "!= 0"

    def __str__(self) -> str:
        from lionsimplify.analysis.symbolic import format_term

        return f"{format_term(self.term, 4)} {self.relation}"


@dataclass(frozen=True)
class PassResult:
    program: Program
    changes: tuple[str, ...]
    """One human-readable line per change ("removed `m = cosh(update)`: state `m` is ...")."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Machine-readable extras for `--json` (e.g. the removed statements)."""
    side_conditions: tuple[str, ...] = ()
    """Where the rewrite is only valid under a condition, e.g. "m != 0"."""
    conditions: tuple[Condition, ...] = ()
    """The side conditions that are about a value, as terms, so the driver can restate them
    in the final program's names and forms (after later rewrites, ablations and renaming)."""


@dataclass(frozen=True)
class Pass:
    name: str
    label: Label
    apply: Callable[[Program, Context], PassResult | None]
    """Returns None when the pass has nothing to do."""
    stage: str = "exact"
    """`dce`, `exact` (exact/direction rewrites) or `ablation` (approximate: proposed only)."""
    why: str = ""
    """Why the rewrite is sound (or, for an ablation, what it gives up): shown in reports."""
    caveat: str = ""
    """A semantics caveat stated in the output whenever the pass is skipped or rolled back."""
