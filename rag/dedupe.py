"""Near-duplicates: passages from different documents that say the same thing collapse into one."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from rag.types import Passage

DUPLICATE_COSINE = 0.95  # chunk vectors this close are one story told twice
DUPLICATE_SHINGLES = 0.8  # or this share of word 5-grams in common (Jaccard)
SHINGLE_WORDS = 5
_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    """The set of lower-cased word n-grams of text (the whole text when it is shorter than n words)."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(zip(*(words[i:] for i in range(size)), strict=False))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """|a ∩ b| / |a ∪ b|; 0.0 when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def collapse_duplicates(
    passages: Sequence[Passage],
    vectors: Mapping[int, np.ndarray],
    cosine: float = DUPLICATE_COSINE,
    overlap: float = DUPLICATE_SHINGLES,
) -> list[Passage]:
    """Keep the best passage of each near-duplicate group; the others' doc ids go to its also_reported_by.

    Two passages are near-duplicates when they come from different documents and their chunk
    vectors have cosine >= `cosine` or their word 5-gram sets have Jaccard >= `overlap`.
    """
    kept: list[Passage] = []
    kept_shingles: list[frozenset[tuple[str, ...]]] = []
    reported: list[list[str]] = []
    for passage in passages:
        own = shingles(passage.text)
        group = _duplicate_of(passage, own, kept, kept_shingles, vectors, cosine, overlap)
        if group is None:
            kept.append(passage)
            kept_shingles.append(own)
            reported.append(list(passage.also_reported_by))
        elif passage.doc_id not in reported[group]:
            reported[group].append(passage.doc_id)
    return [replace(p, also_reported_by=tuple(r)) for p, r in zip(kept, reported, strict=True)]


def _duplicate_of(
    passage: Passage,
    own: frozenset[tuple[str, ...]],
    kept: Sequence[Passage],
    kept_shingles: Sequence[frozenset[tuple[str, ...]]],
    vectors: Mapping[int, np.ndarray],
    cosine: float,
    overlap: float,
) -> int | None:
    vector = vectors.get(passage.chunk_id)
    for index, other in enumerate(kept):
        if other.doc_id == passage.doc_id:
            continue
        other_vector = vectors.get(other.chunk_id)
        if vector is not None and other_vector is not None and float(vector @ other_vector) >= cosine:
            return index
        theirs = kept_shingles[index]
        # |a ∩ b| / |a ∪ b| <= min / max of the sizes: most pairs are ruled out without a set operation
        if (
            min(len(own), len(theirs)) >= overlap * max(len(own), len(theirs))
            and jaccard(own, theirs) >= overlap
        ):
            return index
    return None
