"""The --fail-below regression gate: parsing floors and checking them against a run's metrics."""

from __future__ import annotations

import pytest

from eval.gate import Floor, check_floors, parse_floor
from rag.errors import InvalidRequestError

MODES = ("dense", "lexical", "hybrid")
RETRIEVAL = {"dense": {"ndcg@10": 0.70}, "lexical": {"ndcg@10": 0.66}, "hybrid": {"ndcg@10": 0.72}}


def test_parse_floor() -> None:
    assert parse_floor("ndcg@10=0.6", MODES) == Floor("ndcg@10", 0.6)
    assert parse_floor("hybrid:Recall@10 = 0.8", MODES) == Floor("recall@10", 0.8, "hybrid")
    assert parse_floor("answer_hit=0.5", MODES) == Floor("answer_hit", 0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ndcg@10", "is not METRIC=VALUE"),
        ("ndcg@10=high", "'high' is not a number"),
        ("ndcg@11=0.5", "unknown metric 'ndcg@11'"),
        ("rerank:ndcg@10=0.5", "mode 'rerank' is not among --modes"),
        ("hybrid:answer_hit=0.5", "answer metric and takes no mode"),
    ],
)
def test_bad_floor_syntax(text: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_floor(text, MODES)


def test_floors_without_a_mode_apply_to_every_mode() -> None:
    assert check_floors([Floor("ndcg@10", 0.65)], RETRIEVAL, None) == []
    assert check_floors([Floor("ndcg@10", 0.68)], RETRIEVAL, None) == ["lexical:ndcg@10 = 0.6600 < 0.68"]
    assert check_floors([Floor("ndcg@10", 0.71, "hybrid")], RETRIEVAL, None) == []


def test_unmeasured_metrics_fail_the_gate() -> None:
    assert check_floors([Floor("answer_hit", 0.5)], RETRIEVAL, None) == [
        "answer_hit was not measured (floor 0.5)"
    ]
    assert check_floors([Floor("answer_hit", 0.5)], RETRIEVAL, {"answer_hit": None}) == [
        "answer_hit was not measured (floor 0.5)"
    ]
    assert check_floors([Floor("answer_hit", 0.5)], RETRIEVAL, {"answer_hit": 0.5}) == []
