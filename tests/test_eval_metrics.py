"""Retrieval metrics (computed by ranx) against values derived by hand on a tiny case."""

from __future__ import annotations

import math

import pytest

from eval.metrics import RETRIEVAL_METRICS, mean, recall_curve, score_queries

# q1: two relevant docs at ranks 1 and 3; q2: graded (d2 = 2, d5 = 1) at ranks 3 and 2;
# q3: its only relevant document is never retrieved.
QRELS = {"q1": {"d1": 1, "d3": 1, "d7": 0}, "q2": {"d2": 2, "d5": 1}, "q3": {"d9": 1}}
RUN = {"q1": ["d1", "d2", "d3", "d4"], "q2": ["d4", "d5", "d2"], "q3": ["d1", "d2"]}
LOG3 = math.log2(3)
NDCG_Q1 = (1 + 1 / 2) / (1 + 1 / LOG3)  # DCG: 1/log2(2) + 1/log2(4); IDCG: 1/log2(2) + 1/log2(3)
NDCG_Q2 = (1 / LOG3 + 2 / 2) / (2 + 1 / LOG3)  # DCG: 0 + 1/log2(3) + 2/log2(4); IDCG: 2/1 + 1/log2(3)


def scores(run: dict[str, list[str]], qrels: dict[str, dict[str, int]], metric: str) -> list[float]:
    qids = list(qrels)
    per_query = score_queries(run, qrels, qids)[metric]
    return [per_query[q] for q in qids]


def test_ndcg_by_hand() -> None:
    assert scores(RUN, QRELS, "ndcg@10") == pytest.approx([NDCG_Q1, NDCG_Q2, 0.0], abs=1e-12)
    assert scores({"q1": ["d1"]}, {"q1": {}}, "ndcg@10") == [0.0]  # nothing relevant
    assert scores({}, QRELS, "ndcg@10") == [0.0, 0.0, 0.0]  # never run


def test_recall_mrr_and_ap_by_hand() -> None:
    assert scores(RUN, QRELS, "recall@5") == pytest.approx([1.0, 1.0, 0.0])
    assert scores({"q1": ["d1", "d2", "d3"]}, {"q1": QRELS["q1"]}, "recall@5") == [1.0]
    assert scores(
        {"q1": ["d2", "d1"] + [f"x{i}" for i in range(4)] + ["d3"]}, {"q1": QRELS["q1"]}, "recall@5"
    ) == [0.5]  # d3 at rank 7: outside the top 5
    assert scores(RUN, QRELS, "mrr@10") == pytest.approx([1.0, 0.5, 0.0])
    assert scores(RUN, QRELS, "map") == pytest.approx([(1 / 1 + 2 / 3) / 2, (1 / 2 + 2 / 3) / 2, 0.0])


def test_means_over_judged_queries() -> None:
    per_query = score_queries(RUN, QRELS, ["q1", "q2", "q3"])
    means = {name: mean(list(values.values())) for name, values in per_query.items()}
    assert list(means) == list(RETRIEVAL_METRICS)
    assert means["ndcg@10"] == pytest.approx((NDCG_Q1 + NDCG_Q2) / 3, abs=1e-12)
    assert means["recall@5"] == pytest.approx(2 / 3)
    assert means["recall@10"] == pytest.approx(2 / 3)
    assert means["recall@100"] == pytest.approx(2 / 3)
    assert means["mrr@10"] == pytest.approx(0.5)
    assert means["map"] == pytest.approx(17 / 36)
    assert score_queries({}, QRELS, ["q1"])["ndcg@10"] == {"q1": 0.0}  # never run scores 0
    assert score_queries(RUN, {}, ["q1"])["map"] == {"q1": 0.0}  # nothing judged relevant
    assert mean([]) is None


def test_recall_curve_by_hand() -> None:
    curve = recall_curve(RUN, QRELS, ["q1", "q2", "q3"], depth=5)
    assert curve == pytest.approx([1 / 6, 1 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert recall_curve(RUN, QRELS, [], depth=3) == [0.0, 0.0, 0.0]
