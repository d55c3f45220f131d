"""The library API: the whole pipeline in one call per task, with typed results.

    import lionsimplify as ls
    result = ls.simplify("examples/programs/program8.txt")
    print(result.text)            # the Lion-style program, values in its signature
    result.label                  # Label.EXACT
    ls.check("prog.txt").hazards  # (Diagnostic(code="W102", ...), ...)

The command line is a renderer over these functions: `lionsimplify check` prints a
`CheckResult`, `reduce` a `Simplification`, `diff` a `Diff`, `funnel` a `FunnelResult`. Bad
input raises `ProgramError` (with a location and a diagnostic code) from `simplify`, `diff` and
`funnel`; `check` reports it in its result instead, as the `check` command does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lionsimplify.lang.diagnostics import Severity
from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.ir import Program

if TYPE_CHECKING:
    from lionsimplify.analysis.absexec import Analysis
    from lionsimplify.compare.diff import Diff
    from lionsimplify.emit.lifting import Lifted
    from lionsimplify.funnel.pipeline import FunnelResult
    from lionsimplify.funnel.validation import Validation
    from lionsimplify.passes.driver import Reduction

__all__ = [
    "CheckResult",
    "Diagnostic",
    "EmitError",
    "Label",
    "Severity",
    "Simplification",
    "Stage",
    "check",
    "diff",
    "funnel",
    "simplify",
]

Source = str | Path | Program
"""A program: a path to a program file, or a parsed `Program`."""


class EmitError(ValueError):
    """The JAX module cannot be emitted for this program (e.g. an unsupported name)."""


class Label(StrEnum):
    """What a simplification preserves: every update (`exact`), its direction (`direction`:
    equal up to a positive factor), or neither (`approximate`: an ablation)."""

    EXACT = "exact"
    DIRECTION = "direction"
    APPROXIMATE = "approximate"


class Stage(StrEnum):
    """How far `simplify` goes: dead code only, or every exact rewrite too."""

    DCE = "dce"
    EXACT = "exact"


@dataclass(frozen=True)
class Diagnostic:
    """One error or hazard, with its stable code (see `lang/diagnostics.py`)."""

    code: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    col: int | None = None
    help: str | None = None
    source_line: str | None = field(default=None, compare=False, repr=False)
    """The line of the program the location points at (shown with a caret; not in JSON)."""
    caret: int | None = field(default=None, compare=False, repr=False)
    """The caret's column in `source_line` where it is not `col`: a JSON-lines entry's
    diagnostic is at its line of the file, its source line is its program's (`ProgramError`'s
    `caret`)."""

    def __str__(self) -> str:
        where = f"{Location(self.path, self.line, self.col)}: " if self.path else ""
        word = "error" if self.severity is Severity.ERROR else "warning"
        return f"{where}{word}: {self.message}  [{self.code}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "help": self.help,
        }


@dataclass(frozen=True)
class CheckResult:
    """What `check` found: the program (None when it does not parse) and its diagnostics."""

    path: str
    program: Program | None
    semantics: str
    diagnostics: tuple[Diagnostic, ...]
    outputs: Mapping[str, str] = field(default_factory=dict)
    """Each returned name -> its kind and interval, e.g. `tensor in [-1, 1]`."""
    analysis: Analysis | None = None
    error: ProgramError | None = None
    """The parse error, when the file is not a program (it renders with a caret)."""

    @classmethod
    def of_error(cls, path: str, semantics: str, exc: ProgramError) -> CheckResult:
        """The result for a source that is not a program: its one error."""
        loc = exc.location if exc.has_location else None
        error = Diagnostic(
            code=exc.code,
            severity=Severity.ERROR,
            message=exc.message,
            path=loc.path if loc else None,
            line=loc.line if loc else None,
            col=loc.col if loc else None,
            help=exc.help,
            source_line=exc.source_line,
            caret=exc.caret,
        )
        return cls(path, None, semantics, (error,), error=exc)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def hazards(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.HAZARD)


@dataclass(frozen=True)
class Simplification:
    """What `simplify` made: the verified reduction, the program with its hyperparameters
    lifted (values in the signature), and, when asked for, the JAX module and validation."""

    reduction: Reduction
    lifted: Lifted
    jax_module: str | None = None
    validation: Validation | None = None
    explanation: Any = None
    """What the result is (`lionsimplify.explain.Explanation`, matches only: cheap)."""

    @property
    def program(self) -> Program:
        return self.reduction.program

    @property
    def label(self) -> Label:
        return Label(self.reduction.label)

    @property
    def text(self) -> str:
        """The Lion-style program; it reads back into every command as it is."""
        return self.lifted.text()

    @property
    def side_conditions(self) -> tuple[str, ...]:
        return self.reduction.side_conditions

    def derivation(self) -> str:
        """The derivation as Markdown (what `reduce --report` writes)."""
        from lionsimplify.emit.derivation import derivation_markdown

        what = self.explanation.lines() if self.explanation is not None else None
        return derivation_markdown(self.reduction, self.lifted, what)


def _program(source: Source) -> Program:
    if isinstance(source, Program):
        return source
    from lionsimplify.lang.parse import parse_file

    return parse_file(source)


def _diagnostic(d: Any, program: Program) -> Diagnostic:
    loc = d.location
    return Diagnostic(
        code=d.code,
        severity=Severity.ERROR if d.severity == "error" else Severity.HAZARD,
        message=d.message,
        path=loc.path if loc else None,
        line=loc.line if loc else None,
        col=loc.col if loc else None,
        help=d.help,
        source_line=program.source_line(loc),
    )


def _slips(program: Program) -> list[Diagnostic]:
    """W105 for each hyperparameter named like a slip of a variable (`lang/names.py`)."""
    from lionsimplify.lang.names import describe_name, slipped_hyperparams

    out = []
    for name, meant in slipped_hyperparams(program).items():
        loc = program.read_location(name)
        out.append(
            Diagnostic(
                code="W105",
                severity=Severity.HAZARD,
                message=f"`{name}` is read as a hyperparameter, but it looks like a slip of "
                f"{describe_name(program, meant)}",
                path=loc.path if loc else None,
                line=loc.line if loc else None,
                col=loc.col if loc else None,
                help=f"did you mean `{meant}`? (to keep the hyperparameter, give it a default "
                f"in the signature: `def {program.name}(..., {name}=VALUE):`)",
                source_line=program.source_line(loc),
            )
        )
    return out


def check(
    source: Source,
    *,
    semantics: str = "math",
    params: Mapping[str, float] | None = None,
    ignore: Collection[str] = (),
) -> CheckResult:
    """Parse and abstract-execute one program: kinds, intervals, errors and hazards. A file
    that does not parse is a result with one error, not an exception; hazards with a code in
    `ignore` are left out."""
    from lionsimplify.analysis.absexec import analyse

    path = str(source.path if isinstance(source, Program) else source)
    try:
        program = _program(source)
    except ProgramError as exc:
        return CheckResult.of_error(path, semantics, exc)
    analysis = analyse(program, semantics, params)  # type: ignore[arg-type]
    found = tuple(
        d
        for d in (*(_diagnostic(d, program) for d in analysis.diagnostics), *_slips(program))
        if d.code not in ignore
    )
    outputs = {name: f.describe() for name, f in analysis.outputs.items()}
    return CheckResult(path, program, semantics, found, outputs, analysis)


def simplify(
    source: Source,
    *,
    semantics: str = "math",
    params: Mapping[str, float] | None = None,
    until: Stage | str = Stage.EXACT,
    ablate: bool | Collection[str] = False,
    validate: str | None = None,
    validate_options: Mapping[str, Any] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    jax_name: str | None = None,
) -> Simplification:
    """Reduce a program: remove dead code and state, simplify, verify every step, lift its
    hyperparameters. `ablate` applies approximate ablations (all, or the named ones);
    `validate=PROXY` settles them by training instead (`validate_options` are passed to
    `validate_ablations`: seeds, margin, lr_multipliers, ...). `jax_name` also emits the
    standalone JAX/optax module defining that function."""
    from lionsimplify.analysis.absexec import analyse
    from lionsimplify.emit import jax_module_source, lift
    from lionsimplify.emit.optax_builtin import builtin_module
    from lionsimplify.explain import explain_reduction
    from lionsimplify.passes.driver import reduce

    if validate is not None and ablate:
        raise ValueError("validate decides which ablations to apply; do not combine it with ablate")
    program = _program(source)
    values = dict(params or {})
    analyse(program, semantics, values).raise_errors()  # type: ignore[arg-type]
    validation = None
    if validate is not None:
        from lionsimplify.funnel.validation import validate_ablations

        options = dict(validate_options or {})
        validation = validate_ablations(program, validate, semantics=semantics, params=values,
                                        progress=progress, **options)  # fmt: skip
        reduction = validation.final
    else:
        reduction = reduce(program, until=str(until), semantics=semantics, params=values,  # type: ignore[arg-type]
                           ablate=ablate)  # fmt: skip
    lifted = lift(reduction.program, values)
    explanation = explain_reduction(reduction, nearest=False)  # matches only: cheap
    module = None
    if jax_name is not None:
        try:
            module = builtin_module(explanation, jax_name, program.path) or jax_module_source(
                lifted, jax_name, semantics=reduction.semantics, source=program.path
            )
            compile(module, f"{jax_name}.py", "exec")  # a syntax check only: nothing is run
        except (ValueError, SyntaxError) as exc:
            raise EmitError(str(exc)) from None
    return Simplification(reduction, lifted, module, validation, explanation)


def diff(
    a: Source,
    b: Source,
    *,
    semantics: str = "math",
    params: Mapping[str, float] | None = None,
    raw: bool = False,
) -> Diff:
    """How two programs differ: aligned statements, changed constants, and a verdict
    (`identical`, `equivalent`, `direction-equivalent`, `different`) with its evidence."""
    from lionsimplify.compare.diff import diff_programs

    return diff_programs(_program(a), _program(b), semantics=semantics, params=params,  # type: ignore[arg-type]
                         raw=raw)  # fmt: skip


def funnel(
    runs_dir: str | Path,
    out: str | Path,
    *,
    config: str | Path | None = None,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    force: bool = False,
    progress: Any = None,
    write: bool = True,
) -> FunnelResult:
    """Select the best programs of search runs by proxy training, level by level (resumable:
    every evaluation is in OUT/ledger.jsonl). With `write`, also writes OUT/report.md and
    OUT/winners/ as the command does."""
    from lionsimplify.funnel.config import load_config
    from lionsimplify.funnel.pipeline import FunnelOptions, run_funnel
    from lionsimplify.funnel.report import write_outputs

    cfg = load_config(Path(config) if config is not None else None)
    opts = FunnelOptions(Path(runs_dir), Path(out), cfg, executor, workers, address, force)
    result = run_funnel(opts, progress)
    if write:
        write_outputs(result, Path(out))
    return result
