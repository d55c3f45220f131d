"""Which known optimizer is this program, with which constants?

For each reference (`references.py`), unification (`match.py`) proposes values of its
hyperparameters; the reference with those values (the *instance*) and the program then go to
`compare/diff.py`, which runs both on the verification trajectories. Only its verdict counts:
`identical`, `equivalent` or `direction-equivalent` (with the factor range) make a match, so a
wrong guess of the unifier can never become a false match. When no reference unifies, the one
that unifies with the fewest differences is the `nearest`; hyperparameters that only occur in the
differing parts are fitted by least squares on a trajectory (or left at the reference's default
where the fit cannot move them), and the diff measures how far the program is from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lionsimplify.analysis.interp import random_trajectory, run
from lionsimplify.compare.diff import Diff, diff_programs
from lionsimplify.explain.match import Difference, Unification, unify
from lionsimplify.explain.references import GREEK, Reference, references
from lionsimplify.lang.ir import Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.ops import Semantics
from lionsimplify.passes.rename import rename
from lionsimplify.passes.verify import RTOL

MATCHING = ("identical", "equivalent", "direction-equivalent")

#: References tried (fitted and run) when looking for the nearest.
NEAREST_TRIED = 3


@dataclass(frozen=True)
class Constant:
    """A reference hyperparameter's value in the program."""

    name: str
    value: float | None
    """None: a named hyperparameter of the program without a value."""
    source: str
    """`solved` (unification), `zero` (its term is absent), `fitted` (least squares),
    `default` (undetermined; the reference's default), or the program's own name for it."""

    def text(self) -> str:
        shown = GREEK.get(self.name, self.name)
        value = "?" if self.value is None else f"{self.value:.6g}"
        if self.source in ("solved", "zero"):
            return f"{shown} = {value}"
        if self.source in ("fitted", "default"):
            return f"{shown} = {value} ({self.source})"
        named = "" if self.source == shown else f" ({self.source})"
        return f"{shown} = {value}{named}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "source": self.source}


@dataclass(frozen=True)
class Recognition:
    reference: Reference
    verdict: str
    """`identical`, `equivalent`, `direction-equivalent` or `nearest`."""
    constants: tuple[Constant, ...]
    lr_scale: float | None
    """The effective learning rate is `lr_scale × lr` (None: the program's lr unchanged)."""
    lr_scale_name: str | None
    differences: tuple[str, ...]
    diff: Diff
    instance: Program

    def headline(self) -> str:
        consts = ", ".join(c.text() for c in self.constants)
        lr = ""
        if self.lr_scale is not None:
            lr = f"; effective learning rate {self.lr_scale:.6g} × lr"
        body = f"{self.reference.name} ({consts}{lr})" if consts or lr else self.reference.name
        if self.verdict == "nearest":
            return f"nearest: {body}, differs in " + "; ".join(self.differences)
        if self.verdict == "direction-equivalent":
            # the diff measured instance = c · program; say program = c · instance
            lo, hi = self.diff.evidence.factor_range or (float("nan"), float("nan"))
            lo, hi = 1 / hi, 1 / lo
            where = f"; differs in {'; '.join(self.differences)}" if self.differences else ""
            return (
                f"direction-equivalent: {body}, each update a positive multiple c of its "
                f"update, c in [{lo:.4g}, {hi:.4g}]{where}"
            )
        return f"{self.verdict}: {body}"

    def builtin(self) -> tuple[str, dict[str, float | bool | str]] | None:
        """(optax function, keyword arguments with `"lr"` for the learning rate) when the
        program equals a reference with an optax built-in and every constant is known."""
        call = self.reference.optax
        if call is None or self.verdict not in ("identical", "equivalent"):
            return None
        values = {c.name: c.value for c in self.constants}
        if any(v is None for v in values.values()):
            return None
        return call.function, call.arguments(values, "lr")  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference.key,
            "name": self.reference.name,
            "cite": self.reference.cite,
            "verdict": self.verdict,
            "headline": self.headline(),
            "constants": [c.to_json() for c in self.constants],
            "lr_scale": self.lr_scale,
            "differences": list(self.differences),
            "evidence": self.diff.summary(),
            "measured": self.diff.evidence.to_json(),
            "optax": self.reference.optax.function if self.reference.optax else None,
        }


