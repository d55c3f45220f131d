"""Who enters the funnel and who climbs each level: pure functions over intake and ledger data.

Entry (`entrants`): the top `per_run_top_k` candidates by search fitness from each run, taken
separately in each of `step_buckets` equal ranges of the run's search steps, plus the
`overall_top_k` over all runs. Taking each step range apart keeps the early programs of a run
next to its late ones, so the report can show meta-overfitting (search fitness still rising
while the held-out score falls), which a plain top-K of the final programs would hide.

Promotion (`promote`) at a level, against that level's tuned AdamW:

* `margin`: gain = (candidate mean - AdamW mean) in the "better" direction; the candidate passes
  if gain - spread * SE >= margin, where SE = sqrt(sd_c^2 / n_c + sd_b^2 / n_b) is the standard
  error of the difference over seeds. With one seed the SE is 0 and only the margin counts.
* `top`: the best `ceil(top_fraction * n)` of the candidates whose evaluation finished `ok`.
* `margin-or-top` / `margin-and-top`: either / both.

Only `ok` evaluations can pass; ties are broken by fingerprint so the outcome is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lionsimplify.funnel.config import Entry, Level
from lionsimplify.funnel.runs import Candidate


def _bucket(step: float | None, lo: float, hi: float, buckets: int) -> int:
    if step is None or hi <= lo or buckets == 1:
        return 0
    return min(int((step - lo) / (hi - lo) * buckets), buckets - 1)


def entrants(candidates: Sequence[Candidate], entry: Entry) -> list[Candidate]:
    """The candidates that enter level 1, best search fitness first (see the module docstring)."""
    chosen: dict[str, Candidate] = {}
    runs = sorted({e.run for c in candidates for e in c.entries})
    for run in runs:
        scored = [(c.score(e), e, c) for c in candidates for e in c.entries if e.run == run]
        steps = [e.step for _, e, _ in scored if e.step is not None]
        lo, hi = (min(steps), max(steps)) if steps else (0.0, 0.0)
        for b in range(entry.step_buckets):
            in_bucket = [t for t in scored if _bucket(t[1].step, lo, hi, entry.step_buckets) == b]
            in_bucket.sort(key=lambda t: (-t[0], t[2].fingerprint))
            taken: list[str] = []
            for _, _, cand in in_bucket:
                if len(taken) >= entry.per_run_top_k:
                    break
                if cand.fingerprint not in taken:
                    taken.append(cand.fingerprint)
                    chosen[cand.fingerprint] = cand
    overall = sorted(candidates, key=lambda c: (-c.score(c.best), c.fingerprint))
    for cand in overall[: entry.overall_top_k]:
        chosen[cand.fingerprint] = cand
    return sorted(chosen.values(), key=lambda c: (-c.score(c.best), c.fingerprint))


@dataclass(frozen=True)
class Verdict:
    fingerprint: str
    status: str
    metric: float | None
    gain: float | None
    """Improvement over tuned AdamW in the "better" direction (None without both numbers)."""
    stderr: float | None
    by_margin: bool
    by_top: bool
    promoted: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "metric": self.metric,
            "gain_vs_adamw": self.gain,
            "stderr": self.stderr,
            "by_margin": self.by_margin,
            "by_top": self.by_top,
            "promoted": self.promoted,
        }


def _n(record: Mapping[str, Any]) -> int:
    return max(1, len({p["seed"] for p in record.get("per_seed") or []}))


def promote(
    level: Level,
    results: Mapping[str, Mapping[str, Any]],
    baseline: Mapping[str, Any] | None,
    higher_is_better: bool,
) -> list[Verdict]:
    """Verdicts for the candidates evaluated at `level`, best first."""
    sign = 1.0 if higher_is_better else -1.0
    ok = {
        f: r for f, r in results.items() if r.get("status") == "ok" and r.get("metric") is not None
    }
    ranked = sorted(ok, key=lambda f: (-sign * ok[f]["metric"], f))
    n_top = math.ceil(level.top_fraction * len(ranked))
    top = set(ranked[:n_top])
    base_ok = baseline is not None and baseline.get("status") == "ok"
    verdicts = []
    for f in ranked + sorted(set(results) - set(ok)):
        r = results[f]
        gain = stderr = None
        by_margin = False
        if f in ok and base_ok:
            assert baseline is not None
            gain = sign * (r["metric"] - baseline["metric"])
            sd_c, sd_b = r.get("metric_sd") or 0.0, baseline.get("metric_sd") or 0.0
            stderr = math.sqrt(sd_c**2 / _n(r) + sd_b**2 / _n(baseline))
            by_margin = gain - level.spread * stderr >= level.margin
        by_top = f in top
        promoted = {
            "margin": by_margin,
            "top": by_top,
            "margin-or-top": by_margin or by_top,
            "margin-and-top": by_margin and by_top,
        }[level.rule]
        verdicts.append(
            Verdict(
                f, r.get("status", "?"), r.get("metric"), gain, stderr, by_margin, by_top, promoted
            )
        )
    return verdicts
