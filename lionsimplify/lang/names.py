"""Names that look like a slip of another name: the one home of "did you mean" for variables.

A name a program reads but never assigns is a hyperparameter (DESIGN.md §2), so a typo of a
variable silently becomes one. Two rules tell a slip from a real hyperparameter:

- `misspelt_variable`: a long name (4 characters or more) close to a variable by difflib's
  ratio (`momentum` for `momentun`) is rejected by the parser (E203).
- `near_miss`, for the names that rule leaves (short ones above all): a short name cannot be
  judged by a ratio (`b1`, `wd`, `eps` are one or two edits from a state `b`, the weight `w`,
  an `e`, and are legal and common), so only the slips a hand makes count: a doubled
  character (`mm` for `m`, `lrr` for `lr`) or two neighbours swapped (`rl` for `lr`). Another
  letter case is not one (`G` beside `g` is a common choice of name). `check` warns about
  these (W105); a default in the signature (`def train(..., mm=0.9)`) says the name is meant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from lionsimplify.lang.ir import Program

#: Below this length a name is judged by `near_miss`, from it on by `misspelt_variable`.
LONG_NAME = 4

_WORD = re.compile(r"\w+")


def misspelt_variable(name: str, known: Iterable[str]) -> str | None:
    """The variable a long `name` most likely misspells (difflib ratio at least 0.85)."""
    if len(name) < LONG_NAME:
        return None
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.85)
    return close[0] if close else None


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` is one hand slip from (a doubled character, or two adjacent
    characters swapped); None when there is none."""
    slips = _slips(name)
    return next((k for k in sorted(known) if k != name and k in slips), None)


def _slips(name: str) -> set[str]:
    """Every name that `name` could be a slip of."""
    out = {name[:i] + name[i + 1 :] for i in range(1, len(name)) if name[i] == name[i - 1]}
    out |= {
        name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]
        for i in range(1, len(name))
        if name[i] != name[i - 1]
    }
    return out


def slipped_hyperparams(program: Program) -> dict[str, str]:
    """Each hyperparameter of `program` that looks like a slip of an input or an assigned
    name, with that name. A hyperparameter with a default in the signature is meant, and the
    parser's temporaries (`t1`, ... where the source has no such name) are not names."""
    given = {name for name, _ in program.defaults}
    words = set(_WORD.findall(program.source)) if program.source is not None else None
    known = {*program.inputs, *(s.target for s in program.body)}
    if words is not None:
        known &= words
    found = {}
    for name in program.hyperparams():
        if name not in given and (slip := near_miss(name, known)) is not None:
            found[name] = slip
    return found


def describe_name(program: Program, name: str) -> str:
    """`the state variable `m``, `the learning rate `lr``, `the variable `u``, ..."""
    role = program.role(name) or ""
    what = {"weight": "the weight", "grad": "the gradient", "lr": "the learning rate"}.get(role)
    if what is None:
        what = (
            "the state variable"
            if role.startswith("state")
            else ("the input" if role else "the variable")
        )
    return f"{what} `{name}`"
