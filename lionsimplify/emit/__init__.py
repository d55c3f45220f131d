"""Emission of a reduced program: the Lion-style program text with hyperparameters lifted
(`lifting.py`), and a standalone JAX/optax module generated from it (`jax_module.py`)."""

from lionsimplify.emit.jax_module import jax_module_source, module_name
from lionsimplify.emit.lifting import Lifted, lift

__all__ = ["Lifted", "jax_module_source", "lift", "module_name"]
