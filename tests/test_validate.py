"""`reduce --validate`: ablations are settled by training on a proxy task."""

from __future__ import annotations

import json
from pathlib import Path

from lionsimplify.funnel.validation import ALL, VariantScore, paired_verdict, validate_ablations
from lionsimplify.lang.parse import parse_file

P8 = Path(__file__).parent.parent / "examples" / "programs" / "program8.txt"


def _score(name: str, metrics: list[float | None]) -> VariantScore:
    return VariantScore(name, "", "ok", metrics, 1.0, 0.0, 0.0)


def test_verdict_rule_accepts_within_margin_and_rejects_worse() -> None:
    ref = _score("reduced", [0.90, 0.92, 0.94])
    assert paired_verdict("a", ref, _score("a", [0.90, 0.915, 0.94]), True, 0.01).accepted
    worse = paired_verdict("b", ref, _score("b", [0.85, 0.86, 0.87]), True, 0.01)
    assert not worse.accepted and worse.delta < 0
    # lower is better: a higher loss is worse
    loss = _score("reduced", [1.0, 1.0])
    assert not paired_verdict("c", loss, _score("c", [1.2, 1.2]), False, 0.01).accepted
    assert paired_verdict("d", loss, _score("d", [0.9, 0.9]), False, 0.01).accepted
    failed = VariantScore("e", "", "diverged", [None, None], None, 0.0, 0.0)
    assert not paired_verdict("e", loss, failed, False, 0.01).accepted


def test_program8_ablations_on_convex_s() -> None:
    v = validate_ablations(parse_file(P8), "convex-s", seeds=(0, 1), lr_multipliers=(1.0, 10.0))
    names = [s.name for s in v.variants]
    assert names == ["reduced", "drop-clip", "drop-arcsin", ALL]
    scores = {s.name: s for s in v.variants}
    assert scores["reduced"].status == "ok" and scores["reduced"].mean is not None
    verdicts = {x.ablation: x for x in v.verdicts}
    assert set(verdicts) == {"drop-clip", "drop-arcsin", ALL}
    # without `clip`, `arcsin` sees gradients beyond [-1, 1]: NaN, so that ablation is rejected
    assert scores["drop-clip"].status == "diverged"
    assert not verdicts["drop-clip"].accepted and "diverged" in verdicts["drop-clip"].reason
    final = {s.op for s in v.final.program.body}
    assert ("clip" in final) == ("drop-clip" not in v.accepted)
    assert ("arcsin" in final) == ("drop-arcsin" not in v.accepted)
    data = json.loads(json.dumps(v.to_json()))
    assert data["proxy"] == "convex-s" and len(data["variants"]) == 4
