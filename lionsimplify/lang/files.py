"""The one home for reading and writing the user's files: nothing read hangs, nothing is lost.

Reading opens the file once (non-blocking, so a FIFO cannot hang the tool), checks on the open
descriptor that it is a regular file, and reads at most a documented number of bytes: a program
file may hold `MAX_PROGRAM_BYTES` (1 MiB), a runs file, ledger or config `MAX_DATA_BYTES`
(256 MiB). `/dev/zero`, a FIFO, a socket or a directory is refused with a one-line error.

Writing is atomic and never clobbers: `Outputs` checks every target before the work starts
(two outputs on one path, a missing folder, a directory, a special file, a dangling symbolic
link, an existing file without `--force`), and `write_text` writes a temporary file beside the
target and then links it into place (without `--force`: refused if the target appeared in the
meantime) or renames it over the target (with `--force`). A failed write (full disk, read-only
folder) leaves the target as it was and becomes a one-line error, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from lionsimplify.lang.errors import Location, ProgramError

#: Largest program file read (a search program is a few hundred bytes; 1 MiB is thousands of
#: statements).
MAX_PROGRAM_BYTES = 1 << 20
#: Largest runs file (`.jsonl`), ledger or config read.
MAX_DATA_BYTES = 256 << 20


def _where(path: str | Path) -> Location:
    return Location.file(str(path))


def _size(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n} bytes"


def read_bytes(path: str | Path, *, limit: int = MAX_PROGRAM_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or a `ProgramError` saying why not."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ProgramError("no such file", _where(path), code="E001") from None
    except IsADirectoryError:
        raise ProgramError("is a directory, not a file", _where(path), code="E001") from None
    except OSError as exc:
        raise ProgramError(f"cannot read: {exc.strerror}", _where(path), code="E001") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ProgramError("is a directory, not a file", _where(path), code="E001")
        if not stat.S_ISREG(info.st_mode):
            raise ProgramError(
                "not a regular file (a device, FIFO or socket): refusing to read it",
                _where(path),
                help="save the input to a file and pass that file",
                code="E001",
            )
        if info.st_size > limit:
            raise ProgramError(
                f"the file is {_size(info.st_size)}, over the {_size(limit)} limit for this input",
                _where(path),
                code="E001",
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ProgramError(f"cannot read: {exc.strerror}", _where(path), code="E001") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while we read
        raise ProgramError(f"the file is over the {_size(limit)} limit", _where(path), code="E001")
    return data


class Outputs:
    """The files one command will write, checked before the work starts (see the docstring)."""

    def __init__(self, targets: Iterable[tuple[str, Path | None]], *, force: bool) -> None:
        self.force = force
        self.targets = {what: Path(p) for what, p in targets if p is not None}
        seen: dict[Path, str] = {}
        for what, p in self.targets.items():
            key = Path(os.path.abspath(p))
            if key in seen:
                raise ProgramError(
                    f"{seen[key]} and {what} are the same file",
                    _where(p),
                    help="give each output its own path",
                    code="E404",
                )
            seen[key] = what
            check_target(p, force=force)

    def write(self, what: str, content: str | bytes) -> str:
        """Write one checked target (text as UTF-8); returns its path for messages."""
        path = self.targets[what]
        data = content.encode("utf-8") if isinstance(content, str) else content
        write_bytes(path, data, force=self.force)
        return str(path)


def check_target(path: Path, *, force: bool) -> None:
    """Refuse a target that cannot or must not be written (see the module docstring)."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_symlink() and not path.exists():
        raise ProgramError(
            "is a symbolic link to a missing file: refusing to write through it",
            _where(path),
            code="E404",
        )
    if path.exists():
        if path.is_dir():
            raise ProgramError("is a directory: give a file path", _where(path), code="E404")
        if not path.is_file():
            raise ProgramError(
                "is not a regular file: refusing to replace it", _where(path), code="E404"
            )
        if not force:
            raise ProgramError("exists; pass --force to overwrite it", _where(path), code="E404")
    if not parent.is_dir():
        raise ProgramError(
            f"cannot write: the folder {parent} does not exist",
            _where(path),
            help=f"create it first (mkdir -p {parent})",
            code="E404",
        )


def write_text(path: str | Path, text: str, *, force: bool = False) -> None:
    """Write `text` (UTF-8) atomically; see `write_bytes`."""
    write_bytes(path, text.encode("utf-8"), force=force)


def write_bytes(path: str | Path, data: bytes, *, force: bool = False) -> None:
    """Write `data` atomically: a temporary file beside `path`, then link or rename it there."""
    path = Path(path)
    check_target(path, force=force)
    parent = path.parent if str(path.parent) else Path(".")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
        os.fchmod(fd, 0o666 & ~_umask())  # what a plain `open` would have made
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
        tmp = None
    except FileExistsError:
        raise ProgramError(
            "appeared while the tool was working; not overwritten (pass --force to replace it)",
            _where(path),
            code="E404",
        ) from None
    except OSError as exc:
        raise ProgramError(
            f"cannot write: {exc.strerror or exc}", _where(path), code="E404"
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _link_new(tmp: str, path: Path) -> None:
    """Put `tmp` at `path` only if nothing is there (atomically where links are supported)."""
    try:
        os.link(tmp, path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # no hard links here: reserve the name exclusively, then rename over the reservation
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def check_creatable(path: str | Path) -> None:
    """Refuse, without creating anything, a folder that could not be created: its nearest
    existing ancestor is not a folder or not writable."""
    p = Path(os.path.abspath(path))
    if p.exists():
        if not p.is_dir():
            raise ProgramError("exists and is not a folder", _where(path), code="E404")
        return
    ancestor = p.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ProgramError(
            f"cannot create the folder: {ancestor} is not a folder", _where(path), code="E404"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ProgramError(
            f"cannot create the folder: {ancestor} is not writable", _where(path), code="E404"
        )


def make_dir(path: str | Path) -> Path:
    """Create an output folder (and its parents), or a `ProgramError` saying why not."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ProgramError("exists and is not a folder", _where(p), code="E404") from None
    except OSError as exc:
        raise ProgramError(
            f"cannot create the folder: {exc.strerror}", _where(p), code="E404"
        ) from None
    return p
