"""Fusion of ranked candidate lists: reciprocal-rank fusion and normalised, weighted score fusion."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rag.errors import InvalidRequestError

Ranking = Sequence[tuple[int, float]]  # (item id, score), best first
NORMALISERS = ("minmax", "zscore", "max")


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking], k: float = 60.0, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Σ_lists w / (k + rank) over the lists an item appears in (rank from 1); best first, ties by id."""
    weights = _weights(weights, len(rankings))
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, (item, _) in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return rank_scores(scores)


def normalise(scores: Mapping[int, float], method: str = "minmax") -> dict[int, float]:
    """Scores mapped to a common scale: minmax (x-min)/(max-min), zscore (x-mean)/sd, max x/max.

    A constant list maps to 1.0 under minmax and max (0.0 under zscore); an empty one to {}.
    """
    if method not in NORMALISERS:
        raise InvalidRequestError(f"unknown normaliser {method!r}; choose one of {', '.join(NORMALISERS)}")
    if not scores:
        return {}
    values = list(scores.values())
    if method == "zscore":
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        return {i: (v - mean) / sd if sd > 0 else 0.0 for i, v in scores.items()}
    high = max(values)
    low = min(values) if method == "minmax" else 0.0
    span = high - low
    return {i: (v - low) / span if span > 0 else 1.0 for i, v in scores.items()}


def score_fusion(
    score_maps: Sequence[Mapping[int, float]],
    weights: Sequence[float] | None = None,
    method: str = "minmax",
) -> list[tuple[int, float]]:
    """Σ_lists w · normalised score; an item absent from a list gets the bottom of the scale: 0, or
    that list's lowest normalised value when lower (zscore). Not the lowest value alone: when one
    item alone matches the query's terms it normalises to 1.0, and the others must not tie with it."""
    weights = _weights(weights, len(score_maps))
    normalised = [normalise(scores, method) for scores in score_maps]
    floors = [min([0.0, *n.values()]) for n in normalised]
    items = {item for scores in score_maps for item in scores}
    fused = {
        item: sum(w * n.get(item, floor) for n, w, floor in zip(normalised, weights, floors, strict=True))
        for item in items
    }
    return rank_scores(fused)


def rank_scores(scores: Mapping[int, float]) -> list[tuple[int, float]]:
    """Items by descending score, ties broken by ascending id so results are deterministic."""
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def _weights(weights: Sequence[float] | None, count: int) -> list[float]:
    if weights is None:
        return [1.0] * count
    if len(weights) != count:
        raise InvalidRequestError(f"{len(weights)} fusion weights given for {count} ranked lists")
    return list(weights)
