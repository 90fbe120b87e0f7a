"""The two-sided paired randomisation (sign-flip permutation) test over per-query scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PERMUTATIONS = 10_000
_BATCH = 1_000  # permutations drawn at once: bounds memory to _BATCH x queries floats


def paired_randomization_test(
    current: Sequence[float], baseline: Sequence[float], permutations: int = PERMUTATIONS, seed: int = 0
) -> float:
    """p = (1 + #{|mean(s·d)| ≥ |mean(d)|}) / (1 + perms), d = current − baseline, s ∈ ±1; 1.0 if d = 0."""
    if len(current) != len(baseline):
        raise ValueError(f"paired scores differ in length: {len(current)} and {len(baseline)}")
    diffs = np.asarray(current, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    if diffs.size == 0 or not np.any(diffs):
        return 1.0
    observed = abs(diffs.mean())
    rng = np.random.default_rng(seed)
    # Tolerance so that permutations equal to the observed statistic count as "at least as extreme".
    threshold = observed - 1e-12 * max(1.0, observed)
    extreme = 0
    for start in range(0, permutations, _BATCH):
        size = min(_BATCH, permutations - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(size, diffs.size))
        extreme += int(np.count_nonzero(np.abs(signs @ diffs) / diffs.size >= threshold))
    return (extreme + 1) / (permutations + 1)
