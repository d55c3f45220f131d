"""Name what was found: which known optimizer a program is, with which constants, and what it
costs and guarantees.

`explain(program)` reduces the program (the `reduce` pipeline, as a library call), recognises it
against the reference optimizers (`references/`, checked against optax in the tests; see
`recognize.py` and `match.py`) and states its properties (`properties.py`). `explain_reduction`
does the same for a reduction already made (what `reduce` and the funnel use, so the program is
not reduced twice). Everything reported is measured or derived; a match is a verdict of
`compare/diff.py` on the verification trajectories, never the unifier's guess alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lionsimplify.explain.properties import Property, box_bound, properties
from lionsimplify.explain.recognize import Recognition, Recognitions, recognize
from lionsimplify.explain.references import Reference, references
from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import Semantics
from lionsimplify.passes.driver import Reduction, reduce

__all__ = [
    "Explanation",
    "Property",
    "Recognition",
    "Reference",
    "explain",
    "explain_reduction",
    "references",
]


@dataclass(frozen=True)
class Explanation:
    reduction: Reduction
    recognitions: Recognitions
    properties: tuple[Property, ...]

    @property
    def best(self) -> Recognition | None:
        return self.recognitions.best

    def lines(self) -> list[str]:
        """The short "what this is" text: the verdict, other matches, then the properties."""
        out = []
        r = self.reduction
        after = " (after the ablations, which are approximate)" if r.label == "approximate" else ""
        best = self.best
        if best is None:
            out.append(
                f"what this is{after}: no reference optimizer matches"
                " (`lionsimplify explain` names the nearest)"
            )
        else:
            out.append(f"what this is{after}: {best.headline()}")
            if best.verdict != "identical":
                out.append(f"  evidence: {best.diff.summary()}")
            out.append(f"  reference: {best.reference.cite}")
        for other in self.recognitions.matches[1:]:
            out.append(f"  also {other.headline()}")
        for p in self.properties:
            out.append(f"  {p.name}: {p.value}")
        return out

    def to_json(self) -> dict[str, Any]:
        rec = self.recognitions
        return {
            "source": self.reduction.original.path,
            "label": self.reduction.label,
            "matches": [m.to_json() for m in rec.matches],
            "nearest": rec.nearest.to_json() if rec.nearest else None,
            "verdict": self.best.verdict if self.best else None,
            "headline": self.best.headline() if self.best else None,
            "properties": [p.to_json() for p in self.properties],
        }


def explain(
    program: Program,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    ablate: bool = False,
) -> Explanation:
    """Reduce `program` (applying the ablations with `ablate`), then explain the result."""
    return explain_reduction(reduce(program, semantics=semantics, params=params, ablate=ablate))


def explain_reduction(reduction: Reduction, *, nearest: bool = True) -> Explanation:
    """Explain a reduction already made; `nearest=False`: only look for matches (cheap)."""
    program, params = reduction.program, dict(reduction.params)
    semantics = reduction.semantics
    rec = recognize(program, semantics=semantics, params=params, nearest=nearest)
    props = properties(program, semantics=semantics, params=params)
    best = rec.matches[0] if rec.matches else None
    if (
        best is not None
        and best.reference.sign_based
        and best.verdict in ("identical", "equivalent")
    ):
        wd = next((c.value for c in best.constants if c.name == "wd"), None)
        if wd is not None and wd > 0:
            props.append(box_bound(wd, best.lr_scale))
    return Explanation(reduction, rec, tuple(props))
