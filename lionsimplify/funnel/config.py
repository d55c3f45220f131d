"""The funnel's configuration: `funnel.toml`, read as data and checked field by field.

A config names how candidates enter the funnel (`[entry]`: the top-K by search fitness per run
and overall) and the levels they climb (`[[level]]`: a proxy task, seeds, learning-rate
multipliers, a time limit and the promotion rule). `DEFAULT_TOML` is the documented quick
config used when no `--config` is given; it runs `examples/runs` (tuning and ablations included)
in about 20 minutes on two busy cores.

Two hashes come out of a config. `config_hash` covers everything, so an `--out` directory
holding another config's ledger is recognised. `Level.eval_hash` covers only what changes the
numbers an evaluation produces (proxy, seeds, multipliers, learning rate, time limit, semantics,
hyperparameter values), so a changed promotion rule re-selects from the ledger without
re-training anything.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from lionsimplify.lang.errors import Location, ProgramError
from lionsimplify.lang.files import MAX_DATA_BYTES, read_bytes
from lionsimplify.lang.ops import SEMANTICS, Semantics
from lionsimplify.lang.parse import decode_source

Rule = Literal["margin", "top", "margin-or-top", "margin-and-top"]
RULES: tuple[Rule, ...] = ("margin", "top", "margin-or-top", "margin-and-top")

DEFAULT_TOML = """\
# The default funnel: two levels on the smallest bundled proxies, ~20 minutes on 2 cores.
semantics = "hero"   # search outputs are Hero programs: "hero" (x / (y + 1e-8), sqrt |x|), or "math"
winners = 3          # how many finalists get written to OUT/winners/
# after the last level each finalist's ablations (drop clip, drop arcsin, ...) are trained there,
# paired by seed; one is kept when it loses at most this fraction of the finalist's score
ablation_margin = 0.01

[params]             # values of named hyperparameters (β1 = 0.9, ...) used by candidates

[entry]              # who enters level 1
per_run_top_k = 1    # best candidates of each run, taken in each step bucket of the run
step_buckets = 2     # split each run's search steps into this many ranges (meta-overfitting)
overall_top_k = 4    # plus the best over all runs

[[level]]
name = "A"
proxy = "vision-s"   # digits, MLP, 200 steps: seconds per evaluation
seeds = [0, 1]
# Fair tuning: every candidate and both baselines try the same learning-rate multipliers, a log
# grid in half-decade steps. The multiplier scales the update; a candidate's `lr` input is the
# schedule (peak 1), which it scales itself as in search, a baseline's its reference peak
# (AdamW 1e-3, Lion 1e-4).
lr_multipliers = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
wd_multipliers = [1.0]   # factors on the decoupled weight decay (of those that have one)
time_limit_s = 120
# a coarse first filter: small proxies are noisy, so only drop what is clearly worse than AdamW
rule = "margin"          # margin | top | margin-or-top | margin-and-top
margin = -0.02           # gain over tuned AdamW required, in metric units (here: within 2 points)
spread = 1.0             # ... after subtracting `spread` standard errors of the seed spread
top_fraction = 0.5       # used by the `top` rules: the best fraction always goes on

[[level]]
name = "B"
proxy = "vision-m"   # digits, small ViT: about 10x the compute of vision-s
seeds = [0, 1]
lr_multipliers = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
wd_multipliers = [0.3, 1.0, 3.0]   # the top level also tunes weight decay, as the paper did
time_limit_s = 600
rule = "margin-or-top"
margin = 0.0
spread = 1.0
top_fraction = 0.5
"""


@dataclass(frozen=True)
class Level:
    """One rung of the funnel; see `DEFAULT_TOML` for the meaning of each field."""

    name: str
    proxy: str
    seeds: tuple[int, ...]
    lr_multipliers: tuple[float, ...]
    time_limit_s: float
    rule: Rule
    margin: float
    spread: float
    top_fraction: float
    base_lr: float | None = None
    """Peak of the schedule handed to candidates as `lr`; None: 1, the search convention."""
    wd_multipliers: tuple[float, ...] = (1.0,)
    """Factors tried on the decoupled weight-decay constant of every subject that has one."""

    def eval_fields(self) -> dict[str, Any]:
        """What determines an evaluation's numbers (not how candidates are promoted)."""
        return {
            "proxy": self.proxy,
            "seeds": list(self.seeds),
            "lr_multipliers": list(self.lr_multipliers),
            "wd_multipliers": list(self.wd_multipliers),
            "time_limit_s": self.time_limit_s,
            "base_lr": self.base_lr,
        }


@dataclass(frozen=True)
class Entry:
    per_run_top_k: int = 3
    step_buckets: int = 2
    overall_top_k: int = 8


