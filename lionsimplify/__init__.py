"""lionsimplify: reduce, simplify, verify and select optimizer programs found by program search.

The library behind the `lionsimplify` command. The main entry points:

- `parse_file(path)` / `parse_text(text)` -> `Program` (the IR in `ir.py`), `print_program(p)`
- `analyse(program)`: abstract execution (kinds, ranges, errors, hazards)
- `eliminate_dead_code(program)`: liveness within and across steps
- `reduce(program, ...)`: the verified pass pipeline -> `Reduction`
- `structural_hash(p)`, `behavioural_hash(p)`, `dedup(sources)`: fingerprints and classes

Nothing imported here pulls in jax; modules that need it import it themselves.
"""

from lionsimplify.analysis.absexec import analyse
from lionsimplify.analysis.fingerprint import behavioural_hash, structural_hash
from lionsimplify.analysis.liveness import eliminate_dead_code
from lionsimplify.compare.dedup import dedup
from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.ir import Program
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import reduce

__all__ = [
    "Location",
    "Program",
    "ProgramError",
    "analyse",
    "behavioural_hash",
    "dedup",
    "eliminate_dead_code",
    "parse_file",
    "parse_text",
    "print_program",
    "reduce",
    "structural_hash",
]
