"""Candidates: the dense and lexical top lists of one search, each candidate scored by both."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# (chunk id, score) pairs, best first: what one list, a fusion or a stage returns.
Ranking = list[tuple[int, float]]


@dataclass(frozen=True)
class Candidates:
    """The union of the dense and lexical lists, with both scores known for every candidate.

    `dense` holds the cosine of every candidate; `lexical` the BM25 of every candidate that
    matches a query term (a missing one scores 0). The two rankings are kept as searched, for RRF.
    """

    dense_ranking: Ranking
    lexical_ranking: Ranking
    dense: dict[int, float] = field(default_factory=dict)
    lexical: dict[int, float] = field(default_factory=dict)
    vectors: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        """Every candidate id, dense list first, then lexical-only ones."""
        return list(dict.fromkeys([i for i, _ in self.dense_ranking] + [i for i, _ in self.lexical_ranking]))
