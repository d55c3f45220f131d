"""Funnel intake, config and selection: pure functions, no training."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import pytest

from lionsimplify.funnel import DEFAULT_TOML, intake, load_config, parse_config
from lionsimplify.funnel.config import Level
from lionsimplify.funnel.ledger import Ledger, read_ledger
from lionsimplify.funnel.select import entrants, promote
from lionsimplify.lang.errors import ProgramError

SIGN = (
    "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = sign(m)\n  u = u * lr\n  return u, m\n"
)
SIGN_RENAMED = (
    "def train(weight, grad, mom, lr):\n  mom = interp(grad, mom, 0.9)\n"
    "  upd = sign(mom)\n  upd = upd * lr\n  return upd, mom\n"
)
SIGN_DEAD = (
    "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  junk = cosh(g)\n  u = sign(m)\n"
    "  u = u * lr\n  return u, m\n"
)
PLAIN = "def train(w, g, m, lr):\n  u = g * lr\n  return u, m\n"


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_runs_formats_merge_and_invalid_reasons(tmp_path: Path) -> None:
    _jsonl(
        tmp_path / "a" / "programs.jsonl",
        [
            {"program": SIGN, "fitness": 0.5, "step": 1, "id": "s1", "origin": "kept"},
            {"program": SIGN_RENAMED, "fitness": 0.9, "step": 2},
            {"program": SIGN_DEAD, "fitness": 0.7, "step": 3},
            {"program": "def train(w, g, m, lr):\n  u = sgn(g)\n  return u, m\n", "fitness": 1},
            {"program": PLAIN},
            {"program": PLAIN, "fitness": float("nan")},
            {"program": PLAIN, "fitness": "0.5"},  # a JSON string is not a number
        ],
    )
    (tmp_path / "a" / "programs.jsonl").open("a").write("{not json\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "plain.txt").write_text("# fitness: 2.5\n# step: 7\n" + PLAIN)
    (tmp_path / "b" / "nofit.txt").write_text(PLAIN)
    (tmp_path / "b" / "run.toml").write_text("higher_is_better = false\nname = 'bee'\n")
    gc.collect()
    result = intake(tmp_path)
    # the cyclic collector is paused while intake runs: sound only if it makes no cycles
    assert gc.collect() == 0 and gc.isenabled()
    assert result.runs == {"a": True, "bee": False}
    assert (result.read, result.valid, len(result.candidates)) == (10, 4, 2)
    reasons = sorted(i.reason for i in result.invalid)
    runs_file = tmp_path / "a" / "programs.jsonl"
    # the error in the program is at the file's line, its place inside `program` in the message
    want = f"{runs_file}:4: error: in `program`, line 2, col 7: unknown function `sgn`  [E201]"
    assert want in reasons
    assert "missing `fitness`" in reasons
    assert any("must be finite" in r for r in reasons)
    assert "`fitness` must be a number, got '0.5'" in reasons
    assert any(r.startswith(f"{runs_file}:8:2: error: invalid JSON") for r in reasons)
    sign = next(c for c in result.candidates if len(c.entries) == 3)
    assert sign.best.fitness == 0.9, "the best search fitness is kept"
    assert {e.id for e in sign.entries} == {"s1", "2", "3"}, "every source id is kept"
    assert sign.entries[0].fields == {"origin": "kept"}, "extra fields are kept"
    plain = next(c for c in result.candidates if c is not sign)
    assert plain.best.step == 7.0 and plain.score(plain.best) == -2.5, "lower is better in bee"
    stats = result.to_json()
    assert stats["duplicate_rate"] == pytest.approx(2 / 4)
    assert stats["redundant_statement_rate"] > 0


def test_missing_runs_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="runs directory not found"):
        intake(tmp_path / "nope")


def test_default_config_is_documented_and_valid() -> None:
    config = load_config(None)
    assert config == parse_config(DEFAULT_TOML, "<default config>")
    assert len(config.levels) >= 2 and config.winners >= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[level]]\nproxy = 'convex-s'\nrule = 'best'\n", "level[1].rule: expected one of"),
        ("[[level]]\nproxy = 'convex-s'\nseeds = []\n", "level[1].seeds: expected a non-empty"),
        ("[[level]]\nproxy = 'convex-s'\ncolour = 1\n", "level[1].colour: unknown key"),
        ("[[level]]\nproxy = 'convex-s'\ntop_fraction = 2\n", "must be between 0 and 1"),
        ("winners = 3\n", "level: at least one [[level]]"),
        (
            "[entry]\nper_run_top_k = 0\noverall_top_k = 0\n[[level]]\nproxy = 'convex-s'\n",
            "entry.overall_top_k: with per_run_top_k = 0 no candidate would enter",
        ),
        ("[[level]\n", "invalid TOML"),
    ],
)
def test_config_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ProgramError, match=message.replace("[", r"\[")) as info:
        parse_config(text, "f.toml")
    assert str(info.value).startswith("f.toml:")


def test_eval_hash_ignores_the_promotion_rule() -> None:
    a = parse_config("[[level]]\nproxy = 'convex-s'\nmargin = 0.1\n")
    b = parse_config("[[level]]\nproxy = 'convex-s'\nmargin = 0.5\n")
    c = parse_config("[[level]]\nproxy = 'convex-s'\nseeds = [0, 1]\n")
    assert a.config_hash() != b.config_hash()
    assert a.eval_hash(a.levels[0]) == b.eval_hash(b.levels[0]) != c.eval_hash(c.levels[0])


def test_entrants_keep_early_and_late_programs_of_a_run(tmp_path: Path) -> None:
    rows = []
    for i in range(8):
        body = f"def train(w, g, m, lr):\n  u = g * {i + 1}.5\n  u = u * lr\n  return u, m\n"
        rows.append({"program": body, "fitness": float(i), "step": i * 10})
    _jsonl(tmp_path / "r" / "programs.jsonl", rows)
    cands = intake(tmp_path).candidates
    cfg = parse_config(
        "[entry]\nper_run_top_k = 1\nstep_buckets = 2\noverall_top_k = 0\n"
        "[[level]]\nproxy = 'convex-s'\n"
    )
    chosen = entrants(cands, cfg.entry)
    assert sorted(c.best.step for c in chosen) == [30.0, 70.0], "best of each half of the run"


def _rec(metric: float | None, sd: float = 0.0, status: str = "ok", seeds: int = 3) -> dict:
    per_seed = [{"seed": s, "multiplier": 1.0, "metric": metric} for s in range(seeds)]
    return {"status": status, "metric": metric, "metric_sd": sd, "per_seed": per_seed}


def _level(rule: str, margin: float = 0.0, top: float = 0.0, spread: float = 1.0) -> Level:
    return Level("A", "convex-s", (0, 1, 2), (1.0,), 10.0, rule, margin, spread, top)  # type: ignore[arg-type]


def test_promotion_by_margin_counts_the_seed_spread() -> None:
    base = _rec(0.50, sd=0.01)
    results = {"clear": _rec(0.60, sd=0.01), "noisy": _rec(0.52, sd=0.05), "bad": _rec(0.4)}
    verdicts = {v.fingerprint: v for v in promote(_level("margin"), results, base, True)}
    assert verdicts["clear"].promoted and not verdicts["noisy"].promoted
    assert not verdicts["bad"].promoted
    assert verdicts["noisy"].gain == pytest.approx(0.02)
    lower = {v.fingerprint: v for v in promote(_level("margin"), results, base, False)}
    assert lower["bad"].promoted and not lower["clear"].promoted, "direction is respected"


def test_promotion_by_top_fraction_and_failures() -> None:
    results = {
        "a": _rec(0.3),
        "b": _rec(0.2),
        "c": _rec(0.1),
        "d": _rec(None, status="diverged"),
    }
    verdicts = promote(_level("top", top=0.5), results, None, True)
    assert [v.fingerprint for v in verdicts] == ["a", "b", "c", "d"]
    assert [v.promoted for v in verdicts] == [True, True, False, False]
    both = promote(_level("margin-and-top", top=1.0), results, _rec(0.15), True)
    assert [v.fingerprint for v in both if v.promoted] == ["a", "b"]


def test_ledger_append_is_one_line_each_and_locked(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    with Ledger(path) as ledger:
        ledger.append({"kind": "eval", "key": "k1", "metric": float("nan")})
        with pytest.raises(ProgramError, match="another funnel"), Ledger(path):
            pass
        ledger.append({"kind": "eval", "key": "k2", "metric": 1.0})
    state = read_ledger(path)
    assert list(state.records) == ["k1", "k2"]
    assert state.records["k1"]["metric"] is None, "NaN is written as null"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["funnel", "/nonexistent/runs"], "/nonexistent/runs: error: runs directory not found"),
        (
            ["funnel", ".", "--config", "/nonexistent.toml"],
            "/nonexistent.toml: error: no such file",
        ),
        (["funnel", ".", "--executor", "slurm"], "'slurm' is not one of 'local', 'ray'"),
        (["funnel", ".", "--workers", "0"], "--workers"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lionsimplify.cli import main

    monkeypatch.setattr(sys, "argv", ["lionsimplify", *args, "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists(), "nothing is written on bad input"


@pytest.mark.parametrize(
    ("runs", "message", "help"),
    [
        (
            {
                "r1/programs.jsonl": '{"program": "def train(w, g, lr):\\n  u = foo(g)", "fitness": 1}\n'
            },
            "error: no candidate can enter the funnel (1 read, 1 invalid)  [E401]",
            "programs.jsonl:1: error: in `program`, line 2, col 7: unknown function `foo`",
        ),
        (
            {"a/p.txt": "# fitness: 1\ndef train(w, g, lr):\n  return sgn(g)\n", "b/q.txt": "x"},
            "error: no candidate can enter the funnel (2 read, 2 invalid)  [E401]",
            "p.txt:3:10: error: unknown function `sgn`",
        ),
        (
            {"r1/p.txt": "# fitness: 1\ndef train(w, g, lr):\n  u = g * κ\n  return u\n"},
            "error: no candidate can enter the funnel (1 read, 0 invalid, 1 cannot enter)  [E401]",
            "`κ` has no value  [E205]; give their hyperparameters values in the config's `[params]`",
        ),
        ({}, "error: no candidates found  [E401]", "a run is a folder holding programs.jsonl"),
        ({"r1/notes.md": "hi"}, "error: no candidates found  [E401]", "README.md"),
    ],
)
def test_funnel_without_a_valid_candidate_is_bad_input(
    runs: dict[str, str], message: str, help: str, tmp_path: Path, capsys
) -> None:
    """Nothing to select is exit 2 with one line that says why, before anything is written
    (it was an empty leaderboard and exit 0)."""
    from cli_runner import run_cli

    root = tmp_path / "runs"
    root.mkdir()
    for name, text in runs.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "funnel", str(root), "--out", str(out), "--json")
    assert code == 2 and stdout == "" and "Traceback" not in err
    *listed, first, helpline = err.splitlines()
    assert first == f"{root}: {message}"
    # each reason is listed first, as the summary of a run lists them (source line and caret)
    reasons = [ln for ln in listed if ln.startswith(("invalid: ", "cannot enter: "))]
    assert len(reasons) == (0 if "found" in message else int(message.split("(")[1].split()[0]))
    assert all(ln.startswith("  ") for ln in listed if ln not in reasons)
    assert helpline.startswith("  = help: ") and help in helpline
    assert not out.exists(), "nothing is written on bad input"
    if "cannot enter" in message:  # valid programs: the help says what they lack
        assert "lionsimplify check" not in helpline
    elif "invalid" in message:  # the command the help names shows each error with its line
        assert f"`lionsimplify check {root}` shows" in helpline
        code, _, err = run_cli(capsys, "check", str(root))
        assert code == 2 and help in err and "\n  | " in err  # the source line and caret


def test_parallel_intake_gives_what_one_process_gives(tmp_path: Path) -> None:
    """With the threshold lowered, worker processes fingerprint; the result is unchanged."""
    import random

    from lionsimplify.lang.mutate import adamw, mutate
    from lionsimplify.lang.printer import print_program

    rng = random.Random(5)
    texts = [print_program(mutate(adamw(), rng, mutations=2)) for _ in range(40)]
    texts += [SIGN, SIGN_RENAMED, SIGN_DEAD, "def train(w, g, m, lr):\n  u = sgn(g)\n"]
    rows = [{"program": rng.choice(texts), "fitness": rng.random(), "step": i} for i in range(120)]
    rows.append({"program": SIGN})  # no fitness: not fingerprinted, as in one process
    _jsonl(tmp_path / "r1" / "programs.jsonl", rows[::2])
    _jsonl(tmp_path / "r2" / "programs.jsonl", rows[1::2])
    alone = intake(tmp_path, workers=1)
    spread = intake(tmp_path, workers=2, parallel_min=10)
    assert spread.to_json() == alone.to_json()
    assert [(c.fingerprint, c.program, c.text, sorted(c.structural), c.entries)
            for c in spread.candidates] == [
        (c.fingerprint, c.program, c.text, sorted(c.structural), c.entries)
        for c in alone.candidates
    ]  # fmt: skip
    assert len(alone.candidates) > 10 and alone.invalid
