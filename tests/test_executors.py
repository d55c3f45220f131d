"""Local workers get their share of the cores and XLA threads to match."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from lionsimplify.funnel.executors import LocalExecutor, core_shares, xla_thread_flags
from lionsimplify.funnel.jobs import Job

TESTS = Path(__file__).resolve().parent


def test_cores_are_split_evenly_and_shared_round_robin_when_scarce() -> None:
    assert core_shares([0, 1, 2, 3], 2) == [[0, 1], [2, 3]]
    assert core_shares([0, 1, 2, 3, 4], 2) == [[0, 1, 2], [3, 4]]
    assert core_shares([4, 5], 3) == [[4], [5], [4]]
    assert core_shares([0, 1, 2], 1) == [[0, 1, 2]]
    assert xla_thread_flags(1) == "--xla_cpu_multi_thread_eigen=false"
    assert xla_thread_flags(4) == ""  # XLA sizes its pools from the affinity mask


def _job(i: int) -> Job:
    return Job(f"k{i}", f"s{i}", "candidate", "", 0, "A", "p", (0,), (1.0,), 60.0,
               evaluator="funnel_fakes:placement")  # fmt: skip


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs core affinity and two cores",
)
def test_spawned_workers_run_on_their_own_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), *sys.path]))
    cores = sorted(os.sched_getaffinity(0))
    pool = LocalExecutor(workers=2)
    try:
        results = [r for kind, _, r in pool.execute([_job(0), _job(1)]) if kind == "done"]
    finally:
        pool.close()
    placed = sorted(tuple(r["cores"]) for r in results)
    expected = sorted(tuple(share) for share in core_shares(cores, 2))
    assert len({r["worker"] for r in results}) == 2, "each job on its own worker"
    assert placed == expected
    for r in results:
        assert xla_thread_flags(len(r["cores"])) in r["xla_flags"]
