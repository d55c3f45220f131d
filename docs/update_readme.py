"""Regenerate the command outputs README.md shows, so they cannot drift from the code.

    python docs/update_readme.py           # rewrite README.md's generated blocks
    python docs/update_readme.py --check   # exit 1 if any block is stale (tests/test_readme.py)

A generated block is a fenced code block between two markers:

    <!-- BEGIN generated: lionsimplify check examples/programs/program8.txt -->
    ```
    $ lionsimplify check examples/programs/program8.txt
    ...output...
    ```
    <!-- END generated -->

The command runs in-process from the repository root at a fixed width (100 columns, no
colour); `| head -n N` or `| tail -n N` after it keeps part of the output, as the shell would.
Only fast commands belong here (check, reduce, dedup, diff, proxies): training outputs (`eval`,
`funnel`, `reduce --validate`) are measured blocks, updated by hand with the run that made them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
WIDTH = 100
BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN generated: (?P<cmd>.+?) -->\n)(?P<body>.*?)(?P<end><!-- END generated -->)",
    re.S,
)


def run(command: str) -> str:
    """The output of `command` (stdout, then stderr) as a terminal of WIDTH columns shows it."""
    from lionsimplify.cli import main

    line, *pipes = (part.strip() for part in command.split("|"))
    words = shlex.split(line)
    if words[0] != "lionsimplify":
        raise ValueError(f"not a lionsimplify command: {command!r}")
    out, err = io.StringIO(), io.StringIO()
    # the width through COLUMNS, which the consoles read at each use: pinning `console.width`
    # (and "restoring" it) would leave it fixed at whatever width was current before
    old = (sys.argv, os.environ.get("COLUMNS"), os.getcwd())
    sys.argv = words
    os.environ["COLUMNS"] = str(WIDTH)
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit:
        pass
    finally:
        sys.argv = old[0]
        if old[1] is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old[1]
        os.chdir(old[2])
    lines = [ln.rstrip() for ln in (out.getvalue() + err.getvalue()).splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    for pipe in pipes:
        what, flag, n = shlex.split(pipe)
        if flag != "-n" or what not in ("head", "tail"):
            raise ValueError(f"unsupported pipe {pipe!r}: use head -n N or tail -n N")
        lines = lines[: int(n)] if what == "head" else lines[-int(n) :]
    return "\n".join(lines) + "\n"


def update(text: str) -> str:
    def block(m: re.Match[str]) -> str:
        cmd = m["cmd"]
        return f"{m['begin']}```\n$ {cmd}\n{run(cmd)}```\n{m['end']}"

    return BLOCK.sub(block, text)


def main() -> None:
    text = README.read_text(encoding="utf-8")
    new = update(text)
    if "--check" in sys.argv[1:]:
        if new != text:
            print("README.md is stale: run python docs/update_readme.py", file=sys.stderr)
            raise SystemExit(1)
        return
    README.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
