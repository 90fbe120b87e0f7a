"""Diversity: maximal marginal relevance over a ranked list of passages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rag.retrieve.fusion import normalise
from rag.types import Passage

MMR_LAMBDA = 0.7  # weight of relevance against novelty


def mmr(
    passages: Sequence[Passage], vectors: Mapping[int, np.ndarray], k: int, lam: float = MMR_LAMBDA
) -> list[Passage]:
    """Greedily pick k: argmax λ·rel − (1−λ)·max cosine to those picked, rel = min-max normalised score.

    A passage without a stored vector is treated as novel (similarity 0).
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"MMR lambda {lam} must be between 0 and 1")
    pool = list(passages)
    if not pool or k <= 0:
        return []
    relevance = normalise({i: p.score for i, p in enumerate(pool)}, "minmax")
    dimension = next((len(v) for v in vectors.values()), 1)
    matrix = np.stack([vectors.get(p.chunk_id, np.zeros(dimension, np.float32)) for p in pool])
    rel = np.asarray([relevance[i] for i in range(len(pool))])
    most_similar = np.full(len(pool), -np.inf)
    chosen: list[int] = []
    available = np.ones(len(pool), dtype=bool)
    for _ in range(min(k, len(pool))):
        penalty = np.where(np.isinf(most_similar), 0.0, most_similar)
        value = np.where(available, lam * rel - (1 - lam) * penalty, -np.inf)
        pick = int(np.argmax(value))
        chosen.append(pick)
        available[pick] = False
        most_similar = np.maximum(most_similar, matrix @ matrix[pick])
    return [pool[i] for i in chosen]
