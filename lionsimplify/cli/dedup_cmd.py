"""`lionsimplify dedup PATH...`: group programs into equivalence classes."""

from __future__ import annotations

import os
from pathlib import Path

from lionsimplify.cli.app import (
    command,
    console,
    err_console,
    fail,
    file_argument,
    json_option,
    param_option,
    parse_params,
    print_json,
    semantics_option,
)
from lionsimplify.cli.batch import no_valid_program
from lionsimplify.cli.render import print_table
from lionsimplify.compare.dedup import DedupResult, dedup
from lionsimplify.lang.sources import load_sources


@command("dedup")
@file_argument("paths", nargs=-1, required=True, dir_okay=True, metavar="PATH...")
@semantics_option
@param_option
@json_option("the classes")
def command(
    paths: tuple[Path, ...], semantics: str, param: tuple[str, ...], json_out: bool
) -> None:
    """Group programs that compute the same thing, and say which fingerprint matched.

    `structural`: same live dataflow up to names, order, dead code and commutative arguments.
    `behavioural`: same updates on fixed random trajectories (e.g. `a * 2` and `a + a`).
    Invalid programs are listed with their error and skipped. Exit code 0 when at least one
    program is valid, 2 when none is (or none was found).

    Examples:

      lionsimplify dedup examples/programs

      lionsimplify dedup runs/run1/programs.jsonl --json
    """
    params = parse_params(param)
    result = dedup(load_sources(paths), semantics=semantics, params=params)  # type: ignore[arg-type]
    unknown = sorted(set(params) - result.hyperparams)
    if unknown and result.classes:  # as check_param_names: a typo is never silently ignored
        have = ", ".join(sorted(result.hyperparams)) or "none"
        fail(f"--param {', '.join(unknown)}: no program reads it (they read: {have})")
    if json_out:
        print_json(result.to_json())
    elif result.classes:
        _render(result)
    for bad in [] if json_out else result.invalid:
        err_console.print(f"skipped: {bad.error.render()}", markup=False, soft_wrap=True)
    if not result.classes:
        no_valid_program(
            paths, result.total, "is in the JSON's `invalid`" if json_out else "is listed above"
        )


def _render(result: DedupResult) -> None:
    valid = result.total - len(result.invalid)
    console.print(f"{result.total} programs, {valid} valid, {len(result.classes)} classes")
    ids = [m.source.id for cls in result.classes for m in cls.members]
    folder = os.path.commonpath(ids) if len(ids) > 1 and all("/" in i for i in ids) else ""
    if folder and folder in ids:  # a single file's path is not a folder to strip
        folder = os.path.dirname(folder)
    if folder:
        console.print(f"programs in {folder}/")
    rows, ends = [], []
    for n, cls in enumerate(result.classes, start=1):
        for i, m in enumerate(cls.members):
            member = os.path.relpath(m.source.id, folder) if folder else m.source.id
            rows.append(
                (
                    str(n) if i == 0 else "",
                    str(len(cls.members)) if i == 0 else "",
                    member,
                    m.matched,
                )
            )
        ends.append(len(rows) - 1)
    headers = ("class", "size", "member", "matched")
    print_table(
        console, headers, rows, right=("class", "size"), paths=("member",), sections=ends[:-1]
    )
