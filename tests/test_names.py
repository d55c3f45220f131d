"""A short slip of a variable's name (`mm` for `m`, `lrr` for `lr`) that would silently become a
hyperparameter gets a W105 warning with the suggestion; the names search outputs and the paper
use for hyperparameters (`b1` beside a state `b`, `wd` beside `w`, `eps`, `λ`) never do."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from cli_runner import run_cli

from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Const
from lionsimplify.lang.mutate import adamw, mutate
from lionsimplify.lang.names import near_miss, slipped_hyperparams
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.lang.sources import load_sources

ROOT = Path(__file__).resolve().parent.parent
VARIABLES = ("w", "g", "b", "m", "v", "lr", "update")
#: hyperparameter names seen in search outputs and the paper's programs
LEGAL = ["b1", "b2", "eps", "wd", "beta1", "beta2", "β1", "β2", "λ", "mu", "rho", "G", "W",
         "m2", "v1", "e", "d", "lam", "gamma", "decay", "k"]  # fmt: skip
TYPO = "def train(w, g, m, lr):\n  m = interp(g, mm, 0.9)\n  update = sign(m) * lrr\n  return update, m\n"


@pytest.mark.parametrize(
    ("name", "meant"), [("mm", "m"), ("gg", "g"), ("lrr", "lr"), ("llr", "lr"), ("rl", "lr")]
)
def test_slips_are_near_misses(name: str, meant: str) -> None:
    assert near_miss(name, VARIABLES) == meant


@pytest.mark.parametrize("name", LEGAL)
def test_hyperparameter_names_in_use_are_not(name: str) -> None:
    assert near_miss(name, VARIABLES) is None


def test_check_warns_with_the_suggestion_at_the_name(tmp_path: Path, capsys) -> None:
    path = tmp_path / "typo.txt"
    path.write_text(TYPO)
    code, out, _ = run_cli(capsys, "check", str(path))
    assert code == 0
    lines = out.splitlines()
    i = lines.index(
        f"{path}:2:17: warning: `mm` is read as a hyperparameter, but it looks like a slip of "
        "the state variable `m`  [W105]"
    )
    assert lines[i + 1 : i + 4] == [
        "  |   m = interp(g, mm, 0.9)",
        "  |                 ^",
        "  = help: did you mean `m`? (to keep the hyperparameter, give it a default in the "
        "signature: `def train(..., mm=VALUE):`)",
    ]
    assert "slip of the learning rate `lr`  [W105]" in out
    assert run_cli(capsys, "check", "--strict-code", "W105", str(path))[0] == 1
    # reduce stops for the missing value, and says what was probably meant
    code, _, err = run_cli(capsys, "reduce", str(path))
    assert code == 2 and "[E205]" in err and "did you mean `m`? If not, give" in err


def test_a_default_says_the_name_is_meant() -> None:
    meant = TYPO.replace("(w, g, m, lr)", "(w, g, m, lr, mm=0.9)")
    assert slipped_hyperparams(parse_text(meant)) == {"lrr": "lr"}


def test_parser_temporaries_are_not_names() -> None:
    """`t2` is a hyperparameter; the parser's temporary `t1` is no name of the program."""
    program = parse_text("def train(w, g, lr):\n  u = sign(g * 2.0) * t2\n  return u\n")
    assert "t1" in {s.target for s in program.body}
    assert slipped_hyperparams(program) == {}


def test_no_shipped_example_warns() -> None:
    programs = []
    for src in load_sources([ROOT / "examples", ROOT / "tests" / "data"]):
        try:
            programs.append(src.parse())
        except ProgramError:
            continue
    assert len(programs) > 90 and sum(bool(p.hyperparams()) for p in programs) >= 10
    assert [p.path for p in programs if slipped_hyperparams(p)] == []


def test_no_mutant_with_search_style_hyperparameters_warns() -> None:
    """bench_dedup's kind of mutants (AdamW, one mutation at a time), their constants renamed
    to hyperparameters as search outputs name them."""
    rng = random.Random(0)
    parent, checked = adamw(), 0
    for i in range(300):
        parent = mutate(adamw() if i % 20 == 0 else parent, rng, mutations=1)
        text = print_program(parent)
        values = sorted({a.value for s in parent.body for a in s.args if isinstance(a, Const)})
        free = [n for n in LEGAL if n not in {*parent.inputs, *(s.target for s in parent.body)}]
        for value, name in zip(values, rng.sample(free, len(free)), strict=False):
            text = text.replace(f", {value!r})", f", {name})").replace(
                f" {value!r}\n", f" {name}\n"
            )
        program = parse_text(text)
        checked += bool(program.hyperparams())
        assert slipped_hyperparams(program) == {}, text
    assert checked > 200
