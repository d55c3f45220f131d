"""Two fingerprints of what a program computes, for caching and de-duplication.

*Structural*: a hash of the live dataflow graph (after dead-code elimination): the program's
hash-consed terms (`symbolic.dataflow`, the terms the rewrite rules read), each term hashed once
from its arguments' hashes, so names, statement order and dead code do not matter; arguments of
commutative operations are sorted, and `interp(x, y, a)` with a literal `a` is put in one
orientation (`interp(m, g, 0.1)` is `interp(g, m, 0.9)`), both by the normalisation the
canonical form uses (`analysis/normalise.py`). Inputs are identified by role; state variables by
what they compute (their label is refined a few rounds, Weisfeiler-Lehman style), so the order
of the state parameters does not matter either.

*Behavioural*: a hash of the updates the program produces on fixed random trajectories, rounded
to about six significant digits. It identifies programs that compute the same thing in different
ways (`a * 2` and `a + a`) that no structural rule knows about. Hyperparameters without a value
get a fixed pseudo-random value derived from their name, so two programs using the same names
are compared on the same values.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from lionsimplify.analysis.absexec import check_kinds
from lionsimplify.analysis.batch_interp import run_batch
from lionsimplify.analysis.interp import Trajectory, random_trajectory, run
from lionsimplify.analysis.liveness import live_program
from lionsimplify.analysis.normalise import REORDERED, normal_call
from lionsimplify.analysis.symbolic import Dataflow, Node, Term, fresh_dataflow
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Const, Program, Var
from lionsimplify.lang.ops import Semantics
from lionsimplify.lang.parse import parse_text

_ROUNDS = 3


def _h(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def _const(v: float) -> str:
    return f"c{v:.12g}"


def _text(item: tuple[str, float | None]) -> str:
    return item[0]


def _weight(item: tuple[str, float | None]) -> float | None:
    return item[1]


def _literal(v: float) -> tuple[str, float | None]:
    return (_const(v), v)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector out of fingerprinting many texts (`dedup`, the
    funnel's intake).

    Fingerprinting allocates many small objects (IR nodes, terms, tuples, hash strings) and
    makes no reference cycles, so reference counting frees all its garbage (tests hold that
    `dedup` and `intake` leave none for the collector); at the default thresholds the collector
    would only rescan the survivors again and again, a quarter or more of the run on large
    inputs. When the run ends, the survivors are moved to the oldest generation unscanned
    (`gc.freeze` then `gc.unfreeze`), where they wait for the next full collection like any
    long-lived data; enabling the collector with them still young cost one scan of them all
    (55 ms at 10k programs, `benchmarks/bench_dedup.py`). Objects a caller froze are left
    alone: then the survivors stay where they are."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


class HashMemo:
    """What `structural_hash` may remember between programs: the hash of each dataflow (its
    outputs as hash-consed terms, under one naming of the inputs by role), and for each naming
    of the leaves (the inputs' roles and the state labels of a round) the text of each term
    hashed under it. It holds the terms alive: keep one per batch of programs."""

    __slots__ = ("flows", "terms")

    def __init__(self) -> None:
        self.flows: dict[tuple, str] = {}
        self.terms: dict[tuple, dict[Term, str]] = {}


def structural_hash(
    program: Program,
    *,
    reduced: bool = False,
    memo: HashMemo | None = None,
    flow: Dataflow | None = None,
) -> str:
    """Hash of the live dataflow; pass `reduced=True` if dead code is already gone, and its
    `flow` (`fresh_dataflow` of the live program) if you have it.

    Each term of the program's dataflow (`symbolic.fresh_dataflow`) is hashed from its op and
    its arguments' hashes in `normal_call` order, once per round of state labels. Terms are
    hash-consed, so a term's hash under one naming of the leaves is the same in every program:
    with a `memo` (one per batch of programs, as `Fingerprinter` keeps) each is computed once;
    search outputs share most terms between programs."""
    prog = program if reduced else live_program(program)
    if flow is None:
        flow = fresh_dataflow(prog)
    roles = (prog.weight, prog.grad, prog.lr, prog.extras, prog.state)
    if memo is not None:  # (a literal output by its bits: `Const(0.0) == Const(-0.0)`)
        key = (roles, *[o if type(o) is not Const else o.value.hex() for o in flow.outputs])
        done = memo.flows.get(key)
        if done is None:
            done = memo.flows[key] = _structural_hash(prog, flow, roles, memo)
        return done
    return _structural_hash(prog, flow, roles, None)


def _structural_hash(prog: Program, flow: Dataflow, roles: tuple, memo: HashMemo | None) -> str:
    # leaves: inputs by role, state variable i as `state[label i]`; literals to 12 digits
    leaves = {prog.weight: "weight", prog.grad: "grad", prog.lr: "lr"}
    leaves.update({e: e for e in prog.extras})
    texts: dict[Term, str] = {}

    def text(n: Node) -> str:  # a literal by its own value: `Const(0.0) == Const(-0.0)`
        if type(n) is Const:
            return _const(n.value)
        return leaves[n.name] if type(n) is Var else f"h{n.name}"  # type: ignore[union-attr]

    # only terms that read a state variable (directly or not) change when its label does
    states = set(prog.state)
    stateful: dict[Term, None] = {}
    for t in flow.terms:
        for a in t.args:
            if a.name in states if type(a) is Var else type(a) is Term and a in stateful:
                stateful[t] = None
                break
    labels = ("s",) * len(prog.state)
    terms: Iterable[Term] = flow.terms
    hashes: list[str] = []
    for _ in range(_ROUNDS if prog.state else 1):
        leaves.update({s: f"state[{labels[i]}]" for i, s in enumerate(prog.state)})
        known = {} if memo is None else memo.terms.setdefault((roles, labels), {})
        for t in terms:  # arguments first: each term once, from its arguments' hashes
            # (loops, not comprehensions: this is the hot loop of `dedup`)
            done = known.get(t)
            if done is not None:
                texts[t] = done
                continue
            items = []
            for a in t.args:
                kind = type(a)
                if kind is Term:
                    items.append((texts[a], None))
                elif kind is Var:
                    items.append((leaves[a.name], None))
                elif kind is Const:
                    items.append((_const(a.value), a.value))
                else:
                    items.append((f"h{a.name}", None))
            if t.op in REORDERED:
                items = normal_call(t.op, items, _text, _weight, _literal)
            texts[t] = known[t] = _h(f"{t.op}({','.join(map(_text, items))})")
        hashes = [texts[o] if type(o) is Term else text(o) for o in flow.outputs]
        labels = tuple(hashes[1:])
        terms = stateful
    return _h("|".join([hashes[0], *sorted(hashes[1:])]))


def pseudo_value(name: str) -> float:
    """A fixed value in [0.1, 0.9] for a hyperparameter without one, derived from its name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return 0.1 + 0.8 * int.from_bytes(digest, "big") / 2**64


@lru_cache(maxsize=1)
def fingerprint_trajectory() -> Trajectory:
    return random_trajectory(seed=20230213, steps=6, size=4, grad_scales=(1e-3, 1.0))


def _quantise(x: np.ndarray) -> list[bytes]:
    """Round each program's updates (`x[i]`) to ~6 significant digits (20 mantissa bits); NaN
    and inf map to fixed codes. One pass over all programs: the same bytes as one by one."""
    finite = np.isfinite(x)
    mant, expo = np.frexp(np.where(finite, x, 0.0))
    q = np.round(mant * (1 << 20)).astype(np.int64)
    q = np.where(finite, q, np.where(np.isnan(x), 1 << 40, np.where(x > 0, 1 << 41, -(1 << 41))))
    e = expo.astype(np.int32)
    return [q[i].tobytes() + e[i].tobytes() for i in range(len(x))]


def behavioural_hash(
    program: Program,
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
) -> str:
    """Hash of the rounded updates on the fixed fingerprint trajectory."""
    return behavioural_hashes([program], semantics=semantics, params=params)[0]


#: Programs run side by side at once (bounds the register files: ~1 MB per 1k programs), and
#: the fewest for which that pays: laying a batch out costs more than running a few alone
#: (measured: 0.23 ms a program alone in a batch of one, 0.07 ms with `interp.run`, even at
#: about 16-32 programs, 0.045 ms in thousands).
BATCH = 4096
BATCH_MIN = 32


def behavioural_hashes(
    programs: Sequence[Program],
    *,
    semantics: Semantics = "math",
    params: Mapping[str, float] | None = None,
) -> list[str]:
    """`behavioural_hash` of each program: run side by side (`batch_interp.py`) where that
    path takes them, else with `interp.run`; the updates, and so the hashes, are the same."""
    trajectory = fingerprint_trajectory()
    hashes: list[str] = []
    for start in range(0, len(programs), BATCH):
        chunk = programs[start : start + BATCH]
        values = [{h: pseudo_value(h) for h in p.hyperparams()} | p.values(params) for p in chunk]
        outs = (
            run_batch(chunk, trajectory, semantics, values)
            if len(chunk) >= BATCH_MIN
            else [None] * len(chunk)
        )
        updates = np.stack(
            [
                out
                if out is not None
                else run(p, trajectory, semantics=semantics, params=v).updates
                for p, v, out in zip(chunk, values, outs, strict=True)
            ]
        )
        prefix = semantics.encode() + b":"
        for data in _quantise(updates):
            hashes.append(hashlib.blake2b(prefix + data, digest_size=10).hexdigest())
    return hashes


class Fingerprinted(NamedTuple):
    """A program text read, checked and cut to its live dataflow, with its structural hash.
    (A named tuple: `dedup` makes one a text, and a frozen dataclass costs 3x the time.)"""

    program: Program
    """The live program (dead statements and state removed)."""
    structural: str
    statements_in: int
    """Statements of the program as written."""


class Fingerprinter:
    """Fingerprint many program texts cheaply: the one home of the caching that `dedup` and the
    funnel's intake rely on.

    Search outputs are mostly duplicates, so the structural work (parse, kind check, liveness,
    structural hash) is cached on the exact text, and the behavioural hash, which runs the
    program, on the structural hash; `prepare` computes many behavioural hashes at once. Invalid
    texts are not cached, so each one's error names its own source.
    """

    def __init__(self, semantics: Semantics = "math", params: Mapping[str, float] | None = None):
        self.semantics = semantics
        self.params = dict(params or {})
        self._by_text: dict[str, Fingerprinted] = {}
        self._by_structure: dict[str, str] = {}
        self._terms = HashMemo()

    def structural(self, text: str, path: str) -> Fingerprinted:
        """Read `text` (errors name `path`); raises `ProgramError` for an invalid program."""
        done = self._by_text.get(text)
        if done is None:
            parsed = parse_text(text, path)
            check_kinds(parsed)
            done = self._by_text[text] = self._fingerprinted(parsed, live_program(parsed))
        return done

    def structural_many(self, items: Iterable[tuple[str, str]]) -> list[Fingerprinted]:
        """`structural` of many (text, path) pairs: the valid texts', each once, in order of
        first appearance. An invalid text is left out (`structural` raises its error when asked,
        naming the path it is asked with).

        New texts are read a chunk at a time, stage by stage (parse the chunk, check it, cut
        it to its live code, make its dataflow, hash it): 20% faster than text by text on 10k
        search outputs (`benchmarks/bench_dedup.py`), as each stage's code and caches stay
        warm."""
        first: dict[str, str] = {}
        for text, path in items:
            first.setdefault(text, path)
        new = [(text, path) for text, path in first.items() if text not in self._by_text]
        for start in range(0, len(new), self.CHUNK):
            parsed = []
            for text, path in new[start : start + self.CHUNK]:
                with suppress(ProgramError):
                    parsed.append((text, parse_text(text, path)))
            checked = []
            for text, program in parsed:
                with suppress(ProgramError):
                    check_kinds(program)
                    checked.append((text, program))
            lives = [live_program(program) for _, program in checked]
            flows = [fresh_dataflow(live) for live in lives]
            for (text, program), live, flow in zip(checked, lives, flows, strict=True):
                self._by_text[text] = self._fingerprinted(program, live, flow)
        return [done for text in first if (done := self._by_text.get(text)) is not None]

    #: New texts `structural_many` reads at a time, stage by stage.
    CHUNK = 256

    def _fingerprinted(
        self, parsed: Program, live: Program, flow: Dataflow | None = None
    ) -> Fingerprinted:
        structural = structural_hash(live, reduced=True, memo=self._terms, flow=flow)
        return Fingerprinted(live, structural, len(parsed.body))

    def remember(
        self, by_text: Mapping[str, Fingerprinted], by_structure: Mapping[str, str]
    ) -> None:
        """Take fingerprints computed elsewhere (by worker processes: `fingerprint_pool.py`):
        structural ones by text, behavioural hashes by structural hash."""
        self._by_text.update(by_text)
        self._by_structure.update(by_structure)

    def prepare(self, fps: Iterable[Fingerprinted]) -> None:
        """Compute at once, side by side, the behavioural hashes of these programs that are
        not known yet (one per structural hash): what `behavioural` then looks up. A program
        that fails is left to `behavioural`, which raises its error where it is asked for."""
        todo: dict[str, Program] = {}
        for fp in fps:
            if fp.structural not in self._by_structure:
                todo.setdefault(fp.structural, fp.program)
        try:
            hashes = behavioural_hashes(
                list(todo.values()), semantics=self.semantics, params=self.params
            )
        except ProgramError:
            return
        self._by_structure.update(zip(todo, hashes, strict=True))

    def behavioural(self, fp: Fingerprinted) -> str:
        """The behavioural hash, computed once per structural hash."""
        known = self._by_structure.get(fp.structural)
        if known is None:
            known = behavioural_hash(fp.program, semantics=self.semantics, params=self.params)
            self._by_structure[fp.structural] = known
        return known
