"""Program text -> IR, with compiler-style errors.

The text is read as data with Python's `ast` module (never executed). Both printed forms are
accepted: the paper's listings (`return update, m`, Unicode hyperparameters such as `β1`) and
the Hero library's (fully parenthesised binary operations, `return (update, m, v)`, argument
annotations such as `w: Params`, `interpolate`/`clip_by_global_norm`). Nested expressions are
lowered to one operation per statement through fresh temporaries `t1, t2, ...`. Parameters with
a numeric default after the learning rate (`def train(w, g, m, lr, b1=0.9):`) are
hyperparameters with that value: the form every program this tool writes takes.

Every rejection is a `ProgramError` with the file, line and column of the offending construct.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from lionsimplify.lang.errors import Location, ProgramError, source_lines
from lionsimplify.lang.ir import COPY, EXTRA_INPUTS, Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.lang.names import misspelt_variable
from lionsimplify.lang.ops import BINARY_SYMBOLS, lookup, suggest

#: Deepest expression nesting the lowering accepts; deeper input gets a clear error.
MAX_DEPTH = 200

_BINOPS: dict[type, str] = {
    ast.Add: BINARY_SYMBOLS["+"],
    ast.Sub: BINARY_SYMBOLS["-"],
    ast.Mult: BINARY_SYMBOLS["*"],
    ast.Div: BINARY_SYMBOLS["/"],
    ast.Pow: "power",
}

_NON_FINITE_NAMES = {"nan", "NaN", "NAN", "inf", "Inf", "INF", "infinity", "Infinity"}

_STATEMENT_NAMES: dict[type, str] = {
    ast.For: "a `for` loop",
    ast.While: "a `while` loop",
    ast.If: "an `if` statement",
    ast.Import: "an import",
    ast.ImportFrom: "an import",
    ast.With: "a `with` block",
    ast.Try: "a `try` block",
    ast.FunctionDef: "a nested function",
    ast.ClassDef: "a class",
    ast.Delete: "a `del` statement",
    ast.Global: "a `global` statement",
    ast.Nonlocal: "a `nonlocal` statement",
    ast.Pass: "`pass`",
    ast.Raise: "`raise`",
    ast.Assert: "`assert`",
}

_EXPR_NAMES: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.Lambda: "a lambda",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "a string",
    ast.Starred: "a starred argument",
    ast.NamedExpr: "an `:=` assignment",
    ast.Await: "`await`",
}


class _Lowerer:
    """Walks one function's AST and produces IR statements (one operation each)."""

    def __init__(self, path: str, lines: list[str], inputs: set[str]) -> None:
        self.path = path
        self.lines = lines
        self.inputs = inputs
        self.body: list[Stmt] = []
        self.assigned: set[str] = set(inputs)
        self.read_before_assign: dict[str, ast.AST] = {}
        self.all_targets: set[str] = set()
        self.used_names: set[str] = set(inputs)
        self.given: set[str] = set()
        """Hyperparameters given a value in the signature."""
        self._temp = 0
        # Offsets of the statement being lowered when its AST came from a single line parsed on
        # its own (the line cache of `_fast_function`); zero for a whole-file parse.
        self.base_line = 0
        self.base_col = 0

    # -- diagnostics ------------------------------------------------------------------------
    def loc(self, node: ast.AST) -> Location:
        line = (getattr(node, "lineno", 1) or 1) + self.base_line
        byte_col = (getattr(node, "col_offset", 0) or 0) + self.base_col
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return Location(self.path, line, byte_col + 1)
        col = len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="replace")) + 1
        return Location(self.path, line, col)

    def error(
        self, node: ast.AST, message: str, help: str | None = None, *, code: str
    ) -> ProgramError:
        loc = self.loc(node)
        source = self.lines[loc.line - 1] if 0 < loc.line <= len(self.lines) else None
        return ProgramError(message, loc, help=help, source_line=source, code=code)

    # -- names ------------------------------------------------------------------------------
    def fresh(self) -> str:
        while True:
            self._temp += 1
            name = f"t{self._temp}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def read(self, node: ast.Name) -> Operand:
        name = node.id
        if name in _NON_FINITE_NAMES:
            raise self.error(
                node, f"`{name}` is not allowed: programs may not contain NaN or inf", code="E204"
            )
        if name in self.assigned:
            return Var(name)
        if name in self.given:
            return Hyper(name)
        if name in self.all_targets:
            raise self.error(node, f"`{name}` is used before it is assigned", code="E203")
        if lookup(name) is not None:
            raise self.error(
                node, f"`{name}` is a function; call it", help=f"write `{name}(...)`", code="E203"
            )
        close = misspelt_variable(name, self.all_targets | self.inputs)
        if close:
            raise self.error(
                node,
                f"undefined name `{name}`",
                help=f"did you mean `{close}`? (a name that is never assigned is read as a "
                "hyperparameter; this one looks like a misspelt variable)",
                code="E203",
            )
        return Hyper(name)

    # -- expressions ------------------------------------------------------------------------
    def operand(self, node: ast.expr, depth: int = 0) -> Operand:
        """Lower `node` to an atom, emitting temporaries for any operation inside it."""
        if isinstance(node, ast.Name):
            return self.read(node)
        const = self.literal(node)
        if const is not None:
            return const
        name = self.fresh()
        self.emit(name, node, depth)
        return Var(name)

    def literal(self, node: ast.expr) -> Const | None:
        sign = 1.0
        inner = node
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
        ):
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            inner = node.operand
        if not isinstance(inner, ast.Constant):
            return None
        value = inner.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = type(value).__name__
            raise self.error(
                inner, f"a {kind} literal is not a number the program can use", code="E204"
            )
        if isinstance(value, int) and abs(value) > 2**53:
            raise self.error(
                inner, "integer literal is too large to be a float exactly", code="E204"
            )
        number = sign * float(value)
        if not math.isfinite(number):
            raise self.error(
                inner, "literal overflows to infinity: programs may not contain inf", code="E204"
            )
        return Const(number)

    def emit(self, target: str, node: ast.expr, depth: int = 0) -> None:
        """Lower `target = node` into one or more statements."""
        if depth > MAX_DEPTH:
            raise self.error(
                node,
                f"expression nested more than {MAX_DEPTH} levels deep",
                help="split it into several statements",
                code="E003",
            )
        loc = self.loc(node)
        if isinstance(node, ast.Name):
            self.body.append(Stmt(target, COPY, (self.read(node),), loc))
            return
        const = self.literal(node)
        if const is not None:
            self.body.append(Stmt(target, COPY, (const,), loc))
            return
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                symbol = type(node.op).__name__
                raise self.error(
                    node, f"operator `{symbol}` is not part of the program language", code="E102"
                )
            args = (self.operand(node.left, depth + 1), self.operand(node.right, depth + 1))
            self.body.append(Stmt(target, op, args, loc))
            return
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                self.body.append(
                    Stmt(target, "negative", (self.operand(node.operand, depth + 1),), loc)
                )
                return
            if isinstance(node.op, ast.UAdd):
                self.emit(target, node.operand, depth + 1)
                return
            raise self.error(node, "only unary minus is part of the program language", code="E102")
        if isinstance(node, ast.Call):
            self.body.append(self.call(target, node, depth, loc))
            return
        what = _EXPR_NAMES.get(type(node), f"`{type(node).__name__}`")
        raise self.error(node, f"{what} is not part of the program language", code="E102")

    def call(self, target: str, node: ast.Call, depth: int, loc: Location) -> Stmt:
        if not isinstance(node.func, ast.Name):
            what = _EXPR_NAMES.get(type(node.func), "this kind of call")
            raise self.error(
                node.func,
                f"{what} is not part of the program language",
                help="call a library function by its bare name, e.g. `sign(m)`",
                code="E102",
            )
        fname = node.func.id
        op = lookup(fname)
        if op is None:
            hint = suggest(fname)
            raise self.error(
                node.func,
                f"unknown function `{fname}`",
                help=f"did you mean `{hint}`?"
                if hint
                else "`lionsimplify check --help` lists the library",
                code="E201",
            )
        if node.keywords:
            raise self.error(
                node.keywords[0].value if node.keywords[0].arg is None else node,
                "keyword arguments are not part of the program language",
                help="pass arguments by position",
                code="E102",
            )
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(
                node, "starred arguments are not part of the program language", code="E102"
            )
        if len(node.args) != op.arity:
            plural = "s" if op.arity != 1 else ""
            raise self.error(
                node,
                f"`{fname}` takes {op.arity} argument{plural}, got {len(node.args)}",
                code="E202",
            )
        args = tuple(self.operand(a, depth + 1) for a in node.args)
        return Stmt(target, op.name, args, loc)

    # -- statements -------------------------------------------------------------------------
    def assign(self, target_node: ast.expr, value: ast.expr, stmt: ast.stmt) -> None:
        if not isinstance(target_node, ast.Name):
            what = _EXPR_NAMES.get(type(target_node), "this kind of target")
            raise self.error(
                target_node,
                f"assignment to {what} is not part of the program language",
                help="assign to a plain variable name",
                code="E102",
            )
        name = target_node.id
        if name in _NON_FINITE_NAMES:
            raise self.error(
                target_node, f"`{name}` cannot be used as a variable name", code="E204"
            )
        self.emit(name, value)
        self.assigned.add(name)
        self.used_names.add(name)


