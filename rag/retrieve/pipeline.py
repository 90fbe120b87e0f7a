"""Retrieval: candidates fused, then optionally reranked, re-dated, collapsed and diversified."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from index import ChunkRow, ReadView, RowFilter
from rag.budget import NO_DEADLINE, Deadline
from rag.errors import InvalidRequestError
from rag.limits import MAX_HALF_LIFE_DAYS
from rag.retrieve.candidates import Candidates, Ranking
from rag.retrieve.dedupe import DUPLICATE_COSINE, collapse_duplicates
from rag.retrieve.diversity import MMR_LAMBDA, mmr
from rag.retrieve.fusion import reciprocal_rank_fusion, score_fusion
from rag.retrieve.lexical import lexical_phrases
from rag.retrieve.recency import decay, with_question_dates
from rag.retrieve.rerank import DEFAULT_RANKER, load_ranker, rerank, sentence_ranges
from rag.types import Filters, Passage, Query

RRF_K = 60


@dataclass(frozen=True)
class Plan:
    """The stages one mode runs: which lists, how they are fused, and the optional stages after."""

    dense: bool = True
    lexical: bool = True
    fusion: str = "score"  # "score", "rrf", or "" for a single list
    rerank: bool = False
    recency: bool = False
    dedupe: bool = False
    mmr: bool = False
    fill: bool = True  # score fusion: look up each candidate's missing score in the other list


PLANS: dict[str, Plan] = {
    "dense": Plan(lexical=False, fusion=""),
    "lexical": Plan(dense=False, fusion=""),
    "hybrid": Plan(),
    "hybrid-rrf": Plan(fusion="rrf"),
    "hybrid-score": Plan(fusion="score"),
    "hybrid+rerank": Plan(rerank=True),
    "hybrid+dedupe": Plan(dedupe=True),
    "hybrid+mmr": Plan(mmr=True),
    "hybrid+recent": Plan(recency=True),
    "hybrid-fast": Plan(fill=False),
}
MODES = tuple(PLANS)


@dataclass(frozen=True)
class RetrievalConfig:
    """Tunable parameters of every stage; the defaults were chosen on SciFact train and RealTimeQA dev."""

    depth: int = 100  # candidates taken from each list (at least k)
    rrf_k: float = 10.0  # best of 10, 30, 60, 100 on both tuning splits
    rrf_weights: tuple[float, float] = (1.0, 1.0)  # dense, lexical
    score_weights: tuple[float, float] = (0.65, 0.35)  # dense, lexical
    normaliser: str = "minmax"
    ranker: Path = DEFAULT_RANKER
    rerank_depth: int = 50
    half_life_days: float = 7.0  # RealTimeQA dev as asked: nDCG@10 .980 .980 .978 .974 at 2, 7, 14, 30 d
    duplicate_cosine: float = DUPLICATE_COSINE
    mmr_lambda: float = MMR_LAMBDA


DEFAULT_CONFIG = RetrievalConfig()


def to_row_filter(filters: Filters | None) -> RowFilter | None:
    """The store's view of the domain filters."""
    if filters is None or filters.is_empty():
        return None
    return RowFilter(
        source=filters.source,
        published_from=filters.published_from.isoformat() if filters.published_from else None,
        published_to=filters.published_to.isoformat() if filters.published_to else None,
        metadata=dict(filters.metadata),
        undated=filters.undated,
    )


def retrieve(
    snapshot: ReadView,
    query: Query,
    embed: Callable[[str], np.ndarray],
    config: RetrievalConfig = DEFAULT_CONFIG,
    deadline: Deadline = NO_DEADLINE,
) -> list[Passage]:
    """The query.k best passages for the query under its mode, best first.

    This is the one place retrieval reads the store: it searches, fetches what the stages need,
    and hands it to stages that only compute. The query's vector is used when it has one, else
    embed(query.text) when the mode needs one; a half-life turns on the recency stage whatever
    the mode; deadline is checked between stages.
    """
    plan = plan_for(query)
    k = query.k
    filters = with_question_dates(query.text, query.filters) if plan.recency else query.filters
    vector = None
    if plan.dense:
        vector = query.vector if query.vector is not None else embed(query.text)
    deadline.check("embedding the query")
    phrases = lexical_phrases(query.text) if plan.lexical else ()
    pool = max(k, config.rerank_depth) if plan.rerank or plan.recency else k
    pool = max(pool, 2 * k) if plan.dedupe or plan.mmr else pool
    depth = max(config.depth, pool) if plan.fusion else pool  # a single list must fill the pool itself
    fill = (plan.fusion == "score" and plan.fill) or plan.rerank  # RRF needs only the rankings
    row_filter = to_row_filter(filters)
    candidates = gather(snapshot, vector, phrases, depth, row_filter, fill)
    deadline.check("dense and lexical search")
    ranked = fuse(plan, candidates, config)[:pool]
    rows = snapshot.chunks([i for i, _ in ranked])
    if plan.rerank and vector is not None:
        sentences = snapshot.sentences(sentence_ranges(rows[i] for i, _ in ranked if i in rows))
        ranked = rerank(load_ranker(config.ranker), query.text, vector, ranked, candidates, rows, sentences)
        deadline.check("reranking")
    if plan.recency:
        dates = {i: _published(rows[i]) for i, _ in ranked if i in rows}
        half_life = config.half_life_days if query.half_life_days is None else query.half_life_days
        ranked = decay(ranked, dates, half_life)
    passages = [to_passage(rows[i], score, _scores(candidates, i)) for i, score in ranked if i in rows]
    if plan.dedupe or plan.mmr:
        vectors = _vectors(snapshot, candidates, [p.chunk_id for p in passages])
        passages = diversify(plan, passages, vectors, k, config)
    return passages[:k]


