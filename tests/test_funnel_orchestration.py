"""The funnel's orchestration with a stand-in evaluator (`funnel_fakes.py`): ledger, resume,
kill -9, retries, timeouts, output-directory safety and the Ray executor.

Training is replaced so these run in seconds; the real evaluator is tested in test_funnel.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import lionsimplify.cli  # noqa: F401  (registers every command)
from lionsimplify.cli import main
from lionsimplify.funnel import FunnelOptions, parse_config, run_funnel, write_outputs
from lionsimplify.funnel.ledger import LEDGER_NAME, read_ledger

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

LION = (
    "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = sign(m)\n  u = u * lr\n  return u, m\n"
)
LION_RENAMED = (
    "def train(w, g, mom, lr):\n  mom = interp(g, mom, 0.9)\n  upd = sign(mom)\n"
    "  upd = upd * lr\n  return upd, mom\n"
)
MOMENTUM = "def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = m * lr\n  return u, m\n"
RAISES = "def train(w, g, m, lr):\n  u = log(g)\n  return u, m\n"
DIVERGES = "def train(w, g, m, lr):\n  u = exp(g)\n  return u, m\n"
HANGS = "def train(w, g, m, lr):\n  u = cosh(g)\n  return u, m\n"
ABS = "def train(w, g, m, lr):\n  u = sqrt(g * g)\n  u = u * lr\n  return u, m\n"
#: A finalist with two ablations (drop-clip, drop-arcsin) that the fake scores the same.
ARCSIN = (
    "def train(w, g, m, lr):\n  g = clip(g, lr)\n  g = arcsin(g)\n  m = interp(g, m, 0.123)\n"
    "  u = m * lr\n  return u, m\n"
)

FAKE_TOML = """
evaluator = "funnel_fakes:evaluate"
hard_timeout_grace_s = 1
winners = 2
[entry]
per_run_top_k = 3
overall_top_k = 6
[[level]]
name = "A"
proxy = "fake-s"
seeds = [0, 1]
time_limit_s = 2
top_fraction = 0.7
[[level]]
name = "B"
proxy = "fake-m"
seeds = [0, 1, 2]
time_limit_s = 2
top_fraction = 0.5
"""


def _line(program: str, fitness: float, step: int, **extra: object) -> str:
    return json.dumps({"program": program, "fitness": fitness, "step": step, **extra}) + "\n"


def make_runs(root: Path, *, hang: bool = True, ablations: bool = False) -> Path:
    runs = root / "runs"
    (runs / "r1").mkdir(parents=True)
    (runs / "r2").mkdir()
    (runs / "r1" / "programs.jsonl").write_text(
        _line(LION, 0.8, 10, id="lion")
        + _line(LION_RENAMED, 0.85, 20, id="lion-renamed")
        + _line(MOMENTUM, 0.7, 30)
        + _line(RAISES, 0.9, 40)
        + _line(DIVERGES, 0.6, 50)
        + "not json\n"
    )
    if hang:
        (runs / "r2" / "hang.txt").write_text("# fitness: 0.3\n# step: 5\n" + HANGS)
    (runs / "r2" / "abs.txt").write_text("# fitness: 0.5\n# step: 9\n" + ABS)
    if ablations:
        (runs / "r2" / "arcsin.txt").write_text("# fitness: 0.9\n# step: 7\n" + ARCSIN)
    return runs


@pytest.fixture(autouse=True)
def _fakes_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spawned workers and subprocesses must import `funnel_fakes` from tests/."""
    path = os.pathsep.join([str(ROOT), str(TESTS), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    if str(TESTS) not in sys.path:
        monkeypatch.syspath_prepend(str(TESTS))


def _evals(out: Path) -> list[dict]:
    return [
        r
        for r in map(json.loads, (out / LEDGER_NAME).read_text().splitlines())
        if r["kind"] == "eval"
    ]


def _stable(record: dict) -> dict:
    """A ledger record without what legitimately differs between runs (time, worker)."""
    return {k: v for k, v in record.items() if k not in ("wall_s", "worker", "train_s")}


def _main(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the real entry point (which maps bad input to exit code 2) with `args`."""
    monkeypatch.setattr(sys, "argv", ["lionsimplify", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return int(exit_info.value.code or 0)


def _run(tmp: Path, runs: Path, out: Path, **kw: object):
    config = parse_config(FAKE_TOML, "fake.toml")
    result = run_funnel(FunnelOptions(runs, out, config, **kw))  # type: ignore[arg-type]
    return result, write_outputs(result, out)


def test_failures_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    runs = make_runs(tmp_path)
    result, data = _run(tmp_path, runs, tmp_path / "out", workers=2)
    records = _evals(tmp_path / "out")
    keys = Counter(r["key"] for r in records)
    assert set(keys.values()) == {1}, "exactly one record per evaluation"
    by_status = {r["subject"]: r for r in records if r["level"] == 1}
    statuses = Counter(r["status"] for r in by_status.values())
    assert statuses["failed"] == 1 and statuses["diverged"] == 1 and statuses["timeout"] == 1
    failed = next(r for r in by_status.values() if r["status"] == "failed")
    assert failed["attempts"] == 2 and "candidate raised" in failed["error"]
    timeout = next(r for r in by_status.values() if r["status"] == "timeout")
    assert "killed after" in timeout["error"]
    # the run went on to level B and produced finalists
    assert len(result.levels) == 2 and result.finalists
    assert data["intake"]["read"] == 8 and data["intake"]["valid"] == 7
    assert data["intake"]["unique"] == 6, "the renamed Lion merges with Lion"
    assert (tmp_path / "out" / "report.md").exists()
    assert all((tmp_path / "out" / "plots" / p).stat().st_size > 1000 for p in (
        "funnel.png", "curves.png", "fitness_vs_meta.png", "meta_overfitting.png"))  # fmt: skip
    for f in data["winner_files"]:
        assert (tmp_path / "out" / f).exists()


def test_rerun_resumes_without_redoing_work(tmp_path: Path) -> None:
    runs = make_runs(tmp_path, hang=False)
    out = tmp_path / "out"
    _, first = _run(tmp_path, runs, out)
    n = len(_evals(out))
    _, second = _run(tmp_path, runs, out)
    assert len(_evals(out)) == n, "nothing re-evaluated"
    assert first["leaderboard"] == second["leaderboard"]
    headers = [
        r
        for r in map(json.loads, (out / LEDGER_NAME).read_text().splitlines())
        if r["kind"] == "header"
    ]
    assert len(headers) == 2, "the ledger is appended to, never rewritten"


@pytest.mark.parametrize("layout", ["one-run-folder", "runs-folder"])
def test_an_out_inside_the_runs_is_not_read_as_a_run(tmp_path: Path, layout: str) -> None:
    """`lionsimplify funnel .` in a run's folder writes ./funnel-out; re-running it read that
    folder (its ledger lines, its winners) as the only run, and resuming failed."""
    runs = make_runs(tmp_path, hang=False)
    root = runs / "r1" if layout == "one-run-folder" else runs
    out = root / "funnel-out"
    _, first = _run(tmp_path, root, out)
    n = len(_evals(out))
    _, second = _run(tmp_path, root, out)
    assert second["intake"] == first["intake"] and len(_evals(out)) == n
    assert first["leaderboard"] == second["leaderboard"]


def test_a_params_value_no_candidate_reads_is_refused_before_training(tmp_path: Path) -> None:
    """`[params] beta1 = 0.9` for programs that read `β1` was silently unused."""
    from lionsimplify.lang.errors import ProgramError

    runs = make_runs(tmp_path, hang=False)
    config = parse_config(FAKE_TOML + "[params]\nbeta1 = 0.9\n", "typo.toml")
    with pytest.raises(ProgramError, match=r"\[params\] beta1: no valid candidate reads it"):
        run_funnel(FunnelOptions(runs, tmp_path / "out", config))
    assert not (tmp_path / "out").exists()


def test_a_worker_that_dies_is_retried_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "crashed"
    monkeypatch.setenv("FUNNEL_FAKE_CRASH_ONCE", str(marker))
    runs = make_runs(tmp_path, hang=False)
    _run(tmp_path, runs, tmp_path / "out")
    assert marker.exists(), "the fake worker did crash"
    retried = [r for r in _evals(tmp_path / "out") if r["level"] == 1 and r["attempts"] == 2]
    assert sorted(r["status"] for r in retried) == ["failed", "ok"]  # the raiser and the crasher


CLI = [sys.executable, "-c", "from lionsimplify.cli import main; main()"]


@pytest.mark.parametrize("phase", ["level", "ablation"])
def test_sigkill_then_rerun_matches_uninterrupted(tmp_path: Path, phase: str) -> None:
    """kill -9 mid-level, or in the finalists' ablation phase: the rerun repeats nothing."""
    runs = make_runs(tmp_path, hang=False, ablations=phase == "ablation")
    (tmp_path / "fake.toml").write_text(FAKE_TOML)
    args = ["funnel", str(runs), "--config", str(tmp_path / "fake.toml"), "--json"]
    env = {**os.environ, "FUNNEL_FAKE_DELAY": "0.3"}
    out_k, out_u = tmp_path / "killed", tmp_path / "uninterrupted"
    proc = subprocess.Popen([*CLI, *args, "--out", str(out_k)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = _evals(out_k) if (out_k / LEDGER_NAME).exists() else []
        if len([r for r in done if r["phase"] == phase]) >= (3 if phase == "level" else 1):
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, mid-level
    proc.wait()
    partial = len(_evals(out_k))
    assert partial >= 3, "killed after some evaluations were recorded"
    assert not any(r["phase"] == "ablation" for r in _evals(out_k)) or phase == "ablation"
    done = subprocess.run([*CLI, *args, "--out", str(out_k)], env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    resumed = json.loads(done.stdout)
    whole = subprocess.run([*CLI, *args, "--out", str(out_u)], env=env, capture_output=True, text=True)  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    keys = Counter(r["key"] for r in _evals(out_k))
    assert set(keys.values()) == {1}, "exactly one ledger record per evaluation"
    assert len(keys) == len(_evals(out_u)) > partial
    assert resumed["leaderboard"] == json.loads(whole.stdout)["leaderboard"]
    assert resumed["ablations"] == json.loads(whole.stdout)["ablations"]
    if phase == "ablation":
        ablated = [r for r in _evals(out_k) if r["phase"] == "ablation"]
        assert len(ablated) == 3, "drop-clip, drop-arcsin, then both together"
        (simp,) = [s for s in resumed["ablations"].values() if s["trials"]]
        assert simp["accepted"] == ["drop-clip", "drop-arcsin"]
        assert "arcsin" not in simp["program"]


def test_out_of_another_config_is_refused_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = make_runs(tmp_path, hang=False)
    out = tmp_path / "out"
    _run(tmp_path, runs, out)
    n = len(_evals(out))
    other = tmp_path / "other.toml"
    other.write_text(FAKE_TOML.replace("seeds = [0, 1, 2]", "seeds = [0, 1, 2, 3]"))
    args = ["funnel", str(runs), "--config", str(other), "--out", str(out)]
    assert _main(args, monkeypatch) == 2
    err = capsys.readouterr().err
    assert "ledger.jsonl: error: --out holds the ledger of a different config" in err
    assert len(_evals(out)) == n
    assert _main([*args, "--force", "--json"], monkeypatch) == 0
    new = _evals(out)[n:]
    assert new and all(r["level"] == 2 for r in new), "level A results are reused, B redone"
    data = json.loads((out / "result.json").read_text())
    assert data["stale_records"] == {"a level configuration no longer in use": 5}


def test_code_change_invalidates_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = make_runs(tmp_path, hang=False)
    out = tmp_path / "out"
    _run(tmp_path, runs, out)
    n = len(_evals(out))
    monkeypatch.setattr("lionsimplify.funnel.pipeline.code_version", lambda: "newcode")
    result, _ = _run(tmp_path, runs, out)
    assert len(_evals(out)) == 2 * n, "everything re-evaluated under the new code"
    assert sum(result.stale.values()) == n
    assert any("now newcode" in why for why in result.stale)


def test_foreign_directory_is_not_used_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = make_runs(tmp_path, hang=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    (tmp_path / "fake.toml").write_text(FAKE_TOML)
    args = ["funnel", str(runs), "--config", str(tmp_path / "fake.toml"), "--out", str(out)]
    assert _main(args, monkeypatch) == 2
    assert "non-empty directory without a funnel ledger" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine\n"
    assert not (out / LEDGER_NAME).exists()


def test_ledger_survives_a_torn_last_line(tmp_path: Path) -> None:
    runs = make_runs(tmp_path, hang=False)
    out = tmp_path / "out"
    _run(tmp_path, runs, out)
    lines = (out / LEDGER_NAME).read_text().splitlines(keepends=True)
    torn = "".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]  # a kill mid-write
    (out / LEDGER_NAME).write_text(torn)
    result, _ = _run(tmp_path, runs, out)
    assert result.torn_lines == 1
    state = read_ledger(out / LEDGER_NAME)
    assert state.torn_lines == [len(lines)], "only the torn line is lost, the rest is intact"
    assert len(state.records) == len(lines) - 2 + 1  # header excluded; the torn one redone


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # ray.init starts its daemons
def test_ray_executor_gives_the_same_ledger_as_local(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    runs = make_runs(tmp_path, hang=False)
    _run(tmp_path, runs, tmp_path / "local", workers=2)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        _run(tmp_path, runs, tmp_path / "ray", executor="ray")
    finally:
        ray.shutdown()
    local = sorted((_stable(r) for r in _evals(tmp_path / "local")), key=lambda r: r["key"])
    remote = sorted((_stable(r) for r in _evals(tmp_path / "ray")), key=lambda r: r["key"])
    assert local == remote and len(local) > 5


def test_invalid_candidates_are_listed_with_their_source_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The printed summary lists each invalid candidate as dedup, diff and explain list a
    skipped program (source line and caret); an error found in a JSON line's program, at intake
    or when it enters, is at the file's line (never `path:line:line:col`); JSON keeps one line.
    A valid candidate that cannot enter (no value for a hyperparameter) is listed apart, so the
    counts add up: 4 read, 1 invalid, 3 valid, 3 unique, 2 entering, 1 cannot enter."""
    runs = tmp_path / "runs"
    (runs / "r1").mkdir(parents=True)
    sgn = "def train(w, g, m, lr):\n  u = sgn(g)\n  return u, m\n"
    kappa = "def train(w, g, m, lr):\n  u = g * κ\n  u = u * lr\n  return u, m\n"
    (runs / "r1" / "programs.jsonl").write_text(
        _line(LION, 0.9, 1) + _line(sgn, 0.7, 2) + _line(kappa, 0.95, 3) + _line(MOMENTUM, 0.8, 4)
    )
    (tmp_path / "fake.toml").write_text(FAKE_TOML)
    args = ["funnel", str(runs), "--config", str(tmp_path / "fake.toml")]
    assert _main([*args, "--out", str(tmp_path / "out")], monkeypatch) == 0
    captured = capsys.readouterr()
    err = captured.err
    assert "intake: 4 read, 3 valid, 3 unique, 2 entering;" in captured.out
    jsonl = runs / "r1" / "programs.jsonl"
    listed = err[err.index("invalid: ") :].splitlines()
    assert listed == [
        f"invalid: {jsonl}:2: error: in `program`, line 2, col 7: unknown function `sgn`  [E201]",
        "  |   u = sgn(g)",
        "  |       ^",
        "  = help: did you mean `sign`?",
        f"cannot enter: {jsonl}:3: error: in `program`, line 2, col 11: hyperparameter `κ` "
        "has no value  [E205]",
        "  |   u = g * κ",
        "  |           ^",
        "  = help: give each a value in the config's `[params]` (`κ = VALUE`), or in the "
        "signature: `def train(..., κ=VALUE):`",
    ]
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    assert [i["reason"] for i in data["intake"]["invalid"]] == [listed[0][9:]]
    assert [i["reason"] for i in data["intake"]["rejected"]] == [listed[4][14:]]
    assert (data["intake"]["valid"], data["intake"]["unique"], data["intake"]["entering"]) == (
        3,
        3,
        2,
    )
    # the report counts an error by what it is, not where (a JSON line's place included)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Invalid candidates by reason:\n\n- 1 × unknown function `sgn`  [E201]\n" in report
    assert "level 1, by reason:\n\n- 1 × hyperparameter `κ` has no value  [E205]\n" in report
