"""Dead-code elimination as a pass (the analysis itself lives in `lionsimplify/analysis/liveness.py`)."""

from __future__ import annotations

from lionsimplify.analysis.liveness import eliminate_dead_code
from lionsimplify.lang.ir import Program
from lionsimplify.lang.printer import format_stmt
from lionsimplify.passes.base import Context, Pass, PassResult


def dead_code_pass(program: Program, ctx: Context) -> PassResult | None:
    """Remove statements and state that cannot reach any update (see `liveness.py`)."""
    dead = eliminate_dead_code(program)
    if not dead.removed and not dead.removed_state:
        return None
    changes = [f"removed `{format_stmt(r.stmt)}`: {r.reason}" for r in dead.removed]
    changes += [f"removed state `{name}`: {why}" for name, why in dead.removed_state]
    removed = [
        {
            "statement": format_stmt(r.stmt),
            "line": r.stmt.loc.line if r.stmt.loc else None,
            "reason": r.reason,
        }
        for r in dead.removed
    ]
    state = [{"name": n, "reason": why} for n, why in dead.removed_state]
    return PassResult(dead.program, tuple(changes), {"removed": removed, "removed_state": state})


DEAD_CODE = Pass(
    "dead-code",
    "exact",
    dead_code_pass,
    stage="dce",
    why="the removed statements and state never reach an update, within a step or across steps",
)
