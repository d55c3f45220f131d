"""A funnel on a real Ray cluster, started the way users start one, losing a node mid-level.

`ray start --head` runs in its own process (session), a second node joins it with
`ray start --address`, and `lionsimplify funnel --executor ray --address` runs as a separate
command against it, with the stand-in evaluator (`funnel_fakes.py`, one second per job) so the
test times orchestration, not training. While level A runs, the second node is killed (its whole
session: raylet, object store, workers). The run must still complete, and its ledger must
hold every evaluation of an undisturbed local run exactly once: none lost, none duplicated.

Only processes this test started are stopped, by the sessions it started them in; `ray stop` (which stops every
Ray process on the machine) is never called.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("ray")

from lionsimplify.funnel.ledger import LEDGER_NAME  # noqa: E402
from lionsimplify.lang.mutate import adamw, mutate  # noqa: E402
from lionsimplify.lang.printer import print_program  # noqa: E402

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
RAY = str(Path(sys.executable).with_name("ray"))

CONFIG = """
evaluator = "funnel_fakes:evaluate"
hard_timeout_grace_s = 60
winners = 2
[entry]
per_run_top_k = 8
overall_top_k = 12
[[level]]
name = "A"
proxy = "fake-s"
seeds = [0, 1]
time_limit_s = 120
top_fraction = 0.5
[[level]]
name = "B"
proxy = "fake-m"
seeds = [0, 1, 2]
time_limit_s = 120
top_fraction = 0.5
"""

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runs(root: Path) -> Path:
    """Two search runs of distinct AdamW mutants (more jobs than the cluster has CPUs)."""
    import random

    rng = random.Random(3)
    texts: list[str] = []
    while len(texts) < 16:
        text = print_program(mutate(adamw(), rng, mutations=2))
        if text not in texts and not any(f in text for f in ("log(", "exp(", "cosh", "abs(")):
            texts.append(text)
    for r in range(2):
        d = root / "runs" / f"r{r}"
        d.mkdir(parents=True)
        with (d / "programs.jsonl").open("w") as f:
            for i, text in enumerate(texts[r::2]):
                f.write(json.dumps({"program": text, "fitness": rng.random(), "step": i}) + "\n")
    return root / "runs"


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(ROOT), env.get("PYTHONPATH", "")])
    env["FUNNEL_FAKE_DELAY"] = "2.0"
    env["LIONSIMPLIFY_CACHE"] = str(tmp / "cache")
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # Ray's token authentication, with a token of this test's own (the default token file in
    # the home directory may belong to another cluster on this machine)
    env["RAY_AUTH_MODE"] = "token"
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(16)
    env.pop("RAY_ADDRESS", None)
    return env


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [RAY, "start", "--block", "--num-cpus=1", "--disable-usage-stats", *args],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own session: the node is stopped as a whole, and only it
    )


def _pids_of_session(sid: int) -> set[int]:
    """Every process in session `sid` (a node started with its own session: raylet, workers)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                # fields after the command name: state ppid pgrp session ...
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == sid:
                    pids.add(int(entry.name))
    return pids


def _kill_node(proc: subprocess.Popen) -> None:
    """SIGKILL every process of the node started as `proc` (its own session: `ray start`, the
    raylet, the object store and the workers, which Ray puts in process groups of their own)."""
    for _ in range(3):  # a process may be forking while we look
        for pid in _pids_of_session(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    proc.wait(30)


def _nodes_alive(address: str, env: dict[str, str]) -> int:
    code = (
        f"import ray; ray.init(address={address!r}, log_to_driver=False); "
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    return int(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else 0


def _evals(out: Path) -> list[dict]:
    path = out / LEDGER_NAME
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in lines if r.get("kind") == "eval"]


def _funnel(runs: Path, out: Path, config: Path, env: dict[str, str], *extra: str):
    return subprocess.Popen(
        [sys.executable, "-m", "lionsimplify", "funnel", str(runs), "--out", str(out),
         "--config", str(config), "--json", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_funnel_on_a_cluster_survives_losing_a_node(tmp_path: Path) -> None:
    env = _env(tmp_path)
    runs = _runs(tmp_path)
    config = tmp_path / "fake.toml"
    config.write_text(CONFIG)

    local = _funnel(runs, tmp_path / "local", config, env, "--workers", "2")
    _, err = local.communicate(timeout=300)
    assert local.returncode == 0, err
    expected = sorted(r["key"] for r in _evals(tmp_path / "local"))
    assert len(expected) >= 8

    port = _free_port()
    address = f"127.0.0.1:{port}"
    # a temp dir of its own (short: Ray's socket paths must fit), so the cluster's address file
    # does not replace /tmp/ray/ray_current_cluster, which a plain ray.init() would then follow
    temp = Path(tempfile.mkdtemp(prefix="lsray", dir="/tmp"))
    head = _start(["--head", f"--port={port}", "--node-ip-address=127.0.0.1",
                   "--include-dashboard=false", f"--temp-dir={temp}"],
                  env, tmp_path / "head.log")  # fmt: skip
    worker = None
    try:
        time.sleep(5)
        worker = _start([f"--address={address}", "--node-ip-address=127.0.0.1"],
                        env, tmp_path / "node2.log")  # fmt: skip
        deadline = time.monotonic() + 120
        while _nodes_alive(address, env) < 2:
            assert time.monotonic() < deadline, (tmp_path / "node2.log").read_text()[-2000:]
            time.sleep(2)

        out = tmp_path / "ray"
        run = _funnel(runs, out, config, env, "--executor", "ray", "--address", address)
        deadline = time.monotonic() + 120
        node2: set[int] = set()
        while not any(_pid(r) in node2 for r in _evals(out)):  # the second node has done work
            assert run.poll() is None, run.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no evaluation finished on the second node"
            node2 |= _pids_of_session(worker.pid)
            time.sleep(0.2)
        time.sleep(1.0)  # into its next evaluation (each takes 2 s)
        _kill_node(worker)
        killed_after = len(_evals(out))
        _, err = run.communicate(timeout=400)
        assert run.returncode == 0, err[-2000:]
    finally:
        if worker is not None:
            _kill_node(worker)
        _kill_node(head)
        shutil.rmtree(temp, ignore_errors=True)

    records = _evals(out)
    keys = Counter(r["key"] for r in records)
    assert sorted(keys) == expected, "every evaluation of the local run, and no other"
    assert max(keys.values()) == 1, f"duplicated: {[k for k, n in keys.items() if n > 1]}"
    assert killed_after < len(records)
    # the node's loss shows as retried evaluations that then finished, not as lost ones
    assert all(r["status"] == "ok" for r in records), [r for r in records if r["status"] != "ok"]
    retried = [r for r in records if r["attempts"] > 1]
    assert retried, "the evaluation running on the killed node was retried"
    print(
        f"cluster run: {len(records)} evaluations, {killed_after} recorded before the node was "
        f"killed, {sum(_pid(r) in node2 for r in records)} done by the killed node, "
        f"{len(retried)} retried elsewhere"
    )


def _pid(record: dict) -> int:
    return int(str(record.get("worker") or ":0").rsplit(":", 1)[1])
