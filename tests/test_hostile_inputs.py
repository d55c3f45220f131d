"""Hostile inputs: whatever a user (or a search run) hands the tool, it answers cleanly.

For every input (a table of hand-written cases: every Python construct outside the language,
encodings, sizes, special files, write targets; plus hypothesis-generated programs and bytes),
each command must exit 0, 1 or 2, never 3 (an internal error); print no traceback; on exit 2
start its error output with `FILE:LINE:COL: error: ...` at a real position (or `FILE: error:`
for a problem with the whole file, never a made-up `:1:1`); execute nothing the program
contains; and write nothing when it fails. The number of inputs tried is printed at the end of
the session (`hostile inputs tried: N`, see `session_counts.py`); `--runslow` runs a bigger generated sweep.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import session_counts
from cli_runner import run_cli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

MARKER = "/tmp/lionsimplify-hostile-marker"

VALID = """def train(w, g, m, lr):
  u = interp(g, m, 0.9)
  u = sign(u)
  m = interp(g, m, 0.99)
  u = u * lr
  return u, m
"""

HEAD = "def train(w, g, m, lr):\n"
TAIL = "  u = g * lr\n  return u, m\n"


def body(*lines: str) -> str:
    return HEAD + "".join(f"  {x}\n" for x in lines) + TAIL


#: Every Python construct outside the language, in a program, and other hostile text.
PROGRAMS: dict[str, str] = {
    "if": body("if g:", "  u = g"),
    "for": body("for i in range(3):", "  u = g"),
    "while": body("while True:", "  u = g"),
    "with": body(f"with open({MARKER!r}, 'w') as f:", "  u = g"),
    "try": body("try:", "  u = g", "except Exception:", "  u = g"),
    "lambda": body("f = lambda x: x", "u = f(g)"),
    "import": body("import os", "u = g"),
    "from-import": body("from os import system", "u = g"),
    "class": body("class A:", "  pass"),
    "nested-def": body("def f(x):", "  return x"),
    "async-def": "async def train(w, g, m, lr):\n  u = g\n  return u, m\n",
    "decorator": "@staticmethod\n" + VALID,
    "listcomp": body("u = [x for x in g]"),
    "genexp": body("u = sum(x for x in g)"),
    "dictcomp": body("u = {k: k for k in g}"),
    "fstring": body("u = f'{g}'"),
    "string": body("u = 'hello'"),
    "bytes": body("u = b'hello'"),
    "complex": body("u = g * 1j"),
    "walrus": body("u = (v := g)"),
    "starred": body("a, *b = g, g"),
    "tuple-assign": body("a, b = g, g"),
    "chained-assign": body("a = b = g"),
    "subscript": body("u = g[0]"),
    "subscript-assign": body("g[0] = 1.0"),
    "attribute": body("u = g.T"),
    "attribute-call": body("u = g.sum()"),
    "eval": body(f"u = eval(\"open({MARKER!r}, 'w')\")"),
    "exec": body(f"exec(\"open({MARKER!r}, 'w')\")"),
    "dunder-import": body("u = __import__('os').system('true')"),
    "open": body(f"u = open({MARKER!r}, 'w')"),
    "getattr": body("u = getattr(g, 'T')"),
    "global": body("global g"),
    "nonlocal": body("nonlocal g"),
    "del": body("del g"),
    "assert": body("assert g"),
    "raise": body("raise ValueError"),
    "yield": body("yield g"),
    "await": body("u = await g"),
    "pass": body("pass"),
    "expr-stmt": body("sqrt(g)"),
    "compare": body("u = g > 0"),
    "boolop": body("u = g and m"),
    "ifexp": body("u = g if m else w"),
    "unary-not": body("u = not g"),
    "bitops": body("u = g & m"),
    "floordiv": body("u = g // m"),
    "mod": body("u = g % m"),
    "matmul": body("u = g @ m"),
    "shift": body("u = g << 1"),
    "augassign-floordiv": body("m //= g"),
    "keyword-arg": body("u = clip(g, s=lr)"),
    "star-arg": body("u = sqrt(*g)"),
    "unknown-function": body("u = sgn(g)"),
    "wrong-arity": body("u = sqrt(g, m)"),
    "default-arg": "def train(w, g, m, lr=1.0):\n  u = g\n  return u, m\n",
    "varargs": "def train(w, g, *m):\n  u = g\n  return u\n",
    "kwargs": "def train(w, g, m, lr, **k):\n  u = g\n  return u, m\n",
    "annotation": "def train(w: int, g, m, lr) -> int:\n  u = g\n  return u, m\n",
    "annassign": body("u: float = g"),
    "no-return": HEAD + "  u = g\n",
    "return-arity": HEAD + "  u = g\n  return u\n",
    "return-expr": HEAD + "  return g * lr, m\n",
    "two-functions": VALID + "\n" + VALID.replace("train", "train2"),
    "module-code": "x = 1\n" + VALID,
    "use-before-assign": body("u = q + g", "q = g"),
    "huge-int": body("u = g * " + "9" * 400),
    "huge-float": body("u = g * 1e999"),
    "nan-name": body("u = g * nan"),
    "inf-name": body("inf = g"),
    "unicode-ident": body("β = g * 0.9", "u = β"),
    "homoglyph": body("u = ѕqrt(g)"),  # Cyrillic s
    "zero-width": body("u\u200b = g"),
    "rtl-override": body("u = g  # \u202e"),
    "tabs": "def train(w, g, m, lr):\n\tu = g\n\treturn u, m\n",
    "mixed-indent": "def train(w, g, m, lr):\n  u = g\n\treturn u, m\n",
    "crlf": VALID.replace("\n", "\r\n"),
    "cr-only": VALID.replace("\n", "\r"),
    "form-feed": "\f" + VALID,
    "empty": "",
    "whitespace": "   \n\n\t\n",
    "comments-only": "# nothing here\n# at all\n",
    "syntax-error": body("u = (g"),
    "unterminated-string": body("u = 'g"),
    "bad-indent": "def train(w, g, m, lr):\nu = g\n  return u, m\n",
    "long-line": body("u = g" + " + g" * 150),
    "deep-parens": body("u = " + "(" * 300 + "g" + ")" * 300),
    "deep-calls": body("u = " + "sqrt(" * 250 + "g" + ")" * 250),
    "deep-binop": body("u = g" + " + g" * 5000),
    "many-statements": HEAD + "".join(f"  x{i} = g * {i}.0\n" for i in range(2000)) + TAIL,
    "many-params": "def train(w, g, "
    + ", ".join(f"s{i}" for i in range(300))
    + ", lr):\n  u = g\n  return u, "
    + ", ".join(f"s{i}" for i in range(300))
    + "\n",
    "const-div-zero": body("a = 1.0 / 0.0", "u = g * a"),
    "const-overflow": body("a = exp(1000.0)", "b = exp(1000.0)", "u = a - b"),
    "step-extra": "def train(w, g, m, lr, *, step):\n  u = g * step\n  return u, m\n",
    "bad-extra": "def train(w, g, m, lr, *, epoch):\n  u = g\n  return u, m\n",
    "dup-params": "def train(w, g, g, lr):\n  u = g\n  return u\n",
    "keyword-name": body("lambda_ = g", "u = lambda_"),
    "builtin-name": body("print = g", "u = print"),
}

#: Raw bytes: encodings and binary junk.
BYTES: dict[str, bytes] = {
    "bom": b"\xef\xbb\xbf" + VALID.encode(),
    "utf16": VALID.encode("utf-16"),
    "latin1": body("u = g  # caf\xe9").encode("latin-1"),
    "nul-mid": VALID.encode()[:40] + b"\x00" + VALID.encode()[40:],
    "nul-only": b"\x00" * 64,
    "invalid-utf8": body("u = g").encode() + b"\xff\xfe\n",
    "overlong-utf8": b"def train(w, g, m, lr):\n  u = g \xc0\xaf\n  return u, m\n",
    "surrogate": b"def train(w, g, m, lr):\n  u = g \xed\xa0\x80\n  return u, m\n",
    "random-binary": bytes(range(256)) * 4,
    "gzip-magic": b"\x1f\x8b\x08\x00" + b"\x00" * 20,
    "too-large": (VALID + "#" * (1 << 20)).encode(),
}

#: Statement chains that still overflow the recursive analyses (the `core` branch makes them
#: iterative); they must be exit 2 or a result, never an internal error, once it lands.
CHAIN = HEAD + "  x0 = g\n" + "".join(f"  x{i} = x{i - 1} * 0.99\n" for i in range(1, 700))
CHAIN += "  u = x699 * lr\n  return u, m\n"

COMMANDS = ("check", "reduce", "dedup", "diff")

LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: ")
WHOLE_FILE = re.compile(r"^(?P<file>[^:]+(?::\d+)?): error: ")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    session_counts.add("hostile command runs (exit 3 in none)")
    return run_cli(capsys, *args)


def assert_clean(code: int, out: str, err: str, data: bytes | None, command: str) -> None:
    """The contract every run must keep (see the module docstring)."""
    assert code in (0, 1, 2), (code, err[-2000:])
    assert "Traceback" not in err + out and "internal error" not in err, err[-2000:]
    assert not os.path.exists(MARKER), "the program's code was executed"
    if code != 2 or command == "dedup":
        return
    first = next((ln for ln in err.splitlines() if ln.strip()), "")
    m = LOCATED.match(first)
    if m is None:
        assert WHOLE_FILE.match(first) or first.startswith("error: "), first
        return
    line, col = int(m["line"]), int(m["col"])
    assert line >= 1 and col >= 1, first
    if data is not None:
        lines = re.split(rb"\r\n|\r|\n", data)  # Python's own line ends
        # the position exists in the file (the last line + 1 for "missing return" at the end);
        # columns are at most the line's length in bytes (+1 for the end of the line)
        assert line <= len(lines) + 1, (first, len(lines))
        if line <= len(lines):
            assert col <= len(lines[line - 1]) + 2, (first, lines[line - 1][:80])


def try_program(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes, commands=COMMANDS
) -> None:
    session_counts.add("hostile inputs tried")
    f = tmp_path / "prog.txt"
    f.write_bytes(data)
    before = sorted(p.name for p in tmp_path.iterdir())
    other = tmp_path / "other.txt"
    for command in commands:
        args = [command, str(f)]
        if command == "diff":
            if not other.exists():
                other.write_text(VALID)
                before = sorted(p.name for p in tmp_path.iterdir())
            args = ["diff", str(other), str(f)]
        code, out, err = run(capsys, *args)
        assert_clean(code, out, err, data, command)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, "something was written"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_programs_outside_the_language(name: str, capsys, tmp_path: Path) -> None:
    try_program(capsys, tmp_path, PROGRAMS[name].encode())


@pytest.mark.parametrize("name", sorted(BYTES))
def test_encodings_and_binary(name: str, capsys, tmp_path: Path) -> None:
    try_program(capsys, tmp_path, BYTES[name])


@pytest.mark.parametrize(
    "command",
    [
        "check",
        "reduce",
        "diff",
    ],
)
def test_long_dependent_chain(command: str, capsys, tmp_path: Path) -> None:
    try_program(capsys, tmp_path, CHAIN.encode(), commands=(command,))


def test_size_limit_is_documented_and_enforced(capsys, tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_bytes(BYTES["too-large"])
    code, _, err = run(capsys, "check", str(f))
    assert code == 2 and err.startswith(f"{f}: error: the file is") and "1 MiB" in err


# ---------------------------------------------------------------------------------------------
# Special files.


def _special_files(tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    dangling = tmp_path / "dangling.txt"
    dangling.symlink_to(tmp_path / "nowhere.txt")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    return {
        "missing": str(tmp_path / "missing.txt"),
        "dev-zero": "/dev/zero",
        "dev-null": "/dev/null",
        "dev-full": "/dev/full",
        "fifo": str(fifo),
        "symlink-loop": str(loop),
        "dangling-symlink": str(dangling),
        "directory": str(folder),
    }


SPECIAL = ("missing", "dev-zero", "dev-null", "dev-full", "fifo", "symlink-loop")
SPECIAL += ("dangling-symlink", "directory")


@pytest.mark.parametrize("name", SPECIAL)
@pytest.mark.parametrize("command", ["check", "reduce", "diff"])
def test_special_files_are_refused_not_read(name: str, command: str, capsys, tmp_path) -> None:
    """A FIFO would block forever and /dev/zero grow without end: refused, with the path and no
    made-up line and column."""
    session_counts.add("hostile inputs tried")
    path = _special_files(tmp_path)[name]
    args = [command, path] if command != "diff" else ["diff", path, path]
    code, out, err = run(capsys, *args)
    assert_clean(code, out, err, None, command)
    assert code == 2
    if name != "directory":  # a folder is a valid argument to check and diff (then empty)
        assert err.startswith(f"{path}: error: "), err


# ---------------------------------------------------------------------------------------------
# Write targets: refused before any work, nothing overwritten, nothing half-written.


def _write_targets(tmp_path: Path) -> dict[str, list[str]]:
    existing = tmp_path / "existing.txt"
    existing.write_text("keep me\n")
    folder = tmp_path / "out_dir"
    folder.mkdir()
    dangling = tmp_path / "dangling_out.txt"
    dangling.symlink_to(tmp_path / "elsewhere" / "x.txt")
    same = str(tmp_path / "same.txt")
    return {
        "missing-folder": ["-o", str(tmp_path / "no" / "such" / "out.txt")],
        "jax-missing-folder": ["--jax", str(tmp_path / "no" / "out.py")],
        "report-missing-folder": ["--report", str(tmp_path / "no" / "r.md")],
        "existing-no-force": ["-o", str(existing)],
        "directory": ["-o", str(folder)],
        "directory-force": ["-o", str(folder), "--force"],
        "dev-full-force": ["--jax", "/dev/full", "--force"],
        "dev-null": ["-o", "/dev/null"],
        "same-path": ["-o", same, "--jax", same],
        "same-path-force": ["-o", same, "--report", same, "--force"],
        "dangling-symlink": ["-o", str(dangling)],
        "dangling-symlink-force": ["-o", str(dangling), "--force"],
    }


WRITE_CASES = (
    "missing-folder",
    "jax-missing-folder",
    "report-missing-folder",
    "existing-no-force",
    "directory",
    "directory-force",
    "dev-full-force",
    "dev-null",
    "same-path",
    "same-path-force",
    "dangling-symlink",
    "dangling-symlink-force",
)


def _snapshot(root: Path) -> dict[str, bytes | str]:
    snap: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            snap[str(p)] = "-> " + os.readlink(p)
        elif p.is_file():
            snap[str(p)] = p.read_bytes()
        else:
            snap[str(p)] = "dir"
    return snap


@pytest.mark.parametrize("name", WRITE_CASES)
def test_write_targets_refused_and_nothing_written(name: str, capsys, tmp_path: Path) -> None:
    session_counts.add("hostile inputs tried")
    prog = tmp_path / "prog.txt"
    prog.write_text(VALID)
    opts = _write_targets(tmp_path)[name]
    before = _snapshot(tmp_path)
    code, out, err = run(capsys, "reduce", str(prog), *opts)
    assert_clean(code, out, err, None, "reduce")
    assert code == 2, err
    assert _snapshot(tmp_path) == before, "a refused write changed the folder"
    assert not list(tmp_path.rglob(".*.tmp")), "a temporary file was left behind"


def test_a_target_that_appears_during_the_work_is_not_overwritten(tmp_path, monkeypatch) -> None:
    """The check happens before the work; the write itself refuses a file that appeared."""
    from lionsimplify.lang import files
    from lionsimplify.lang.errors import ProgramError

    target = tmp_path / "out.txt"
    outputs = files.Outputs([("-o", target)], force=False)
    target.write_text("written by someone else meanwhile\n")
    monkeypatch.setattr(files, "check_target", lambda path, force: None)  # passed earlier
    with pytest.raises(ProgramError, match="appeared while the tool was working"):
        outputs.write("-o", "new\n")
    assert target.read_text() == "written by someone else meanwhile\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_read_only_folder_is_a_clean_error(capsys, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    prog = tmp_path / "prog.txt"
    prog.write_text(VALID)
    try:
        code, out, err = run(capsys, "reduce", str(prog), "-o", str(ro / "x.txt"))
    finally:
        ro.chmod(stat.S_IRWXU)
    assert_clean(code, out, err, None, "reduce")
    assert code == 2 and "cannot write" in err


@pytest.mark.parametrize(
    "value", ["١.٥", "0.9", "1_0", "0x10", "nan", "inf", " ", "", "1e", "--1", "٣"]
)
def test_param_values(value: str, capsys, tmp_path: Path) -> None:
    session_counts.add("hostile inputs tried")
    prog = tmp_path / "p.txt"
    prog.write_text(VALID.replace("0.9", "b1"))
    code, out, err = run(capsys, "check", str(prog), "--param", f"b1={value}")
    assert_clean(code, out, err, None, "check")
    assert (code == 0) == (value == "0.9"), err


def test_param_unknown_or_twice(capsys, tmp_path: Path) -> None:
    prog = tmp_path / "p.txt"
    prog.write_text(VALID.replace("0.9", "b1"))
    code, _, err = run(capsys, "reduce", str(prog), "--param", "beta1=0.9")
    assert code == 2 and "no such hyperparameter" in err
    code, _, err = run(capsys, "reduce", str(prog), "--param", "b1=0.9", "--param", "b1=0.8")
    assert code == 2 and "given twice" in err


# ---------------------------------------------------------------------------------------------
# Runs files: a bad line is one invalid candidate with its location.


def test_bad_lines_in_a_runs_file_are_one_invalid_candidate_each(capsys, tmp_path: Path) -> None:
    import json

    runs = tmp_path / "runs"
    runs.mkdir()
    good = json.dumps({"program": VALID, "fitness": 0.5}).encode()
    lines = [
        good,
        b'{"program": "x\x00y", "fitness": 1}',
        b'{"program": "\xff\xfe", "fitness": 1}',
        b"not json at all",
        json.dumps({"program": VALID, "fitness": "0.5"}).encode(),
        json.dumps({"program": body("u = sgn(g)"), "fitness": 1}).encode(),
        good[:20],  # torn
    ]
    f = runs / "programs.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    session_counts.add("hostile inputs tried", len(lines))
    code, out, err = run(capsys, "dedup", str(runs), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["programs"] == 7 and result["valid"] == 2  # the string fitness is dedup-valid
    where = {i["id"]: i["error"] for i in result["invalid"]}
    assert where[f"{f}:2"].startswith(f"{f}:2:")
    assert where[f"{f}:3"].startswith(f"{f}:3:")
    assert where[f"{f}:6"].startswith(f"{f}:6: error: in `program`, line 2, col 7:")
    code, out, err = run(capsys, "diff", str(runs))
    assert_clean(code, out, err, None, "diff")

    from lionsimplify.funnel.runs import intake

    taken = intake(runs)
    assert taken.read == 7 and taken.valid == 1
    reasons = " ".join(i.reason for i in taken.invalid)
    assert "must be a number, got '0.5'" in reasons and f"{f}:2:" in reasons


# ---------------------------------------------------------------------------------------------
# Generated inputs.

_ATOMS = st.sampled_from(["g", "m", "w", "lr", "0.9", "1e-8", "0.0", "-1.0", "1e300", "b1"])
_FUNCS = st.sampled_from(
    ["sqrt", "log", "exp", "sign", "abs", "arcsin", "tan", "norm", "sgn", "open", "eval", "len"]
)
_BINOPS = st.sampled_from(["+", "-", "*", "/", "**", "//", "%", "@", "<", "and", "if"])


def _expr() -> st.SearchStrategy[str]:
    return st.recursive(
        _ATOMS,
        lambda inner: st.one_of(
            st.builds(lambda f, a: f"{f}({a})", _FUNCS, inner),
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, _BINOPS, inner),
            st.builds(lambda a, b: f"interp({a}, {b}, 0.9)", inner, inner),
            st.builds(lambda a: f"{a}[0]", inner),
            st.builds(lambda a: f"{a}.T", inner),
        ),
        max_leaves=8,
    )


@st.composite
def generated_programs(draw) -> bytes:  # noqa: ANN001
    names = ["u", "m", "a", "b"]
    lines = [
        f"  {draw(st.sampled_from(names))} {draw(st.sampled_from(['=', '+=', '*=', '//=']))} "
        f"{draw(_expr())}"
        for _ in range(draw(st.integers(0, 6)))
    ]
    ret = draw(st.sampled_from(["  return u, m", "  return u", "  return", ""]))
    text = HEAD + "\n".join(lines) + "\n" + ret + "\n"
    if draw(st.booleans()):  # damage it: insert random characters or bytes somewhere
        junk = draw(st.binary(max_size=6) | st.text(max_size=6).map(str.encode))
        raw = text.encode()
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + junk + raw[at:]
    return text.encode()


def _mutants(draw_seed: int, n: int) -> bytes:
    import random

    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program

    return print_program(mutate(adamw(), random.Random(draw_seed), mutations=n)).encode()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=generated_programs())
@example(data=b"\x0bdef train(w, g, m, lr):\n\n  return u\n")  # was reported at line 4 of 3
def test_generated_programs(data: bytes, capsys, tmp_path_factory) -> None:
    try_program(capsys, tmp_path_factory.mktemp("gen"), data, commands=("check", "dedup"))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=300))
def test_generated_bytes(data: bytes, capsys, tmp_path_factory) -> None:
    try_program(capsys, tmp_path_factory.mktemp("bin"), data, commands=("check",))


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 10**6), n=st.integers(1, 8))
def test_generated_mutants_through_every_command(seed: int, n: int, capsys, tmp_path_factory):  # noqa: ANN201
    try_program(capsys, tmp_path_factory.mktemp("mut"), _mutants(seed, n))


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=generated_programs())
def test_generated_programs_big_sweep(data: bytes, capsys, tmp_path_factory) -> None:
    try_program(capsys, tmp_path_factory.mktemp("sweep"), data)


# ---------------------------------------------------------------------------------------------
# The funnel's ledger and --out.


def test_malformed_ledger_records_are_skipped_and_counted(tmp_path: Path) -> None:
    """Valid JSON with a null or string metric in an `ok` record would crash selection: it is
    treated like a torn line (reported, evaluated again), never reused."""
    import json

    from lionsimplify.funnel.ledger import read_ledger

    good = {"kind": "eval", "key": "a", "status": "ok", "metric": 0.5}
    rows = [
        {"kind": "header", "config_hash": "x"},
        good,
        {**good, "key": "b", "metric": None},
        {**good, "key": "c", "metric": "0.9"},
        {**good, "key": "d", "metric_sd": "big"},
        {**good, "key": "e", "per_seed": "nope"},
        {"kind": "eval", "key": "f", "status": "failed", "metric": None},
    ]
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"kind": "ev')
    session_counts.add("hostile inputs tried", len(rows) + 1)
    state = read_ledger(path)
    assert set(state.records) == {"a", "f"}
    assert state.torn_lines == [3, 4, 5, 6, 8]


def test_ledger_path_that_is_a_directory_is_a_clean_error(tmp_path: Path) -> None:
    from lionsimplify.funnel.ledger import read_ledger
    from lionsimplify.lang.errors import ProgramError

    (tmp_path / "ledger.jsonl").mkdir()
    with pytest.raises(ProgramError, match="is a directory"):
        read_ledger(tmp_path / "ledger.jsonl")


@pytest.mark.parametrize("out", ["/dev/null/sub", "FILE/sub", "LEDGERDIR"])
def test_funnel_out_that_cannot_be_used_fails_before_any_work(out: str, capsys, tmp_path) -> None:
    session_counts.add("hostile inputs tried")
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "p.txt").write_text("# fitness: 1\n" + VALID)
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "LEDGERDIR" / "ledger.jsonl").mkdir(parents=True)
    target = out if out.startswith("/") else str(tmp_path / out)
    code, out_text, err = run(capsys, "funnel", str(runs), "--out", target)
    assert_clean(code, out_text, err, None, "funnel")
    assert code == 2, err
