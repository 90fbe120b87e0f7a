"""The two-sided paired randomisation (sign-flip permutation) test over per-query scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import permutation_test

PERMUTATIONS = 10_000
_BATCH = 1_000  # permutations drawn at once: bounds memory to _BATCH x queries floats


def paired_randomization_test(
    current: Sequence[float], baseline: Sequence[float], permutations: int = PERMUTATIONS, seed: int = 0
) -> float:
    """p = (1 + #{|mean(s·d)| ≥ |mean(d)|}) / (1 + perms), d = current − baseline, s ∈ ±1; 1.0 if d = 0.

    scipy's permutation_test draws the sign flips; with 2^n ≤ perms it enumerates all of them and
    p is exact, #{…} / 2^n."""
    if len(current) != len(baseline):
        raise ValueError(f"paired scores differ in length: {len(current)} and {len(baseline)}")
    diffs = np.asarray(current, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    if diffs.size == 0 or not np.any(diffs):
        return 1.0
    result = permutation_test(
        (diffs,),
        _absolute_mean,
        permutation_type="samples",  # one sample: flip the signs of its differences
        vectorized=True,
        n_resamples=permutations,
        batch=_BATCH,
        alternative="greater",  # of |mean|: two-sided in the mean
        rng=np.random.default_rng(seed),
    )
    return float(result.pvalue)


def _absolute_mean(diffs: np.ndarray, axis: int) -> np.ndarray:
    return np.abs(diffs.mean(axis=axis))
