"""Retrieval metrics on a tiny case derived by hand, and agreement with ranx on the same case."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    RETRIEVAL_METRICS,
    average_precision,
    mean,
    ndcg,
    recall,
    recall_curve,
    reciprocal_rank,
    score_queries,
)

# q1: two relevant docs at ranks 1 and 3; q2: graded (d2 = 2, d5 = 1) at ranks 3 and 2;
# q3: its only relevant document is never retrieved.
QRELS = {"q1": {"d1": 1, "d3": 1, "d7": 0}, "q2": {"d2": 2, "d5": 1}, "q3": {"d9": 1}}
RUN = {"q1": ["d1", "d2", "d3", "d4"], "q2": ["d4", "d5", "d2"], "q3": ["d1", "d2"]}
LOG3 = math.log2(3)
NDCG_Q1 = (1 + 1 / 2) / (1 + 1 / LOG3)  # DCG: 1/log2(2) + 1/log2(4); IDCG: 1/log2(2) + 1/log2(3)
NDCG_Q2 = (1 / LOG3 + 2 / 2) / (2 + 1 / LOG3)  # DCG: 0 + 1/log2(3) + 2/log2(4); IDCG: 2/1 + 1/log2(3)


def test_ndcg_by_hand() -> None:
    assert ndcg(RUN["q1"], QRELS["q1"], 10) == pytest.approx(NDCG_Q1, abs=1e-12)
    assert ndcg(RUN["q2"], QRELS["q2"], 10) == pytest.approx(NDCG_Q2, abs=1e-12)
    assert ndcg(RUN["q3"], QRELS["q3"], 10) == 0.0
    assert ndcg(RUN["q1"], QRELS["q1"], 1) == 1.0
    assert ndcg(["d1"], {}, 10) == 0.0  # nothing relevant
    assert ndcg([], QRELS["q1"], 10) == 0.0


def test_recall_mrr_and_ap_by_hand() -> None:
    assert recall(RUN["q1"], QRELS["q1"], 1) == 0.5
    assert recall(RUN["q1"], QRELS["q1"], 5) == 1.0
    assert recall(RUN["q2"], QRELS["q2"], 2) == 0.5
    assert recall(RUN["q3"], QRELS["q3"], 100) == 0.0
    assert recall(RUN["q1"], {}, 5) == 0.0
    assert reciprocal_rank(RUN["q1"], QRELS["q1"], 10) == 1.0
    assert reciprocal_rank(RUN["q2"], QRELS["q2"], 10) == 0.5
    assert reciprocal_rank(RUN["q2"], QRELS["q2"], 1) == 0.0
    assert average_precision(RUN["q1"], QRELS["q1"]) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert average_precision(RUN["q2"], QRELS["q2"]) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert average_precision(RUN["q3"], QRELS["q3"]) == 0.0


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
    assert mean([]) is None


def test_recall_curve_by_hand() -> None:
    curve = recall_curve(RUN, QRELS, ["q1", "q2", "q3"], depth=5)
    assert curve == pytest.approx([1 / 6, 1 / 3, 2 / 3, 2 / 3, 2 / 3])
    assert recall_curve(RUN, QRELS, [], depth=3) == [0.0, 0.0, 0.0]


def test_agrees_with_ranx() -> None:
    ranx = pytest.importorskip("ranx")
    run = {q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, docs in RUN.items()}
    expected = ranx.evaluate(
        ranx.Qrels({q: {d: g for d, g in j.items() if g > 0} for q, j in QRELS.items()}),
        ranx.Run(run),
        list(RETRIEVAL_METRICS),
        return_mean=False,
        make_comparable=True,
    )
    ours = score_queries(RUN, QRELS, ["q1", "q2", "q3"])
    for name in RETRIEVAL_METRICS:
        assert [ours[name][q] for q in ("q1", "q2", "q3")] == pytest.approx(list(expected[name]), abs=1e-9)
