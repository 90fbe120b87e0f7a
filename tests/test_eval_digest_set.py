"""The digest's evaluation set (data/eval, BEIR layout) stays consistent with the shipped digest."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from rag.ingest.loaders import load_documents

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO / "data" / "eval"
DIGEST = REPO / "data" / "news-digest.txt"


def _jsonl(name: str) -> list[dict[str, Any]]:
    lines = (EVAL / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    rows = _jsonl("corpus.jsonl")
    assert len({row["_id"] for row in rows}) == len(rows), "duplicate corpus ids"
    return {row["_id"]: row["text"] for row in rows}


@pytest.fixture(scope="module")
def queries() -> dict[str, str]:
    rows = _jsonl("queries.jsonl")
    assert len({row["_id"] for row in rows}) == len(rows), "duplicate query ids"
    return {row["_id"]: row["text"] for row in rows}


@pytest.fixture(scope="module")
def answers() -> dict[str, dict[str, Any]]:
    rows = _jsonl("answers.jsonl")
    assert len({row["_id"] for row in rows}) == len(rows), "duplicate answer ids"
    return {row["_id"]: row for row in rows}


@pytest.fixture(scope="module")
def qrels() -> list[tuple[str, str, int]]:
    with (EVAL / "qrels" / "test.tsv").open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        assert next(reader) == ["query-id", "corpus-id", "score"]
        return [(qid, cid, int(score)) for qid, cid, score in reader]


def test_corpus_matches_the_loaded_digest(corpus: dict[str, str]) -> None:
    loaded = load_documents([DIGEST])
    assert not loaded.rejected
    assert [(d.doc_id, d.text) for d in loaded.documents] == list(corpus.items())
    assert all(row["title"] == "" for row in _jsonl("corpus.jsonl"))


def test_every_query_has_exactly_one_answer_record(
    queries: dict[str, str], answers: dict[str, dict[str, Any]]
) -> None:
    assert set(queries) == set(answers)
    assert all(text.strip() for text in queries.values())


def test_qrels_point_at_known_queries_and_documents(
    corpus: dict[str, str], queries: dict[str, str], qrels: list[tuple[str, str, int]]
) -> None:
    assert qrels
    assert len(set(qrels)) == len(qrels), "duplicate qrels lines"
    for qid, cid, score in qrels:
        assert qid in queries, qid
        assert cid in corpus, (qid, cid)
        assert score == 1, (qid, cid, score)


def test_answerable_queries_are_judged_and_answered_verbatim(
    corpus: dict[str, str], answers: dict[str, dict[str, Any]], qrels: list[tuple[str, str, int]]
) -> None:
    judged: dict[str, set[str]] = {}
    for qid, cid, _ in qrels:
        judged.setdefault(qid, set()).add(cid)
    answerable = [row for row in answers.values() if not row["is_impossible"]]
    assert len(answerable) >= 30
    for row in answerable:
        qid, cid = row["_id"], row["corpus_id"]
        assert cid in judged.get(qid, set()), f"{qid}: corpus_id {cid} has no qrels line"
        assert row["answers"], f"{qid}: no answers"
        for answer in row["answers"]:
            assert answer and answer in corpus[cid], f"{qid}: {answer!r} is not verbatim in {cid}"


def test_unanswerable_queries_have_no_answers_and_no_qrels(
    answers: dict[str, dict[str, Any]], qrels: list[tuple[str, str, int]]
) -> None:
    unanswerable = {qid for qid, row in answers.items() if row["is_impossible"]}
    assert len(unanswerable) >= 6
    for qid in unanswerable:
        assert answers[qid]["answers"] == []
        assert answers[qid]["corpus_id"] is None
    assert not unanswerable & {qid for qid, _, _ in qrels}


def test_the_follow_up_set_is_conversations_over_the_same_digest(corpus: dict[str, str]) -> None:
    folder = REPO / "data" / "eval-followups"
    rows = {
        name: [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines() if line]
        for name in ("corpus.jsonl", "queries.jsonl", "answers.jsonl")
    }
    assert {row["_id"]: row["text"] for row in rows["corpus.jsonl"]} == corpus
    queries = {row["_id"]: row for row in rows["queries.jsonl"]}
    assert all(row["history"] and all(q.strip() for q in row["history"]) for row in queries.values())
    answers = {row["_id"]: row for row in rows["answers.jsonl"]}
    assert set(answers) == set(queries)
    with (folder / "qrels" / "test.tsv").open(encoding="utf-8", newline="") as fh:
        judged = {(qid, cid) for qid, cid, _ in list(csv.reader(fh, delimiter="\t"))[1:]}
    for qid, row in answers.items():
        if row["is_impossible"]:
            assert row["answers"] == [] and qid not in {q for q, _ in judged}
        else:
            assert (qid, row["corpus_id"]) in judged
            assert all(answer in corpus[row["corpus_id"]] for answer in row["answers"]), qid
