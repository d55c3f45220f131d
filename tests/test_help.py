"""Help that helps: every command is registered once, lists plain metavars, shows examples that
parse, renders its docstring as written; and the command line starts without heavy imports."""

from __future__ import annotations

import inspect
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from cli_runner import run_cli

from lionsimplify.cli import COMMANDS, cli, load_command

ROOT = Path(__file__).resolve().parent.parent


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_cli(capsys, *args, "--help")
    assert code == 0, err
    return out


def test_every_command_is_registered_with_its_own_summary() -> None:
    names = set()
    for name, (module, summary) in COMMANDS.items():
        cmd = load_command(name)
        assert isinstance(cmd, click.Command) and cmd.name == name
        assert module == f"{name}_cmd"
        assert inspect.cleandoc(cmd.help or "").splitlines()[0] == summary
        names.add(module)
    # every command module in cli/ is in the table, and the core commands are there
    modules = {p.stem for p in (ROOT / "lionsimplify" / "cli").glob("*_cmd.py")}
    assert names == modules
    assert {"check", "reduce", "dedup", "diff", "proxies", "eval", "funnel"} <= set(COMMANDS)


def test_top_level_help_lists_commands_and_completion(capsys) -> None:
    out = _help(capsys)
    flat = " ".join(out.split())
    for name, (_, summary) in COMMANDS.items():
        assert re.search(rf"^\s+{name}\s", out, re.M), name
        assert summary in flat
    assert "_LIONSIMPLIFY_COMPLETE=bash_source" in out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_has_plain_metavars_and_examples_that_parse(name: str, capsys) -> None:
    out = _help(capsys, name)
    assert not re.search(r"<(bool|str|int|float|Path|list\[\w+\])>", out), "python types shown"
    assert "{" not in out.split("\n", 1)[0], "usage line shows a python set"
    assert out.startswith(f"Usage: lionsimplify {name} [OPTIONS]")
    for metavar in re.findall(r"^\s+--[\w-]+ ([^\s]+)\s", out, re.M):
        assert re.fullmatch(r"[A-Z][A-Z_0-9.=,:]*(\.\.\.)?|FILE\.\w+|X,Y,\.\.\.", metavar), metavar
    examples = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("lionsimplify ")]
    assert examples, "no example"
    cmd = load_command(name)
    for line in examples:
        words = shlex.split(line)
        assert words[1] == name
        # every option of the example exists and takes the values it is given
        cmd.make_context(name, words[2:], resilient_parsing=False)


def test_an_option_shared_by_commands_is_the_same_option_in_each() -> None:
    """`--seeds`, `--lr-grid`, `--proxy-module`, ... come from one factory each (cli/app.py):
    the same metavar, type and check wherever they appear; only defaults and help may differ."""
    seen: dict[str, tuple[str, click.Option]] = {}
    for name in COMMANDS:
        for opt in load_command(name).params:
            if not isinstance(opt, click.Option) or opt.name == "help":
                continue
            first = seen.setdefault(opt.opts[0], (name, opt))[1]
            where = f"{opt.opts[0]} in {seen[opt.opts[0]][0]} and {name}"
            assert opt.opts == first.opts and opt.metavar == first.metavar, where
            assert type(opt.type) is type(first.type) and opt.is_flag == first.is_flag, where
            assert (opt.callback is None) == (first.callback is None), where
    shared = {"--seeds", "--lr-grid", "--base-lr", "--time-limit", "--proxy-module", "--ablate"}
    assert shared <= set(seen)


def test_docstrings_render_as_written(capsys) -> None:
    """Prose is re-flowed as whole paragraphs (no ragged lines), examples kept verbatim."""
    out = _help(capsys, "reduce")
    doc = inspect.cleandoc(load_command("reduce").help or "")
    prose = " ".join(doc.split("\n\n")[1].split())
    shown = " ".join(out.split("\n\n")[2].split())
    assert shown == prose
    for line in doc.splitlines():
        if line.startswith("  lionsimplify"):
            assert line in out


def test_check_and_option_errors_start_without_heavy_imports() -> None:
    code = (
        "import sys\n"
        "from lionsimplify.cli import main\n"
        "def run(*argv):\n"
        "    sys.argv = ['lionsimplify', *argv]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as e:\n"
        "        return e.code\n"
        "assert run('check', 'examples/programs/program8.txt') == 0\n"
        "assert run('eval', 'examples/programs/program1_lion.txt', '--proxy', 'vision-s') == 2\n"
        "assert run('eval', 'examples/programs/program8.txt', '--proxy', 'nope-s') == 2\n"
        "assert run('reduce', 'examples/programs/program8.txt', '--until', 'nope') == 2\n"
        "heavy = {'jax', 'optax', 'sympy', 'matplotlib', 'pydantic', 'typer'}\n"
        "loaded = heavy & {m.split('.')[0] for m in sys.modules}\n"
        "assert not loaded, loaded\n"
        "mods = {m for m in sys.modules if m.startswith('lionsimplify.')}\n"
        "assert not any(m.startswith('lionsimplify.funnel') for m in mods), mods\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_unknown_command_and_bad_choice_are_usage_errors(capsys) -> None:
    code, _, err = run_cli(capsys, "simplify")
    assert code == 2 and "No such command" in err
    code, _, err = run_cli(capsys, "check", "--semantics", "ieee", "x.txt")
    assert code == 2 and "ieee" in err


def test_root_group_is_the_entry_point() -> None:
    assert isinstance(cli, click.Group)


def test_library_exports_match_all() -> None:
    import lionsimplify

    assert sorted(lionsimplify.__all__) == sorted(lionsimplify._EXPORTS)
    for name in lionsimplify.__all__:
        assert getattr(lionsimplify, name) is not None


def test_every_pipeline_module_imports_on_its_own() -> None:
    """With a lazy `lionsimplify/__init__`, no import order hides a cycle: each module of the
    pipeline stages imports first thing in a fresh interpreter."""
    stages = ("lang", "analysis", "passes", "compare")
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for stage in stages
        for p in (ROOT / "lionsimplify" / stage).glob("*.py")
        if p.name != "__init__.py"
    )
    procs = [
        (
            m,
            subprocess.Popen(
                [sys.executable, "-c", f"import {m}"], cwd=ROOT, stderr=subprocess.PIPE, text=True
            ),
        )  # fmt: skip
        for m in modules
    ]
    failed = {m: p.communicate()[1].strip().splitlines()[-1:] for m, p in procs if p.wait()}
    assert not failed, failed


def test_shell_completion_completes_commands_and_options() -> None:
    """The completion README documents: commands from the table, options of a command."""
    env = {**os.environ, "_LIONSIMPLIFY_COMPLETE": "bash_complete"}

    def complete(words: str, cword: int) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "lionsimplify"],
            env={**env, "COMP_WORDS": words, "COMP_CWORD": str(cword)},
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout

    assert complete("lionsimplify ch", 1).split() == ["plain,check"]
    assert set(complete("lionsimplify check --str", 2).split()) == {
        "plain,--strict",
        "plain,--strict-code",
    }
