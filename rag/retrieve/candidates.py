"""Candidate generation: dense and lexical top lists from one snapshot, each candidate scored by both."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index import RowFilter, Snapshot


@dataclass(frozen=True)
class Candidates:
    """The union of the dense and lexical lists, with both scores known for every candidate.

    `dense` holds the cosine of every candidate; `lexical` the BM25 of every candidate that
    matches a query term (a missing one scores 0). The two rankings are kept as searched, for RRF.
    """

    dense_ranking: list[tuple[int, float]]
    lexical_ranking: list[tuple[int, float]]
    dense: dict[int, float] = field(default_factory=dict)
    lexical: dict[int, float] = field(default_factory=dict)
    vectors: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        """Every candidate id, dense list first, then lexical-only ones."""
        return list(dict.fromkeys([i for i, _ in self.dense_ranking] + [i for i, _ in self.lexical_ranking]))


def gather(
    snapshot: Snapshot,
    query_vector: np.ndarray | None,
    match: str,
    depth: int,
    row_filter: RowFilter | None,
    weights: tuple[float, float],
    fill: bool = True,
) -> Candidates:
    """Search both lists to depth under the filter, then (if fill) each candidate's missing score."""
    dense_ranking: list[tuple[int, float]] = []
    if query_vector is not None:
        allowed = snapshot.allowed_chunks(row_filter) if row_filter else None
        dense_ranking = snapshot.dense(query_vector, depth, allowed)
    lexical_ranking = snapshot.lexical(match, depth, row_filter, weights) if match else []
    dense = dict(dense_ranking)
    lexical = dict(lexical_ranking)
    if not fill:
        return Candidates(dense_ranking, lexical_ranking, dense, lexical)
    vectors: dict[int, np.ndarray] = {}
    if query_vector is not None:
        vectors = snapshot.chunk_vectors([i for i, _ in lexical_ranking if i not in dense])
        dense.update({i: float(v @ query_vector) for i, v in vectors.items()})
    dense_only = [i for i, _ in dense_ranking if i not in lexical]
    lexical.update(snapshot.lexical_scores(match, dense_only, weights))
    return Candidates(dense_ranking, lexical_ranking, dense, lexical, vectors)


def vectors_of(snapshot: Snapshot, candidates: Candidates, chunk_ids: list[int]) -> dict[int, np.ndarray]:
    """Vectors of chunk_ids, reusing those the candidates already hold."""
    found = snapshot.chunk_vectors([i for i in chunk_ids if i not in candidates.vectors])
    found.update({i: candidates.vectors[i] for i in chunk_ids if i in candidates.vectors})
    return found