@dataclass(frozen=True)
class Recognitions:
    matches: tuple[Recognition, ...] = ()
    """Verified matches, best first (fewest constants set to zero, then fewest unknowns)."""
    nearest: Recognition | None = None
    """When nothing matches: the closest reference and how the program differs from it."""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def best(self) -> Recognition | None:
        return self.matches[0] if self.matches else self.nearest


def recognize(
    program: Program,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    library: tuple[Reference, ...] | None = None,
    nearest: bool = True,
) -> Recognitions:
    """Recognise a *reduced* program (see `explain.explain`, which reduces first).

    `nearest=False` skips the search for the nearest reference when nothing matches (the
    relaxed unification over every reference and the fit: about a second), for callers that
    only want a match, such as the summary at the end of `reduce`."""
    params = dict(params or {})
    library = library if library is not None else references()
    matches = []
    for ref in library:
        seen = set()
        for u in unify(ref.program, program)[:4]:
            key = tuple(sorted((k, repr(v)) for k, v in u.hypers.items()))
            if key in seen:
                continue
            seen.add(key)
            rec = _verify(ref, u, program, semantics, params)
            if rec.verdict in MATCHING:
                matches.append((rec, len(u.zeroed), len(ref.hyperparams)))
                break
    if matches:
        rank = {v: i for i, v in enumerate(MATCHING)}
        matches.sort(key=lambda m: (rank[m[0].verdict], m[1], m[2]))
        return Recognitions(matches=tuple(m[0] for m in matches))
    if not nearest:
        return Recognitions()
    near = []
    for ref in library:
        sols = unify(ref.program, program, relaxed=True)
        if sols:
            near.append((sols[0].cost, len(sols[0].diffs), ref, sols[0]))
    if not near:
        return Recognitions()
    near.sort(key=lambda x: (x[0], x[1], len(x[3].zeroed), len(x[2].hyperparams)))
    # the few structurally closest, each fitted and run: a measured verdict beats a smaller
    # structural difference (`m * 0.93 + g * 0.07` is EMA momentum, though heavy-ball's
    # shape is closer)
    ranked = []
    for cost, _, ref, u in near[:NEAREST_TRIED]:
        fitted = _fit(ref, u, program, semantics, params)
        rec = _verify(ref, u, program, semantics, params, fitted, nearest=True)
        order = (MATCHING + ("nearest",)).index(rec.verdict)
        ranked.append(((order, cost, rec.diff.evidence.median_rel_dev), rec))
    rec = min(ranked, key=lambda x: x[0])[1]
    if rec.verdict in MATCHING:  # measured: the differences leave the outputs (or direction)
        return Recognitions(matches=(rec,))
    return Recognitions(nearest=rec)


def _verify(
    ref: Reference,
    u: Unification,
    program: Program,
    semantics: Semantics,
    params: dict[str, float],
    fitted: dict[str, float] | None = None,
    nearest: bool = False,
) -> Recognition:
    values, constants = _constants(ref, u, params, fitted or {})
    inst = instance(ref, u, program, values)
    d = diff_programs(program, inst, semantics=semantics, params=params)
    factor = d.evidence.factor_range
    if d.verdict == "direction-equivalent" and factor and factor[1] <= factor[0] * (1 + RTOL):
        # one constant factor: a learning-rate scale, if the state does not see lr
        old = _value(u.lr_scale, params) if u.lr_scale is not None else 1.0
        if old is not None:
            scaled = u.copy()
            scaled.lr_scale = Const(old / factor[0])
            inst2 = instance(ref, scaled, program, values)
            d2 = diff_programs(program, inst2, semantics=semantics, params=params)
            if d2.verdict in ("identical", "equivalent"):
                u, inst, d = scaled, inst2, d2
    verdict = "nearest" if d.verdict == "different" else d.verdict
    scale = _value(u.lr_scale, params) if u.lr_scale is not None else None
    return Recognition(
        reference=ref,
        verdict=verdict,
        constants=tuple(constants),
        lr_scale=scale,
        lr_scale_name=u.lr_scale.name if isinstance(u.lr_scale, Hyper) else None,
        differences=tuple(_differences(u.diffs, ref.name)) if nearest else (),
        diff=d,
        instance=inst,
    )


def _value(leaf: Const | Hyper | None, params: Mapping[str, float]) -> float | None:
    if isinstance(leaf, Const):
        return leaf.value
    if isinstance(leaf, Hyper):
        return params.get(leaf.name)
    return None


