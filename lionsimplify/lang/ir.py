"""The one intermediate representation: a program as frozen dataclasses.

A `Program` is the `train` function of DESIGN.md §2: named inputs by role (weight, gradient,
state variables, learning rate, and keyword-only extra inputs such as `step`), a body of
statements with exactly one operation each, and the names it returns (update first, then the new
value of every state variable in parameter order).

Operands are atoms: a variable (`Var`), a numeric literal (`Const`), or a named hyperparameter
(`Hyper`, an identifier that is read but never assigned and is not an input), whose value may
ride in the signature as a default (`Program.defaults`). Source locations
ride along for diagnostics but never take part in equality, so `parse(print(p)) == p`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from lionsimplify.lang.errors import Location, source_lines

#: Keyword-only extra inputs the language knows, with what they carry. Never guessed from names.
EXTRA_INPUTS: dict[str, str] = {"step": "the 1-based step count"}

#: The pseudo-op of a plain assignment `x = y` or `x = 0.5`.
COPY = "copy"


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Hyper:
    name: str


Operand = Var | Const | Hyper


@dataclass(frozen=True)
class Stmt:
    """`target = op(args...)`; `op` is a name from the operator table or `copy`."""

    target: str
    op: str
    args: tuple[Operand, ...]
    loc: Location | None = field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Program:
    weight: str
    grad: str
    state: tuple[str, ...]
    lr: str
    body: tuple[Stmt, ...]
    returns: tuple[str, ...]
    extras: tuple[str, ...] = ()
    name: str = "train"
    defaults: tuple[tuple[str, float], ...] = ()
    """Values of named hyperparameters given in the signature (`def train(w, g, lr, b1=0.9)`),
    so a program the tool writes carries its values and reads back as it is."""
    path: str = field(default="<program>", compare=False, hash=False, repr=False)
    return_loc: Location | None = field(default=None, compare=False, hash=False, repr=False)
    source: str | None = field(default=None, compare=False, hash=False, repr=False)
    """The text it was parsed from, so that a diagnostic found after parsing (a kind mismatch,
    a hazard, a missing value) shows its source line and caret as a parse error does."""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every input name: positional parameters in order, then keyword-only extras."""
        return (self.weight, self.grad, *self.state, self.lr, *self.extras)

    @property
    def update(self) -> str:
        return self.returns[0]

    @property
    def new_state(self) -> tuple[str, ...]:
        return self.returns[1:]

    def hyperparams(self) -> tuple[str, ...]:
        """Named hyperparameters in order of first use."""
        seen: dict[str, None] = {}
        for stmt in self.body:
            for a in stmt.args:
                if type(a) is Hyper:
                    seen[a.name] = None
        return tuple(seen)

    def values(self, given: Mapping[str, float] | None = None) -> dict[str, float]:
        """Hyperparameter values: the signature's defaults, overridden by `given` (`--param`)."""
        return {**dict(self.defaults), **(given or {})}

    def constants(self) -> tuple[float, ...]:
        return tuple(a.value for s in self.body for a in s.args if isinstance(a, Const))

    def with_body(self, body: tuple[Stmt, ...] | list[Stmt], **changes: object) -> Program:
        """A copy with a new body; defaults of hyperparameters the body no longer reads go.

        Copied by its field dict: `dataclasses.replace` took 2.5 µs a call, this 0.4 µs, and
        `dedup` makes one a program. A program holds nothing but its fields (no cached values),
        so the copy is exact."""
        new = object.__new__(Program)
        fields = new.__dict__
        fields.update(self.__dict__)
        if not fields.keys() >= changes.keys():
            raise TypeError(f"Program has no field {sorted(changes.keys() - fields.keys())[0]}")
        fields.update(changes, body=tuple(body))
        if new.defaults and "defaults" not in changes:
            used = set(new.hyperparams())
            kept = tuple((k, v) for k, v in new.defaults if k in used)
            if kept != new.defaults:
                new = replace(new, defaults=kept)
        return new

    def with_source(self, text: str) -> Program:
        """A copy that keeps the text it was parsed from (copied by its field dict, as in
        `with_body`: the parser calls this once a program)."""
        new = object.__new__(Program)
        new.__dict__.update(self.__dict__, source=text)
        return new

    def source_line(self, loc: Location | None) -> str | None:
        """The line of the source text that `loc` points at, if the program has its text."""
        if self.source is None or loc is None or loc.line is None or loc.line < 1:
            return None
        lines = source_lines(self.source)
        return lines[loc.line - 1] if loc.line <= len(lines) else None

    def read_location(self, name: str) -> Location | None:
        """Where `name` is first read: its statement's location, moved onto the name itself
        when the source line shows it there (a statement's location is its expression's)."""
        loc = next((s.loc for s in self.body if s.loc and _reads(s, name)), None)
        line = self.source_line(loc)
        if loc is None or line is None or loc.col is None:
            return loc
        found = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)").search(line, loc.col - 1)
        return replace(loc, col=found.start() + 1) if found else loc

    def role(self, name: str) -> str | None:
        """The role of an input name: `weight`, `grad`, `lr`, `state:<i>` or an extra's name."""
        if name == self.weight:
            return "weight"
        if name == self.grad:
            return "grad"
        if name == self.lr:
            return "lr"
        if name in self.state:
            return f"state:{self.state.index(name)}"
        if name in self.extras:
            return name
        return None


def _reads(stmt: Stmt, name: str) -> bool:
    return any(isinstance(a, Var | Hyper) and a.name == name for a in stmt.args)
