"""Structural and behavioural fingerprints, and de-duplication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lionsimplify.analysis.fingerprint import behavioural_hash, structural_hash
from lionsimplify.compare.dedup import dedup
from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.sources import load_sources

A = """\
def train(w, g, m, lr):
  m = interp(m, g, 0.1)
  u = sign(m) * lr
  d = w * 0.01
  u = u + d
  return u, m
"""

# renamed, reordered, commutative arguments swapped, interp flipped, dead code added
B = """\
def train(weight, grad, mom, rate):
  decay = 0.01 * weight
  junk = cosh(grad)
  mom = interp(grad, mom, 0.9)
  s = sign(mom)
  s = rate * s
  s = decay + s
  return s, mom
"""

TWICE = "def train(w, g, lr):\n  u = g * 2.0\n  return u\n"
PLUS = "def train(w, g, lr):\n  u = g + g\n  return u\n"


def test_structural_hash_ignores_names_order_dead_code_and_commutation() -> None:
    assert structural_hash(parse_text(A)) == structural_hash(parse_text(B))


def test_structural_hash_sees_a_changed_constant() -> None:
    changed = A.replace("0.01", "0.02")
    assert structural_hash(parse_text(A)) != structural_hash(parse_text(changed))


def test_state_order_does_not_matter() -> None:
    p = "def train(w, g, m, v, lr):\n  m = interp(g, m, 0.9)\n  v = interp(g, v, 0.5)\n  u = m / v\n  return u, m, v\n"
    q = "def train(w, g, v, m, lr):\n  m = interp(g, m, 0.9)\n  v = interp(g, v, 0.5)\n  u = m / v\n  return u, v, m\n"
    assert structural_hash(parse_text(p)) == structural_hash(parse_text(q))
    swapped = p.replace("u = m / v", "u = v / m")
    assert structural_hash(parse_text(p)) != structural_hash(parse_text(swapped))


def test_behavioural_hash_identifies_times_two_and_plus_self() -> None:
    a, b = parse_text(TWICE), parse_text(PLUS)
    assert structural_hash(a) != structural_hash(b)
    assert behavioural_hash(a) == behavioural_hash(b)
    assert behavioural_hash(a) != behavioural_hash(parse_text(TWICE.replace("2.0", "2.001")))


def test_dedup_groups_and_says_which_fingerprint_matched(tmp_path: Path) -> None:
    for name, text in {"a.txt": A, "b.txt": B, "c.txt": TWICE, "d.txt": PLUS}.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "bad.txt").write_text("def train(w, g, lr):\n  u = sgn(g)\n  return u\n")
    result = dedup(load_sources([tmp_path]))
    assert result.total == 5 and len(result.invalid) == 1
    assert "unknown function" in result.invalid[0].error.message
    groups = [[m.source.id.split("/")[-1] for m in c.members] for c in result.classes]
    assert groups == [["a.txt", "b.txt"], ["c.txt", "d.txt"]]
    matched = [[m.matched for m in c.members] for c in result.classes]
    assert matched == [["representative", "structural"], ["representative", "behavioural"]]


def test_dedup_reads_jsonl(tmp_path: Path) -> None:
    f = tmp_path / "programs.jsonl"
    f.write_text(
        "\n".join(json.dumps({"program": t, "fitness": i}) for i, t in enumerate([A, B, PLUS]))
    )
    result = dedup(load_sources([f]))
    assert [len(c.members) for c in result.classes] == [2, 1]
    assert result.classes[0].members[1].source.fields == {"fitness": 1}


def test_jsonl_lines_with_a_repeated_id_keep_distinct_names(tmp_path: Path) -> None:
    """A restarted search repeats ids; two members named alike could not be told apart."""
    f = tmp_path / "programs.jsonl"
    rows = [{"program": A, "id": "a"}, {"program": B, "id": "b"}, {"program": PLUS, "id": "a"}]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    ids = [s.id for s in load_sources([f])]
    assert ids == [f"{f}:a", f"{f}:b", f"{f}:a (line 3)"]


def test_interp_of_a_value_with_itself_has_one_form() -> None:
    """Regression (found by hypothesis): `interp(g, g, a)` and its flip `interp(g, g, 1 - a)`."""
    p = "def train(w, g, lr):\n  u = interp(g, g, -1.4708)\n  return u\n"
    q = "def train(w, g, lr):\n  u = interp(g, g, 2.4708)\n  return u\n"
    assert structural_hash(parse_text(p)) == structural_hash(parse_text(q))


def test_parallel_dedup_gives_what_one_process_gives(tmp_path: Path) -> None:
    """With the threshold lowered, worker processes fingerprint; the classes are unchanged."""
    import random

    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program

    rng = random.Random(7)
    texts = [print_program(mutate(adamw(), rng, mutations=2)) for _ in range(30)]
    texts += [A, B, TWICE, PLUS, "def train(w, g, lr):\n  u = sgn(g)\n  return u\n"]
    f = tmp_path / "programs.jsonl"
    f.write_text("".join(json.dumps({"program": rng.choice(texts)}) + "\n" for _ in range(80)))
    alone = dedup(load_sources([f]), workers=1)
    spread = dedup(load_sources([f]), workers=2, parallel_min=10)
    assert spread.to_json() == alone.to_json()
    assert len(alone.classes) > 5 and alone.invalid


def test_structural_hash_values_are_stable() -> None:
    """Ledgers and `--json` outputs carry these values, and the funnel ledger's code version
    does not cover `analysis/`: a change of the hash scheme must be deliberate."""
    root = Path(__file__).resolve().parent.parent / "examples" / "programs"
    expected = {
        "program8": "fd240e3a83be4dca916d",
        "program3_adamw": "755ae38282c23adc3ab2",
        "program1_lion": "4ea269e08b631af8baf6",
    }
    for name, value in expected.items():
        assert structural_hash(parse_text((root / f"{name}.txt").read_text())) == value


def test_the_memo_gives_the_hashes_computed_afresh() -> None:
    """`HashMemo` (kept by `Fingerprinter` across a batch) must never hand one program another's
    hash: checked on search-like mutants sharing most terms, with renamed inputs and reordered
    state, and on literal outputs that compare equal but hash apart (0.0 and -0.0)."""
    import random

    from lionsimplify.analysis.fingerprint import HashMemo
    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program

    rng = random.Random(3)
    texts = [A, B, A.replace("(w, g, m, lr)", "(g, w, m, lr)")]
    texts += [
        f"def train(w, g, m, lr):\n  u = m * g\n  m = {z}\n  return u, m\n" for z in ["0.0", "-0.0"]
    ]
    program = adamw()
    for k in range(300):
        program = mutate(adamw() if k % 10 == 0 else program, rng, mutations=1)
        texts.append(print_program(program))
        texts.append(texts[-1].replace("(w, g, m, v, lr)", "(w, g, v, m, lr)"))
    programs = [parse_text(t) for t in texts]
    memo = HashMemo()
    remembered = [structural_hash(p, memo=memo) for p in programs + programs]
    afresh = [structural_hash(p) for p in programs]
    assert remembered == afresh + afresh
    assert remembered[3] != remembered[4]  # 0.0 and -0.0


def test_dedup_leaves_no_dead_entries_in_the_term_table() -> None:
    """The memo of terms `dedup` keeps for a batch must not leave the hash-consing table full
    of entries of dead terms once the batch is done (memory held after `dedup`)."""
    import random

    from lionsimplify.analysis import symbolic
    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program
    from lionsimplify.lang.sources import Source

    rng = random.Random(5)
    program, texts = adamw(), []
    for k in range(300):
        program = mutate(adamw() if k % 10 == 0 else program, rng, mutations=1)
        texts.append(print_program(program))
    dedup([Source(f"p{i}", t, "<test>", {}) for i, t in enumerate(texts)])
    dead = [key for key, ref in symbolic._TABLE.items() if ref() is None]
    assert not dead


def test_dedup_makes_no_garbage_for_the_collector_and_restores_it() -> None:
    """`dedup` runs with the cyclic collector off (`_gc_policy`): sound only while all it frees
    is freed by reference counting. Valid, invalid and failing programs alike; the collector's
    state and a caller's frozen objects are as they were."""
    import gc
    import random

    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program
    from lionsimplify.lang.sources import Source

    rng = random.Random(7)
    program, texts = adamw(), [A, B, TWICE, "def train(w, g, lr):\n  u = nope(g)\n  return u\n"]
    texts += ["def train(w, g, lr):\n  u = g +\n  return u\n", "def f(:\n"]
    for k in range(200):
        program = mutate(adamw() if k % 10 == 0 else program, rng, mutations=1)
        texts.append(print_program(program))
    sources = [Source(f"p{i}", t, "<test>", {}) for i, t in enumerate(texts)]
    gc.collect()
    assert gc.isenabled()
    result = dedup(sources)
    assert gc.collect() == 0, "dedup left cyclic garbage"
    assert len(result.invalid) == 3 and gc.isenabled()
    gc.disable()
    dedup(sources)
    assert not gc.isenabled()
    gc.enable()
    gc.freeze()
    try:
        dedup(sources)
        assert gc.get_freeze_count() > 0  # the caller's objects are not unfrozen
    finally:
        gc.unfreeze()


def test_structural_many_gives_what_structural_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read stage by stage a chunk at a time, texts give the fingerprints they give one by one:
    the valid ones once each in order of first appearance, across chunk boundaries; an invalid
    text is left out and still raises, naming the path it is asked with."""
    from lionsimplify.analysis.fingerprint import Fingerprinter

    bad = "def train(w, g, lr):\n  u = nope(g)\n  return u\n"
    items = [(A, "a"), (bad, "x"), (B, "b"), (A, "a2"), (TWICE, "t"), (PLUS, "p"), (bad, "y")]
    monkeypatch.setattr(Fingerprinter, "CHUNK", 2)
    many = Fingerprinter()
    got = many.structural_many(items)
    one = Fingerprinter()
    assert got == [one.structural(t, p) for t, p in [(A, "a"), (B, "b"), (TWICE, "t"), (PLUS, "p")]]
    for path in ("x", "y"):
        with pytest.raises(ProgramError) as e:
            many.structural(bad, path)
        assert e.value.location.path == path