def _constants(
    ref: Reference, u: Unification, params: Mapping[str, float], fitted: Mapping[str, float]
) -> tuple[dict[str, Operand], list[Constant]]:
    """Each reference hyperparameter's operand in the instance, and how it was found."""
    values: dict[str, Operand] = {}
    out = []
    for h in ref.hyperparams:
        leaf = u.hypers.get(h)
        if leaf is not None:
            values[h] = leaf
            source = "zero" if h in u.zeroed else "solved"
            if isinstance(leaf, Hyper):
                source = leaf.name
            out.append(Constant(h, _value(leaf, params), source))
        elif h in fitted:
            values[h] = Const(fitted[h])
            out.append(Constant(h, fitted[h], "fitted"))
        else:
            values[h] = Const(ref.defaults[h])
            out.append(Constant(h, ref.defaults[h], "default"))
    return values, out


def instance(
    ref: Reference, u: Unification, program: Program, values: Mapping[str, Operand]
) -> Program:
    """The reference with the program's input names, the found constants and lr scale."""
    renamed = rename(ref.program, dict(u.roles))
    body: list[Stmt] = []
    if u.lr_scale is not None:
        body.append(Stmt(renamed.lr, "mul", (Var(renamed.lr), u.lr_scale)))
    for s in renamed.body:
        args = tuple(values[a.name] if isinstance(a, Hyper) else a for a in s.args)
        body.append(Stmt(s.target, s.op, args))
    return renamed.with_body(body, path=f"{ref.name} (reference)")


def _differences(diffs: list[Difference], name: str) -> list[str]:
    """One line per difference; differences at the same place of the reference (a chain such as
    `clip(g)`, then `arcsin(clip(g))`) are told once, by the program's outermost term."""
    written = [(d, *d.texts()) for d in diffs]
    keep = []
    for d, ref, prog in written:
        inner = any(
            o is not d and oref == ref and prog in oprog and len(oprog) > len(prog)
            for o, oref, oprog in written
        )
        if not inner:
            keep.append((d, ref, prog))
    texts = []
    for d, ref, prog in keep:
        if d.program is None:
            t = f"no state where {name} keeps `{ref}`"
        elif d.reference is None:
            t = f"extra state {prog}"
        else:
            t = f"`{prog}` where {name} has `{ref}`"
        if t not in texts:
            texts.append(t)
    return texts


def _fit(
    ref: Reference,
    u: Unification,
    program: Program,
    semantics: Semantics,
    params: dict[str, float],
) -> dict[str, float]:
    """Least-squares values for the hyperparameters unification left open (update and state
    trajectories of the instance against the program's, on one random trajectory)."""
    free = [h for h in ref.hyperparams if h not in u.hypers]
    if not free:
        return {}
    from scipy.optimize import least_squares

    traj = random_trajectory(0, steps=30, size=8, grad_scales=(1e-2, 1.0))
    with np.errstate(all="ignore"):
        target = run(program, traj, semantics=semantics, params=params).updates
    scale = np.maximum(np.max(np.abs(target), axis=-1, keepdims=True), 1e-300)
    lo = np.array([0.0 if h.startswith(("b", "wd", "eps")) else -np.inf for h in free])
    hi = np.array([1.0 if h.startswith("b") else np.inf for h in free])
    x0 = np.clip([ref.defaults[h] for h in free], lo, np.where(np.isfinite(hi), hi - 1e-9, hi))

    def residual(x: np.ndarray) -> np.ndarray:
        values, _ = _constants(ref, u, params, dict(zip(free, map(float, x), strict=True)))
        inst = instance(ref, u, program, values)
        with np.errstate(all="ignore"):
            out = run(inst, traj, semantics=semantics, params=params).updates
            r = ((out - target) / scale).ravel()
        return np.nan_to_num(r, nan=1e3, posinf=1e3, neginf=-1e3)

    try:
        sol = least_squares(residual, x0, bounds=(lo, hi), max_nfev=60, xtol=1e-15, ftol=1e-15)
    except ValueError:
        return {}
    if sol.cost >= 0.5 * float(np.sum(residual(x0) ** 2)) and np.allclose(sol.x, x0):
        return {}  # the fit could not move them: they stay at the defaults, said as such
    return {h: float(v) for h, v in zip(free, sol.x, strict=True)}
