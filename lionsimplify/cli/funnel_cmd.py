"""`lionsimplify funnel RUNS_DIR`: select the best programs of search runs by proxy training."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.live import Live
from rich.table import Table

from lionsimplify.api import funnel
from lionsimplify.cli import EXIT_INTERRUPTED
from lionsimplify.cli.app import (
    command,
    console,
    err_console,
    fail,
    file_argument,
    force_option,
    json_option,
    print_json,
)
from lionsimplify.cli.render import fitted_table
from lionsimplify.funnel.config import Level
from lionsimplify.funnel.jobs import Job
from lionsimplify.funnel.ledger import LEDGER_NAME
from lionsimplify.funnel.pipeline import FunnelResult, NoEntrants
from lionsimplify.funnel.report import leaderboard, write_outputs
from lionsimplify.funnel.runs import Intake, Invalid
from lionsimplify.funnel.select import Verdict


@dataclass
class _LevelRow:
    level: Level
    total: int
    done: int
    started: float = field(default_factory=time.monotonic)
    new_done: int = 0
    running: int = 0
    failures: int = 0
    leader: tuple[float, str] | None = None
    finished: bool = False
    promoted: int | None = None


class LiveProgress:
    """Per level: done/total, running, failures, ETA and the current leader (rich, on stderr)."""

    def __init__(self) -> None:
        self.rows: list[_LevelRow] = []
        self.note = ""
        # redrawn in place only on a terminal; a pipe or a log file gets the table once, at
        # the end, as ordinary lines
        self.redraw = err_console.is_terminal
        self.live = Live(self._table(), console=err_console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live.is_started:
            self.live.update(self._table())
            self.live.stop()
        elif not self.redraw and self.rows:
            err_console.print(self._table())

    def _table(self) -> Table:
        rows = []
        for row in self.rows:
            if row.finished:
                eta = f"passed: {row.promoted}" if row.promoted is not None else "done"
            elif row.new_done and row.done < row.total:
                per_job = (time.monotonic() - row.started) / row.new_done  # with parallelism
                eta = f"{per_job * (row.total - row.done):.0f} s"
            else:
                eta = "…"
            leader = f"{row.leader[1]} ({row.leader[0]:.4g})" if row.leader else "—"
            rows.append((row.level.name, row.level.proxy, f"{row.done}/{row.total}",
                         str(row.running), str(row.failures), eta, leader))  # fmt: skip
        headers = ("level", "proxy", "done", "running", "failures", "ETA", "leader")
        return fitted_table(err_console, headers, rows, title=self.note or None)

    def _refresh(self) -> None:
        if self.live.is_started:
            self.live.update(self._table())

    def intake_done(self, result: Intake, entering: int) -> None:
        self.note = (
            f"{result.read} read → {result.valid} valid → {len(result.candidates)} unique "
            f"→ {entering} entering"
        )
        if self.redraw:  # only once the input is known good: errors print without a table
            self.live.start()
        self._refresh()

    def level_started(self, index: int, level: Level, total: int, done: int) -> None:
        self.rows.append(_LevelRow(level, total, 0))
        self._refresh()

    def job_started(self, job: Job) -> None:
        self.rows[-1].running += 1
        self._refresh()

    def job_done(self, job: Job, record: dict[str, Any], reused: bool) -> None:
        row = self.rows[-1]
        row.done += 1
        if not reused:
            row.running -= 1
            row.new_done += 1
        if record.get("status") != "ok":
            row.failures += 1
        elif job.kind == "candidate" and record.get("metric") is not None:
            sign = 1.0 if record.get("higher_is_better", True) else -1.0
            metric = float(record["metric"])
            if row.leader is None or sign * metric > sign * row.leader[0]:
                row.leader = (metric, job.subject)
        self._refresh()

    def level_finished(self, index: int, verdicts: list[Verdict]) -> None:
        row = self.rows[-1]
        # an ablation phase promotes no one: it reports no verdicts
        row.finished = True
        row.promoted = sum(v.promoted for v in verdicts) if verdicts else None
        self._refresh()


def _print_summary(result: FunnelResult, out: Path, files: list[str]) -> None:
    data = result.intake.to_json()
    console.print(
        f"intake: {data['read']} read, {data['valid']} valid, {data['unique']} unique, "
        f"{len(result.entrants)} entering; "
        f"redundant statements {data['redundant_statement_rate']:.1%}, "
        f"duplicate hits {data['duplicate_rate']:.1%}; semantics {result.config.semantics}"
    )
    more = f"each in {out / 'result.json'}, `intake.%s`"
    _print_invalid(result.intake.invalid, "invalid", more % "invalid")
    _print_invalid(result.intake.rejected, "rejected", more % "rejected")
    for why, n in sorted(result.stale.items()):
        console.print(f"[yellow]ledger[/]: {n} records from {why} not reused")
    if result.torn_lines:
        console.print(
            f"[yellow]ledger[/]: {result.torn_lines} torn or malformed lines skipped "
            "(their evaluations were run again)"
        )
    names = [o.level.name for o in result.levels]
    adamw = {o.level.name: o.baselines["adamw"].get("metric") for o in result.levels}
    rows = [
        (
            "",
            "AdamW (tuned)",
            "",
            "",
            *[f"{adamw[n]:.4g}" if adamw[n] is not None else "—" for n in names],
            "baseline",
        )
    ]
    for row in leaderboard(result):
        cells = {lv["level"]: lv for lv in row["levels"]}
        rows.append((
            str(row["rank"]),
            row["fingerprint"],
            ", ".join(row["runs"]),
            f"{row['search_fitness']:.4g}",
            *[
                (
                    ""
                    if n not in cells
                    else cells[n]["status"]
                    if cells[n]["status"] != "ok"
                    else f"{cells[n]['metric']:.4g}"
                )  # fmt: skip
                for n in names
            ],
            row["outcome"],
        ))  # fmt: skip
    headers = ("rank", "fingerprint", "runs", "fitness", *names, "outcome")
    table = fitted_table(console, headers, rows, wrap=("runs",), title="leaderboard")
    console.print(table)
    console.print(f"report: {out / 'report.md'}")
    for f in files:
        console.print(f"winner: {out / f}")


#: Invalid candidates listed in full on the terminal; a search may make thousands.
SHOW_INVALID = 10


def _print_invalid(invalid: list[Invalid], key: str, more: str) -> None:
    """Each invalid (or, `key` "rejected", valid but unable to enter) candidate as `dedup`,
    `diff` and `explain` list a skipped program: its error with the source line and caret (on
    stderr, so the leaderboard stays clean); past `SHOW_INVALID`, a count and where the rest
    are (`more`)."""
    label = {"invalid": "invalid", "rejected": "cannot enter"}[key]
    for bad in invalid[:SHOW_INVALID]:
        err_console.print(f"{label}: {bad.render()}", markup=False, soft_wrap=True)
    if len(invalid) > SHOW_INVALID:
        err_console.print(
            f"{label}: {len(invalid) - SHOW_INVALID} more ({more})", markup=False, soft_wrap=True
        )


@command("funnel")
@file_argument("runs_dir", dir_okay=True, metavar="RUNS_DIR")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="funnel.toml (default: the built-in quick config).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default="funnel-out",
    show_default=True,
    metavar="DIR",
    help="Output directory (resumable).",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    metavar="NAME",
    help="`local` process pool or `ray`.",
)
@click.option(
    "--address",
    metavar="ADDR",
    help="Ray cluster address (default: RAY_ADDRESS or a local instance).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Local worker processes (Ray uses the cluster's CPUs).",
)
@force_option("Use an --out that holds another config's ledger or other files.")
@json_option("the final result")
def command(runs_dir: Path, config: Path | None, out: Path, executor: str, address: str | None,
            workers: int, force: bool, json_out: bool) -> None:  # fmt: skip
    """Select the best programs of search runs by training them on proxy tasks, level by level.

    Candidates are checked, reduced and de-duplicated, the top-K by search fitness (per run and
    overall) enter level 1, and each level promotes those that beat the tuned AdamW baseline by
    the configured margin (or rank in the top fraction); candidates and baselines get the same
    learning-rate (and weight-decay) search. After the last level each finalist's ablations are
    trained there and kept when they lose nothing. Every evaluation is appended to
    OUT/ledger.jsonl: re-running the same command resumes where it stopped. Writes
    OUT/report.md with plots and OUT/winners/ (programs and optax modules at their tuned rate).

    Examples:

      lionsimplify funnel examples/runs --out /tmp/f

      lionsimplify funnel runs/ --config funnel.toml --workers 2 --out sel/

      lionsimplify funnel runs/ --executor ray --address auto --json
    """
    if address is not None and executor != "ray":  # else the run is local, though asked not to be
        fail(f"--address {address} is a Ray cluster's: add --executor ray")
    try:
        with LiveProgress() as progress:
            result = funnel(runs_dir, out, config=config, executor=executor, workers=workers,
                            address=address, force=force, progress=progress, write=False)  # fmt: skip
    except NoEntrants as exc:  # each reason first, then the error that closes the run
        _print_invalid(exc.intake.invalid, "invalid", f"`lionsimplify check {runs_dir}` lists all")
        _print_invalid(exc.intake.rejected, "rejected", "valid programs whose reduction failed")
        raise
    except KeyboardInterrupt:
        ledger = out / LEDGER_NAME
        if not ledger.is_file():
            raise
        err_console.print(
            f"interrupted: the evaluations that finished are in {ledger}; run the same command "
            "again to resume",
            markup=False,
            soft_wrap=True,
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    data = write_outputs(result, out)
    if json_out:
        print_json(data)
        return
    _print_summary(result, out, data["winner_files"])
