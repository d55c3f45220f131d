"""Where evaluations run: a local pool of spawned processes, or a Ray cluster.

Both executors take a list of `Job`s and yield `("start", job, None)` and
`("done", job, result)` events as things happen; the coordinator writes each result to the
ledger as it arrives. They share one policy:

* a job whose worker dies (killed, out of memory, a crash in native code) or which comes back
  `failed` is retried once; the second outcome is recorded, with `attempts = 2`;
* a job still running `hard_timeout_grace_s` after its own time limit is killed and recorded as
  `timeout` (the evaluator enforces the limit itself; this is the backstop for a hang it cannot
  interrupt, such as a stuck compilation);
* workers never write the ledger, so losing one loses nothing recorded.

Local workers are started with `spawn` (jax is not fork-safe) and live for the whole run, so
each keeps its jit caches: the proxy's baseline and evaluation code compile once per worker.
Each local worker gets its share of the coordinator's cores (`core_shares`): it is pinned to
them (`os.sched_setaffinity`, where the OS has it) and XLA is told to use that many threads, so
two workers on two cores each run one evaluation at full speed instead of both contending for
every core. (Ray places its tasks itself; a task asks for one CPU. Giving its workers their own
XLA settings would need a runtime environment, which starts a fresh worker process per task.)
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from lionsimplify.analysis.fingerprint_pool import available_cores
from lionsimplify.funnel.jobs import Job, failed_result, run_job
from lionsimplify.lang.errors import ProgramError

Event = tuple[str, Job, dict[str, Any] | None]
MAX_ATTEMPTS = 2


class Executor(Protocol):
    workers: int

    def execute(self, jobs: list[Job]) -> Iterator[Event]: ...

    def close(self) -> None: ...


def _should_retry(result: dict[str, Any], attempts: int) -> bool:
    return result["status"] == "failed" and attempts < MAX_ATTEMPTS


def _finish(result: dict[str, Any], attempts: int) -> dict[str, Any]:
    result["attempts"] = attempts
    return result


# ---------------------------------------------------------------------------------------------
# Local process pool.


def core_shares(cores: list[int], workers: int) -> list[list[int]]:
    """Split `cores` into `workers` contiguous shares as even as possible; with more workers
    than cores, workers share single cores round-robin."""
    if workers >= len(cores):
        return [[cores[i % len(cores)]] for i in range(workers)]
    base, extra = divmod(len(cores), workers)
    shares, start = [], 0
    for i in range(workers):
        n = base + (i < extra)
        shares.append(cores[start : start + n])
        start += n
    return shares


def xla_thread_flags(threads: int) -> str:
    """XLA:CPU flags for a process that owns `threads` cores.

    XLA sizes its thread pools from the process's affinity mask, so pinning is what limits a
    worker to its share; with one core, Eigen's own thread pool is switched off as well.
    (`intra_op_parallelism_threads` is TensorFlow's option, not an XLA flag: XLA rejects it.)
    """
    return "--xla_cpu_multi_thread_eigen=false" if threads <= 1 else ""


def _pin(cores: list[int]) -> None:
    """Run this process (and the XLA it will import) on `cores` only."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} {xla_thread_flags(len(cores))}".strip()
    if flags:
        os.environ["XLA_FLAGS"] = flags
    if hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):  # e.g. a core taken away meanwhile: run unpinned
            os.sched_setaffinity(0, cores)


