"""Parser and printer: both printed forms, lowering, round trips, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from lionsimplify.lang.errors import ProgramError
from lionsimplify.lang.ir import Const, Hyper, Stmt, Var
from lionsimplify.lang.parse import parse_file, parse_text
from lionsimplify.lang.printer import print_program

PAPER = sorted((Path(__file__).parent.parent / "examples" / "programs").glob("*.txt"))


@pytest.mark.parametrize("path", PAPER, ids=lambda p: p.name)
def test_paper_programs_round_trip(path: Path) -> None:
    program = parse_file(path)
    text = print_program(program)
    assert parse_text(text) == program
    assert print_program(parse_text(text)) == text  # printing is deterministic


def test_program1_roles_and_unicode_hyperparameters() -> None:
    p = parse_file(PAPER[0])
    assert (p.weight, p.grad, p.state, p.lr) == ("weight", "gradient", ("momentum",), "lr")
    assert p.hyperparams() == ("β1", "β2", "λ")
    assert p.body[0] == Stmt("update", "interp", (Var("gradient"), Var("momentum"), Hyper("β1")))


HERO = """\
def train(w: Params, g: Params, m: Params, v: Params, lr: float) -> Tuple:
  v1 = (g * m)
  m = interpolate(g, m, 0.8999999761581421)
  v = clip_by_global_norm(v, lr)
  update = ((v1 + m) / (v + 1.0))
  return (update, m, v)
