"""The reference optimizers: well-known algorithms written as programs in our own language.

Each reference is one data file in `references/` (shipped with the package): a program whose
free names are its hyperparameters (`b1`, `b2`, `wd`, `eps`, ...), preceded by header comments:

    # name: Lion
    # cite: Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023
    # optax: lion(learning_rate=lr, b1=b1, b2=b2, weight_decay=wd)
    # defaults: b1=0.9 b2=0.99 wd=0.01

`optax` names the optax built-in that computes the same updates (keyword arguments are the
program's hyperparameters, `lr`, or literals), or `none ...`; `defaults` are the built-in's
default values, used where a fit leaves a hyperparameter undetermined and by the tests that
check each reference against its built-in. The programs are written in the form `reduce`
leaves them in (a test checks that reducing a reference changes nothing), so a reduced user
program and a reference can be compared term by term.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from lionsimplify.lang.ir import Program
from lionsimplify.lang.parse import parse_text

#: How hyperparameter names read in the literature (for display only).
GREEK = {"b": "β", "b1": "β1", "b2": "β2", "wd": "λ", "eps": "ε", "eps_root": "ε_root"}


@dataclass(frozen=True)
class OptaxCall:
    """An optax built-in and its keyword arguments: a hyperparameter name, `lr`, or a literal."""

    function: str
    kwargs: tuple[tuple[str, str | float | bool], ...]

    def arguments(self, values: dict[str, float], lr: str) -> dict[str, float | bool | str]:
        """Keyword arguments with hyperparameters replaced by `values` and `lr` by the text
        `lr` stands for (a name or a number)."""
        out: dict[str, float | bool | str] = {}
        for key, arg in self.kwargs:
            if arg == "lr":
                out[key] = lr
            elif isinstance(arg, str):
                out[key] = values[arg]
            else:
                out[key] = arg
        return out


@dataclass(frozen=True)
class Reference:
    key: str
    """The file stem, e.g. `adamw`."""
    name: str
    cite: str
    program: Program
    defaults: dict[str, float]
    optax: OptaxCall | None
    optax_note: str = ""

    @property
    def hyperparams(self) -> tuple[str, ...]:
        return self.program.hyperparams()

    @property
    def sign_based(self) -> bool:
        """The update is `sign(...)` (times the learning rate, plus weight decay)."""
        return any(s.op == "sign" for s in self.program.body)


_HEADER = re.compile(r"^#\s*(name|cite|optax|defaults):\s*(.*?)\s*$")


def _optax_call(text: str, where: str) -> tuple[OptaxCall | None, str]:
    if text.startswith("none"):
        return None, text
    node = ast.parse(text, mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or node.args:
        raise ValueError(f"{where}: `# optax:` must be NAME(keyword=..., ...)")
    kwargs: list[tuple[str, str | float | bool]] = []
    for kw in node.keywords:
        v = kw.value
        if isinstance(v, ast.Name):
            kwargs.append((str(kw.arg), v.id))
        elif isinstance(v, ast.Constant) and isinstance(v.value, bool | int | float):
            kwargs.append((str(kw.arg), v.value))
        else:
            raise ValueError(f"{where}: optax argument `{kw.arg}` must be a name or a number")
    return OptaxCall(node.func.id, tuple(kwargs)), ""


def parse_reference(key: str, text: str) -> Reference:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            fields[m.group(1)] = m.group(2)
    where = f"references/{key}.txt"
    program = parse_text(text, where)
    defaults = {}
    for item in fields.get("defaults", "").split():
        name, _, value = item.partition("=")
        defaults[name] = float(value)
    optax_call, note = _optax_call(fields.get("optax", "none"), where)
    missing = set(program.hyperparams()) - set(defaults)
    if missing:
        raise ValueError(f"{where}: no default for {sorted(missing)}")
    return Reference(key, fields.get("name", key), fields.get("cite", ""), program, defaults,
                     optax_call, note)  # fmt: skip


@cache
def references() -> tuple[Reference, ...]:
    """Every reference shipped with the package, in file-name order."""
    folder = resources.files("lionsimplify.explain") / "references"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt"):
            out.append(parse_reference(entry.name[:-4], entry.read_text(encoding="utf-8")))
    return tuple(out)


def reference(key: str) -> Reference:
    for r in references():
        if r.key == key:
            return r
    raise KeyError(key)
