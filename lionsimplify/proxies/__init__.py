"""Proxy training tasks (vision, language, convex at scales s/m/l) and the evaluator.

`get_proxy("vision-s")` gives a `Task`; `evaluate(factory, task, seeds=...)` trains it with any
optax optimizer factory and returns an `EvalResult`; `baselines` holds the tuned references and
`compare.compare_program` puts a program beside them. Importing this package does not import
jax: the models and the evaluator import it when they run.
"""

from lionsimplify.proxies.tasks import SCALES, Task, all_proxies, get_proxy, register
from lionsimplify.proxies.trainer import EvalResult, RunResult, evaluate

__all__ = [
    "SCALES",
    "EvalResult",
    "RunResult",
    "Task",
    "all_proxies",
    "evaluate",
    "get_proxy",
    "register",
]