"""


def test_hero_printed_form() -> None:
    p = parse_text(HERO)
    assert p.state == ("m", "v")
    assert [s.op for s in p.body] == ["mul", "interp", "clip", "add", "add", "div"]
    assert p.returns == ("update", "m", "v")


def test_nested_expressions_are_lowered_one_op_per_statement() -> None:
    p = parse_text(
        "def train(w, g, m, lr):\n  u = sign(interp(g, m, 0.9)) * lr + w * -0.5\n  return u, m\n"
    )
    assert [s.op for s in p.body] == ["interp", "sign", "mul", "mul", "add"]
    assert p.body[3].args == (Var("w"), Const(-0.5))
    assert p.body[-1].target == "u"
    assert parse_text(print_program(p)) == p


def test_literals_negative_scientific_and_power() -> None:
    p = parse_text("def train(w, g, lr):\n  u = g * -1.5e-3\n  u = u ** 2\n  u += 3\n  return u\n")
    assert p.body[0].args[1] == Const(-1.5e-3)
    assert p.body[1].op == "power"
    assert p.body[2] == Stmt("u", "add", (Var("u"), Const(3.0)))


def test_step_extra_input_and_docstring() -> None:
    p = parse_text('def train(w, g, m, lr, *, step):\n  """doc"""\n  u = g * step\n  return u, m\n')
    assert p.extras == ("step",)
    assert print_program(p).startswith("def train(w, g, m, lr, *, step):")


def test_return_expression_is_lowered() -> None:
    p = parse_text("def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  return sign(m) * lr, m\n")
    assert p.returns[1] == "m" and p.body[-1].op == "mul"


def _error(text: str | bytes, tmp_path: Path) -> ProgramError:
    f = tmp_path / "bad.txt"
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ProgramError) as info:
        parse_file(f)
    return info.value


SIG = "def train(w, g, m, lr):\n"

BAD = [
    ("empty", "", "empty program", (1, 1)),
    ("whitespace", "\n \n", "empty program", (1, 1)),
    ("binary", b"\x00\x01\x02binary", "binary file", (1, 1)),
    ("latin1", SIG.encode() + b"  u = g\n  # caf\xe9\n  return u, m\n", "not valid UTF-8", (3, 8)),
    ("syntax", SIG + "  u = g +\n  return u, m\n", "syntax error", (2, 10)),
    (
        "two functions",
        SIG + "  return g, m\n" + SIG + "  return g, m\n",
        "more than one function",
        (3, 1),
    ),
    ("no function", "x = 1\n", "outside the function", (1, 1)),
    ("missing return", SIG + "  u = g\n", "missing `return`", (2, 1)),
    ("for loop", SIG + "  for i in g:\n    u = i\n  return g, m\n", "`for` loop", (2, 3)),
    ("if", SIG + "  if g:\n    u = g\n  return g, m\n", "`if` statement", (2, 3)),
    ("while", SIG + "  while g:\n    u = g\n  return g, m\n", "`while` loop", (2, 3)),
    ("import", "import os\n" + SIG + "  return g, m\n", "import", (1, 1)),
    ("import inside", SIG + "  import os\n  return g, m\n", "import", (2, 3)),
    ("attribute", SIG + "  u = np.sign(g)\n  return u, m\n", "attribute access", (2, 7)),
    ("subscript", SIG + "  u = g[0]\n  return u, m\n", "subscript", (2, 7)),
    ("keyword", SIG + "  u = clip(g, max_norm=lr)\n  return u, m\n", "keyword arguments", (2, 7)),
    ("unknown function", SIG + "  u = sgn(m)\n  return u, m\n", "unknown function `sgn`", (2, 7)),
    (
        "wrong arity",
        SIG + "  u = interp(g, m)\n  return u, m\n",
        "takes 3 arguments, got 2",
        (2, 7),
    ),
    (
        "undefined",
        "def train(w, g, momentum, lr):\n  u = momentun * g\n  return u, momentum\n",
        "undefined name `momentun`",
        (2, 7),
    ),
    (
        "use before assign",
        SIG + "  u = x * g\n  x = g\n  return u, m\n",
        "used before it is assigned",
        (2, 7),
    ),
    (
        "return length",
        SIG + "  u = g\n  return u\n",
        "gives 1 value(s); this program needs 2",
        (3, 3),
    ),
    ("nan name", SIG + "  u = g * nan\n  return u, m\n", "NaN or inf", (2, 11)),
    ("inf literal", SIG + "  u = g * 1e999\n  return u, m\n", "infinity", (2, 11)),
    ("string", SIG + "  u = 'a'\n  return u, m\n", "str literal", (2, 7)),
    ("bool", SIG + "  u = g * True\n  return u, m\n", "bool literal", (2, 11)),
    ("comparison", SIG + "  u = g > m\n  return u, m\n", "comparison", (2, 7)),
    ("too few params", "def train(w, lr):\n  return w\n", "needs at least", (1, 1)),
    ("after return", SIG + "  return g, m\n  u = g\n", "statement after `return`", (3, 3)),
    ("expression statement", SIG + "  sign(g)\n  return g, m\n", "does nothing", (2, 3)),
    (
        "unknown extra",
        "def train(w, g, lr, *, epoch):\n  return g\n",
        "unknown extra input",
        (1, 24),
    ),
    (
        "deep parens",
        SIG + "  u = " + "sign(" * 1000 + "g" + ")" * 1000 + "\n  return u, m\n",
        "nested",
        None,
    ),
    ("deep unary", SIG + "  u = " + "-" * 1000 + "g\n  return u, m\n", "nested", None),
    ("function as value", SIG + "  u = sign\n  return u, m\n", "is a function", (2, 7)),
    ("decorator", "@jit\n" + SIG + "  return g, m\n", "decorators", (1, 2)),
    ("chained assign", SIG + "  u = v = g\n  return u, m\n", "chained assignment", (2, 3)),
]


@pytest.mark.parametrize(("name", "text", "message", "where"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_clear_error(name, text, message, where, tmp_path: Path) -> None:
    err = _error(text, tmp_path)
    assert message in err.message
    assert err.location.path.endswith("bad.txt")
    if where is not None:
        assert (err.location.line, err.location.col) == where
    head = err.headline()
    assert "\n" not in head and head.startswith(f"{err.location.path}:{err.location.line}:")


def test_unknown_function_suggests_nearest(tmp_path: Path) -> None:
    err = _error(SIG + "  u = sgn(m)\n  return u, m\n", tmp_path)
    assert err.help is not None and "sign" in err.help
    assert "^" in err.render()


def test_ten_thousand_statements_parse(tmp_path: Path) -> None:
    body = "".join(f"  m = interp(g, m, 0.{i % 9 + 1})\n" for i in range(10_000))
    f = tmp_path / "big.txt"
    f.write_text(SIG + body + "  return m, m\n")
    assert len(parse_file(f).body) == 10_000


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="no such file"):
        parse_file(tmp_path / "nope.txt")
    with pytest.raises(ProgramError, match="directory"):
        parse_file(tmp_path)


@pytest.mark.parametrize(
    "line",
    [
        *(
            "u = 1abc * g",
            "u = g * 0x1F",
            "u = ﬁx * g",
            "u = g * 1_0.5e-3",
            "u = g*2.",
            "u = g * .5",
        ),
        *("u = g * 9007199254740993", "u = g * 9007199254740992", "u = g * 99999999999999999"),
        *("u = g * 1e-3", "u = g*-.5E+2", "u = g * 007", "u = g * 00", "u = g * 0e5", "u = g.5"),
        *("u = g * 1e999", "u = interp(g, fix, -0.9)", "u = g * 1e-3x", "u = -g * 2"),
        *("u = -g", "u = - g", "u = --0.5", "u = -0.5", "u = 0.5", "u = fix", "u = -(-g)"),
        *("u = +g", "u = -+g", "u = -(0.5)", "u = 0x1f", "u = -0x1f", "u = --0x1f", "u = -0.0"),
        *("u = -9007199254740993", "u = -1e999", "u = -True", "u = None", "u = -nope", "u = 1j"),
        *("u = -inf", "u = inf", "u = pi", "u = -g.x", "u = -get_pi()", "u = (g)", "u = -(g)"),
    ],
)
def test_line_cache_agrees_with_a_whole_file_parse(line: str) -> None:
    """The per-line fast path must read every line exactly as `ast` reads the whole file."""
    text = f"def train(w, g, fix, lr):\n  {line}\n  return u, fix\n"
    odd = f"def train(w, g, fix, lr):\n  {line}\n  return (u,\n    fix)\n"  # forces a whole-file parse
    outcomes = []
    for t in (text, odd):
        try:
            outcomes.append(parse_text(t).body)
        except ProgramError as exc:
            outcomes.append((exc.message, exc.location.line, exc.location.col))
    assert outcomes[0] == outcomes[1]


def test_a_hyperparameter_written_last_in_the_signature_is_explained() -> None:
    """`def train(w, g, m, lr, b1)` makes `b1` the learning rate and `lr` a state the body never
    sets; the help says so instead of only asking to return `lr` as state."""
    text = (
        "def train(w, g, m, lr, b1):\n  m = interp(g, m, b1)\n  u = sign(m) * lr\n  return u, m\n"
    )
    with pytest.raises(ProgramError) as e:
        parse_text(text)
    assert e.value.code == "E104" and e.value.help is not None
    assert "`b1`, the last, is the learning rate and `lr` is state" in e.value.help
    assert "give it a value (`b1=0.9`)" in e.value.help
    # a forgotten state in `return` keeps the plain help
    with pytest.raises(ProgramError) as e:
        parse_text("def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  return m\n")
    assert e.value.help == "write `return update, m`"


def _read_fully(text: str) -> object:
    """Everything the parser gives, locations included (they take no part in `==`)."""
    try:
        p = parse_text(text, "f.txt")
    except ProgramError as exc:
        return exc.message, exc.location
    return p, p.name, p.return_loc, p.source, [s.loc for s in p.body]


def test_simple_lane_reads_what_the_general_path_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_simple_program` (the one-pass lane for plain search outputs) must give the very
    program, names and locations the general path gives, and leave every other text to it:
    search-like programs with comments, blank lines, defaults, tabs, odd returns and trailing
    statements mixed in."""
    import random

    from lionsimplify.lang import parse as module
    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program

    rng = random.Random(7)
    edits = [
        lambda ls, i: ls.insert(i, "  # a comment"),
        lambda ls, i: ls.insert(i, ""),
        lambda ls, i: ls.__setitem__(i, ls[i] + "  # trailing"),
        lambda ls, i: ls.append("  u = 1"),
        lambda ls, i: ls.__setitem__(0, ls[0].replace("lr)", "lr, b=0.5)")),
        lambda ls, i: ls.__setitem__(-1, ls[-1] + ", m"),
        lambda ls, i: ls.__setitem__(-1, ls[-1].replace("return ", "return (") + ")"),
        lambda ls, i: ls.__setitem__(i, "\t" + ls[i].lstrip()),
        lambda ls, i: ls.__setitem__(i, ls[i].replace("g", "hyper_g", 1)),
        lambda ls, i: ls.__setitem__(-1, ls[-1].replace("update", "ü")),
        lambda ls, i: ls.insert(
            i, rng.choice(["  g = -g", "  g = --0.5", "  w = g", "  g = -0.0"])
        ),
    ]
    texts, taken = [], 0
    program = adamw()
    for k in range(400):
        program = mutate(adamw() if k % 10 == 0 else program, rng, mutations=1)
        lines = print_program(program).splitlines()
        if rng.random() < 0.6:
            rng.choice(edits)(lines, rng.randrange(1, len(lines)))
        texts.append("\n".join(lines) + "\n")
    lane = [_read_fully(t) for t in texts]
    taken = sum(module._simple_program(t.splitlines(), "f.txt", t) is not None for t in texts)
    monkeypatch.setattr(module, "_simple_program", lambda lines, path, text: None)
    assert lane == [_read_fully(t) for t in texts]
    assert 100 < taken < len(texts)  # both paths exercised


