"""What a funnel run leaves behind: the leaderboard, `report.md` with its plots, the winners.

Everything here is computed from a `FunnelResult` (which is computed from the ledger), so a
resumed run and an uninterrupted one write the same leaderboard. Output files are the funnel's
own, with fixed names inside `--out`; nothing else in the directory is touched.

Plots (PNG, matplotlib's non-interactive backend):
* `funnel.png`: candidates at each stage (read, valid, unique, entering, then each level);
* `curves.png`: training loss of the finalists against AdamW and Lion at the last level;
* `fitness_vs_meta.png`: search fitness against the score on the first funnel level;
* `meta_overfitting.png`: per run, that score against the search step (the Lion paper's
  meta-overfitting picture: search fitness keeps rising while the held-out score falls).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from lionsimplify.emit import jax_module_source, module_name
from lionsimplify.explain import explain_reduction
from lionsimplify.funnel.pipeline import BASELINES, FunnelResult
from lionsimplify.funnel.winners import tuned
from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.files import write_text
from lionsimplify.lang.printer import print_program

PLOTS = ("funnel.png", "curves.png", "fitness_vs_meta.png", "meta_overfitting.png")


def _fmt(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def leaderboard(result: FunnelResult) -> list[dict[str, Any]]:
    """One row per entrant, best first: deepest level, promoted there, then its metric."""
    rows = []
    finalists = set(result.finalists)
    for cand in result.entrants:
        fp = cand.fingerprint
        levels = []
        for outcome in result.levels:
            rec = outcome.records.get(fp)
            if rec is None:
                break
            verdict = next(v for v in outcome.verdicts if v.fingerprint == fp)
            levels.append(
                {
                    "level": outcome.level.name,
                    "status": rec.get("status"),
                    "metric": rec.get("metric"),
                    "metric_sd": rec.get("metric_sd"),
                    "adamw": outcome.baselines["adamw"].get("metric"),
                    "gain_vs_adamw": verdict.gain,
                    "promoted": verdict.promoted,
                    "error": rec.get("error"),
                }
            )
        last = levels[-1] if levels else None
        if fp in finalists:
            outcome_text = "finalist"
        elif last is None:
            outcome_text = "not evaluated"
        elif last["status"] != "ok":
            outcome_text = f"{last['status']} at {last['level']}"
        elif last["promoted"]:
            outcome_text = f"passed {last['level']}"
        else:
            outcome_text = f"stopped at {last['level']}"
        best = cand.best
        rows.append(
            {
                "fingerprint": fp,
                "runs": cand.runs,
                "sources": sorted(f"{e.run}:{e.id}" for e in cand.entries),
                "search_fitness": best.fitness,
                "search_run": best.run,
                "levels": levels,
                "outcome": outcome_text,
                "finalist": fp in finalists,
            }
        )

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        levels = row["levels"]
        depth = len(levels)
        last = levels[-1] if levels else {}
        ok = last.get("status") == "ok" and last.get("metric") is not None
        higher = result.levels[depth - 1].higher_is_better if depth else True
        score = (last["metric"] if higher else -last["metric"]) if ok else 0.0
        return (not row["finalist"], -depth, not last.get("promoted", False), not ok, -score,
                row["fingerprint"])  # fmt: skip

    rows.sort(key=key)
    for n, row in enumerate(rows, start=1):
        row["rank"] = n
    return rows


def result_json(result: FunnelResult) -> dict[str, Any]:
    """The machine-readable result (`--json`, and `OUT/result.json`)."""
    return {
        "config_hash": result.config.config_hash(),
        "code_version": result.code_version,
        "semantics": result.config.semantics,
        "intake": {**result.intake.to_json(), "entering": len(result.entrants)},
        "levels": [
            {
                "name": o.level.name,
                "proxy": o.level.proxy,
                "higher_is_better": o.higher_is_better,
                "candidates": len(o.records),
                "promoted": len(o.promoted),
                "baselines": {
                    b: {
                        "metric": o.baselines[b].get("metric"),
                        "status": o.baselines[b].get("status"),
                    }
                    for b in BASELINES
                },
            }
            for o in result.levels
        ],
        "leaderboard": leaderboard(result),
        "finalists": list(result.finalists),
        "ablations": {fp: s.to_json() for fp, s in result.simplifications.items()},
        "stale_records": dict(sorted(result.stale.items())),
        "torn_ledger_lines": result.torn_lines,
    }


# ---------------------------------------------------------------------------------------------
# Plots.


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_ticks() -> Any:
    """Tick only at whole numbers (steps and counts are integers)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _metric_words(o: Any) -> str:
    """`accuracy (higher is better)`: the level's metric, from its records when they name it."""
    name = next(
        (r["metric_name"] for r in [*o.baselines.values(), *o.records.values()]
         if r.get("metric_name")),
        "score",
    )  # fmt: skip
    return f"{name} ({'higher' if o.higher_is_better else 'lower'} is better)"


