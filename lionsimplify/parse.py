"""Program text -> IR, with compiler-style errors.

The text is read as data with Python's `ast` module (never executed). Both printed forms are
accepted: the paper's listings (`return update, m`, Unicode hyperparameters such as `β1`) and
the Hero library's (fully parenthesised binary operations, `return (update, m, v)`, argument
annotations such as `w: Params`, `interpolate`/`clip_by_global_norm`). Nested expressions are
lowered to one operation per statement through fresh temporaries `t1, t2, ...`.

Every rejection is a `ProgramError` with the file, line and column of the offending construct.
"""

from __future__ import annotations

import ast
import difflib
import math
from pathlib import Path

from lionsimplify.errors import Location, ProgramError
from lionsimplify.ir import COPY, EXTRA_INPUTS, Const, Hyper, Operand, Program, Stmt, Var
from lionsimplify.ops import BINARY_SYMBOLS, lookup, suggest

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
        self._temp = 0

    # -- diagnostics ------------------------------------------------------------------------
    def loc(self, node: ast.AST) -> Location:
        line = getattr(node, "lineno", 1) or 1
        byte_col = getattr(node, "col_offset", 0) or 0
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        col = len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="replace")) + 1
        return Location(self.path, line, col)

    def error(self, node: ast.AST, message: str, help: str | None = None) -> ProgramError:
        loc = self.loc(node)
        source = self.lines[loc.line - 1] if 0 < loc.line <= len(self.lines) else None
        return ProgramError(message, loc, help=help, source_line=source)

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
            raise self.error(node, f"`{name}` is not allowed: programs may not contain NaN or inf")
        if name in self.assigned:
            return Var(name)
        if name in self.all_targets:
            raise self.error(node, f"`{name}` is used before it is assigned")
        if lookup(name) is not None:
            raise self.error(node, f"`{name}` is a function; call it", help=f"write `{name}(...)`")
        known = sorted(self.all_targets | self.inputs)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85) if len(name) >= 4 else []
        if close:
            raise self.error(
                node,
                f"undefined name `{name}`",
                help=f"did you mean `{close[0]}`? (a name that is never assigned is read as a "
                "hyperparameter; this one looks like a misspelt variable)",
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
            raise self.error(inner, f"a {kind} literal is not a number the program can use")
        if isinstance(value, int) and abs(value) > 2**53:
            raise self.error(inner, "integer literal is too large to be a float exactly")
        number = sign * float(value)
        if not math.isfinite(number):
            raise self.error(inner, "literal overflows to infinity: programs may not contain inf")
        return Const(number)

    def emit(self, target: str, node: ast.expr, depth: int = 0) -> None:
        """Lower `target = node` into one or more statements."""
        if depth > MAX_DEPTH:
            raise self.error(
                node,
                f"expression nested more than {MAX_DEPTH} levels deep",
                help="split it into several statements",
            )
        loc = self.loc(node)
        if isinstance(node, ast.Name) or self.literal(node) is not None:
            self.body.append(Stmt(target, COPY, (self.operand(node),), loc))
            return
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                symbol = type(node.op).__name__
                raise self.error(node, f"operator `{symbol}` is not part of the program language")
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
            raise self.error(node, "only unary minus is part of the program language")
        if isinstance(node, ast.Call):
            self.body.append(self.call(target, node, depth, loc))
            return
        what = _EXPR_NAMES.get(type(node), f"`{type(node).__name__}`")
        raise self.error(node, f"{what} is not part of the program language")

    def call(self, target: str, node: ast.Call, depth: int, loc: Location) -> Stmt:
        if not isinstance(node.func, ast.Name):
            what = _EXPR_NAMES.get(type(node.func), "this kind of call")
            raise self.error(
                node.func,
                f"{what} is not part of the program language",
                help="call a library function by its bare name, e.g. `sign(m)`",
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
            )
        if node.keywords:
            raise self.error(
                node.keywords[0].value if node.keywords[0].arg is None else node,
                "keyword arguments are not part of the program language",
                help="pass arguments by position",
            )
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.error(node, "starred arguments are not part of the program language")
        if len(node.args) != op.arity:
            plural = "s" if op.arity != 1 else ""
            raise self.error(
                node,
                f"`{fname}` takes {op.arity} argument{plural}, got {len(node.args)}",
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
            )
        name = target_node.id
        if name in _NON_FINITE_NAMES:
            raise self.error(target_node, f"`{name}` cannot be used as a variable name")
        self.emit(name, value)
        self.assigned.add(name)
        self.used_names.add(name)


def _collect_targets(fn: ast.FunctionDef) -> set[str]:
    names: set[str] = set()
    for stmt in fn.body:
        targets = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
            targets = [stmt.target]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def decode_source(data: bytes, path: str) -> str:
    if b"\x00" in data:
        raise ProgramError(
            "this is a binary file, not a program",
            Location(path, 1, 1),
            help="a program is a text file holding one `def train(...):` function",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace")) + 1
        raise ProgramError(
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            Location(path, line, col),
            help="save the program as UTF-8 text",
        ) from None


def parse_file(path: str | Path) -> Program:
    """Read and parse a program file; a missing or unreadable file is a `ProgramError` too."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ProgramError("no such file", Location(str(path), 1, 1)) from None
    except IsADirectoryError:
        raise ProgramError(
            "is a directory, not a program file", Location(str(path), 1, 1)
        ) from None
    except OSError as exc:
        raise ProgramError(f"cannot read file: {exc.strerror}", Location(str(path), 1, 1)) from None
    return parse_text(decode_source(data, str(path)), str(path))


def parse_text(text: str, path: str = "<string>") -> Program:
    """Parse one program from `text`; `path` is used in error messages."""
    lines = text.splitlines()
    if not text.strip():
        raise ProgramError(
            "empty program",
            Location(path, 1, 1),
            help="a program is one function: `def train(w, g, m, lr): ... return update, m`",
        )
    try:
        module = ast.parse(text, filename=path)
    except SyntaxError as exc:
        line = exc.lineno or 1
        col = exc.offset or 1
        msg = (exc.msg or "invalid syntax").replace("\n", " ")
        source = lines[line - 1] if 0 < line <= len(lines) else None
        if "too many nested parentheses" in msg:
            msg = f"expression nested too deeply ({msg})"
        raise ProgramError(
            f"syntax error: {msg}", Location(path, line, col), source_line=source
        ) from None
    except (RecursionError, MemoryError):
        raise ProgramError(
            "expression nested too deeply for the parser",
            Location(path, 1, 1),
            help="split it into several statements",
        ) from None
    except ValueError as exc:  # e.g. source with NUL characters
        raise ProgramError(f"cannot parse: {exc}", Location(path, 1, 1)) from None
    try:
        return _program(module, path, lines)
    except RecursionError:
        raise ProgramError(
            "program nested too deeply",
            Location(path, 1, 1),
            help="split it into several statements",
        ) from None


def _program(module: ast.Module, path: str, lines: list[str]) -> Program:
    helper = _Lowerer(path, lines, set())
    body = list(module.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
    functions = [n for n in body if isinstance(n, ast.FunctionDef)]
    for node in body:
        if not isinstance(node, ast.FunctionDef):
            what = _STATEMENT_NAMES.get(type(node), "a statement")
            raise helper.error(
                node, f"{what} outside the function: a program is one `def` and nothing else"
            )
    if not functions:
        raise ProgramError(
            "no function found",
            Location(path, 1, 1),
            help="a program is one function: `def train(w, g, m, lr): ...`",
        )
    if len(functions) > 1:
        raise helper.error(functions[1], "more than one function: a program is exactly one `def`")
    fn = functions[0]
    if fn.decorator_list:
        raise helper.error(fn.decorator_list[0], "decorators are not part of the program language")
    weight, grad, state, lr, extras = _signature(fn, helper)
    inputs = {weight, grad, *state, lr, *extras}
    low = _Lowerer(path, lines, inputs)
    low.all_targets = _collect_targets(fn)

    stmts = list(fn.body)
    if stmts and _is_docstring(stmts[0]):
        stmts = stmts[1:]
    ret: ast.Return | None = None
    for i, node in enumerate(stmts):
        if isinstance(node, ast.Return):
            if i != len(stmts) - 1:
                raise low.error(stmts[i + 1], "statement after `return`")
            ret = node
        elif isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                raise low.error(
                    node,
                    "chained assignment is not part of the program language",
                    help="assign one variable per statement",
                )
            low.assign(node.targets[0], node.value, node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is None:
                raise low.error(
                    node, "a declaration without a value is not part of the program language"
                )
            low.assign(node.target, node.value, node)
        elif isinstance(node, ast.AugAssign):
            if not isinstance(node.target, ast.Name):
                raise low.error(
                    node.target, "assignment to this target is not part of the program language"
                )
            combined = ast.BinOp(
                left=ast.Name(node.target.id, ast.Load()), op=node.op, right=node.value
            )
            ast.copy_location(combined, node)
            ast.copy_location(combined.left, node.target)
            low.assign(node.target, combined, node)
        elif isinstance(node, ast.Expr):
            raise low.error(
                node, "an expression statement does nothing: assign its value to a variable"
            )
        else:
            what = _STATEMENT_NAMES.get(type(node), type(node).__name__)
            raise low.error(
                node,
                f"{what} is not part of the program language",
                help="a program is straight-line assignments followed by `return`",
            )
    if ret is None:
        end = fn.end_lineno or fn.lineno
        raise ProgramError(
            "missing `return`",
            Location(path, end, 1),
            help=f"end the function with `return update{''.join(', ' + s for s in state)}`",
            source_line=lines[end - 1] if 0 < end <= len(lines) else None,
        )
    returns = _returns(ret, low, state)
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
    )


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _signature(
    fn: ast.FunctionDef, low: _Lowerer
) -> tuple[str, str, tuple[str, ...], str, tuple[str, ...]]:
    a = fn.args
    if a.vararg or a.kwarg:
        node = a.vararg or a.kwarg
        raise low.error(node, "`*args`/`**kwargs` are not part of the program language")
    if a.defaults or a.kw_defaults and any(d is not None for d in a.kw_defaults):
        raise low.error(fn, "parameters may not have default values")
    positional = [*a.posonlyargs, *a.args]
    if len(positional) < 3:
        raise low.error(
            fn,
            f"`{fn.name}` takes {len(positional)} positional parameter(s); it needs at least "
            "the weight, the gradient and the learning rate",
            help="write `def train(w, g, lr):`, with state variables between `g` and `lr`",
        )
    seen: set[str] = set()
    for p in [*positional, *a.kwonlyargs]:
        if p.arg in seen:
            raise low.error(p, f"parameter `{p.arg}` is declared twice")
        seen.add(p.arg)
    for p in a.kwonlyargs:
        if p.arg not in EXTRA_INPUTS:
            known = ", ".join(f"`{k}` ({v})" for k, v in EXTRA_INPUTS.items())
            raise low.error(
                p, f"unknown extra input `{p.arg}`", help=f"the extra inputs are {known}"
            )
    weight, grad, *state, lr = (p.arg for p in positional)
    return weight, grad, tuple(state), lr, tuple(p.arg for p in a.kwonlyargs)


def _returns(ret: ast.Return, low: _Lowerer, state: tuple[str, ...]) -> tuple[str, ...]:
    value = ret.value
    if value is None:
        raise low.error(ret, "`return` must give the update and the new state")
    elts = value.elts if isinstance(value, ast.Tuple) else [value]
    want = 1 + len(state)
    if len(elts) != want:
        names = ", ".join(["update", *state])
        raise low.error(
            ret,
            f"`return` gives {len(elts)} value(s); this program needs {want}: the update, "
            "then the new value of every state variable in parameter order",
            help=f"write `return {names}`",
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
