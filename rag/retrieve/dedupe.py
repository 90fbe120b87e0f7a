"""Near-duplicates: passages from different documents that say the same thing collapse into one."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from rag.language.terms import words
from rag.types import Passage

DUPLICATE_COSINE = 0.95  # chunk vectors this close are one story told twice
DUPLICATE_SHINGLES = 0.8  # or this share of word 5-grams in common (Jaccard)
SHINGLE_WORDS = 5


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[tuple[str, ...]]:
    """The set of lower-cased word n-grams of text (the whole text when it is shorter than n words)."""
    tokens = words(text.lower())
    if len(tokens) <= size:
        return frozenset([tuple(tokens)]) if tokens else frozenset()
    return frozenset(zip(*(tokens[i:] for i in range(size)), strict=False))


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
    vectors have cosine >= `cosine` or their word 5-gram sets have Jaccard >= `overlap`; a
    passage joins the first kept passage it duplicates. Cosines are one matrix product per
    passage. 5-gram pairs are found by prefix filtering: in one fixed order of all 5-grams, two
    sets with Jaccard >= t share one of each set's first |s| - ceil(t·|s|) + 1 grams, so only
    those are indexed and only pairs sharing one are compared in full.
    """
    if not overlap > 0:  # above 1: never by words
        raise ValueError(f"a 5-gram overlap of {overlap} is not a Jaccard threshold above 0")
    kept: list[Passage] = []
    kept_grams: list[frozenset[tuple[str, ...]]] = []
    reported: list[list[str]] = []
    postings: dict[tuple[str, ...], list[int]] = {}
    doc_codes: dict[str, int] = {}
    kept_docs = np.zeros(len(passages), dtype=np.int64)
    width = next((len(v) for v in vectors.values()), 0)
    matrix = np.zeros((len(passages), width), dtype=np.float32)  # a row per kept passage
    for passage in passages:
        own = shingles(passage.text)
        code = doc_codes.setdefault(passage.doc_id, len(doc_codes))
        n = len(kept)
        different = kept_docs[:n] != code
        first = n
        vector = vectors.get(passage.chunk_id)
        if vector is not None and n:
            hits = np.flatnonzero(different & (matrix[:n] @ vector >= cosine))
            first = int(hits[0]) if len(hits) else n
        prefix = _prefix(own, overlap)
        for j in sorted({j for gram in prefix for j in postings.get(gram, ()) if j < first}):
            theirs = kept_grams[j]
            # |a ∩ b| / |a ∪ b| <= min / max of the sizes: most candidates fall without a set operation
            if (
                different[j]
                and min(len(own), len(theirs)) >= overlap * max(len(own), len(theirs))
                and jaccard(own, theirs) >= overlap
            ):
                first = j
                break
        if first < n:
            if passage.doc_id not in reported[first]:
                reported[first].append(passage.doc_id)
            continue
        matrix[n] = vector if vector is not None else np.nan  # no vector: never a cosine match
        kept_docs[n] = code
        for gram in prefix:
            postings.setdefault(gram, []).append(n)
        kept.append(passage)
        kept_grams.append(own)
        reported.append(list(passage.also_reported_by))
    return [replace(p, also_reported_by=tuple(r)) for p, r in zip(kept, reported, strict=True)]


def _prefix(grams: frozenset[tuple[str, ...]], overlap: float) -> list[tuple[str, ...]]:
    """The grams a set with Jaccard >= overlap to this one must share one of (prefix filtering)."""
    size = len(grams) - math.ceil(overlap * len(grams) - 1e-9) + 1
    return sorted(grams, key=lambda gram: (hash(gram), gram))[: max(size, 0)]