def _plot_funnel(result: FunnelResult, path: Path) -> None:
    plt = _plt()
    labels = ["read", "valid", "unique", "entered"]
    counts = [result.intake.read, result.intake.valid, len(result.intake.candidates)]
    counts.append(len(result.entrants))
    for o in result.levels:
        labels.append(f"passed {o.level.name}")
        counts.append(len(o.promoted))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    bars = ax.bar(labels, counts, color="#4c72b0")
    ax.bar_label(bars, padding=2)
    top = max(counts, default=1) or 1
    if top > 200:
        ax.set_yscale("log")
        ax.set_ylim(0.8, top * 3)  # room above the tallest bar for its label
    else:
        ax.set_ylim(0, top * 1.15)
        ax.yaxis.set_major_locator(_integer_ticks())
    ax.set_ylabel("programs")
    ax.set_title("programs left at each stage of the funnel")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_curves(result: FunnelResult, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    if result.levels:
        o = result.levels[-1]
        series = [(f"{b} (baseline)", o.baselines[b], "--") for b in BASELINES]
        series += [(fp, o.records[fp], "-") for fp in result.finalists if fp in o.records]
        for label, rec, style in series:
            curve = rec.get("curve") or {}
            pts = [
                (s, v)
                for s, v in zip(curve.get("steps", []), curve.get("values", []), strict=False)
                if v is not None
            ]
            if pts:
                ax.plot(*zip(*pts, strict=True), style, label=label)
        ax.set_title(f"finalists at level {o.level.name} ({o.level.proxy})")
        ax.set_yscale("log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (mean over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _first_level_scores(result: FunnelResult) -> dict[str, float]:
    if not result.levels:
        return {}
    recs = result.levels[0].records
    return {fp: r["metric"] for fp, r in recs.items() if r.get("status") == "ok"}


def _plot_fitness_vs_meta(result: FunnelResult, path: Path) -> None:
    plt = _plt()
    scores = _first_level_scores(result)
    fig, ax = plt.subplots(figsize=(6, 4))
    by_run: dict[str, list[tuple[float, float]]] = {}
    for cand in result.entrants:
        if cand.fingerprint in scores:
            best = cand.best
            by_run.setdefault(best.run, []).append((best.fitness, scores[cand.fingerprint]))
    for run, pts in sorted(by_run.items()):
        ax.scatter(*zip(*pts, strict=True), label=run, s=18)
    if result.levels:
        o = result.levels[0]
        adamw = o.baselines["adamw"].get("metric")
        if adamw is not None:
            ax.axhline(adamw, ls="--", color="gray", label="AdamW (tuned)")
        ax.set_ylabel(f"level {o.level.name} ({o.level.proxy}): {_metric_words(o)}")
        ax.set_title("search fitness against meta-validation")
    ax.set_xlabel("search fitness (as the run reports it)")
    ax.margins(0.08)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_meta_overfitting(result: FunnelResult, path: Path) -> None:
    plt = _plt()
    scores = _first_level_scores(result)
    points: dict[str, list[tuple[float, float, float]]] = {}
    for c in result.entrants:
        for e in c.entries:
            if e.step is not None and c.fingerprint in scores:
                points.setdefault(e.run, []).append((e.step, scores[c.fingerprint], e.fitness))
    runs = sorted(points)
    fig, axes = plt.subplots(1, max(1, len(runs)), figsize=(3.6 * max(1, len(runs)), 3.2))
    axes = list(axes) if len(runs) > 1 else [axes]
    for ax, run in zip(axes, runs, strict=False):
        steps, meta, fit = zip(*sorted(points[run]), strict=True)
        twin = ax.twinx()
        # fitness as open squares behind, scores as filled dots in front: both stay visible
        # where they coincide
        twin.plot(steps, fit, "s:", color="#4c72b0", mfc="none", ms=8, label="search fitness")
        ax.plot(steps, meta, "o-", color="#c44e52", label="meta-validation", zorder=3)
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        better = "higher" if result.intake.runs[run] else "lower"
        twin.set_ylabel(f"search fitness ({better} is better)", fontsize=8, color="#4c72b0")
        twin.tick_params(labelsize=8)
        ax.set_title(f"run {run}", fontsize=9)
        ax.set_xlabel("search step")
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.margins(x=0.15, y=0.15)
        twin.margins(y=0.15)
        if len(set(steps)) == 1:  # one step: whole-number ticks around it
            ax.set_xlim(steps[0] - 1, steps[0] + 1)
        ax.tick_params(labelsize=8)
        if result.levels:
            o = result.levels[0]
            ax.set_ylabel(f"level {o.level.name}: {_metric_words(o)}", fontsize=8, color="#c44e52")
    if not runs:
        axes[0].set_title("no run records search steps")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Files.


def winner_program(result: FunnelResult, fp: str) -> Any:
    """The reduction a finalist's winner is written from: after its ablation phase, if any."""
    simp = result.simplifications.get(fp)
    return simp.final if simp is not None else result.reductions[fp]


def _winner_files(
    result: FunnelResult, n: int, fp: str, what: list[str] | None = None
) -> tuple[str, str | None, str | None]:
    """The winner's `.txt` (Lion-style program, values, scores, derivation, and what it is:
    `what`, from `explain`) and `.py` (the emitted jax/optax module, defaulting to its tuned
    learning rate), or None and the reason when the module cannot be emitted."""
    red = winner_program(result, fp)
    simp = result.simplifications.get(fp)
    cand = result.candidate(fp)
    top = result.levels[-1]
    record = simp.record if simp is not None else top.records.get(fp, {})
    tuning = tuned(red.program, record, params=dict(result.config.params),
                   semantics=result.config.semantics, proxy=top.level.proxy)  # fmt: skip
    lifted = tuning.lifted
    lines = [f"# winner {n:02d}: fingerprint {fp} ({result.config.semantics} semantics)"]
    for o in result.levels:
        rec = o.records.get(fp, {})
        lines.append(
            f"# level {o.level.name} ({o.level.proxy}): {_fmt(rec.get('metric'))} "
            f"± {_fmt(rec.get('metric_sd'), 2)} vs AdamW {_fmt(o.baselines['adamw'].get('metric'))}"
            f" (lr multiplier {_fmt(rec.get('best_multiplier'))}, "
            f"wd factor {_fmt(rec.get('best_wd_multiplier'))})"
        )
    if simp is not None and simp.accepted:
        lines.append(f"# after ablations ({top.level.proxy}): {_fmt(record.get('metric'))} "
                     f"± {_fmt(record.get('metric_sd'), 2)}")  # fmt: skip
    lines += [
        f"# source: {e.run}:{e.id}"
        + (f" step {e.step:g}" if e.step is not None else "")
        + f" fitness {e.fitness:g}"
        for e in cand.entries
    ]
    lines.append(lifted.text().rstrip("\n"))
    lines += lifted.params_text().splitlines()
    if tuning.learning_rate is not None:
        lines.append(f"# learning_rate = {tuning.learning_rate:.4g}  # tuned peak, effective")
    lines.append(f"# derivation ({red.label}):")
    stats = red.stats()
    lines.append(f"#   {stats['statements_in']} -> {stats['statements_out']} statements, "
                 f"{stats['state_in']} -> {stats['state_out']} state variables")  # fmt: skip
    for p in red.passes:
        lines.append(f"#   {p.name} [{p.label}, {p.status}]")
        lines += [f"#     {c}" for c in p.changes]
    if simp is None:
        for p in red.ablations:
            lines.append(f"#   proposed ablation {p.name} [{p.label}]: " + "; ".join(p.changes))
    else:
        lines.append(f"# ablations trained on {top.level.proxy}, seed-paired "
                     f"(margin {result.config.ablation_margin:g} of the score):")  # fmt: skip
        lines += [f"#   {row}" for row in _ablation_rows(simp)]
        lines += [f"#   {note}" for note in simp.notes]
    lines += [f"# {line}" for line in what or []]
    try:
        module = jax_module_source(
            lifted, module_name(f"winner_{n:02d}"), semantics=result.config.semantics,
            source=cand.best.where, learning_rate=tuning.learning_rate, notes=tuning.notes,
        )  # fmt: skip
        compile(module, f"winner_{n:02d}.py", "exec")  # a syntax check only: nothing is run
        return "\n".join(lines) + "\n", module, None
    except (ValueError, SyntaxError) as exc:
        return "\n".join(lines) + "\n", None, str(exc)


def _ablation_rows(simp: Any) -> list[str]:
    rows = []
    for t in simp.trials:
        v = t.verdict
        word = "accepted" if v is not None and v.accepted else "rejected"
        metric = (t.record or {}).get("metric")
        reason = v.reason if v is not None else "not evaluated"
        rows.append(f"{t.name}: {word}; score {_fmt(metric)}; {reason}")
    if not simp.trials:
        rows.append("none proposed")
    rows.append("applied: " + (", ".join(simp.accepted) or "none"))
    return rows


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _ablation_table(result: FunnelResult, simp: Any) -> list[str]:
    """The finalist's ablation phase: each variant's score, paired difference and verdict."""
    top = result.levels[-1].level
    lines = [f"Ablations trained on {top.proxy} (seeds {', '.join(map(str, top.seeds))}, paired "
             f"with the finalist's own {_fmt(simp.reference.get('metric'))}; accepted when the "
             f"loss is at most {result.config.ablation_margin:g} × the score):", ""]  # fmt: skip
    rows = []
    for t in simp.trials:
        v = t.verdict
        rec = t.record or {}
        rows.append([" + ".join(f"`{a}`" for a in t.ablations), str(rec.get("status")),
                     _fmt(rec.get("metric")), _fmt(v.delta if v else None, 3),
                     _fmt(v.tolerance if v else None, 3),
                     "accepted" if v is not None and v.accepted else "rejected"])  # fmt: skip
    if not rows:
        return ["No ablation proposed: the exact reduction is the winner.", ""]
    lines += _md_table(["ablation", "status", "score", "paired Δ", "tolerance", "verdict"], rows)
    kept = ", ".join(f"`{a}`" for a in simp.accepted) or "none"
    return [*lines, "", f"Applied: {kept}.", *simp.notes, ""]


#: Where an error is, in a reason: `path:line:col: error: ` and, for a JSON line's program,
#: `in `program`, line 2, col 7: ` (`Source.program_error`).
_PLACE = re.compile(r"^(?:.*?: error: )?(?:in `program`, line \d+(?:, col \d+)?: )?")


def _what(reason: str) -> str:
    """A reason without its place, so that the report counts the same error once."""
    return _PLACE.sub("", reason, count=1)


def _report_md(result: FunnelResult, data: dict[str, Any], winners: list[str]) -> str:
    intake = data["intake"]
    lines = [
        "# Funnel report",
        "",
        f"Semantics: `{result.config.semantics}`; config `{result.config.source}` "
        f"(hash {data['config_hash']}); code version {result.code_version}.",
        "",
        "## Intake",
        "",
        f"{intake['read']} read → {intake['valid']} valid → {intake['unique']} unique → "
        f"{intake['entering']} entering level 1.",
        f"Redundant statements: {intake['redundant_statement_rate']:.1%} "
        f"(Lion paper: ~70%); duplicate hits: {intake['duplicate_rate']:.1%} (Lion paper: ~89%).",
        "",
    ]
    for key, title in (
        ("invalid", "Invalid candidates by reason:"),
        ("rejected", "Candidates that could not enter level 1, by reason:"),
    ):
        reasons = Counter(_what(i["reason"]) for i in intake[key])
        if reasons:
            lines += [title, ""]
            lines += [f"- {n} × {why}" for why, n in sorted(reasons.items(), key=lambda t: -t[1])]
            lines.append("")
    if result.stale:
        lines += ["Ledger records not reused:", ""]
        lines += [f"- {n} from {why}" for why, n in sorted(result.stale.items())]
        lines.append("")
    if result.torn_lines:
        lines += [
            f"Ledger: {result.torn_lines} torn or malformed lines skipped; their evaluations "
            "were run again.",
            "",
        ]
    lines += ["## Levels", ""]
    rows = []
    for lv in data["levels"]:
        base = lv["baselines"]
        rows.append(
            [
                lv["name"],
                lv["proxy"],
                "higher" if lv["higher_is_better"] else "lower",
                str(lv["candidates"]),
                str(lv["promoted"]),
                _fmt(base["adamw"]["metric"]),
                _fmt(base["lion"]["metric"]),
            ]  # fmt: skip
        )
    lines += _md_table(
        ["level", "proxy", "better", "candidates", "promoted", "AdamW", "Lion"], rows
    )
    lines += ["", "## Leaderboard", ""]
    level_names = [lv["name"] for lv in data["levels"]]
    rows = []
    for row in data["leaderboard"]:
        cells = [str(row["rank"]), f"`{row['fingerprint']}`", ", ".join(row["runs"]),
                 _fmt(row["search_fitness"])]  # fmt: skip
        by_level = {lv["level"]: lv for lv in row["levels"]}
        for name in level_names:
            lv = by_level.get(name)
            if lv is None:
                cells.append("")
            elif lv["status"] != "ok":
                cells.append(lv["status"])
            else:
                cells.append(f"{_fmt(lv['metric'])} ({'+' if (lv['gain_vs_adamw'] or 0) >= 0 else ''}"
                             f"{_fmt(lv['gain_vs_adamw'], 2)})")  # fmt: skip
        cells.append(row["outcome"])
        rows.append(cells)
    lines += _md_table(
        ["rank", "fingerprint", "runs", "search fitness", *level_names, "outcome"], rows
    )
    lines += ["", "Level cells: metric (gain over tuned AdamW, in the better direction).", ""]
    lines += ["## Winners", ""]
    if not winners:
        lines += ["No candidate passed every level.", ""]
    for n, fp in enumerate(winners, start=1):
        lines += [f"### {n:02d} `{fp}`", "", "```python"]
        lines += [print_program(winner_program(result, fp).program).rstrip("\n"), "```", ""]
        simp = result.simplifications.get(fp)
        if simp is not None:
            lines += _ablation_table(result, simp)
        py = f", `winners/{n:02d}-{fp}.py`" if fp not in data["winners_not_emitted"] else ""
        lines += [f"Files: `winners/{n:02d}-{fp}.txt`{py}.", ""]
        what = data.get("explain", {}).get(fp)
        if what:
            lines += [f"- {line.strip()}" for line in what["lines"]] + [""]
    lines += ["## Plots", ""]
    lines += [f"![{name[:-4]}](plots/{name})" for name in PLOTS]
    return "\n".join(lines) + "\n"


def write_outputs(result: FunnelResult, out: Path) -> dict[str, Any]:
    """Write `result.json`, `report.md`, `plots/*.png` and `winners/*`; return the JSON.

    The funnel owns `--out` (checked when it started), so its report files are replaced, each
    atomically; a write that fails (a full disk) is a one-line error, the ledger stays intact
    and re-running the command writes the report again without re-evaluating."""
    try:
        return _write_outputs(result, out)
    except OSError as exc:
        where = exc.filename or str(out)
        raise ProgramError(
            f"cannot write the funnel report: {exc.strerror}",
            Location.file(str(where)),
            help="every evaluation is in the ledger: free space and run the command again",
            code="E404",
        ) from None


def _write_outputs(result: FunnelResult, out: Path) -> dict[str, Any]:
    data = result_json(result)
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    _plot_funnel(result, plots / "funnel.png")
    _plot_curves(result, plots / "curves.png")
    _plot_fitness_vs_meta(result, plots / "fitness_vs_meta.png")
    _plot_meta_overfitting(result, plots / "meta_overfitting.png")
    winners_dir = out / "winners"
    winners_dir.mkdir(exist_ok=True)
    files = []
    not_emitted = {}
    explained = {fp: explain_reduction(winner_program(result, fp)) for fp in result.finalists}
    data["explain"] = {fp: {**e.to_json(), "lines": e.lines()} for fp, e in explained.items()}
    for n, fp in enumerate(result.finalists, start=1):
        stem = winners_dir / f"{n:02d}-{fp}"
        text, module, why = _winner_files(result, n, fp, explained[fp].lines())
        write_text(stem.with_suffix(".txt"), text, force=True)
        files.append(f"winners/{stem.name}.txt")
        if module is None:
            not_emitted[fp] = why
            continue
        write_text(stem.with_suffix(".py"), module, force=True)
        files.append(f"winners/{stem.name}.py")
    data["winner_files"] = files
    data["winners_not_emitted"] = not_emitted
    write_text(out / "report.md", _report_md(result, data, result.finalists), force=True)
    write_text(
        out / "result.json",
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        force=True,
    )
    return data
