"""Refactors keep the numbers: fixed runs must reproduce their stored fingerprints bit for bit."""

import json

from scripts.golden import GOLDEN, cases


def test_golden_outputs_are_bit_identical():
    stored = json.loads(GOLDEN.read_text())
    now = cases()
    assert set(now) == set(stored)
    diff = {case: sorted(c for c in set(stored[case]) | set(now[case])
                         if stored[case].get(c) != now[case].get(c)) for case in stored}
    assert not any(diff.values()), {k: v[:10] for k, v in diff.items() if v}
