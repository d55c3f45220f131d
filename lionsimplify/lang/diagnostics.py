"""The one table of diagnostic codes: every error and hazard the tool reports has a stable code.

Codes work like ruff's `F401` or rustc's `E0308`: they never change meaning, so scripts, CI
configurations and `--ignore` lists can rely on them. A message shows its code at the end, as
mypy does (`prog.txt:3:7: error: unknown function `sgn`  [E201]`), which keeps the
`FILE:LINE:COL: error:` start that editors and scripts parse. `E...` codes are errors (the input
is rejected, exit 2); `W...` codes are hazards (warnings; `check --strict` makes them fail).

`docs/diagnostics.md` is generated from this table (`python -m lionsimplify.lang.diagnostics`);
a test keeps it current, and `lionsimplify check --explain CODE` prints one entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """`error` rejects the input (exit 2); `hazard` is a warning: about values at run time,
    or (W105) about a name that looks misspelt."""

    ERROR = "error"
    HAZARD = "hazard"


@dataclass(frozen=True)
class Code:
    code: str
    name: str
    severity: Severity
    summary: str
    explanation: str
    example: str = ""


_E, _W = Severity.ERROR, Severity.HAZARD

CODES: dict[str, Code] = {
    c.code: c
    for c in [
        Code("E001", "unreadable-file", _E, "the file cannot be read as program text",
             "The path does not exist, is a directory, cannot be read, is binary, is not UTF-8, "
             "or holds no program. Save the program as a UTF-8 text file with one function."),
        Code("E002", "syntax-error", _E, "the text is not valid Python syntax",
             "Programs are read with Python's `ast` module (never executed), so they must be "
             "syntactically valid Python. The caret points at where the parser stopped.",
             "def train(w, g, lr):\n  u = g *\n  return u"),
        Code("E003", "nested-too-deeply", _E, "an expression is nested too deeply",
             "Expressions deeper than the parser's limit are rejected rather than crashing it. "
             "Split the expression into several statements."),
        Code("E101", "not-one-function", _E, "a program is exactly one `def` and nothing else",
             "The file must hold one function definition (an optional docstring aside): no "
             "module-level statements, no second function, no decorators.",
             "import numpy\ndef train(w, g, lr):\n  return g"),
        Code("E102", "unsupported-construct", _E, "a construct outside the program language",
             "The body is straight-line assignments of arithmetic and library calls followed by "
             "`return`: no loops, conditionals, attribute access, subscripts, keyword or starred "
             "arguments, chained assignments or bare expressions.",
             "def train(w, g, lr):\n  for i in range(3):\n    g = g * 2\n  return g"),
        Code("E103", "bad-signature", _E, "the signature does not declare the inputs by role",
             "Parameters by position: weight, gradient, any number of state variables, "
             "learning rate; then hyperparameters with numeric defaults (`b1=0.9`); `*, step` "
             "declares the 1-based step count. No `*args`/`**kwargs`, no duplicate names, no "
             "other extra inputs.",
             "def train(w, lr):\n  return lr"),
        Code("E104", "bad-return", _E, "`return` is missing, misplaced or gives the wrong values",
             "The function ends with `return update, s1, s2, ...`: the update, then the new "
             "value of every state variable in parameter order.",
             "def train(w, g, m, lr):\n  m = g\n  return m"),
        Code("E201", "unknown-function", _E, "a call to a function the library does not have",
             "Every function of the paper's appendix is available, plus `negative` and the "
             "aliases `interpolate`, `clip_by_global_norm`, `min`, `max`. The help line suggests "
             "the closest name.",
             "def train(w, g, lr):\n  u = sgn(g)\n  return u"),
        Code("E202", "wrong-arity", _E, "a function called with the wrong number of arguments",
             "Each library function takes a fixed number of positional arguments.",
             "def train(w, g, lr):\n  u = sign(g, lr)\n  return u"),
        Code("E203", "undefined-name", _E, "a name that cannot be read here",
             "A name is used before it is assigned, is a function used as a value, or looks "
             "like a misspelt variable. (A name that is never assigned anywhere is a "
             "hyperparameter, not an error.)",
             "def train(w, g, lr):\n  u = g * momentum\n  momentum = g\n  return u"),
        Code("E204", "bad-literal", _E, "a literal that is not a finite number",
             "Literals must be finite int or float values that a float holds exactly; NaN and "
             "inf are not allowed, nor strings or booleans.",
             "def train(w, g, lr):\n  u = g * 1e999\n  return u"),
        Code("E205", "missing-value", _E, "a hyperparameter that has no value",
             "Verification, fingerprints and training run the program on numbers, so every "
             "hyperparameter needs a value: a default in the signature "
             "(`def train(w, g, lr, b1=0.9):`) or `--param NAME=VALUE`.",
             "def train(w, g, m, lr):\n  m = interp(g, m, beta)\n  return m, m"),
        Code("E301", "kind-mismatch", _E, "a tensor where the operation needs a scalar",
             "Abstract execution gives every value a kind; arguments such as `clip`'s bound or "
             "`interp`'s weight must be scalars. Reduce a tensor first, e.g. with `norm(...)`.",
             "def train(w, g, lr):\n  u = clip(g, g)\n  return u"),
        Code("E401", "bad-data", _E, "a runs directory or program collection is malformed",
             "Runs directories, `.jsonl` files (one JSON object with a `program` string per "
             "line) and run metadata must have the documented layout, and `funnel` needs at "
             "least one valid candidate to select from."),
        Code("E402", "bad-setting", _E, "a config file or setting is invalid",
             "A funnel config (TOML) or a library setting such as the semantics names an "
             "unknown key or value, or a number out of range."),
        Code("E403", "bad-proxy", _E, "a proxy task cannot be found or loaded",
             "Proxy names are `<task>-<scale>` (e.g. `vision-s`); `--proxy-module "
             "pkg.module:NAME` must name a Task, a list of Tasks or a factory."),
        Code("E404", "unsafe-output", _E, "an output directory cannot be used safely",
             "The funnel never writes into a directory that holds other files or the ledger "
             "of a different config, nor shares a ledger with a running funnel."),
        Code("E405", "missing-dependency", _E, "an optional dependency or service is missing",
             "For example `--executor ray` needs Ray (`pip install 'lionsimplify[ray]'`) and a "
             "reachable cluster."),
        Code("W101", "outside-domain", _W, "an argument may leave the function's domain",
             "`sqrt`, `log`, `arcsin`, ... are defined on part of the real line; the interval "
             "abstract execution computes for the argument reaches outside it, so the result "
             "may be NaN for some inputs.",
             "def train(w, g, lr):\n  u = arcsin(g)\n  return u"),
        Code("W102", "division-by-zero", _W, "a divisor may be zero",
             "The divisor's interval contains zero, so the result may be inf or NaN.",
             "def train(w, g, m, lr):\n  u = g / m\n  return u, m"),
        Code("W103", "negative-power", _W, "a negative base to a non-integer exponent",
             "`power(x, p)` of a negative `x` is NaN unless `p` is an integer.",
             "def train(w, g, lr):\n  u = power(g, 0.5)\n  return u"),
        Code("W104", "overflow", _W, "a value may overflow to infinity",
             "Every input is finite, but the operation's interval reaches ±inf (e.g. `exp` of "
             "a large value): the update may be inf, and `x - x` of it NaN.",
             "def train(w, g, lr):\n  u = exp(exp(exp(1000.0)))\n  return u"),
        Code("W105", "misspelt-name", _W, "a hyperparameter named like a slip of a variable",
             "A name that is read but never assigned is a hyperparameter, so a slip in a "
             "variable's name (`mm` for `m`, `lrr` for `lr`: a doubled character, or two "
             "neighbours swapped) would silently become one. Correct the "
             "name, or give the hyperparameter a default in the signature "
             "(`def train(w, g, m, lr, mm=0.9):`) to say it is meant. Names that merely "
             "extend a variable's (`b1` beside a state `b`, `wd` beside `w`) or change its "
             "case (`G` beside `g`) are not flagged; "
             "longer names close to a variable are errors (E203).",
             "def train(w, g, m, lr):\n  m = interp(g, mm, 0.9)\n  update = sign(m) * lr\n"
             "  return update, m"),
    ]
}  # fmt: skip


def explain(code: str) -> Code | None:
    return CODES.get(code.strip().upper())


def markdown() -> str:
    """docs/diagnostics.md: the table, then each code's explanation and example."""
    out = [
        "# Diagnostic codes",
        "",
        "<!-- generated by `python -m lionsimplify.lang.diagnostics`; do not edit -->",
        "",
        "Every error and hazard has a stable code, shown at the end of its message "
        "(`prog.txt:3:7: error: unknown function `sgn`  [E201]`). `E` codes reject the input "
        "(exit 2; a program in a folder or `.jsonl` file that commands read in a batch is "
        "listed with its error instead, exit 1); `W` codes are hazards (warnings; `check --strict` exits 1 on any of them, "
        "`--strict-code W102` only on that one, `--ignore W101` hides one). "
        "`lionsimplify check --explain CODE` prints an entry. Errors about command-line "
        "options (before any file is read) have no code.",
        "",
        "| code | name | severity | meaning |",
        "|---|---|---|---|",
    ]
    out += [f"| {c.code} | `{c.name}` | {c.severity} | {c.summary} |" for c in CODES.values()]
    for c in CODES.values():
        out += ["", f"## {c.code} `{c.name}`", "", c.explanation]
        if c.example:
            out += ["", "```python", c.example, "```"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
