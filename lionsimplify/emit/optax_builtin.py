"""A standalone module that returns an optax built-in, for a program proven equal to one.

When `explain` finds that a reduced program is `identical` or `equivalent` to a reference whose
optax counterpart is a built-in (`optax.lion`, `optax.adamw`, ...), the best JAX module is that
call, not generated code: `reduce --jax` then writes a factory with the found constants as
keyword defaults and a comment naming the match and its evidence. A learning-rate scale in the
program (`lr = lr * 0.000217`) becomes part of the learning rate passed to the built-in (a
float, or a schedule composed with it). The text is generated, never executed; every
identifier is validated.
"""

from __future__ import annotations

from collections.abc import Mapping

from lionsimplify.emit.jax_module import RESERVED, valid_identifier


def builtin_module_source(
    name: str,
    function: str,
    kwargs: Mapping[str, float | bool | str],
    *,
    lr_scale: float | None,
    match: str,
    evidence: str,
    source: str,
) -> str:
    """`def name(learning_rate, k1=v1, ...) -> optax.<function>(...)`; `kwargs` maps each
    keyword of the built-in to its value, `"lr"` standing for the learning rate."""
    if not valid_identifier(name) or name in RESERVED:  # as the generic module: `def optax(`
        raise ValueError(f"{name!r} is not a usable Python function name")  # hides the import
    for ident in (function, *kwargs):
        if not valid_identifier(ident):
            raise ValueError(f"not a valid identifier: {ident!r}")
    consts = {k: v for k, v in kwargs.items() if v != "lr"}
    lr_kw = next((k for k, v in kwargs.items() if v == "lr"), None)
    if lr_kw is None:
        raise ValueError(f"optax.{function} takes no learning rate here")
    defaults = [f"    {k}={v!r}," for k, v in consts.items()]
    if lr_scale is not None:
        defaults.append(f"    lr_scale={lr_scale!r},")
    call_args = [f"{lr_kw}=lr", *(f"{k}={k}" for k in consts)]
    lines = [
        f'"""`{name}`: {source} is {match}; this module returns optax.{function}.',
        "",
        f"Found by `lionsimplify explain` ({evidence}).",
        "Generated code: edit the program, not this file.",
        '"""',
        "",
        "import optax",
        "",
        "",
        f"def {name}(",
        "    learning_rate,",
        *defaults,
        "):",
        f'    """optax.{function} with the constants found in {source}.',
        "",
        "    Args:",
        "      learning_rate: a float or an optax schedule (step count -> learning rate).",
    ]
    if lr_scale is not None:
        lines.append("      lr_scale: the program's own learning-rate factor (lr = lr * lr_scale).")
    lines += ['    """', f"    # {source} is {match} (lionsimplify explain)"]
    if lr_scale is None:
        lines.append("    lr = learning_rate")
    else:
        lines += [
            "    if callable(learning_rate):",
            "        lr = lambda count: lr_scale * learning_rate(count)  # noqa: E731",
            "    else:",
            "        lr = lr_scale * learning_rate",
        ]
    lines.append(f"    return optax.{function}({', '.join(call_args)})")
    return "\n".join(lines) + "\n"


def builtin_module(explanation, fn_name: str, source: str) -> str | None:  # noqa: ANN001
    """The module calling the optax built-in that `explanation` matched, or None when there is
    none (math semantics only: optax computes IEEE arithmetic, not Hero's guarded operations)."""
    best = explanation.best
    found = best.builtin() if best is not None else None
    if found is None or explanation.reduction.semantics != "math":
        return None
    function, kwargs = found
    consts = ", ".join(c.text() for c in best.constants)
    approximate = explanation.reduction.label == "approximate"
    return builtin_module_source(
        fn_name,
        function,
        kwargs,
        lr_scale=best.lr_scale,
        match=f"{best.verdict} to {best.reference.name} ({consts})",
        evidence=best.diff.summary(),
        source=source
        + (" (reduced, with its ablations: approximate)" if approximate else " (reduced)"),
    )
