"""Near-duplicates: passages from different documents that say the same thing collapse into one."""

from __future__ import annotations

import re
from collections import Counter
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
    vectors have cosine >= `cosine` or their word 5-gram sets have Jaccard >= `overlap`. A
    passage joins the first kept passage it duplicates. Cosines are one matrix product per
    passage, and shared shingles are counted through an inverted index, so a pool of hundreds
    costs milliseconds rather than a set operation per pair.
    """
    kept: list[Passage] = []
    reported: list[list[str]] = []
    sizes: list[int] = []
    postings: dict[tuple[str, ...], list[int]] = {}
    width = next((len(v) for v in vectors.values()), 0)
    matrix = np.zeros((len(passages), width), dtype=np.float32)  # kept vectors, row per kept passage
    for passage in passages:
        own = shingles(passage.text)
        vector = vectors.get(passage.chunk_id)
        different = np.fromiter((k.doc_id != passage.doc_id for k in kept), dtype=bool, count=len(kept))
        first = len(kept)
        if vector is not None and kept:
            hits = np.flatnonzero(different & (matrix[: len(kept)] @ vector >= cosine))
            first = int(hits[0]) if len(hits) else first
        shared: Counter[int] = Counter(j for gram in own for j in postings.get(gram, ()) if j < first)
        for j, common in shared.items():
            if different[j] and common >= overlap * (len(own) + sizes[j] - common) and j < first:
                first = j
        if first < len(kept):
            if passage.doc_id not in reported[first]:
                reported[first].append(passage.doc_id)
            continue
        if vector is not None:
            matrix[len(kept)] = vector
        else:
            matrix[len(kept)] = np.nan  # no vector: never a cosine match
        for gram in own:
            postings.setdefault(gram, []).append(len(kept))
        kept.append(passage)
        sizes.append(len(own))
        reported.append(list(passage.also_reported_by))
    return [replace(p, also_reported_by=tuple(r)) for p, r in zip(kept, reported, strict=True)]