def _worker_main(conn: Connection, cores: list[int] | None = None) -> None:
    """Loop of a spawned worker: receive a job, send its result, until told to stop.

    Ctrl-C is the coordinator's to handle (it stops the workers); a worker ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if cores:
        _pin(cores)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(run_job(job))


@dataclass
class _Slot:
    process: Any
    conn: Connection
    job: Job | None = None
    attempts: int = 0
    started: float = 0.0


@dataclass
class LocalExecutor:
    """A pool of `workers` spawned processes (see the module docstring)."""

    workers: int = 1
    grace_s: float = 60.0
    pin: bool = True
    """Give each worker its share of the cores (see the module docstring)."""
    _slots: list[_Slot] = field(default_factory=list)

    def _spawn(self, index: int) -> _Slot:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        cores = core_shares(available_cores(), self.workers)[index] if self.pin else None
        proc = ctx.Process(target=_worker_main, args=(child, cores), daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def _replace(self, index: int) -> None:
        """Kill the worker in slot `index` (if still alive) and start a fresh one there."""
        slot = self._slots[index]
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(5)
        slot.conn.close()
        self._slots[index] = self._spawn(index)

    def execute(self, jobs: list[Job]) -> Iterator[Event]:
        queue: deque[tuple[Job, int]] = deque((j, 1) for j in jobs)
        while len(self._slots) < min(self.workers, len(jobs)):
            self._slots.append(self._spawn(len(self._slots)))
        while queue or any(s.job for s in self._slots):
            for slot in self._slots:
                if slot.job is None and queue:
                    job, attempts = queue.popleft()
                    slot.job, slot.attempts, slot.started = job, attempts, time.monotonic()
                    with contextlib.suppress(BrokenPipeError, OSError):
                        slot.conn.send(job)  # a dead worker is noticed below
                    if attempts == 1:
                        yield ("start", job, None)
            busy = [s for s in self._slots if s.job is not None]
            deadline = min(s.started + s.job.time_limit_s + self.grace_s for s in busy)  # type: ignore[union-attr]
            ready = wait(
                [s.conn for s in busy] + [s.process.sentinel for s in busy],
                timeout=max(0.0, deadline - time.monotonic()),
            )
            for index, slot in enumerate(list(self._slots)):
                job, attempts = slot.job, slot.attempts
                if job is None:
                    continue
                result: dict[str, Any] | None = None
                elapsed = time.monotonic() - slot.started
                if slot.conn in ready or slot.process.sentinel in ready:
                    try:
                        if slot.conn.poll():
                            result = slot.conn.recv()
                    except (EOFError, OSError):
                        result = None
                    if result is None:
                        code = slot.process.exitcode
                        self._replace(index)
                        result = failed_result(f"worker died (exit code {code})", wall_s=elapsed)
                elif time.monotonic() >= slot.started + job.time_limit_s + self.grace_s:
                    self._replace(index)
                    result = failed_result(
                        f"killed after {elapsed:.0f} s: no result "
                        f"{self.grace_s:g} s past the {job.time_limit_s:g} s limit",
                        status="timeout",
                        wall_s=elapsed,
                    )
                if result is None:
                    continue
                slot.job = None
                if _should_retry(result, attempts):
                    queue.appendleft((job, attempts + 1))
                    continue
                yield ("done", job, _finish(result, attempts))

    def close(self) -> None:
        for slot in self._slots:
            with contextlib.suppress(BrokenPipeError, OSError):
                slot.conn.send(None)
        for slot in self._slots:
            slot.process.join(5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(5)
            slot.conn.close()
        self._slots.clear()


# ---------------------------------------------------------------------------------------------
# Ray.


def _ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise ProgramError(
            "--executor ray needs Ray, which is not installed",
            help="pip install 'lionsimplify[ray]'",
            code="E405",
        ) from None
    return ray


@dataclass
class RayExecutor:
    """Ray tasks on an existing cluster (`address`, or `RAY_ADDRESS`), collected with `ray.wait`.

    At most as many tasks are in flight as the cluster has CPUs, so a task's clock starts
    when it can actually run and the hard timeout means what it says.
    """

    address: str | None = None
    grace_s: float = 60.0
    workers: int = 0
    _started_ray: bool = False

    def _connect(self) -> Any:
        ray = _ray_module()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, ignore_reinit_error=True, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "RAY_ADDRESS / a new local instance"
                raise ProgramError(
                    f"cannot connect to Ray at {where}: {exc}", code="E405"
                ) from None
            self._started_ray = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return ray

    def execute(self, jobs: list[Job]) -> Iterator[Event]:
        ray = self._connect()
        remote = ray.remote(num_cpus=1, max_retries=0)(run_job)
        queue: deque[tuple[Job, int]] = deque((j, 1) for j in jobs)
        pending: dict[Any, tuple[Job, int, float]] = {}
        while queue or pending:
            while queue and len(pending) < self.workers:
                job, attempts = queue.popleft()
                pending[remote.remote(job)] = (job, attempts, time.monotonic())
                if attempts == 1:
                    yield ("start", job, None)
            deadline = min(t + j.time_limit_s + self.grace_s for j, _, t in pending.values())
            ready, _ = ray.wait(
                list(pending), num_returns=1, timeout=max(0.0, deadline - time.monotonic())
            )
            now = time.monotonic()
            for ref in list(pending):
                job, attempts, started = pending[ref]
                if ref in ready:
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # the worker died or the task was lost
                        reason = " ".join(str(exc).split())[:300]
                        result = failed_result(f"worker failed: {reason}", wall_s=now - started)
                elif now >= started + job.time_limit_s + self.grace_s:
                    ray.cancel(ref, force=True)
                    result = failed_result(
                        f"killed after {now - started:.0f} s: no result "
                        f"{self.grace_s:g} s past the {job.time_limit_s:g} s limit",
                        status="timeout",
                        wall_s=now - started,
                    )
                else:
                    continue
                del pending[ref]
                if _should_retry(result, attempts):
                    queue.appendleft((job, attempts + 1))
                    continue
                yield ("done", job, _finish(result, attempts))

    def close(self) -> None:
        if self._started_ray:
            _ray_module().shutdown()
            self._started_ray = False
