"""Retrieval metrics over document rankings, per query: computed by ranx (trec_eval conventions).

A ranking is a sequence of distinct doc ids, best first; judgements map doc ids to grades,
and a document counts as relevant when its grade is above 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Ranking = Sequence[str]
Judgements = Mapping[str, int]
DEPTH = 100  # documents kept per query: recall@100 and MAP are computed over this depth

# The table the harness reports, in column order, as ranx computes them (trec_eval conventions):
# nDCG@k = DCG@k / IDCG@k with DCG@k = Σ_{i≤k} grade_i / log2(i + 1); recall@k = |relevant ∩ top k|
# / |relevant|; RR@k = 1 / rank of the first relevant document in the top k; AP = Σ_{relevant
# rank r} precision@r / |relevant| over the whole ranking. Each is 0.0 for a query with nothing
# relevant, or never run.
RETRIEVAL_METRICS = ("ndcg@10", "recall@5", "recall@10", "recall@100", "mrr@10", "map")


def score_queries(
    rankings: Mapping[str, Ranking], qrels: Mapping[str, Judgements], qids: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Each metric's value per query id (metric -> qid -> value), computed by ranx."""
    import ranx  # numba-compiled; loaded when a run is scored, not when the harness is imported

    scores = {name: dict.fromkeys(qids, 0.0) for name in RETRIEVAL_METRICS}
    judged = {q: {d: g for d, g in qrels.get(q, {}).items() if g > 0} for q in dict.fromkeys(qids)}
    judged = {q: relevant for q, relevant in judged.items() if relevant}
    run = {q: _ranked(rankings[q]) for q in judged if rankings.get(q)}
    if not judged or not run:
        return scores
    relevant = ranx.Qrels(judged)
    per_query = ranx.evaluate(
        relevant, ranx.Run(run), list(RETRIEVAL_METRICS), return_mean=False, make_comparable=True
    )
    order = list(relevant.keys())  # the order ranx returns per-query values in
    for name in RETRIEVAL_METRICS:
        scores[name].update(zip(order, (float(v) for v in per_query[name]), strict=True))
    return scores


def _ranked(ranking: Ranking) -> dict[str, float]:
    """A ranking as ranx's scores: the first document scores highest."""
    return {doc_id: float(len(ranking) - i) for i, doc_id in enumerate(ranking)}


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
