"""What a proxy task is, and where the named ones live.

A proxy task is the small plain object `Task`: everything the evaluator needs to train a model
with any optimizer and score it, and nothing about the optimizer. Proxies are named
`<task>-<scale>` (`vision-s`, `language-m`, `convex-l`); scales `s`, `m`, `l` each cost about
10× the compute of the one below, like the paper's funnel (task A, a 10× task B, a 100× task C).

Host-side randomness: parameter initialisation and batch order are drawn with numpy from the
seed, not with `jax.random`. They are the same bits on every machine, and the jitted training
loop contains no PRNG at all, which keeps its compilation short (threefry costs a lot of XLA
compile time on CPU, and compilation dominates a small proxy's cost).

Where tasks come from, in order: the built-in families (`vision`, `language`, `convex`), the
entry-point group `lionsimplify.proxies` (each entry point named after a task family and loading
a `factory(scale) -> Task`, or a `Task`), and a module given as `pkg.mod:NAME` (on the command
line `--proxy-module`), whose attribute is a `Task`, a list of them, or a factory.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np

from lionsimplify.lang.errors import ProgramError

SCALES: tuple[str, ...] = ("s", "m", "l")
ENTRY_POINT_GROUP = "lionsimplify.proxies"


@dataclass(frozen=True)
class Task:
    """One proxy task at one scale.

    `init(rng)` and `batches(rng, n)` run on the host with a `numpy.random.Generator` and
    return numpy pytrees; `batches` returns the next `n` training batches stacked on a leading
    axis and is called repeatedly on the same generator, chunk after chunk. `loss(params, batch)`
    is the training loss and `metrics(params)` the validation metrics, both written in
    `jax.numpy` so they can be jitted and vmapped; `metrics(params)[metric]` is the fitness,
    better when higher if `higher_is_better`. `schedule(count)` multiplies the learning rate at
    step `count` (0-based): a linear warm-up over `warmup` steps (default 5 % of the steps),
    then a cosine decay to zero.
    """

    name: str
    scale: str
    init: Callable[[np.random.Generator], Any]
    loss: Callable[[Any, Any], Any]
    batches: Callable[[np.random.Generator, int], Any]
    metrics: Callable[[Any], dict[str, Any]]
    metric: str
    higher_is_better: bool
    steps: int
    description: str = ""
    warmup: int | None = None
    version: str = "1"
    """Change it when the task changes so cached baselines are recomputed."""
    details: dict[str, Any] = field(default_factory=dict, compare=False)
    """Model and data facts to show users (sizes, the source entropy, ...)."""

    @property
    def proxy(self) -> str:
        return f"{self.name}-{self.scale}"

    def schedule(self, count: Any) -> Any:
        """Learning-rate multiplier at 0-based step `count`: warm-up, then cosine to zero."""
        import jax.numpy as jnp

        warmup = self.warmup if self.warmup is not None else max(1, self.steps // 20)
        t = jnp.asarray(count, jnp.float32)
        ramp = jnp.minimum(1.0, (t + 1.0) / warmup)
        frac = jnp.clip((t - warmup) / max(1, self.steps - warmup), 0.0, 1.0)
        return ramp * 0.5 * (1.0 + jnp.cos(math.pi * frac))

    def train_flops(self) -> float:
        """Floating-point operations of one training run (one seed), from XLA's cost analysis
        of the loss gradient on one batch, times the steps; the optimizer's share is left out.
        It is what "each scale costs about 10× the one below" is measured in."""
        import jax

        params = self.init(np.random.default_rng(0))
        batch = jax.tree.map(lambda x: x[0], self.batches(np.random.default_rng(0), 1))
        cost = jax.jit(jax.grad(self.loss)).lower(params, batch).cost_analysis()
        return float((cost or {}).get("flops", float("nan"))) * self.steps

    def param_count(self) -> int:
        leaves = _leaves(self.init(np.random.default_rng(0)))
        return int(sum(np.size(x) for x in leaves))


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, dict):
        return [x for k in sorted(tree) for x in _leaves(tree[k])]
    if isinstance(tree, list | tuple):
        return [x for v in tree for x in _leaves(v)]
    return [tree]


TaskFactory = Callable[[str], Task]
_FAMILIES: dict[str, TaskFactory] = {}


def register(family: str, factory: TaskFactory) -> None:
    """Make `<family>-<scale>` resolvable; `factory(scale)` builds the task."""
    _FAMILIES[family] = factory


def _builtin() -> dict[str, TaskFactory]:
    from lionsimplify.proxies import convex, language, vision

    return {"vision": vision.task, "language": language.task, "convex": convex.task}


def families() -> dict[str, TaskFactory]:
    """Every known task family: built-ins, then entry points, then `register` calls."""
    out = dict(_builtin())
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        out.setdefault(ep.name, _as_factory(ep.load(), ep.value))
    out.update(_FAMILIES)
    return out


def _as_factory(obj: Any, where: str) -> TaskFactory:
    if isinstance(obj, Task):
        return lambda scale: obj
    if callable(obj):
        return obj
    raise ProgramError(f"{where} is not a Task or a factory(scale) -> Task", code="E403")


def load_module(spec: str) -> list[Task]:
    """The tasks named by `pkg.mod:NAME` (a `Task`, a list of them, or a factory per scale)."""
    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr.isidentifier():
        raise ProgramError(
            f"bad proxy module `{spec}`", help="write it as `package.module:NAME`", code="E403"
        )
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ProgramError(f"cannot import proxy module `{mod_name}`: {exc}", code="E403") from None
    obj = getattr(module, attr, None)
    if obj is None:
        raise ProgramError(f"proxy module `{mod_name}` has no attribute `{attr}`", code="E403")
    if isinstance(obj, Task):
        return [obj]
    if isinstance(obj, list | tuple) and all(isinstance(t, Task) for t in obj):
        return list(obj)
    if callable(obj):
        tasks = [obj(scale) for scale in SCALES]
        if all(isinstance(t, Task) for t in tasks):
            return tasks
    raise ProgramError(
        f"`{spec}` is not a Task, a list of Tasks or a factory(scale) -> Task", code="E403"
    )


def split_name(proxy: str) -> tuple[str, str]:
    family, sep, scale = proxy.rpartition("-")
    if not sep or scale not in SCALES or not family:
        raise ProgramError(
            f"bad proxy name `{proxy}`",
            help=f"write it as <task>-<scale> with a scale in {', '.join(SCALES)}, e.g. vision-s",
            code="E403",
        )
    return family, scale


def get_proxy(proxy: str, *, module: str | None = None) -> Task:
    """The task called `proxy` (`<task>-<scale>`), looking first in `module` if given."""
    if module is not None:
        for task in load_module(module):
            if task.proxy == proxy:
                return task
    family, scale = split_name(proxy)
    known = families()
    if family not in known:
        raise ProgramError(
            f"unknown proxy task `{family}`",
            help=f"known tasks: {', '.join(sorted(known))}; add one with --proxy-module",
            code="E403",
        )
    task = known[family](scale)
    if not isinstance(task, Task):
        raise ProgramError(f"the factory of task `{family}` did not return a Task", code="E403")
    return task


def all_proxies(module: str | None = None) -> list[Task]:
    """Every known proxy at every scale, plus the tasks of `module`."""
    tasks = [factory(scale) for _, factory in sorted(families().items()) for scale in SCALES]
    if module is not None:
        tasks += load_module(module)
    return tasks


def proxy_names(tasks: Iterable[Task]) -> list[str]:
    return [t.proxy for t in tasks]
