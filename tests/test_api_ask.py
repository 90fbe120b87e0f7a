"""POST /v1/ask: real answers over the digest, the response shape, and the input bounds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.convert import answer_out
from api.settings import Settings
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.types import Answer, AnswerSentence, Citation, Passage, ShortAnswer, Source
from rag.types import Document as Doc

needs_ask = pytest.mark.skipif(
    not hasattr(Engine, "ask"), reason="Engine.ask (rag/compose/answer.py) has not landed yet"
)
PATRIOT_QUESTION = "Where will Germany deploy Patriot missile units?"


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, digest_documents: list[Doc]
) -> Iterator[TestClient]:
    """A client of an app over the digest."""
    engine = Engine.open(tmp_path_factory.mktemp("api-ask") / "store", embedder=embedder)
    engine.ingest(digest_documents)
    with TestClient(create_app(Settings(rate_limit=0), engine=engine)) as client:
        yield client
    engine.close()


def assert_grounded(client: TestClient, body: dict[str, Any]) -> None:
    """Every citation and the short answer slice exactly their text out of the cited document."""
    texts: dict[str, str] = {}

    def text_of(doc_id: str) -> str:
        if doc_id not in texts:
            texts[doc_id] = client.get(f"/v1/documents/{doc_id}").json()["text"]
        return texts[doc_id]

    numbers = {s["number"]: s["doc_id"] for s in body["sources"]}
    for sentence in body["sentences"]:
        assert sentence["citations"]
        for c in sentence["citations"]:
            assert numbers[c["number"]] == c["doc_id"]
            assert text_of(c["doc_id"])[c["start"] : c["end"]] == sentence["text"]
            assert f"[{c['number']}]" in body["text"]
    short = body["short_answer"]
    if short is not None:
        assert text_of(short["doc_id"])[short["start"] : short["end"]] == short["text"]


def test_ask_answers_with_citations_that_slice_their_documents(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": PATRIOT_QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert body["question"] == PATRIOT_QUESTION
    assert body["abstained"] is False
    assert body["sentences"] and body["sources"]
    assert "Poland" in body["text"]
    assert 0.0 <= body["confidence"] <= 1.0
    assert all(isinstance(v, float) for v in body["timings"].values())
    assert_grounded(client, body)


def test_ask_abstains_when_the_summaries_do_not_say(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "What is the best recipe for sourdough bread?"}).json()
    assert body["abstained"] is True
    assert body["sentences"] == [] and body["message"]
    metrics = client.get("/metrics").text
    assert 'newsrag_answers_total{outcome="abstained"}' in metrics


def test_follow_up_questions_use_the_history(client: TestClient) -> None:
    history = [
        {"question": PATRIOT_QUESTION, "answer": "Germany will deploy Patriot missile units to Poland."}
    ]
    response = client.post(
        "/v1/ask", json={"question": "How long will the deployment last?", "history": history}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["question"] == "How long will the deployment last?"
    assert_grounded(client, body)


def test_filters_and_top_k_are_accepted(client: TestClient) -> None:
    payload = {
        "question": PATRIOT_QUESTION,
        "top_k": 3,
        "filters": {"source": "Nobody", "from": "2024-01-01"},
    }
    body = client.post("/v1/ask", json=payload).json()
    assert body["abstained"] is True  # no document has that source
    assert body["sources"] == []
    recent = client.post("/v1/ask", json={"question": PATRIOT_QUESTION, "half_life_days": 7}).json()
    assert recent["abstained"] is False and recent["sources"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body field 'question'"),
        ({"question": ""}, "body field 'question'"),
        ({"question": "   "}, "body field 'question'"),
        ({"question": "x" * 1001}, "body field 'question'"),
        ({"question": "ok", "top_k": 0}, "body field 'top_k'"),
        ({"question": "ok", "top_k": 51}, "body field 'top_k'"),
        ({"question": "ok", "half_life_days": -7}, "body field 'half_life_days'"),
        ({"question": "ok", "half_life_days": "a fortnight"}, "body field 'half_life_days'"),
        ({"question": "ok", "history": [{"question": "q"}] * 11}, "body field 'history'"),
        ({"question": "ok", "history": [{"answer": "a"}]}, "body field 'history.0.question'"),
        ({"question": "ok", "filters": {"from": "last week"}}, "body field 'filters.from'"),
        (
            {"question": "ok", "filters": {"from": "2024-02-01", "to": "2024-01-01"}},
            "body field 'filters' 'from'",
        ),
        ({"question": "ok", "colour": "blue"}, "body field 'colour'"),
    ],
)
def test_ask_rejects_out_of_bounds_input_naming_the_field(
    client: TestClient, payload: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/ask", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(field)


@pytest.mark.parametrize("days", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_ask_refuses_a_half_life_that_is_not_a_finite_number(client: TestClient, days: str) -> None:
    body = f'{{"question": "Who will deploy Patriot units?", "half_life_days": {days}}}'.encode()
    response = client.post("/v1/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("body field 'half_life_days'")


def test_answer_response_carries_every_field_with_iso_dates() -> None:
    when = datetime(2024, 12, 5, 14, 30, tzinfo=UTC)
    related = Passage(chunk_id=7, doc_id="d2", start=0, end=5, text="Other", score=0.5, published_at=when)
    answer = Answer(
        question="Who?",
        query="Who?",
        text="Alice won. [1]",
        sentences=(AnswerSentence(text="Alice won.", citations=(Citation(1, "d1", 10, 20),), score=0.9),),
        sources=(
            Source(number=1, doc_id="d1", title="T", source="S", url="https://x.example", published_at=when),
        ),
        abstained=False,
        confidence=0.8,
        short_answer=ShortAnswer(text="Alice", doc_id="d1", start=10, end=15, score=0.7),
        related=(related,),
        timings={"retrieve": 0.01},
    )
    body = answer_out(answer).model_dump(mode="json")
    assert body["sentences"] == [
        {
            "text": "Alice won.",
            "score": 0.9,
            "citations": [{"number": 1, "doc_id": "d1", "start": 10, "end": 20}],
        }
    ]
    assert body["sources"][0]["published_at"] == "2024-12-05T14:30:00Z"
    assert body["short_answer"] == {"text": "Alice", "doc_id": "d1", "start": 10, "end": 15, "score": 0.7}
    assert (
        body["related"][0]["chunk_id"] == 7 and body["related"][0]["published_at"] == "2024-12-05T14:30:00Z"
    )
    assert (body["abstained"], body["confidence"], body["message"], body["timings"]) == (
        False,
        0.8,
        None,
        {"retrieve": 0.01},
    )
