"""Retrieval: dense, lexical and fused candidates from one snapshot, as Passages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime

import numpy as np

from index import ChunkRow, RowFilter, Snapshot
from rag.errors import InvalidRequestError
from rag.types import Filters, Passage

MODES = ("dense", "lexical", "hybrid")
RRF_K = 60
_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "about",
        "after",
        "before",
        "into",
        "than",
        "then",
        "there",
        "these",
        "those",
        "would",
        "could",
        "should",
        "can",
        "may",
    ]
)


def fts_query(text: str) -> str:
    """An FTS5 expression matching any content word of text (each quoted, so no syntax leaks)."""
    terms = [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]
    return " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))


def to_row_filter(filters: Filters | None) -> RowFilter | None:
    """The store's view of the domain filters."""
    if filters is None or filters.is_empty():
        return None
    return RowFilter(
        source=filters.source,
        published_from=filters.published_from.isoformat() if filters.published_from else None,
        published_to=filters.published_to.isoformat() if filters.published_to else None,
        metadata=dict(filters.metadata),
    )


def retrieve(
    snapshot: Snapshot,
    query: str,
    embed: Callable[[str], np.ndarray],
    k: int,
    filters: Filters | None = None,
    mode: str = "hybrid",
) -> list[Passage]:
    """The k best passages for query under the given mode."""
    if mode not in MODES:
        raise InvalidRequestError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
    row_filter = to_row_filter(filters)
    depth = max(k * 4, 50) if mode == "hybrid" else k
    ranked: dict[str, list[tuple[int, float]]] = {}
    if mode in ("dense", "hybrid"):
        allowed = snapshot.allowed_chunks(row_filter) if row_filter else None
        ranked["dense"] = snapshot.dense(embed(query), depth, allowed)
    if mode in ("lexical", "hybrid"):
        ranked["lexical"] = snapshot.lexical(fts_query(query), depth, row_filter)
    fused = ranked[mode] if mode != "hybrid" else reciprocal_rank_fusion(list(ranked.values()))
    top = fused[:k]
    rows = snapshot.chunks([chunk_id for chunk_id, _ in top])
    per_mode = {name: dict(hits) for name, hits in ranked.items()}
    return [
        to_passage(rows[cid], score, {n: s[cid] for n, s in per_mode.items() if cid in s})
        for cid, score in top
        if cid in rows
    ]


def reciprocal_rank_fusion(
    rankings: list[list[tuple[int, float]]], k: int = RRF_K
) -> list[tuple[int, float]]:
    """Sum of 1 / (k + rank) over the rankings an item appears in; best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (item, _) in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def to_passage(row: ChunkRow, score: float, scores: dict[str, float]) -> Passage:
    """A stored chunk as a domain Passage."""
    return Passage(
        chunk_id=row.chunk_id,
        doc_id=row.doc_id,
        start=row.start,
        end=row.end,
        text=row.text,
        score=score,
        title=row.title,
        source=row.source,
        url=row.url,
        published_at=datetime.fromisoformat(row.published_at) if row.published_at else None,
        metadata=row.metadata if isinstance(row.metadata, dict) else json.loads(row.metadata),
        scores=scores,
    )
