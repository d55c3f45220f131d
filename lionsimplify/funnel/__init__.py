"""Funnel selection over search runs: intake, levels of proxy training, ledger, report.

`run_funnel(FunnelOptions(...))` runs (or resumes) the whole funnel and returns a
`FunnelResult`; `write_outputs(result, out)` writes the report, plots and winners. See
`runs.py` for the runs format and `config.py` for `funnel.toml`.
"""

from lionsimplify.funnel.config import DEFAULT_TOML, FunnelConfig, Level, load_config, parse_config
from lionsimplify.funnel.pipeline import FunnelOptions, FunnelResult, run_funnel
from lionsimplify.funnel.report import leaderboard, write_outputs
from lionsimplify.funnel.runs import Intake, intake

__all__ = [
    "DEFAULT_TOML",
    "FunnelConfig",
    "FunnelOptions",
    "FunnelResult",
    "Intake",
    "Level",
    "intake",
    "leaderboard",
    "load_config",
    "parse_config",
    "run_funnel",
    "write_outputs",
]
