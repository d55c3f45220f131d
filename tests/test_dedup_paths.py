"""The fast paths `dedup` takes give what the general ones give, on search-style programs.

Each fast path (the string-only kind check, the incremental liveness slice, the parser's line
caches, the JSON-lines reader's whole-file decoding) is compared with the general computation
it replaces, on programs mutated the way search mutates them, invalid ones included.
"""

from __future__ import annotations

import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lionsimplify.analysis.absexec import analyse, check_kinds
from lionsimplify.analysis.liveness import live_statements
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Program, Var
from lionsimplify.lang.mutate import adamw, mutate_once
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.lang.sources import split_lines


@st.composite
def raw_mutants(draw: st.DrawFn) -> Program:
    """AdamW after random mutations, with no validity filter (kind errors stay in), as the
    parser reads it back (a program the parser rejects never reaches these stages)."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    program = adamw()
    for _ in range(draw(st.integers(1, 12))):
        program = mutate_once(program, rng)
    try:
        return parse_text(print_program(program), "x.txt")
    except ProgramError:
        assume(False)
        raise


def _outcome(check) -> tuple | None:  # noqa: ANN001
    try:
        check()
    except ProgramError as exc:
        return (exc.message, exc.location, exc.help, exc.code)
    return None


@settings(max_examples=300, deadline=None)
@given(raw_mutants(), st.integers(0, 2**32 - 1), st.booleans())
def test_check_kinds_is_the_kind_part_of_abstract_execution(
    p: Program, seed: int, clip: bool
) -> None:
    """Mutation keeps kinds right, so a `clip` with a bound of any kind is put in as well."""
    if clip:
        rng = random.Random(seed)
        at = rng.randint(0, len(p.body))
        names = [p.weight, p.grad, p.lr, *p.state, *(s.target for s in p.body[:at])]
        lines = print_program(p).splitlines()
        lines.insert(at + 1, f"  zz = clip({rng.choice(names)}, {rng.choice(names)})")
        p = parse_text("\n".join(lines) + "\n", "x.txt")
    full = _outcome(lambda: analyse(p, ranges=False).raise_errors())
    assert _outcome(lambda: check_kinds(p)) == full


def test_check_kinds_reports_a_tensor_bound_of_clip() -> None:
    p = parse_text("def train(w, g, lr):\n  u = clip(g, g)\n  return u\n", "x.txt")
    outcome = _outcome(lambda: check_kinds(p))
    assert outcome is not None and outcome[3] == "E301" and outcome[1].line == 2


def _naive_live(p: Program) -> tuple[set[int], set[int]]:
    """Slice from every live output again, until the set of live outputs stops growing."""
    outputs = {0}
    while True:
        live, needed = {p.returns[k] for k in outputs}, set()
        for i in range(len(p.body) - 1, -1, -1):
            s = p.body[i]
            if s.target in live:
                needed.add(i)
                live.discard(s.target)
                live.update(a.name for a in s.args if isinstance(a, Var))
        grown = outputs | {k + 1 for k, s in enumerate(p.state) if s in live}
        if grown == outputs:
            return needed, outputs
        outputs = grown


@settings(max_examples=300, deadline=None)
@given(raw_mutants())
def test_incremental_liveness_is_the_fixed_point(p: Program) -> None:
    assert live_statements(p) == _naive_live(p)


@settings(max_examples=200, deadline=None)
@given(raw_mutants(), st.integers(0, 3))
def test_the_line_caches_read_as_a_whole_file_parse(p: Program, indent: int) -> None:
    """The fast path (lines read alone through the shape caches) against `ast` on the whole
    file, forced by a continuation line that the fast path does not take."""
    text = print_program(p).replace("\n  ", "\n" + " " * (2 + indent))
    head, _, rest = text.partition("\n")
    whole = head.replace("(w, ", "(w,\n    ", 1) + "\n" + rest
    fast, slow = parse_text(text, "x.txt"), parse_text(whole, "x.txt")
    assert fast == slow
    assert [s.loc.col for s in fast.body] == [s.loc.col for s in slow.body]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(st.sampled_from(list('ab {}":\r\t\x0b\x0c\x85\u2028\u3000\ufeffé\U0001f600'))),
        max_size=6,
    )
)
def test_a_clean_jsonl_file_is_split_as_line_by_line_decoding_splits_it(lines: list[str]) -> None:
    """A file with no NUL and valid UTF-8 is decoded at once: the same lines, numbered alike,
    as decoding each line with `utf-8-sig` (bytes stripped of ASCII whitespace only)."""
    data = "\n".join(lines).encode()
    raw_lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    expected = [
        (n, raw.rstrip(b"\r").decode("utf-8-sig"))
        for n, raw in enumerate(raw_lines, start=1)
        if raw.rstrip(b"\r").strip()
    ]
    assert list(split_lines(data, "x.jsonl")) == expected
