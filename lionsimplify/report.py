"""The derivation as Markdown that a paper appendix could quote (`reduce --report FILE`).

One section per applied pass: the rule and why it is sound, what it changed, the program
before and after as a diff, the label claimed and the label measured by differential
execution (with the largest relative deviation), and any side condition. Then the ablation
candidates with their measured deviation, the result, and its lifted hyperparameters. Nothing
time-dependent is written, so the same input gives the same bytes.
"""

from __future__ import annotations

import difflib

from lionsimplify.emit.lifting import Lifted
from lionsimplify.printer import print_program
from lionsimplify.reduce import PassRecord, Reduction


def program_diff(rec: PassRecord) -> list[str]:
    """The unified diff of the program text before and after a pass (no file headers)."""
    before = print_program(rec.before).splitlines()
    after = print_program(rec.after).splitlines()
    lines = list(difflib.unified_diff(before, after, lineterm="", n=1))
    return [line for line in lines[2:]]


def _dev(rec: PassRecord) -> str:
    v = rec.verification
    return f"{v.max_rel_dev:.2e}" if v else "-"


def _measured(rec: PassRecord) -> str:
    return rec.verification.measured if rec.verification else "-"


def derivation_markdown(result: Reduction, lifted: Lifted | None = None) -> str:
    v = next((r.verification for r in result.passes if r.verification), None)
    trials = (
        f"{v.trajectories} trajectories × {v.steps} steps (gradient scales 1e-4 to 1e2)"
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
        out += ["", "```diff", *program_diff(rec), "```"]
    out += ["", "## Ablation candidates (approximate; applied only with `--ablate`)", ""]
    if result.ablations:
        out += ["| pass | max rel. dev. | min cosine | change |", "|---|---|---|---|"]
        for rec in result.ablations:
            cos = f"{rec.verification.min_cosine:.3f}" if rec.verification else "-"
            change = rec.changes[0].replace("|", "\\|") if rec.changes else ""
            out.append(f"| `{rec.name}` | {_dev(rec)} | {cos} | {change} |")
    else:
        out.append("None.")
    if result.notes:
        out += ["", "## Semantics caveats", "", *(f"- {n}" for n in result.notes)]
    out += ["", "## Result", "", "```python", print_program(result.program).rstrip("\n"), "```"]
    if lifted is not None:
        out += [
            "",
            "With hyperparameters lifted:",
            "",
            "```python",
            lifted.text().rstrip("\n"),
            "",
            lifted.params_text().rstrip("\n"),
            "```",
        ]
    return "\n".join(out) + "\n"