def plan_of(mode: str) -> Plan:
    """The stages a retrieval mode runs; an unknown mode is refused, naming the known ones."""
    plan = PLANS.get(mode)
    if plan is None:
        raise InvalidRequestError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
    return plan


def plan_for(query: Query) -> Plan:
    """The stages the query runs: its mode's, with recency when it brings a half-life (checked here)."""
    plan = plan_of(query.mode)
    if query.half_life_days is None:
        return plan
    if not 0 < query.half_life_days <= MAX_HALF_LIFE_DAYS:
        raise InvalidRequestError(
            f"half-life of {query.half_life_days:g} days is out of range: "
            f"use more than 0, up to {MAX_HALF_LIFE_DAYS}"
        )
    return replace(plan, recency=True)


def fuse(plan: Plan, candidates: Candidates, config: RetrievalConfig) -> Ranking:
    """The candidates in fused order, with the fused score."""
    if not plan.fusion:
        return candidates.dense_ranking if plan.dense else candidates.lexical_ranking
    if plan.fusion == "rrf":
        rankings = [candidates.dense_ranking, candidates.lexical_ranking]
        return reciprocal_rank_fusion(rankings, config.rrf_k, config.rrf_weights)
    return score_fusion([candidates.dense, candidates.lexical], config.score_weights, config.normaliser)


def diversify(
    plan: Plan, passages: list[Passage], vectors: Mapping[int, np.ndarray], k: int, config: RetrievalConfig
) -> list[Passage]:
    """The passages with near-duplicates collapsed and (or) re-ordered for diversity, as planned."""
    if plan.dedupe:
        passages = collapse_duplicates(passages, vectors, config.duplicate_cosine)
    if plan.mmr:
        passages = mmr(passages, vectors, k, config.mmr_lambda)
    return passages


def gather(
    snapshot: ReadView,
    vector: np.ndarray | None,
    phrases: Sequence[str],
    depth: int,
    row_filter: RowFilter | None,
    fill: bool,
) -> Candidates:
    """Search both lists to depth under the filter, then (if fill) each candidate's missing score."""
    allowed = snapshot.allowed_chunks(row_filter) if row_filter else None
    dense_ranking = snapshot.dense(vector, depth, allowed) if vector is not None else []
    lexical_ranking = snapshot.lexical(phrases, depth, allowed) if phrases else []
    dense = dict(dense_ranking)
    lexical = dict(lexical_ranking)
    if not fill:
        return Candidates(dense_ranking, lexical_ranking, dense, lexical)
    vectors: dict[int, np.ndarray] = {}
    if vector is not None:
        vectors = snapshot.chunk_vectors([i for i, _ in lexical_ranking if i not in dense])
        dense.update({i: float(v @ vector) for i, v in vectors.items()})
    dense_only = [i for i, _ in dense_ranking if i not in lexical]
    lexical.update(snapshot.lexical_scores(phrases, dense_only))
    return Candidates(dense_ranking, lexical_ranking, dense, lexical, vectors)


def _vectors(snapshot: ReadView, candidates: Candidates, chunk_ids: list[int]) -> dict[int, np.ndarray]:
    """Vectors of chunk_ids, reusing those the candidates already hold."""
    found = snapshot.chunk_vectors([i for i in chunk_ids if i not in candidates.vectors])
    found.update({i: candidates.vectors[i] for i in chunk_ids if i in candidates.vectors})
    return found


def _scores(candidates: Candidates, chunk_id: int) -> dict[str, float]:
    scores = {}
    if chunk_id in candidates.dense:
        scores["dense"] = candidates.dense[chunk_id]
    if chunk_id in candidates.lexical:
        scores["lexical"] = candidates.lexical[chunk_id]
    return scores


def _published(row: ChunkRow) -> datetime | None:
    return datetime.fromisoformat(row.published_at) if row.published_at else None


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
        published_at=_published(row),
        metadata=row.metadata if isinstance(row.metadata, dict) else json.loads(row.metadata),
        scores=scores,
    )