@dataclass(frozen=True)
class FunnelConfig:
    levels: tuple[Level, ...]
    entry: Entry = field(default_factory=Entry)
    semantics: Semantics = "math"
    params: dict[str, float] = field(default_factory=dict)
    winners: int = 3
    evaluator: str | None = None
    """`module:function` replacing the built-in evaluator (a plugin point; see `evaluate.py`)."""
    hard_timeout_grace_s: float = 60.0
    """A worker still busy this long after its job's time limit is killed (a hung evaluation)."""
    ablation_margin: float = 0.01
    """An ablation of a finalist is accepted when it loses at most this fraction of the
    finalist's score at the last level (paired by seed), as `reduce --validate --margin`."""
    source: str = "<default>"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("source")
        data["params"] = dict(sorted(self.params.items()))
        return data

    def config_hash(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def eval_hash(self, level: Level) -> str:
        """Key of everything that changes the numbers of an evaluation at `level`."""
        data = {
            **level.eval_fields(),
            "semantics": self.semantics,
            "params": dict(sorted(self.params.items())),
            "evaluator": self.evaluator,
        }
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class _Reader:
    """Typed access to one TOML table with `path:line:col`-style errors naming the key."""

    def __init__(self, table: dict[str, Any], path: str, where: str) -> None:
        self.table = dict(table)
        self.path = path
        self.where = where

    def fail(self, key: str, message: str) -> ProgramError:
        return ProgramError(f"{self.where}{key}: {message}", Location.file(self.path), code="E402")

    def number(self, key: str, default: float | None, *, lo: float, hi: float = math.inf) -> float:
        value = self.table.pop(key, default)
        if value is None:
            raise self.fail(key, "is required")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"must be between {lo:g} and {hi:g}, got {value!r}")
        return float(value)

    def integer(self, key: str, default: int, *, lo: int) -> int:
        value = self.table.pop(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise self.fail(key, f"expected an integer >= {lo}, got {value!r}")
        return value

    def string(self, key: str, default: str | None, choices: tuple[str, ...] = ()) -> str:
        value = self.table.pop(key, default)
        if value is None:
            raise self.fail(key, "is required")
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a string, got {value!r}")
        if choices and value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def numbers(self, key: str, default: list[Any] | None, *, integer: bool) -> tuple[Any, ...]:
        value = self.table.pop(key, default)
        kind = int if integer else (int, float)
        if (
            not isinstance(value, list)
            or not value
            or any(isinstance(v, bool) or not isinstance(v, kind) for v in value)
        ):
            word = "integers" if integer else "numbers"
            raise self.fail(key, f"expected a non-empty list of {word}, got {value!r}")
        if not integer and any(not math.isfinite(v) or v <= 0 for v in value):
            raise self.fail(key, "values must be positive and finite")
        if len(set(value)) != len(value):
            raise self.fail(key, "has repeated values")
        return tuple(int(v) if integer else float(v) for v in value)

    def done(self) -> None:
        if self.table:
            extra = sorted(self.table)[0]
            raise self.fail(extra, "unknown key")


def parse_config(text: str, path: str = "<config>") -> FunnelConfig:
    """Read a funnel.toml; every mistake is a `ProgramError` naming the file and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 1) or 1
        col = getattr(exc, "colno", 1) or 1
        raise ProgramError(
            f"invalid TOML: {exc.args[0]}", Location(path, line, col), code="E402"
        ) from None
    top = _Reader(data, path, "")
    semantics = top.string("semantics", "math", SEMANTICS)
    winners = top.integer("winners", 3, lo=1)
    grace = top.number("hard_timeout_grace_s", 60.0, lo=0.0)
    ablation_margin = top.number("ablation_margin", 0.01, lo=0.0)
    evaluator = top.table.pop("evaluator", None)
    if evaluator is not None and (not isinstance(evaluator, str) or ":" not in evaluator):
        raise top.fail("evaluator", "expected `module:function`")
    params_table = top.table.pop("params", {})
    if not isinstance(params_table, dict):
        raise top.fail("params", "expected a table of NAME = VALUE")
    params_reader = _Reader(params_table, path, "params.")
    params = {k: params_reader.number(k, None, lo=-math.inf) for k in list(params_table)}
    entry_reader = _Reader(top.table.pop("entry", {}), path, "entry.")
    entry = Entry(
        per_run_top_k=entry_reader.integer("per_run_top_k", 3, lo=0),
        step_buckets=entry_reader.integer("step_buckets", 2, lo=1),
        overall_top_k=entry_reader.integer("overall_top_k", 8, lo=0),
    )
    if entry.per_run_top_k == entry.overall_top_k == 0:
        raise entry_reader.fail("overall_top_k", "with per_run_top_k = 0 no candidate would enter")
    entry_reader.done()
    raw_levels = top.table.pop("level", None)
    if not isinstance(raw_levels, list) or not raw_levels:
        raise top.fail("level", "at least one [[level]] table is required")
    levels = []
    names: set[str] = set()
    for i, raw in enumerate(raw_levels, start=1):
        r = _Reader(raw, path, f"level[{i}].")
        name = r.string("name", str(i))
        if name in names:
            raise r.fail("name", f"{name!r} is used by another level")
        names.add(name)
        base_lr = r.table.pop("base_lr", None)
        if base_lr is not None:
            r.table["base_lr"] = base_lr
            base_lr = r.number("base_lr", None, lo=0.0)
        levels.append(
            Level(
                name=name,
                proxy=r.string("proxy", None),
                seeds=r.numbers("seeds", [0], integer=True),
                lr_multipliers=r.numbers("lr_multipliers", [1.0], integer=False),
                time_limit_s=r.number("time_limit_s", 120.0, lo=0.001),
                rule=r.string("rule", "margin-or-top", RULES),  # type: ignore[arg-type]
                margin=r.number("margin", 0.0, lo=-math.inf),
                spread=r.number("spread", 1.0, lo=0.0),
                top_fraction=r.number("top_fraction", 0.5, lo=0.0, hi=1.0),
                base_lr=base_lr,
                wd_multipliers=r.numbers("wd_multipliers", [1.0], integer=False),
            )
        )
        r.done()
    top.done()
    return FunnelConfig(
        levels=tuple(levels),
        entry=entry,
        semantics=semantics,  # type: ignore[arg-type]
        params=params,
        winners=winners,
        evaluator=evaluator,
        hard_timeout_grace_s=grace,
        ablation_margin=ablation_margin,
        source=path,
    )


def load_config(path: str | Path | None) -> FunnelConfig:
    """The config at `path`, or the documented default when `path` is None."""
    if path is None:
        return parse_config(DEFAULT_TOML, "<default config>")
    p = Path(path)
    text = decode_source(read_bytes(p, limit=MAX_DATA_BYTES), str(p))
    return parse_config(text, str(p))
