"""De-duplication: group programs into classes of programs that compute the same thing.

Each program is parsed, its dead code removed, and fingerprinted twice (see `fingerprint.py`).
Programs with the same structural hash are one class outright; classes whose behavioural
fingerprints agree are merged, and the merge is recorded, so the user can see *which*
fingerprint matched. The behavioural fingerprint is computed once per structural class, which is
what makes de-duplication of large search outputs fast (most duplicates are structural), and for
all classes at once, their programs run side by side (`analysis/batch_interp.py`), before the
pass that groups them in input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from lionsimplify.analysis.fingerprint import Fingerprinter, collector_paused
from lionsimplify.analysis.fingerprint_pool import PARALLEL_MIN, precompute
from lionsimplify.analysis.symbolic import sweep
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Program
from lionsimplify.lang.ops import Semantics
from lionsimplify.lang.printer import print_program
from lionsimplify.lang.sources import Source


@dataclass
class Member:
    source: Source
    structural: str
    behavioural: str
    matched: str
    """`representative`, `structural` (same structure as the representative's) or `behavioural`."""


@dataclass
class EquivalenceClass:
    representative: Program
    members: list[Member] = field(default_factory=list)

    @property
    def behavioural(self) -> str:
        return self.members[0].behavioural

    def to_json(self) -> dict[str, Any]:
        return {
            "structural": self.members[0].structural,
            "behavioural": self.behavioural,
            "program": print_program(self.representative),
            "size": len(self.members),
            "members": [
                {
                    "id": m.source.id,
                    "structural": m.structural,
                    "matched": m.matched,
                    **({"fields": m.source.fields} if m.source.fields else {}),
                }
                for m in self.members
            ],
        }


@dataclass
class Invalid:
    source: Source
    error: ProgramError

    def to_json(self) -> dict[str, Any]:
        loc = self.error.location
        return {
            "id": self.source.id,
            "error": self.error.headline(),
            "line": loc.line,
            "col": loc.col,
        }


@dataclass
class DedupResult:
    classes: list[EquivalenceClass]
    invalid: list[Invalid]
    total: int
    hyperparams: frozenset[str] = frozenset()
    """The hyperparameters the valid programs read; collected only when `params` are given,
    so that a name no program reads (a typo, `beta1` for `β1`) can be refused."""

    def to_json(self) -> dict[str, Any]:
        return {
            "programs": self.total,
            "valid": self.total - len(self.invalid),
            "classes": [c.to_json() for c in self.classes],
            "invalid": [i.to_json() for i in self.invalid],
        }


def dedup(
    sources: Iterable[Source],
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
    workers: int | None = None,
    parallel_min: int = PARALLEL_MIN,
) -> DedupResult:
    """Group `sources` into equivalence classes (order of first appearance).

    With `workers` > 1 and `parallel_min` distinct texts or more, the fingerprints are computed
    first by that many processes (see `fingerprint_pool.py`); the result is the same. One
    process is the default: on 2 cores, 2 workers took 1.8x the time of one on 10k programs
    and 1.4x on 100k (`benchmarks/bench_dedup.py --parallel`, `bench_foundation.py`)."""
    sources = list(sources)
    fingerprints = Fingerprinter(semantics, params)
    if workers is not None and workers > 1:
        texts = list(dict.fromkeys(s.text for s in sources if s.error is None))
        if len(texts) >= parallel_min:
            fingerprints = precompute(texts, semantics, params, workers)
    with collector_paused():
        result = _group(sources, fingerprints)
        if params:
            result.hyperparams = _read(sources, fingerprints)
    del fingerprints  # with its memo of terms,
    sweep()  # whose entries in the term table go too
    return result


def _read(sources: list[Source], fingerprints: Fingerprinter) -> frozenset[str]:
    """Every hyperparameter a valid program reads (each text is parsed once, already)."""
    names: set[str] = set()
    for src in sources:
        if src.error is None:
            with suppress(ProgramError):
                names.update(fingerprints.structural(src.text, src.path).program.hyperparams())
    return frozenset(names)


def _group(sources: list[Source], fingerprints: Fingerprinter) -> DedupResult:
    """One pass in input order; the behavioural hashes are computed first, side by side."""
    # the invalid are reported in order below
    fingerprints.prepare(
        fingerprints.structural_many((s.text, s.path) for s in sources if s.error is None)
    )
    by_struct: dict[str, EquivalenceClass] = {}
    by_behaviour: dict[str, EquivalenceClass] = {}
    classes: list[EquivalenceClass] = []
    invalid: list[Invalid] = []
    total = 0
    for src in sources:
        total += 1
        if src.error is not None:
            invalid.append(Invalid(src, src.error))
            continue
        try:
            fp = fingerprints.structural(src.text, src.path)
            cls = by_struct.get(fp.structural)
            if cls is not None:
                cls.members.append(Member(src, fp.structural, cls.behavioural, "structural"))
                continue
            b_hash = fingerprints.behavioural(fp)
        except ProgramError as exc:
            invalid.append(Invalid(src, src.program_error(exc)))
            continue
        cls = by_behaviour.get(b_hash)
        if cls is None:
            cls = EquivalenceClass(fp.program)
            classes.append(cls)
            by_behaviour[b_hash] = cls
            cls.members.append(Member(src, fp.structural, b_hash, "representative"))
        else:
            cls.members.append(Member(src, fp.structural, b_hash, "behavioural"))
        by_struct[fp.structural] = cls
    return DedupResult(classes, invalid, total)
