"""After the last level: each finalist is simplified on the funnel's own top-level proxy.

The exact passes never change what a program computes; ablations (drop `clip`, drop a
near-identity such as `arcsin`) do, which is why the Lion authors settled them by training. The
funnel settles them the way `reduce --validate` does, but inside the run and through the ledger:

1. every ablation that `reduce` proposes for a finalist is applied alone and the variant is
   trained at the last level (same proxy, seeds, learning-rate and weight-decay search as the
   finalist itself), then compared seed by seed with the finalist's own record there
   (`validation.paired_verdict`: accepted when it loses at most `ablation_margin` × |score|);
2. when several are accepted they are applied together and that program is trained and
   checked the same way; if the combination loses, only the best single ablation is kept;
3. each rejected ablation is tried once more on top of the accepted ones (dropping `clip`
   alone leaves `arcsin` out of its domain; with `arcsin` gone it may go too), and kept when
   the finalist's score still holds;
4. the winner is `reduce(original, ablate=accepted)`: the simplest program that keeps the score,
   still a verified pipeline result.

Each variant is an ordinary evaluation with `phase: "ablation"` in the ledger, keyed by the
finalist and the set of ablations, so a resumed run repeats none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lionsimplify.funnel.validation import VariantScore, Verdict, paired_verdict
from lionsimplify.lang.ir import Program
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import Reduction, reduce

PHASE = "ablation"


@dataclass
class Trial:
    """One ablated variant of a finalist, trained at the last level."""

    ablations: tuple[str, ...]
    program: str
    subject: str
    record: dict[str, Any] | None = None
    verdict: Verdict | None = None

    @property
    def name(self) -> str:
        return " + ".join(self.ablations)


@dataclass
class Simplification:
    """What the ablation phase decided for one finalist."""

    fingerprint: str
    reference: dict[str, Any]
    """The finalist's own record at the last level."""
    trials: list[Trial]
    accepted: tuple[str, ...]
    final: Reduction
    notes: list[str] = field(default_factory=list)

    @property
    def record(self) -> dict[str, Any]:
        """The record of the winning program (its tuning is what the winner carries)."""
        for t in self.trials:
            if t.ablations == self.accepted and t.record is not None:
                return t.record
        return self.reference

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "reference": {
                "metric": self.reference.get("metric"),
                "metric_sd": self.reference.get("metric_sd"),
            },  # fmt: skip
            "trials": [
                {
                    "ablations": list(t.ablations),
                    "subject": t.subject,
                    "status": (t.record or {}).get("status"),
                    "metric": (t.record or {}).get("metric"),
                    "verdict": t.verdict.to_json() if t.verdict else None,
                }
                for t in self.trials
            ],
            "accepted": list(self.accepted),
            "program": print_program(self.final.program),
            "notes": self.notes,
        }


def subject(fingerprint: str, ablations: tuple[str, ...]) -> str:
    return f"{PHASE}:{fingerprint}:{'+'.join(ablations)}"


def _score(record: dict[str, Any], seeds: tuple[int, ...]) -> VariantScore:
    by_seed = {p["seed"]: p.get("metric") for p in record.get("per_seed") or []}
    ok = record.get("status") == "ok" and record.get("metric") is not None
    metrics = [by_seed.get(s) if ok else None for s in seeds]
    return VariantScore("", "", str(record.get("status")), metrics,
                        record.get("best_multiplier"), 0.0, 0.0)  # fmt: skip


def verdict(
    name: str, ref: dict[str, Any], var: dict[str, Any], seeds: tuple[int, ...],
    higher: bool, margin: float,
) -> Verdict:  # fmt: skip
    return paired_verdict(name, _score(ref, seeds), _score(var, seeds), higher, margin)


Train = Callable[[list[Trial]], None]
"""Fills in `record` of each trial (through the ledger: cached or trained)."""


def simplify(
    finalists: list[tuple[str, Program, dict[str, Any]]],
    *,
    semantics: Any,
    params: dict[str, float],
    seeds: tuple[int, ...],
    higher: bool,
    margin: float,
    train: Train,
) -> dict[str, Simplification]:
    """Settle every finalist's ablations; `finalists` are (fingerprint, original, record).

    Rounds, each one batch of evaluations over all finalists: every ablation alone; the
    accepted ones together; then each rejected one again on top of what is accepted (one at a
    time, in the order `reduce` proposes them), since an ablation can fail alone and pass
    beside another: dropping `clip` in front of `arcsin` leaves `arcsin` out of its domain, but
    once `arcsin` is gone, `clip` may go too."""
    refs = {fp: rec for fp, _, rec in finalists}
    originals = {fp: original for fp, original, _ in finalists}
    proposed: dict[str, tuple[str, ...]] = {}
    for fp, original, _ in finalists:
        base = reduce(original, semantics=semantics, params=params)
        proposed[fp] = tuple(rec.name for rec in base.ablations)

    def trial(fp: str, names: tuple[str, ...]) -> Trial:
        names = tuple(n for n in proposed[fp] if n in names)  # one order, one ledger key
        red = reduce(originals[fp], semantics=semantics, params=params, ablate=set(names))
        return Trial(names, print_program(red.program), subject(fp, names))

    def settle(trials: list[tuple[str, Trial]]) -> None:
        train([t for _, t in trials])
        for fp, t in trials:
            t.verdict = verdict(t.name, refs[fp], t.record or {}, seeds, higher, margin)

    trials: dict[str, list[Trial]] = {fp: [] for fp in proposed}
    singles = [(fp, trial(fp, (n,))) for fp in proposed for n in proposed[fp]]
    settle(singles)
    accepted: dict[str, tuple[str, ...]] = {}
    notes: dict[str, list[str]] = {fp: [] for fp in proposed}
    for fp, t in singles:
        trials[fp].append(t)
    for fp in proposed:
        good = [t for t in trials[fp] if t.verdict and t.verdict.accepted]
        accepted[fp] = tuple(n for t in good for n in t.ablations)
    together = [(fp, trial(fp, names)) for fp, names in accepted.items() if len(names) > 1]
    settle(together)
    for fp, t in together:
        trials[fp].append(t)
        if not (t.verdict and t.verdict.accepted):
            good = [
                s for s in trials[fp] if len(s.ablations) == 1 and s.ablations[0] in t.ablations
            ]
            best = max(
                good,
                key=lambda s: (
                    s.verdict.delta if s.verdict and s.verdict.delta is not None else -1e300
                ),
            )
            accepted[fp] = best.ablations
            notes[fp].append("each accepted ablation keeps the score alone but not together: "
                             f"only the best single one ({best.name}) is kept")  # fmt: skip
    pending = {fp: [n for n in proposed[fp] if n not in accepted[fp]] if accepted[fp] else []
               for fp in proposed}  # fmt: skip
    while any(pending.values()):
        batch = [(fp, trial(fp, (*accepted[fp], names.pop(0)))) for fp, names in pending.items()
                 if names]  # fmt: skip
        settle(batch)
        for fp, t in batch:
            trials[fp].append(t)
            if t.verdict and t.verdict.accepted:
                accepted[fp] = t.ablations
    out: dict[str, Simplification] = {}
    for fp, original, rec in finalists:
        names = set(accepted[fp])
        final = reduce(original, semantics=semantics, params=params, ablate=names or False)
        out[fp] = Simplification(fp, rec, trials[fp], accepted[fp], final, notes[fp])
    return out
