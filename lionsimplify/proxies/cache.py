"""The on-disk cache of proxy training: baseline records and JAX's compiled executables.

Everything lives under one directory: `$LIONSIMPLIFY_CACHE`, else
`$XDG_CACHE_HOME/lionsimplify`, else `~/.cache/lionsimplify`:

    baselines/   tuned learning rates and baseline results, one small JSON file per key
    jax/         JAX's persistent compilation cache (compiled XLA executables)

Entries are keyed by the code that produced them (`code_version`: a hash of the training code's
source and the jax/optax versions), so editing the trainer, a task or a baseline, or upgrading
jax, never serves a stale result. Files are written atomically (write, then rename), so parallel
workers never read half a file; a damaged entry is treated as missing. Deleting the directory is
always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

#: The modules whose source decides what a training run computes.
_CODE = ("proxies", "emit/optax_runtime.py", "lang/ops.py")


def cache_dir() -> Path:
    if os.environ.get("LIONSIMPLIFY_CACHE"):
        return Path(os.environ["LIONSIMPLIFY_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "lionsimplify"


def package_version() -> str:
    try:
        return metadata.version("lionsimplify")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+source"


@cache
def code_version() -> str:
    """12 hex digits naming the training code: its source files and the jax/optax versions."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for part in _CODE:
        path = root / part
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    for dist in ("jax", "jaxlib", "optax", "numpy"):
        try:
            h.update(f"{dist}=={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist} missing".encode())
    return h.hexdigest()[:12]


def entry_path(kind: str, key: str) -> Path:
    """`<cache>/<kind>/<key>.json`, the key made safe as a file name."""
    return cache_dir() / kind / (re.sub(r"[^A-Za-z0-9_.=-]", "_", key) + ".json")


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing or damaged: recomputed by the caller


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


_jax_cache_on = False


def enable_compilation_cache() -> None:
    """Point JAX's persistent compilation cache at `<cache>/jax`.

    Every executable is kept, however fast it compiled: a proxy's executables take 0.5–3 s to
    compile and load from disk in milliseconds, which is what makes a repeated `eval` fast. JAX
    fixes the directory when it first compiles, so the one in effect then serves the process.
    """
    global _jax_cache_on
    if _jax_cache_on:
        return
    import jax

    jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _jax_cache_on = True
