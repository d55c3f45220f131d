"""lionsimplify: reduce, simplify, verify and select optimizer programs found by program search.

The library behind the `lionsimplify` command. The main entry points:

- `simplify`, `check`, `diff`, `funnel` (in `api.py`): the whole pipeline in one call each,
  returning typed results (what the command line renders)
- `parse_file(path)` / `parse_text(text)` -> `Program` (the IR in `lang/ir.py`), `print_program(p)`
- `analyse(program)`: abstract execution (kinds, ranges, errors, hazards)
- `eliminate_dead_code(program)`: liveness within and across steps
- `reduce(program, ...)`: the verified pass pipeline -> `Reduction`
- `structural_hash(p)`, `behavioural_hash(p)`, `dedup(sources)`: fingerprints and classes

Names are imported on first use (PEP 562), so `import lionsimplify` and the command line's start
stay cheap; nothing here pulls in jax.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "simplify": "lionsimplify.api",
    "check": "lionsimplify.api",
    "diff": "lionsimplify.api",
    "funnel": "lionsimplify.api",
    "CheckResult": "lionsimplify.api",
    "Diagnostic": "lionsimplify.api",
    "Label": "lionsimplify.api",
    "Severity": "lionsimplify.api",
    "Simplification": "lionsimplify.api",
    "Stage": "lionsimplify.api",
    "analyse": "lionsimplify.analysis.absexec",
    "behavioural_hash": "lionsimplify.analysis.fingerprint",
    "structural_hash": "lionsimplify.analysis.fingerprint",
    "eliminate_dead_code": "lionsimplify.analysis.liveness",
    "dedup": "lionsimplify.compare.dedup",
    "Location": "lionsimplify.lang.errors",
    "ProgramError": "lionsimplify.lang.errors",
    "Program": "lionsimplify.lang.ir",
    "parse_file": "lionsimplify.lang.parse",
    "parse_text": "lionsimplify.lang.parse",
    "print_program": "lionsimplify.lang.printer",
    "reduce": "lionsimplify.passes.driver",
}

__all__ = [
    "CheckResult",
    "Diagnostic",
    "Label",
    "Location",
    "Program",
    "ProgramError",
    "Severity",
    "Simplification",
    "Stage",
    "analyse",
    "behavioural_hash",
    "check",
    "dedup",
    "diff",
    "eliminate_dead_code",
    "funnel",
    "parse_file",
    "parse_text",
    "print_program",
    "reduce",
    "simplify",
    "structural_hash",
]

if TYPE_CHECKING:
    from lionsimplify.analysis.absexec import analyse
    from lionsimplify.analysis.fingerprint import behavioural_hash, structural_hash
    from lionsimplify.analysis.liveness import eliminate_dead_code
    from lionsimplify.api import (
        CheckResult,
        Diagnostic,
        Label,
        Severity,
        Simplification,
        Stage,
        check,
        diff,
        funnel,
        simplify,
    )
    from lionsimplify.compare.dedup import dedup
    from lionsimplify.lang.errors import Location, ProgramError
    from lionsimplify.lang.ir import Program
    from lionsimplify.lang.parse import parse_file, parse_text
    from lionsimplify.lang.printer import print_program
    from lionsimplify.passes.driver import reduce


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lionsimplify' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
