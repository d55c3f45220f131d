"""Proxy training tasks (vision, language, convex at scales s/m/l) and the evaluator.

`get_proxy("vision-s")` gives a `Task`; `evaluate(factory, task, seeds=...)` trains it with any
optax optimizer factory and returns an `EvalResult`; `baselines` holds the tuned references.
Importing this package does not import jax: the models import it when they run.
"""

from lionsimplify.proxies.tasks import SCALES, Task, all_proxies, get_proxy, register

__all__ = ["SCALES", "Task", "all_proxies", "get_proxy", "register"]
