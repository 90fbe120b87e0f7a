"""Reranking: a small learned ranker over cheap features of the fused candidates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index import ChunkRow, SentenceRow
from rag.language.terms import names_and_numbers, prefix_stem, query_terms, words
from rag.language.text import MAX_SENTENCE_CHARS
from rag.models import MODEL_DIR
from rag.retrieve.candidates import Candidates, Ranking
from rag.retrieve.fusion import rank_scores
from rag.retrieve.ranker_model import Ranker, read_ranker

DEFAULT_RANKER = MODEL_DIR / "ranker.json"
FEATURES = (
    "dense",  # cosine of query and chunk vectors
    "dense_gap",  # cosine minus the best cosine in the pool
    "lexical",  # BM25 over the best BM25 in the pool (0 without a match)
    "log_bm25",  # log(1 + BM25)
    "fused",  # the fused score's position between the pool's worst (0) and best (1)
    "dense_rank",  # 1 / log2(1 + rank by cosine in the pool)
    "lexical_rank",  # 1 / log2(1 + rank by BM25 in the pool), 0 without a match
    "sentence",  # best cosine of the query with a sentence inside the chunk
    "sentence_gap",  # that minus the pool's best
    "coverage",  # share of query terms found in the chunk or its title
    "entities",  # share of the query's capitalised words and numbers found in the chunk
)
# Tried and dropped (no gain in cross-validation on the training splits): query-bigram adjacency,
# title-term share, chunks of the same document in the pool, time clustering of the pool.


@lru_cache(maxsize=4)
def load_ranker(path: Path) -> Ranker:
    """The ranker stored at path (read once per process); see rag.retrieve.ranker_model for the format."""
    return read_ranker(path, FEATURES)


def rerank(
    ranker: Ranker,
    query: str,
    vector: np.ndarray,
    pool: Ranking,
    candidates: Candidates,
    rows: Mapping[int, ChunkRow],
    sentences: Sequence[SentenceRow],
) -> Ranking:
    """The pool re-ordered by the ranker's probability (chunks without a stored row are dropped).
    sentences are the stored sentences of the pooled chunks, as `sentence_ranges` asks for them."""
    pool = [(i, s) for i, s in pool if i in rows]
    if not pool:
        return []
    matrix = feature_matrix(query, vector, pool, candidates, rows, sentences)
    return rank_scores(dict(zip([i for i, _ in pool], ranker.score(matrix).tolist(), strict=True)))


def sentence_ranges(rows: Iterable[ChunkRow]) -> list[tuple[str, int, int]]:
    """The (doc_id, start, end) ranges whose stored sentences the ranker reads for these chunks:
    every sentence that can overlap a chunk starts at most one sentence's length before it."""
    return [(r.doc_id, max(0, r.start - MAX_SENTENCE_CHARS), r.end) for r in rows]


def feature_matrix(
    query: str,
    vector: np.ndarray,
    pool: Ranking,
    candidates: Candidates,
    rows: Mapping[int, ChunkRow],
    sentences: Sequence[SentenceRow],
) -> np.ndarray:
    """One row of FEATURES per pooled chunk, in pool order."""
    ids = [i for i, _ in pool]
    dense = np.asarray([candidates.dense.get(i, 0.0) for i in ids])
    bm25 = np.asarray([candidates.lexical.get(i, 0.0) for i in ids])
    fused = np.asarray([s for _, s in pool])
    sentence = _best_sentences(vector, [rows[i] for i in ids], sentences)
    matches = _lexical_matches(query, [rows[i] for i in ids])
    columns = {
        "dense": dense,
        "dense_gap": dense - dense.max(),
        "lexical": bm25 / bm25.max() if bm25.max() > 0 else bm25,
        "log_bm25": np.log1p(np.maximum(bm25, 0.0)),
        "fused": _unit(fused),
        "dense_rank": _rank_gain(dense, dense > -np.inf),
        "lexical_rank": _rank_gain(bm25, bm25 > 0),
        "sentence": sentence,
        "sentence_gap": sentence - sentence.max(),
        **matches,
    }
    return np.column_stack([columns[name] for name in FEATURES]).astype(np.float64)


def _unit(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.ones_like(values)


def _rank_gain(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    return np.where(present, 1.0 / np.log2(1.0 + ranks), 0.0)


def _best_sentences(
    vector: np.ndarray, rows: Sequence[ChunkRow], sentences: Sequence[SentenceRow]
) -> np.ndarray:
    """Per chunk, the best cosine of the query with a stored sentence inside the chunk's span."""
    by_doc: dict[str, list[tuple[int, int, float]]] = {}
    if sentences:
        sims = np.stack([s.vector for s in sentences]) @ vector
        for s, sim in zip(sentences, sims.tolist(), strict=True):
            by_doc.setdefault(s.doc_id, []).append((s.start, s.end, sim))
    best = []
    for row in rows:
        spans = by_doc.get(row.doc_id, [])
        best.append(
            max((sim for start, end, sim in spans if start < row.end and end > row.start), default=0.0)
        )
    return np.asarray(best)


def _lexical_matches(query: str, rows: Sequence[ChunkRow]) -> dict[str, np.ndarray]:
    """Per chunk: the shares of the query's terms and of its entities that the chunk (or title) contains."""
    terms = [prefix_stem(w) for w in words(" ".join(query_terms(query)))]
    entities = names_and_numbers(query)
    columns: dict[str, list[float]] = {"coverage": [], "entities": []}
    for row in rows:
        text = f"{row.title or ''} {row.text}".lower()
        columns["coverage"].append(_share(terms, {prefix_stem(w) for w in words(text)}))
        columns["entities"].append(sum(e in text for e in entities) / len(entities) if entities else 0.0)
    return {name: np.asarray(values) for name, values in columns.items()}


def _share(wanted: Sequence[object], present: set[Any]) -> float:
    return sum(w in present for w in wanted) / len(wanted) if wanted else 0.0
