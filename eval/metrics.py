"""Retrieval metrics over document rankings, per query (trec_eval / ranx conventions).

A ranking is a sequence of distinct doc ids, best first; judgements map doc ids to grades,
and a document counts as relevant when its grade is above 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial

Ranking = Sequence[str]
Judgements = Mapping[str, int]
Metric = Callable[[Ranking, Judgements], float]
DEPTH = 100  # documents kept per query: recall@100 and MAP are computed over this depth


def ndcg(ranking: Ranking, judgements: Judgements, k: int) -> float:
    """nDCG@k = DCG@k / IDCG@k with DCG@k = Σ_{i≤k} grade_i / log2(i + 1); 0.0 when nothing is relevant."""
    ideal = sorted((g for g in judgements.values() if g > 0), reverse=True)[:k]
    idcg = sum(grade / math.log2(i + 2) for i, grade in enumerate(ideal))
    if idcg == 0:
        return 0.0
    dcg = sum(max(judgements.get(doc_id, 0), 0) / math.log2(i + 2) for i, doc_id in enumerate(ranking[:k]))
    return dcg / idcg


def recall(ranking: Ranking, judgements: Judgements, k: int) -> float:
    """Recall@k = |relevant ∩ top k| / |relevant|; 0.0 when nothing is relevant."""
    relevant = {doc_id for doc_id, grade in judgements.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def reciprocal_rank(ranking: Ranking, judgements: Judgements, k: int) -> float:
    """RR@k = 1 / rank of the first relevant document within the top k; 0.0 when there is none."""
    for rank, doc_id in enumerate(ranking[:k], start=1):
        if judgements.get(doc_id, 0) > 0:
            return 1.0 / rank
    return 0.0


def average_precision(ranking: Ranking, judgements: Judgements) -> float:
    """AP = Σ_{relevant rank r} precision@r / |relevant|, whole ranking; 0.0 when nothing is relevant."""
    total = sum(1 for grade in judgements.values() if grade > 0)
    if total == 0:
        return 0.0
    found, summed = 0, 0.0
    for rank, doc_id in enumerate(ranking, start=1):
        if judgements.get(doc_id, 0) > 0:
            found += 1
            summed += found / rank
    return summed / total


# The table the harness reports, in column order; names follow ranx / ir_measures spelling.
RETRIEVAL_METRICS: dict[str, Metric] = {
    "ndcg@10": partial(ndcg, k=10),
    "recall@5": partial(recall, k=5),
    "recall@10": partial(recall, k=10),
    "recall@100": partial(recall, k=100),
    "mrr@10": partial(reciprocal_rank, k=10),
    "map": average_precision,
}


def score_queries(
    rankings: Mapping[str, Ranking], qrels: Mapping[str, Judgements], qids: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Each metric's value per query id (metric -> qid -> value); a query never run scores 0."""
    return {
        name: {qid: metric(rankings.get(qid, ()), qrels.get(qid, {})) for qid in qids}
        for name, metric in RETRIEVAL_METRICS.items()
    }


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean Σ x / n; None for no values."""
    return sum(values) / len(values) if values else None


def recall_curve(
    rankings: Mapping[str, Ranking], qrels: Mapping[str, Judgements], qids: Sequence[str], depth: int = DEPTH
) -> list[float]:
    """Mean recall@k over qids for k = 1..depth; all zeros when qids is empty."""
    curve = [0.0] * depth
    for qid in qids:
        relevant = {doc_id for doc_id, grade in qrels.get(qid, {}).items() if grade > 0}
        if not relevant:
            continue
        found = 0
        ranking = list(rankings.get(qid, ()))[:depth]
        for k in range(depth):
            if k < len(ranking) and ranking[k] in relevant:
                found += 1
            curve[k] += found / len(relevant)
    return [value / len(qids) for value in curve] if qids else curve