def test_a_jsonl_file_given_as_one_program_says_what_reads_it(tmp_path: Path) -> None:
    """`check runs.jsonl` said "a statement outside the function" at the first JSON line."""
    runs = tmp_path / "runs.jsonl"
    runs.write_text('{"program": "def train(w, g, lr):\\n  return g\\n"}\n')
    with pytest.raises(ProgramError) as e:
        parse_file(runs)
    assert e.value.message == "a JSON-lines file of programs, not one program"
    assert e.value.help is not None and "`dedup`, `diff` and `funnel` read .jsonl" in e.value.help


@pytest.mark.parametrize(
    "text",
    [
        "def tra0/0in(w, g, m, lr):\n  return g, m\n",
        "def train(w, g, lr):\n  u = g * 1if 1 else 2\n  return u\n",
        "def train(w, g, lr):\n  u = sign(g)\n  return u\n\nx = 0x1for\n",
    ],
)
def test_python_syntax_warnings_do_not_reach_the_user(text: str) -> None:
    """Python warns about some malformed literals while parsing (`0in`, `1if`); the user gets
    our one error, not a SyntaxWarning on stderr beside it (seen in the hostile sweep)."""
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ProgramError):
            parse_text(text, "p.txt")
    assert [w for w in seen if issubclass(w.category, SyntaxWarning)] == []


