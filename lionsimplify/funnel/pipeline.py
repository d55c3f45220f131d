"""The funnel, end to end: intake, entry, levels (through the ledger), selection, report.

`run_funnel(options)` is what `lionsimplify funnel` calls. It is resumable by construction:
every evaluation is looked up in the ledger by its key before it is submitted, and every result
is appended to the ledger the moment it arrives. Running it twice with the same `--out` does the
work once; killing it loses only what was in flight.

Progress is reported through a `Progress` object (the CLI draws it with rich); the library never
prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from lionsimplify.analysis.fingerprint import structural_hash
from lionsimplify.analysis.interp import require_params
from lionsimplify.funnel import ablation
from lionsimplify.funnel.config import FunnelConfig, Level
from lionsimplify.funnel.executors import Executor, LocalExecutor, RayExecutor
from lionsimplify.funnel.jobs import Job
from lionsimplify.funnel.ledger import (
    LEDGER_NAME,
    Ledger,
    LedgerState,
    code_version,
    eval_key,
    json_safe,
    read_ledger,
)
from lionsimplify.funnel.runs import Candidate, Intake, Invalid, intake, placed
from lionsimplify.funnel.select import Verdict, entrants, promote
from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.files import check_creatable
from lionsimplify.lang.parse import parse_text
from lionsimplify.lang.printer import print_program
from lionsimplify.passes.driver import Reduction, reduce

#: References trained at every level: AdamW (the bar to beat) and Lion (for comparison).
BASELINES = ("adamw", "lion")


class Progress(Protocol):
    def intake_done(self, result: Intake, entering: int) -> None: ...

    def level_started(self, index: int, level: Level, total: int, done: int) -> None: ...

    def job_started(self, job: Job) -> None: ...

    def job_done(self, job: Job, record: dict[str, Any], reused: bool) -> None: ...

    def level_finished(self, index: int, verdicts: list[Verdict]) -> None: ...


class _Silent:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


@dataclass
class FunnelOptions:
    runs_dir: Path
    out: Path
    config: FunnelConfig
    executor: str = "local"
    workers: int = 1
    address: str | None = None
    force: bool = False


@dataclass
class LevelOutcome:
    level: Level
    higher_is_better: bool
    baselines: dict[str, dict[str, Any]]
    records: dict[str, dict[str, Any]]
    """Fingerprint -> ledger record of the candidates evaluated at this level."""
    verdicts: list[Verdict]

    @property
    def promoted(self) -> list[str]:
        return [v.fingerprint for v in self.verdicts if v.promoted]


@dataclass
class FunnelResult:
    config: FunnelConfig
    intake: Intake
    entrants: list[Candidate]
    reductions: dict[str, Reduction]
    levels: list[LevelOutcome]
    finalists: list[str]
    code_version: str
    wall_s: float
    eval_s: float
    """Seconds of evaluation done in this invocation, summed over workers."""
    workers: int
    stale: dict[str, int] = field(default_factory=dict)
    torn_lines: int = 0
    simplifications: dict[str, ablation.Simplification] = field(default_factory=dict)
    """Finalist fingerprint -> its ablation phase (the winner is `.final`)."""

    def candidate(self, fingerprint: str) -> Candidate:
        return next(c for c in self.entrants if c.fingerprint == fingerprint)


def _open_out(opts: FunnelOptions) -> LedgerState:
    """Check that `--out` is ours to use (DESIGN.md §4.6) and read what it holds."""
    out, ledger_path = opts.out, opts.out / LEDGER_NAME
    if out.exists() and not out.is_dir():
        raise ProgramError(
            "--out exists and is not a directory", Location.file(str(out)), code="E404"
        )
    state = read_ledger(ledger_path)
    if out.is_dir() and any(out.iterdir()) and not ledger_path.exists() and not opts.force:
        raise ProgramError(
            "--out is a non-empty directory without a funnel ledger",
            Location.file(str(out)),
            help="choose an empty or new directory, or pass --force to write into it",
            code="E404",
        )
    header = state.last_header
    if header and header.get("config_hash") != opts.config.config_hash() and not opts.force:
        raise ProgramError(
            f"--out holds the ledger of a different config "
            f"(hash {header.get('config_hash')}, this one {opts.config.config_hash()})",
            Location.file(str(ledger_path)),
            help="pass --force to reuse its still-valid evaluations with this config, "
            "or choose another --out",
            code="E404",
        )
    check_creatable(out)  # before the long intake, and without writing anything yet
    return state


def _make_executor(opts: FunnelOptions) -> Executor:
    grace = opts.config.hard_timeout_grace_s
    if opts.executor == "ray":
        return RayExecutor(address=opts.address, grace_s=grace)
    return LocalExecutor(workers=opts.workers, grace_s=grace)


def _reduce_entrants(
    chosen: list[Candidate], config: FunnelConfig, rejected: list[Invalid]
) -> tuple[list[Candidate], dict[str, Reduction]]:
    """Reduce each entrant (exact passes) from its source text; one that cannot be reduced
    (say, a hyperparameter without a value) is `rejected`, with its reason."""
    kept: list[Candidate] = []
    reductions: dict[str, Reduction] = {}
    by_structure: dict[str, Candidate] = {}
    for cand in chosen:
        try:
            original = parse_text(cand.text, cand.entries[0].where)
            require_params(original, config.params, from_config=True)  # (in the config's terms)
            reductions[cand.fingerprint] = reduce(
                original, until="exact", semantics=config.semantics, params=config.params
            )
        except ProgramError as exc:
            best = cand.best
            rejected.append(Invalid.of(best.run, best.where, placed(exc, cand.source)))
            continue
        # exact passes can make two entrants one program: evaluate it once, keep every source
        key = structural_hash(reductions[cand.fingerprint].program)
        same = by_structure.get(key)
        if same is not None:
            same.entries.extend(cand.entries)
            same.higher_is_better.update(cand.higher_is_better)
            del reductions[cand.fingerprint]
            continue
        by_structure[key] = cand
        kept.append(cand)
    return kept, reductions


class NoEntrants(ProgramError):
    """No candidate could enter level 1 (E401): the intake that says why goes with the error,
    so that the command line can list each invalid candidate before it."""

    def __init__(self, message: str, where: Location, help: str, intake: Intake) -> None:  # noqa: A002
        super().__init__(message, where, help=help, code="E401")
        self.intake = intake


def _require_entrants(runs_dir: Path, taken: Intake, chosen: list[Candidate]) -> None:
    """No candidate entering level 1 leaves nothing to select: bad input (exit 2, before
    anything is written or trained), not an empty leaderboard. The config's entry takes at
    least one candidate, so an empty entry means that no candidate was valid, or that none
    chosen could be reduced to enter."""
    if chosen:
        return
    where = Location.file(str(runs_dir))
    if not taken.read:
        raise ProgramError(
            "no candidates found",
            where,
            help="a run is a folder holding programs.jsonl (one JSON object with `program` and "
            "`fitness` per line) or program files (.txt, .py, .prog, .hero) with a "
            "`# fitness:` comment; README.md, 'Search runs', has the layout",
            code="E401",
        )
    cannot = f", {len(taken.rejected)} cannot enter" if taken.rejected else ""
    if taken.invalid:
        what = f"correct the candidates (`lionsimplify check {runs_dir}` shows each program's "
        what += "errors with their source lines)"
    else:  # valid programs whose reduction failed: most often, values not given
        what = "give their hyperparameters values in the config's `[params]` (or a default in "
        what += "each program's signature)"
    raise NoEntrants(
        f"no candidate can enter the funnel ({taken.read} read, {len(taken.invalid)} invalid"
        f"{cannot})",
        where,
        f"the first: {(taken.invalid + taken.rejected)[0].reason}; {what}",
        taken,
    )


def _require_params_read(config: FunnelConfig, taken: Intake) -> None:
    """A `[params]` value that no valid candidate reads is a typo (`beta1` for `β1`), as an
    unknown `--param` is for the other commands: refused before anything is trained."""
    read = {h for c in taken.candidates for h in c.program.hyperparams()}
    unread = sorted(set(config.params) - read)
    if unread:
        raise ProgramError(
            f"[params] {', '.join(unread)}: no valid candidate reads it (they read: "
            f"{', '.join(sorted(read)) or 'none'})",
            Location.file(config.source),
            help="correct the name or remove it from [params]",
            code="E402",
        )


def _jobs(
    level_index: int,
    level: Level,
    config: FunnelConfig,
    code: str,
    fingerprints: list[str],
    reductions: dict[str, Reduction],
) -> list[Job]:
    eval_hash = config.eval_hash(level)
    common = {
        "level": level_index,
        "level_name": level.name,
        "proxy": level.proxy,
        "seeds": level.seeds,
        "lr_multipliers": level.lr_multipliers,
        "time_limit_s": level.time_limit_s,
        "base_lr": level.base_lr,
        "wd_multipliers": level.wd_multipliers,
        "semantics": config.semantics,
        "params": dict(sorted(config.params.items())),
        "evaluator": config.evaluator,
    }

    def baseline(name: str) -> Job:
        subject = f"baseline:{name}"
        return Job(eval_key(subject, eval_hash, code), subject, "baseline", None, **common)

    # AdamW first and Lion last: Lion's learning-rate grid is placed from AdamW's tuned rate,
    # so by the time Lion starts, AdamW's tuning is usually cached and not redone in parallel.
    jobs = [baseline("adamw")]
    for fp in fingerprints:
        text = print_program(reductions[fp].program)
        jobs.append(Job(eval_key(fp, eval_hash, code), fp, "candidate", text, **common))
    jobs += [baseline(b) for b in BASELINES if b != "adamw"]
    return jobs


def _record(
    job: Job, result: dict[str, Any], code: str, eval_hash: str, phase: str = "level"
) -> dict[str, Any]:
    return {
        **result,
        "kind": "eval",
        "phase": phase,
        "key": job.key,
        "subject": job.subject,
        "candidate": job.kind == "candidate",
        "level": job.level,
        "level_name": job.level_name,
        "proxy": job.proxy,
        "seeds": list(job.seeds),
        "lr_multipliers": list(job.lr_multipliers),
        "code_version": code,
        "eval_hash": eval_hash,
    }


def _stale_counts(state: LedgerState, config: FunnelConfig, code: str) -> dict[str, int]:
    """Recorded evaluations this config cannot reuse, by reason."""
    hashes = {config.eval_hash(level) for level in config.levels}
    stale: dict[str, int] = {}
    for rec in state.records.values():
        if rec.get("code_version") != code:
            reason = f"code version {rec.get('code_version')} (now {code})"
        elif rec.get("eval_hash") not in hashes:
            reason = "a level configuration no longer in use"
        else:
            continue
        stale[reason] = stale.get(reason, 0) + 1
    return stale


def _direction(records: list[dict[str, Any]], level: Level) -> bool:
    for r in records:
        if isinstance(r.get("higher_is_better"), bool):
            return r["higher_is_better"]
    from lionsimplify.funnel.proxy_evaluator import proxy_direction

    return proxy_direction(level.proxy)


def run_funnel(opts: FunnelOptions, progress: Progress | None = None) -> FunnelResult:
    """Run (or resume) the funnel; see the module docstring."""
    start = time.perf_counter()
    show: Any = progress or _Silent()
    config = opts.config
    state = _open_out(opts)
    if config.evaluator is None:
        from lionsimplify.funnel.proxy_evaluator import check_proxies

        check_proxies(config)
    taken = intake(
        opts.runs_dir, semantics=config.semantics, params=config.params, exclude=opts.out
    )
    chosen, reductions = _reduce_entrants(
        entrants(taken.candidates, config.entry), config, taken.rejected
    )
    _require_entrants(opts.runs_dir, taken, chosen)
    _require_params_read(config, taken)
    show.intake_done(taken, len(chosen))
    code = code_version()
    stale = _stale_counts(state, config, code)
    records = dict(state.records)
    outcomes: list[LevelOutcome] = []
    eval_s = 0.0
    current = [c.fingerprint for c in chosen]
    executor = _make_executor(opts)
    simplifications: dict[str, ablation.Simplification] = {}
    try:
        with Ledger(opts.out / LEDGER_NAME) as ledger:

            def run(jobs: list[Job], eval_hash: str, phase: str) -> float:
                """Run what the ledger lacks, recording each result as it arrives."""
                spent = 0.0
                for job in jobs:
                    if job.key in records:
                        show.job_done(job, records[job.key], True)
                todo = [j for j in jobs if j.key not in records]
                for event, job, result in executor.execute(todo):
                    if event == "start":
                        show.job_started(job)
                        continue
                    assert result is not None
                    rec = json_safe(_record(job, result, code, eval_hash, phase))
                    ledger.append(rec)
                    records[job.key] = rec
                    spent += float(result.get("wall_s") or 0.0)
                    show.job_done(job, rec, False)
                return spent

            ledger.append(
                {
                    "kind": "header",
                    "config_hash": config.config_hash(),
                    "code_version": code,
                    "config": config.to_json(),
                    "runs_dir": str(opts.runs_dir),
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )
            for index, level in enumerate(config.levels, start=1):
                if not current:
                    break
                eval_hash = config.eval_hash(level)
                jobs = _jobs(index, level, config, code, current, reductions)
                todo = [j for j in jobs if j.key not in records]
                show.level_started(index, level, len(jobs), len(jobs) - len(todo))
                eval_s += run(jobs, eval_hash, "level")
                by_subject = {j.subject: records[j.key] for j in jobs}
                cands = {fp: by_subject[fp] for fp in current}
                baselines = {b: by_subject[f"baseline:{b}"] for b in BASELINES}
                higher = _direction(list(by_subject.values()), level)
                verdicts = promote(level, cands, baselines["adamw"], higher)
                outcome = LevelOutcome(level, higher, baselines, cands, verdicts)
                outcomes.append(outcome)
                show.level_finished(index, verdicts)
                current = outcome.promoted
            finalists = current[: config.winners] if len(outcomes) == len(config.levels) else []
            if finalists:
                spent, simplifications = _ablation_phase(
                    finalists, chosen, outcomes[-1], config, code, records, run, show
                )
                eval_s += spent
    finally:
        executor.close()
    return FunnelResult(
        config=config,
        intake=taken,
        entrants=chosen,
        reductions=reductions,
        levels=outcomes,
        finalists=finalists,
        code_version=code,
        wall_s=time.perf_counter() - start,
        eval_s=eval_s,
        workers=max(1, executor.workers),
        stale=stale,
        torn_lines=len(state.torn_lines),
        simplifications=simplifications,
    )


def _ablation_phase(
    finalists: list[str],
    chosen: list[Candidate],
    top: LevelOutcome,
    config: FunnelConfig,
    code: str,
    records: dict[str, dict[str, Any]],
    run: Callable[[list[Job], str, str], float],
    show: Any,
) -> tuple[float, dict[str, ablation.Simplification]]:
    """Train each finalist's ablations at the last level through the ledger (`ablation.py`)."""
    level = top.level
    index = len(config.levels)
    eval_hash = config.eval_hash(level)
    template = _jobs(index, level, config, code, [], {})[0]
    spent = 0.0

    def train(trials: list[ablation.Trial]) -> None:
        nonlocal spent
        jobs = [
            replace(template, key=eval_key(t.subject, eval_hash, code), subject=t.subject,
                    kind="candidate", program=t.program)
            for t in trials
        ]  # fmt: skip
        if not jobs:
            return
        cached = sum(j.key in records for j in jobs)
        show.level_started(index, replace(level, name=f"{level.name} ablations"), len(jobs), cached)
        spent += run(jobs, eval_hash, ablation.PHASE)
        show.level_finished(index, [])
        for t, job in zip(trials, jobs, strict=True):
            t.record = records[job.key]

    by_fp = {c.fingerprint: c for c in chosen}
    items = [(fp, parse_text(by_fp[fp].text, by_fp[fp].entries[0].where), top.records[fp])
             for fp in finalists]  # fmt: skip
    out = ablation.simplify(
        items, semantics=config.semantics, params=dict(config.params), seeds=level.seeds,
        higher=top.higher_is_better, margin=config.ablation_margin, train=train,
    )  # fmt: skip
    return spent, out
