"""The one table of input domains, and what the passes and the verifier make of it.

The learning rate is >= 0 (schedules reach 0): a rewrite that needs it positive prints `lr > 0`,
and the verifier samples lr = 0 and extreme gradient scales so the condition is tested, not
assumed. A rewrite that is exact only because the original is NaN says so.
"""

from __future__ import annotations

import numpy as np

from lionsimplify.analysis.absexec import input_facts
from lionsimplify.lang.domains import LR, input_domains, lr_positive
from lionsimplify.lang.parse import parse_text
from lionsimplify.passes.driver import reduce
from lionsimplify.passes.verify import trajectories, verify

SIGN_LR = """def train(w, g, m, lr):
  t = g * lr
  u = sign(t)
  m = interp(g, m, 0.9)
  return u, m
"""

NAN_EVERYWHERE = """def train(w, g, m, lr):
  s = m * m
  r = sqrt(s)
  u = m / r
  u = u * lr
  return u, m
"""


def test_absexec_reads_the_domain_table() -> None:
    p = parse_text(SIGN_LR, "a.txt")
    assert input_domains(p)["lr"] is LR
    assert input_facts(p)["lr"].interval == LR.interval == (0.0, float("inf"))


def test_verification_samples_lr_zero_and_extreme_gradients() -> None:
    for t in trajectories():
        assert (t.lrs[-1] == 0).all() and (t.lrs[0] > 0).all()
        row_scale = np.abs(t.grads).max(axis=(0, 2))
        assert row_scale.min() < 1e-6 < 1e5 < row_scale.max()


def test_dropping_lr_from_sign_prints_lr_positive_and_shows_where_it_fails() -> None:
    p = parse_text(SIGN_LR, "a.txt")
    r = reduce(p)
    assert lr_positive(p) in r.side_conditions
    assert any("holds only where lr > 0" in w for w in r.warnings)
    assert r.label == "exact"
    # the verdict holds under its side condition, and not without it (lr = 0 is sampled)
    assert verify(p, r.program, "exact", side_conditions=r.side_conditions).ok
    assert not verify(p, r.program, "exact").ok


def test_a_rewrite_of_an_everywhere_nan_original_says_the_original_is_undefined() -> None:
    r = reduce(parse_text(NAN_EVERYWHERE, "b.txt"))
    assert any("the original is undefined there" in w for w in r.warnings)
    assert r.to_json()["warnings"]
