"""Stand-in for code emission: a winner's `.py` module that runs its program through the IR.

The emission of a standalone jax/optax module (DESIGN.md §3, "Emission") belongs to the
simplification work; until `lionsimplify.emit` exists, a winner's `.py` is this small generated
module. It embeds the program text as a string literal (written with `repr`, so no program text
becomes code) and builds the optimizer with `lionsimplify.to_optax.program_to_optax`, so it is
ready to use wherever lionsimplify is installed. Nothing else in the funnel depends on it.
"""

from __future__ import annotations

from lionsimplify.ir import Program
from lionsimplify.printer import print_program

_TEMPLATE = '''\
"""Optimizer {fingerprint}, selected by `lionsimplify funnel` ({semantics} semantics).

Generated file. The program below is the reduced candidate; `optimizer(learning_rate, **hp)`
returns an `optax.GradientTransformation` computing it (updates are negated for optax).
Hyperparameters of the program: {hyper}.
"""

from lionsimplify.parse import parse_text
from lionsimplify.to_optax import program_to_optax

PROGRAM = {program!r}
SEMANTICS = {semantics!r}
DEFAULTS = {defaults!r}


def optimizer(learning_rate, **hyperparams):
    """The selected optimizer; `learning_rate` is a float or an optax schedule."""
    values = {{**DEFAULTS, **hyperparams}}
    return program_to_optax(
        parse_text(PROGRAM, "<winner {fingerprint}>"),
        learning_rate=learning_rate,
        params=values,
        semantics=SEMANTICS,
    )
'''


def winner_module(
    program: Program, fingerprint: str, semantics: str, params: dict[str, float]
) -> str:
    """The text of the winner's `.py` module (see the module docstring)."""
    hyper = program.hyperparams()
    defaults = {h: params[h] for h in hyper if h in params}
    return _TEMPLATE.format(
        fingerprint=fingerprint,
        semantics=semantics,
        hyper=", ".join(hyper) or "none",
        program=print_program(program),
        defaults=defaults,
    )