def _collect_targets(items: list[_Line]) -> set[str]:
    names = {item.simple.target for item in items if item.simple is not None}
    for item in items:
        if item.simple is not None:
            continue
        stmt = item.node
        targets = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            targets = [stmt.target]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _byte_location(data: bytes, index: int, path: str) -> Location:
    """The line and column of byte `index`, with Python's line ends (\\n, \\r\\n and \\r)."""
    lines = re.split(rb"\r\n|\r|\n", data[:index])
    col = len(lines[-1].decode("utf-8", errors="replace")) + 1
    return Location(path, len(lines), col)


def decode_source(data: bytes, path: str) -> str:
    if b"\x00" in data:
        raise ProgramError(
            "this is a binary file, not a program (it holds a NUL byte)",
            _byte_location(data, data.index(b"\x00"), path),
            help="a program is a text file holding one `def train(...):` function",
            code="E001",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProgramError(
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            _byte_location(data, exc.start, path),
            help="save the program as UTF-8 text",
            code="E001",
        ) from None


def parse_file(path: str | Path) -> Program:
    """Read and parse a program file; a missing, special or oversized file is a `ProgramError`
    too (see `lang/files.py`)."""
    from lionsimplify.lang.files import read_bytes  # files imports errors only; no cycle

    if Path(path).suffix == ".jsonl" and Path(path).exists():  # not: "a statement outside..."
        raise ProgramError(
            "a JSON-lines file of programs, not one program",
            Location.file(str(path)),
            help="`dedup`, `diff` and `funnel` read .jsonl files; for one entry, save its "
            "`program` text as a .txt file",
            code="E001",
        )
    return parse_text(decode_source(read_bytes(path), str(path)), str(path))


def _ast_parse(source: str, path: str = "<unknown>") -> ast.Module:
    """`ast.parse` without Python's own SyntaxWarnings (`1if x`, an invalid escape): they
    would print on stderr around our one-line error, or alone on a program we accept; the
    program language has no strings, and a malformed literal is a syntax error we report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        return ast.parse(source, filename=path)


def _too_deep_line(lines: list[str]) -> int:
    """The first line that Python's parser cannot take on its own (the one nested too deeply;
    the parser's RecursionError carries no position), else the longest line."""
    for n, line in enumerate(lines, start=1):
        try:
            _ast_parse(line.strip())
        except (RecursionError, MemoryError):
            return n
        except (SyntaxError, ValueError):
            continue
    return max(range(len(lines)), key=lambda i: len(lines[i]), default=0) + 1


def parse_text(text: str, path: str = "<string>") -> Program:
    """Parse one program from `text`; `path` is used in error messages. The program keeps
    `text`, where diagnostics found after parsing take their source line from."""
    lines = source_lines(text)
    if not text.strip():
        raise ProgramError(
            "empty program",
            Location(path, 1, 1),
            help="a program is one function: `def train(w, g, m, lr): ... return update, m`",
            code="E001",
        )
    simple = _simple_program(lines, path, text)
    if simple is not None:
        return simple
    return _parse_general(text, lines, path).with_source(text)


def _parse_general(text: str, lines: list[str], path: str) -> Program:
    """Any program (and every error) the one-pass lane `_simple_program` leaves."""
    fast = _fast_function(lines)
    if fast is not None:
        fn, header_line, items = fast
        signature = _header_signature(lines[header_line].rstrip())
        end = items[-1].offset[0] + 1
        return _lower_function(fn, path, lines, header_line, items, end, signature)
    try:
        module = _ast_parse(text, path)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        msg = (exc.msg or "invalid syntax").replace("\n", " ")
        source = lines[line - 1] if 0 < line <= len(lines) else None
        if "too many nested parentheses" in msg:
            msg = f"expression nested too deeply ({msg})"
        raise ProgramError(
            f"syntax error: {msg}", Location(path, line, col), source_line=source, code="E002"
        ) from None
    except (RecursionError, MemoryError):
        line = _too_deep_line(lines)
        raise ProgramError(
            "expression nested too deeply for the parser",
            Location(path, line, 1),
            help="split it into several statements",
            source_line=lines[line - 1] if line <= len(lines) else None,
            code="E003",
        ) from None
    except ValueError as exc:  # e.g. source with NUL characters
        raise ProgramError(f"cannot parse: {exc}", Location(path, 1, 1), code="E002") from None
    try:
        fn = _module_function(module, path, lines)
        items = [_Line((0, 0), parsed=node) for node in fn.body]
        return _lower_function(fn, path, lines, 0, items, fn.end_lineno or fn.lineno)
    except RecursionError:
        raise ProgramError(
            "program nested too deeply",
            Location(path, 1, 1),
            help="split it into several statements",
            code="E003",
        ) from None


class _Simple(NamedTuple):
    """A recognised one-operation line, with its operands built once per distinct line."""

    target: str
    op: str
    args: tuple[Operand, ...]
    reads: tuple[str, ...]
    """The variables it reads (each must be assigned before the line, or it is not simple)."""
    col: int
    """0-based column of the value (after `=`) in the stripped line."""


# A number-like token (an exponent's sign included), or an identifier, possibly followed by `(`
# (a called function, kept verbatim).
_TOKEN = re.compile(r"((?:\d|\.\d)(?:[eE][-+]\d|[\w.])*)|([^\W\d]\w*)(\s*\()?")

#: A plain decimal literal, as search outputs write them (group 1: an integer). Other number
#: tokens (`0x1f`, `1_000`, `1j`, junk such as `1abc`) stay verbatim in a shape, so a bad
#: literal still fails to parse.
_DECIMAL = re.compile(r"(0|[1-9]\d*)|(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")

#: A placeholder in a shape: a variable (`_3`) or a number (`_n3`).
_PLACEHOLDER = re.compile(r"_(n?)(\d+)")


def _shape(line: str) -> tuple[str, list[str], list[float | None]]:
    """Replace every variable-like identifier by a placeholder `_0, _1, ...` and every plain
    decimal literal by ` _n0 `, ` _n1 `, ... (called function names, keywords and other numbers
    stay), so lines that differ only in names and constants share one parse. A number's value
    is None when the fast path does not take it (beyond 2**53 or overflowing): the line then
    goes the general way, which reports what is wrong with it."""
    names: list[str] = []
    numbers: list[float | None] = []

    def sub(m: re.Match[str]) -> str:
        number = m.group(1)
        if number is not None:
            decimal = _DECIMAL.fullmatch(number)
            if decimal is None:
                return number
            if decimal.group(1):  # an integer: exact up to 2**53 (16 digits)
                ok = len(number) <= 16 and int(number) <= 2**53
                numbers.append(float(int(number)) if ok else None)
            else:
                value = float(number)
                numbers.append(value if math.isfinite(value) and abs(value) <= 2**53 else None)
            return f" _n{len(numbers) - 1} "
        name = m.group(2)
        if m.group(3) is not None or keyword.iskeyword(name):
            return m.group(0)
        names.append(name if name.isascii() else unicodedata.normalize("NFKC", name))
        return f"_{len(names) - 1}"

    return _TOKEN.sub(sub, line), names, numbers


#: An operand of a shape: ("var", placeholder), ("num", placeholder, sign), ("const", value).
_Slot = tuple[str, int] | tuple[str, int, float] | tuple[str, float]


@lru_cache(maxsize=1 << 16)
def _shape_template(shape: str) -> tuple[int, str, tuple[_Slot, ...]] | None:
    """For a line shape `_0 = f(_1, _n0)`, `_0 = _1 * -_n0`, `_0 = -_1` or a plain copy
    (`_0 = _1`, `_0 = -_n0`): (target placeholder, op, operands), as `_Lowering.emit` lowers
    them; None for anything else."""
    node = _parse_line(shape)
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return None
    target, value = node.targets[0], node.value
    if not isinstance(target, ast.Name):
        return None
    place = _PLACEHOLDER.fullmatch(target.id)
    if place is None or place.group(1):
        return None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and not value.keywords:
        op = lookup(value.func.id)
        if op is None or len(value.args) != op.arity:
            return None
        name, operands = op.name, value.args
    elif isinstance(value, ast.BinOp) and type(value.op) in _BINOPS:
        name, operands = _BINOPS[type(value.op)], [value.left, value.right]
    elif _is_literal_shape(value) or isinstance(value, ast.Name):
        name, operands = COPY, [value]  # `x = y`, `x = -0.5`
    elif isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        name, operands = "negative", [value.operand]  # `x = -y`, `x = --0.5`
    else:
        return None
    slots: list[_Slot] = []
    for a in operands:
        sign, inner = 1.0, a
        if isinstance(a, ast.UnaryOp) and isinstance(a.op, ast.USub):
            sign, inner = -1.0, a.operand
        if isinstance(inner, ast.Name):
            m = _PLACEHOLDER.fullmatch(inner.id)
            if m is None or (sign < 0 and not m.group(1)):
                return None  # a called name, or `-x` (an operation of its own)
            slots.append(("num", int(m.group(2)), sign) if m.group(1) else ("var", int(m.group(2))))
            continue
        if not isinstance(inner, ast.Constant) or type(inner.value) not in (int, float):
            return None
        if abs(inner.value) > 2**53 or not math.isfinite(float(inner.value)):
            return None
        slots.append(("const", sign * float(inner.value)))
    return int(place.group(2)), name, tuple(slots)


def _is_literal_shape(node: ast.expr) -> bool:
    """`_n0`, `-_n0` or a literal: what `_Lowering.literal` reads as a constant once the
    placeholder holds its number."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.Name) and bool((m := _PLACEHOLDER.fullmatch(node.id)) and m[1])


@lru_cache(maxsize=1 << 16)
def _simple_line(line: str) -> _Simple | None:
    """Recognise `x = f(a, 0.5)` / `x = a * b` through the shape cache, without parsing it.
    Cached on the exact text too, since the same lines recur across search outputs."""
    shape, names, numbers = _shape(line)
    tpl = _shape_template(shape)
    if tpl is None:
        return None
    target_idx, op, slots = tpl
    target = names[target_idx]
    if target in _NON_FINITE_NAMES:
        return None
    args: list[Operand] = []
    for slot in slots:
        if slot[0] == "var":
            args.append(Var(names[slot[1]]))  # type: ignore[index]
        elif slot[0] == "num":
            value = numbers[slot[1]]  # type: ignore[index]
            if value is None:
                return None
            args.append(Const(slot[2] * value))  # type: ignore[misc]
        else:
            args.append(Const(slot[1]))
    reads = tuple(a.name for a in args if isinstance(a, Var))
    eq = line.index("=")
    col = eq + 1 + (len(line) - eq - 1 - len(line[eq + 1 :].lstrip()))
    return _Simple(target, op, tuple(args), reads, col)


@lru_cache(maxsize=1 << 16)
def _simple_stmt(line: str, path: str, line_no: int, col: int) -> Stmt:
    """The statement of a simple line at its place: search outputs repeat the same lines at
    the same places, and IR nodes are immutable, so programs share them."""
    simple = _simple_line(line)
    assert simple is not None, "only simple lines come here"
    return Stmt(simple.target, simple.op, simple.args, Location(path, line_no, col))


@lru_cache(maxsize=1 << 16)
def _body_line(line: str) -> tuple[int, str, _Simple | None] | None:
    """A body line's indentation width, text and simple form; None for a blank or comment
    line, and (-1, ...) for a line that does not parse on its own. Cached on the raw line."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    width = len(line) - len(line.lstrip())
    simple = _simple_line(stripped)
    if simple is None and _parse_line(stripped) is None:
        width = -1
    return width, stripped, simple


@dataclass(slots=True)
class _Line:
    """One body statement: where it sits, and either its AST or (fast path) its text."""

    offset: tuple[int, int]
    text: str | None = None
    parsed: ast.stmt | None = None
    simple: _Simple | None = None

    @property
    def node(self) -> ast.stmt:
        if self.parsed is None:
            self.parsed = _parse_line(self.text or "")
            assert self.parsed is not None, "fast path only keeps lines that parse alone"
        return self.parsed


@lru_cache(maxsize=1 << 16)
def _parse_line(source: str) -> ast.stmt | None:
    """The AST of one line holding exactly one statement, or None. Cached: search outputs
    repeat the same lines over and over, and `ast.parse` dominates the cost of reading them."""
    try:
        body = _ast_parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return body[0] if len(body) == 1 else None


def _simple_program(lines: list[str], path: str, text: str) -> Program | None:
    """The commonest program in one pass: a `def` line without defaults, then only simple
    lines (`x = f(a, 0.5)`, every name read already assigned), then `return a, b` of assigned
    names. Search outputs are nearly all like this, and `dedup` reads them by the thousand, so
    this lane builds the program from the line caches alone: the very statements and locations
    `_lower_function` would (both take them from `_simple_stmt`). Anything else, errors
    included, is None: the general path reads (and words) it."""
    n = _header_index(lines)
    if n is None:
        return None
    signature = _header_signature(lines[n].rstrip())
    if signature is None or signature[5]:
        return None
    weight, grad, state, lr, extras, _ = signature
    assigned = {weight, grad, *state, lr, *extras}
    body: list[Stmt] = []
    indent = 0
    for k in range(n + 1, len(lines)):
        info = _body_line(lines[k])
        if info is None:
            continue
        width, stripped, simple = info
        if width <= 0 or (indent and width != indent):
            return None
        indent = width
        if simple is None:
            names = _return_names(stripped)
            if names is None or not assigned.issuperset(names) or len(names) != len(state) + 1:
                return None
            if any(_body_line(rest) is not None for rest in lines[k + 1 :]):
                return None  # a statement after `return`: the general path words it
            return Program(
                weight=weight,
                grad=grad,
                state=state,
                lr=lr,
                body=tuple(body),
                returns=names,
                extras=extras,
                name=_header_name(lines[n].rstrip()),
                path=path,
                return_loc=Location(path, k + 1, width + 1),
                source=text,
            )
        if not assigned.issuperset(simple.reads):
            return None
        body.append(_simple_stmt(stripped, path, k + 1, width + simple.col + 1))
        assigned.add(simple.target)
    return None


@lru_cache(maxsize=1 << 12)
def _return_names(line: str) -> tuple[str, ...] | None:
    """The names of `return a, b, c` (or `return a`), ASCII names only; None for anything else."""
    node = _parse_line(line)
    if not isinstance(node, ast.Return) or node.value is None or not line.isascii():
        return None
    value = node.value
    elts = value.elts if isinstance(value, ast.Tuple) else [value]
    if not all(isinstance(e, ast.Name) for e in elts):
        return None
    return tuple(e.id for e in elts)  # type: ignore[attr-defined]


def _header_index(lines: list[str]) -> int | None:
    """The index of the `def` line, after blank and comment lines; None if none is there."""
    n = 0
    while n < len(lines) and (not lines[n].strip() or lines[n].lstrip().startswith("#")):
        n += 1
    return n if n < len(lines) and lines[n].startswith("def ") else None


@lru_cache(maxsize=1 << 12)
def _header_name(header: str) -> str:
    fn = _parse_line(header + " pass")
    assert isinstance(fn, ast.FunctionDef), "only a header `_header_signature` read comes here"
    return fn.name


def _fast_function(lines: list[str]) -> tuple[ast.FunctionDef, int, list[_Line]] | None:
    """Read the common layout (a `def` line, then one statement per equally indented line)
    line by line: simple lines through the shape cache, others through the line cache.
    None when the text needs a whole-file parse (continuation lines, odd indentation, ...)."""
    n = _header_index(lines)
    if n is None or not lines[n].rstrip().endswith(":"):
        return None
    header = _parse_line(lines[n].rstrip() + " pass")
    if not isinstance(header, ast.FunctionDef):
        return None
    body: list[_Line] = []
    indent = None
    for k in range(n + 1, len(lines)):
        info = _body_line(lines[k])
        if info is None:
            continue
        width, stripped, simple = info
        if width <= 0 or (indent is not None and width != indent):
            return None
        indent = width
        body.append(_Line((k, width), stripped, None, simple))
    if not body:
        return None
    return header, n, body


def _module_function(module: ast.Module, path: str, lines: list[str]) -> ast.FunctionDef:
    """The one function of a whole-file parse; anything else at module level is an error."""
    helper = _Lowerer(path, lines, set())
    body = list(module.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
    functions = [n for n in body if isinstance(n, ast.FunctionDef)]
    for node in body:
        if not isinstance(node, ast.FunctionDef):
            what = _STATEMENT_NAMES.get(type(node), "a statement")
            raise helper.error(
                node,
                f"{what} outside the function: a program is one `def` and nothing else",
                code="E101",
            )
    if not functions:
        raise ProgramError(
            "no function found",
            Location(path, 1, 1),
            help="a program is one function: `def train(w, g, m, lr): ...`",
            code="E101",
        )
    if len(functions) > 1:
        raise helper.error(
            functions[1], "more than one function: a program is exactly one `def`", code="E101"
        )
    fn = functions[0]
    if fn.decorator_list:
        raise helper.error(
            fn.decorator_list[0], "decorators are not part of the program language", code="E101"
        )
    return fn


def _lower_function(
    fn: ast.FunctionDef,
    path: str,
    lines: list[str],
    header_line: int,
    items: list[_Line],
    end_line: int,
    signature: _Signature | None = None,
) -> Program:
    """Check the signature (unless already known) and lower the body; each item's offset
    places it in the file."""
    helper = _Lowerer(path, lines, set())
    helper.base_line = header_line
    weight, grad, state, lr, extras, defaults = signature or _signature(fn, helper)
    inputs = {weight, grad, *state, lr, *extras}
    low = _Lowerer(path, lines, inputs)
    low.all_targets = _collect_targets(items)
    low.given = {name for name, _ in defaults}
    if low.given & low.all_targets:
        name = sorted(low.given & low.all_targets)[0]
        raise helper.error(
            fn,
            f"hyperparameter `{name}` has a default in the signature but is assigned in the body",
            help=f"rename the variable, or drop `{name}=...` from the signature",
            code="E103",
        )

    if items and items[0].simple is None and _is_docstring(items[0].node):
        items = items[1:]
    ret: ast.Return | None = None
    ret_offset = (0, 0)
    assigned, used, body = low.assigned, low.used_names, low.body
    for i, item in enumerate(items):
        simple = item.simple
        if simple is not None and assigned.issuperset(simple.reads):
            # A one-operation line recognised from its cached shape, all its names assigned
            # variables (hyperparameters, errors and nesting take the general path below).
            line, indent = item.offset
            body.append(_simple_stmt(item.text, path, line + 1, indent + simple.col + 1))  # type: ignore[arg-type]
            assigned.add(simple.target)
            used.add(simple.target)
            continue
        low.base_line, low.base_col = item.offset
        node = item.node
        if isinstance(node, ast.Return):
            ret_offset = item.offset
            if i != len(items) - 1:
                low.base_line, low.base_col = items[i + 1].offset
                raise low.error(items[i + 1].node, "statement after `return`", code="E104")
            ret = node
        elif isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                raise low.error(
                    node,
                    "chained assignment is not part of the program language",
                    help="assign one variable per statement",
                    code="E102",
                )
            low.assign(node.targets[0], node.value, node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is None:
                raise low.error(
                    node,
                    "a declaration without a value is not part of the program language",
                    code="E102",
                )
            low.assign(node.target, node.value, node)
        elif isinstance(node, ast.AugAssign):
            if not isinstance(node.target, ast.Name):
                raise low.error(
                    node.target,
                    "assignment to this target is not part of the program language",
                    code="E102",
                )
            combined = ast.BinOp(
                left=ast.Name(node.target.id, ast.Load()), op=node.op, right=node.value
            )
            ast.copy_location(combined, node)
            ast.copy_location(combined.left, node.target)
            low.assign(node.target, combined, node)
        elif isinstance(node, ast.Expr):
            raise low.error(
                node,
                "an expression statement does nothing: assign its value to a variable",
                code="E102",
            )
        else:
            what = _STATEMENT_NAMES.get(type(node), type(node).__name__)
            raise low.error(
                node,
                f"{what} is not part of the program language",
                help="a program is straight-line assignments followed by `return`",
                code="E102",
            )
    if ret is None:
        end = end_line
        raise ProgramError(
            "missing `return`",
            Location(path, end, 1),
            help=f"end the function with `return update{''.join(', ' + s for s in state)}`",
            source_line=lines[end - 1] if 0 < end <= len(lines) else None,
            code="E104",
        )
    low.base_line, low.base_col = ret_offset
    returns = _returns(ret, low, state, lr)
    return Program(
        weight=weight,
        grad=grad,
        state=state,
        lr=lr,
        body=tuple(low.body),
        returns=returns,
        extras=extras,
        name=fn.name,
        path=path,
        return_loc=low.loc(ret),
        defaults=defaults,
    )


_Signature = tuple[str, str, tuple[str, ...], str, tuple[str, ...], tuple[tuple[str, float], ...]]


@lru_cache(maxsize=1 << 12)
def _header_signature(header: str) -> _Signature | None:
    """The signature of a `def ...:` line read alone (the fast path), cached on its text; None
    when it has an error, which `_signature` then reports at its place in the file."""
    fn = _parse_line(header + " pass")
    if not isinstance(fn, ast.FunctionDef):
        return None
    try:
        return _signature(fn, _Lowerer("<signature>", [header], set()))
    except ProgramError:
        return None


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _signature(fn: ast.FunctionDef, low: _Lowerer) -> _Signature:
    """The inputs by role, and the hyperparameters given values in the signature: a parameter
    with a numeric default (`b1=0.9`, positional or after `*`) is a hyperparameter, not an input,
    which is how the programs this tool writes carry their values."""
    a = fn.args
    if a.vararg or a.kwarg:
        node = a.vararg or a.kwarg
        raise low.error(
            node, "`*args`/`**kwargs` are not part of the program language", code="E103"
        )
    positional = [*a.posonlyargs, *a.args]
    n_plain = len(positional) - len(a.defaults)
    defaults: list[tuple[ast.arg, ast.expr]] = list(
        zip(positional[n_plain:], a.defaults, strict=True)
    )
    positional = positional[:n_plain]
    kwonly = []
    for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        if d is None:
            kwonly.append(p)
        else:
            defaults.append((p, d))
    if len(positional) < 3:
        raise low.error(
            fn,
            f"`{fn.name}` takes {len(positional)} positional parameter(s) without a default; it "
            "needs at least the weight, the gradient and the learning rate",
            help="write `def train(w, g, lr):`, with state variables between `g` and `lr` and "
            "hyperparameters with their values after `lr` (`b1=0.9`)",
            code="E103",
        )
    seen: set[str] = set()
    for p in [*positional, *kwonly, *(p for p, _ in defaults)]:
        if p.arg in seen:
            raise low.error(p, f"parameter `{p.arg}` is declared twice", code="E103")
        seen.add(p.arg)
    for p in kwonly:
        if p.arg not in EXTRA_INPUTS:
            known = ", ".join(f"`{k}` ({v})" for k, v in EXTRA_INPUTS.items())
            raise low.error(
                p,
                f"unknown extra input `{p.arg}`",
                help=f"the extra inputs are {known}; a hyperparameter needs a value (`{p.arg}=0.1`)",
                code="E103",
            )
    values: list[tuple[str, float]] = []
    for p, d in defaults:
        if p.arg in EXTRA_INPUTS:
            raise low.error(
                p, f"`{p.arg}` is an extra input and cannot have a default value", code="E103"
            )
        const = low.literal(d)
        if const is None:
            raise low.error(
                d,
                f"the default of hyperparameter `{p.arg}` must be a number",
                help=f"write e.g. `{p.arg}=0.9`",
                code="E103",
            )
        name = p.arg if p.arg.isascii() else unicodedata.normalize("NFKC", p.arg)
        values.append((name, const.value))
    weight, grad, *state, lr = (p.arg for p in positional)
    extras = tuple(p.arg for p in kwonly)
    return weight, grad, tuple(state), lr, extras, tuple(values)


def _returns(ret: ast.Return, low: _Lowerer, state: tuple[str, ...], lr: str) -> tuple[str, ...]:
    value = ret.value
    if value is None:
        raise low.error(ret, "`return` must give the update and the new state", code="E104")
    elts = value.elts if isinstance(value, ast.Tuple) else [value]
    want = 1 + len(state)
    if len(elts) != want:
        names = ", ".join(["update", *state])
        help = f"write `return {names}`"
        unset = [s for s in state if s not in low.all_targets]
        if len(elts) < want and unset:
            # Roles go by position: a hyperparameter written last (`def train(w, g, m, lr, b1)`)
            # becomes the learning rate and the real learning rate a state the body never sets.
            help = (
                f"parameters are read by position: `{lr}`, the last, is the learning rate and "
                f"`{unset[-1]}` is state; if `{lr}` is a hyperparameter, give it a value "
                f"(`{lr}=0.9`) or leave it out of the signature; otherwise {help}"
            )
        raise low.error(
            ret,
            f"`return` gives {len(elts)} value(s); this program needs {want}: the update, "
            "then the new value of every state variable in parameter order",
            help=help,
            code="E104",
        )
    names: list[str] = []
    for e in elts:
        if isinstance(e, ast.Name) and e.id in low.assigned:
            names.append(e.id)
            continue
        temp = low.fresh()
        low.emit(temp, e)
        names.append(temp)
    return tuple(names)