@pytest.mark.parametrize("odd", ["\x0b", "\x0c", "\x1c", "\x85", "\u2028"])
def test_lines_are_numbered_as_python_numbers_them(odd: str) -> None:
    """`str.splitlines` also ends a line at \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029; a
    program holding one had every location after it a line too far (the hostile-input test
    found `\\vdef train(w, g, m, lr):\\n\\n  return u\\n` reported at line 4 of 3)."""
    text = f"def train(w, g, m, lr):\n  # odd {odd} here\n  m = interp(m, g, 0.9)\n"
    program = parse_text(text + "  u = sign(m)\n  return u, m\n")
    assert [s.loc.line for s in program.body if s.loc] == [3, 4]
    assert program.source_line(program.body[1].loc) == "  u = sign(m)"
    with pytest.raises(ProgramError) as e:
        parse_text(text + "  u = sgn(m)\n  return u, m\n")
    assert (e.value.location.line, e.value.location.col, e.value.source_line) == (
        4,
        7,
        "  u = sgn(m)",
    )
    with pytest.raises(ProgramError) as e:
        parse_text(f"{odd}def train(w, g, m, lr):\n\n  return u\n")
    # a form feed is whitespace to Python (the `return` is wrong, line 3), the others are not
    assert e.value.location.line == (3 if odd == "\x0c" else 1)
