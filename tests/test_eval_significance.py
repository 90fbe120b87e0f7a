"""The paired randomisation test: a clear difference, no difference, and an exactly known case."""

from __future__ import annotations

import pytest

from eval.significance import PERMUTATIONS, paired_randomization_test


def test_clear_improvement_is_significant() -> None:
    baseline = [0.1 * (i % 7) for i in range(40)]
    current = [b + 0.3 for b in baseline]
    # Only the two all-same-sign flips (chance 2 / 2^40) reach the observed mean; none is drawn.
    assert paired_randomization_test(current, baseline) == 1 / (PERMUTATIONS + 1)


def test_identical_runs_give_one() -> None:
    scores = [0.2, 0.5, 0.9, 0.0]
    assert paired_randomization_test(scores, scores) == 1.0
    assert paired_randomization_test([], []) == 1.0


def test_noise_is_not_significant() -> None:
    baseline = [0.5] * 21
    current = [0.5 + (1 if i % 2 else -1) * 0.2 for i in range(21)]  # ten up, eleven down
    assert paired_randomization_test(current, baseline) > 0.5


def test_two_sided_p_matches_the_exact_value() -> None:
    # Three differences of +1: |mean| = 1 only for all-plus or all-minus, 2 of 8 sign patterns.
    p = paired_randomization_test([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], seed=7)
    assert p == pytest.approx(0.25, abs=0.015)
    assert paired_randomization_test([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], seed=7) == p  # seeded


def test_unpaired_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_randomization_test([1.0], [1.0, 2.0])
