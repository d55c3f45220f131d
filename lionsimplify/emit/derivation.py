"""The derivation as Markdown that a paper appendix could quote (`reduce --report FILE`).

One section per applied pass: the rule and why it is sound, what it changed, the program
before and after as a diff, the label claimed and the label measured by differential
execution (with the largest relative deviation), and any side condition. Then the ablation
candidates with their measured deviation, the result, and its lifted hyperparameters. Nothing
time-dependent is written, so the same input gives the same bytes.
"""

from __future__ import annotations

import difflib
import re

from lionsimplify.analysis.symbolic import (
    MAX_FORMULA_OPS,
    dataflow,
    expand_interp,
    formula_size,
    to_sympy,
)
from lionsimplify.emit.lifting import Lifted
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import PassRecord, Reduction
from lionsimplify.passes.verify import GRAD_SCALES, warnings


def program_diff(rec: PassRecord) -> list[str]:
    """The unified diff of the program text before and after a pass (no file headers)."""
    before = print_program(rec.before).splitlines()
    after = print_program(rec.after).splitlines()
    lines = list(difflib.unified_diff(before, after, lineterm="", n=1))
    return [line for line in lines[2:]]


def _latex_name(name: str, lifted: Lifted) -> str:
    """The paper's letters: η for the learning rate, β_k, λ for weight decay, s for its scale."""
    p = lifted.program
    if name == p.lr:
        return r"\eta"
    if name == "step" and name in p.extras:
        return "t"
    if name in lifted.values:
        k = re.fullmatch(r"([a-z]+)(\d*)", name)
        if name == "wd":
            return r"\lambda"
        if name == "lr_scale":
            return "s"
        if name == "eps":
            return r"\epsilon"
        if k and k.group(1) == "b":
            return rf"\beta_{{{k.group(2)}}}"
        if k and k.group(2):
            return f"{k.group(1)}_{{{k.group(2)}}}"
    return name.replace("_", r"\_")


def update_rule_latex(lifted: Lifted, semantics: str = "math") -> list[str]:
    """The lifted program's update and state updates as LaTeX (`interp` written out).

    This is where sympy enters: imported here, on demand, never by `check` or `reduce`.
    """
    p = lifted.program
    flow = dataflow(p)
    if max(formula_size(o) for o in flow.outputs) > MAX_FORMULA_OPS:
        return [f"(more than {MAX_FORMULA_OPS} operations as one formula: see the program below)"]
    import sympy as sp

    exprs = [expand_interp(to_sympy(o, p, semantics)) for o in flow.outputs]  # type: ignore[arg-type]
    names = {s: _latex_name(s.name, lifted) for e in exprs for s in e.free_symbols}
    lines = [rf"u &= {sp.latex(exprs[0], symbol_names=names)}"]
    for state, e in zip(p.state, exprs[1:], strict=True):
        lines.append(rf"{state} &\leftarrow {sp.latex(e, symbol_names=names)}")
    lines.append(rf"{p.weight} &\leftarrow {p.weight} - u")
    return [
        "$$",
        r"\begin{aligned}",
        *(line + r" \\" for line in lines[:-1]),
        lines[-1],
        r"\end{aligned}",
        "$$",
    ]


def _dev(rec: PassRecord) -> str:
    v = rec.verification
    return f"{v.max_rel_dev:.2e}" if v else "-"


def _measured(rec: PassRecord) -> str:
    return rec.verification.measured if rec.verification else "-"


def derivation_markdown(
    result: Reduction, lifted: Lifted | None = None, what: list[str] | None = None
) -> str:
    """The derivation as Markdown; `what` is the "what this is" text of `explain`, if any."""
    v = next((r.verification for r in result.passes if r.verification), None)
    trials = (
        f"{v.trajectories} trajectories × {v.steps} steps (gradient scales "
        f"{min(GRAD_SCALES):g} to {max(GRAD_SCALES):g})"
        if v
        else "no pass applied"
    )
    params = ", ".join(f"{k} = {val!r}" for k, val in sorted(result.params.items())) or "none"
    out = [
        f"# Derivation: `{result.original.path}`",
        "",
        f"- semantics: `{result.semantics}`; hyperparameter values: {params}",
        f"- overall label: **{result.label}**; every step verified on {trials}",
        f"- statements {len(result.original.body)} → {len(result.program.body)}, "
        f"state variables {len(result.original.state)} → {len(result.program.state)}",
        "",
        "## Original program",
        "",
        "```python",
        print_program(result.original).rstrip("\n"),
        "```",
        "",
        "## Steps",
        "",
        "| # | pass | claimed | measured | max rel. dev. | status |",
        "|---|------|---------|----------|---------------|--------|",
    ]
    for i, rec in enumerate(result.passes, 1):
        out.append(
            f"| {i} | `{rec.name}` | {rec.label} | {_measured(rec)} | {_dev(rec)} | {rec.status} |"
        )
    for i, rec in enumerate(result.passes, 1):
        out += ["", f"### {i}. `{rec.name}` ({rec.status})", ""]
        if rec.why:
            out += [f"*Why:* {rec.why}", ""]
        out += [f"- {c}" for c in rec.changes]
        out += [f"- side condition: `{c}`" for c in rec.side_conditions]
        out += [
            f"- **warning:** {w}" for w in (warnings(rec.verification) if rec.verification else [])
        ]
        out += ["", "```diff", *program_diff(rec), "```"]
    applied = {r.name for r in result.passes if r.label == "approximate" and r.status == "applied"}
    out += ["", "## Ablation candidates (approximate: they change the update)", ""]
    if result.ablations:
        out += ["| pass | status | max rel. dev. | min cosine | change |", "|---|---|---|---|---|"]
        for rec in result.ablations:
            cos = f"{rec.verification.min_cosine:.3f}" if rec.verification else "-"
            change = rec.changes[0].replace("|", "\\|") if rec.changes else ""
            status = "applied" if rec.name in applied else "proposed"
            out.append(f"| `{rec.name}` | {status} | {_dev(rec)} | {cos} | {change} |")
    else:
        out.append("None.")
    if result.notes:
        out += ["", "## Semantics caveats", "", *(f"- {n}" for n in result.notes)]
    out += ["", "## Result", "", "```python", print_program(result.program).rstrip("\n"), "```"]
    if result.side_conditions:
        out += [
            "",
            "The result equals the original wherever these hold (stated on the result):",
            "",
        ]
        out += [f"- `{c}`" for c in result.side_conditions]
    if lifted is not None:
        out += [
            "",
            f"Update rule ({result.semantics} semantics; η is the learning rate at the step, "
            "the state starts at zero):",
            "",
            *update_rule_latex(lifted, result.semantics),
            "",
            "With hyperparameters lifted:",
            "",
            "```python",
            lifted.text().rstrip("\n"),
            "",
            lifted.params_text().rstrip("\n"),
            "```",
        ]
    if what:
        out += ["", "## What this is", "", *(f"- {line.strip()}" for line in what)]
    return "\n".join(out) + "\n"
