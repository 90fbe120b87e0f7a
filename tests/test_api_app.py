"""API through TestClient: search, the error shape, limits, CORS, request ids, access logs, metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api import routes_static
from api.app import create_app, engine_config
from api.settings import Settings
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.types import Document

KEY = "test-key"
ORIGIN = "https://news.example"
PATRIOT = "Germany will deploy Patriot missile units to Poland"


def settings(**changes: Any) -> Settings:
    """Test settings: a key, one allowed origin, no rate limit unless asked for."""
    values: dict[str, Any] = {"api_key": KEY, "cors_origins": [ORIGIN], "rate_limit": 0, **changes}
    return Settings(**values)


@pytest.fixture(scope="module")
def shared_engine(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, digest_documents: list[Document]
) -> Iterator[Engine]:
    """The digest in a store shared by this module's read-only tests."""
    engine = Engine.open(tmp_path_factory.mktemp("api-app") / "store", embedder=embedder)
    engine.ingest(digest_documents)
    yield engine
    engine.close()


@pytest.fixture
def client(shared_engine: Engine) -> Iterator[TestClient]:
    """A client of an app over the shared digest store."""
    with TestClient(create_app(settings(), engine=shared_engine)) as client:
        yield client


def error_of(response: Any) -> dict[str, Any]:
    """The error object of a response in the one error shape."""
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    return body["error"]


def test_search_returns_passages_whose_offsets_slice_their_documents(client: TestClient) -> None:
    response = client.get("/v1/search", params={"q": "Patriot missile units in Poland", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["k"] == 3 and len(body["hits"]) == 3
    top = body["hits"][0]
    assert top["text"].startswith(PATRIOT)
    assert set(top) >= {
        "doc_id",
        "chunk_id",
        "score",
        "text",
        "start",
        "end",
        "title",
        "source",
        "url",
        "published_at",
    }
    for hit in body["hits"]:
        document = client.get(f"/v1/documents/{hit['doc_id']}").json()
        assert document["text"][hit["start"] : hit["end"]] == hit["text"]
    assert [h["score"] for h in body["hits"]] == sorted((h["score"] for h in body["hits"]), reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "nato", "k": 0}, "query parameter 'k'"),
        ({"q": "nato", "k": 51}, "query parameter 'k'"),
        ({"q": ""}, "query parameter 'q'"),
        ({"q": "x" * 1001}, "query parameter 'q'"),
        ({}, "query parameter 'q'"),
        ({"q": "nato", "from": "2024-13-01"}, "query parameter 'from'"),
        ({"q": "nato", "from": "2024-02-01", "to": "2024-01-01"}, "query parameter 'from'"),
        ({"q": "nato", "mode": "psychic"}, "query parameter 'mode'"),
        ({"q": "nato", "half_life": 0}, "query parameter 'half_life'"),
        ({"q": "nato", "half_life": "soon"}, "query parameter 'half_life'"),
        ({"q": "nato", "half_life": "nan"}, "query parameter 'half_life'"),
        ({"q": "nato", "half_life": "inf"}, "query parameter 'half_life'"),
        ({"q": "nato", "half_life": 36501}, "query parameter 'half_life'"),
    ],
)
def test_search_rejects_bad_parameters_with_a_message_naming_them(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    response = client.get("/v1/search", params=params)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["message"].startswith(field)


def test_blank_query_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.get("/v1/search", params={"q": "   "})
    assert response.status_code == 422
    assert error_of(response) == {
        "code": "invalid_request",
        "message": "the query is empty: ask about something",
    }


def test_unknown_route_wrong_method_and_bad_json_share_the_error_shape(client: TestClient) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == "no such endpoint: GET /v2/nothing; the API is described at /docs"
    wrong = client.delete("/v1/stats")
    assert wrong.status_code == 405
    assert error_of(wrong)["message"] == "DELETE is not allowed on /v1/stats; use GET"
    broken = client.post("/v1/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert error_of(broken)["message"].startswith("the request body is not valid JSON")
    not_json = client.post("/v1/ask", content=b"question=hi", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 422
    assert "Content-Type: application/json" in error_of(not_json)["message"]


def test_body_over_the_limit_is_413_whether_declared_or_streamed(shared_engine: Engine) -> None:
    with TestClient(create_app(settings(max_body_bytes=2048), engine=shared_engine)) as client:
        declared = client.post(
            "/v1/ask", content=b"{" + b" " * 4000 + b"}", headers={"Content-Type": "application/json"}
        )
        streamed = client.post(
            "/v1/ask",
            content=iter([b'{"question": "', b"x" * 3000, b'"}']),
            headers={"Content-Type": "application/json"},
        )
        small = client.get("/v1/search", params={"q": "nato"})
    for response in (declared, streamed):
        assert response.status_code == 413
        error = error_of(response)
        assert error["code"] == "payload_too_large"
        assert "2048 bytes" in error["message"]
    assert small.status_code == 200


def test_rate_limit_answers_429_with_retry_after_and_spares_other_routes(shared_engine: Engine) -> None:
    with TestClient(create_app(settings(rate_limit=6, rate_burst=2), engine=shared_engine)) as client:
        statuses = [client.get("/v1/search", params={"q": "nato", "k": 1}).status_code for _ in range(2)]
        limited = client.get("/v1/search", params={"q": "nato", "k": 1})
        other = client.get("/v1/stats")
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "10"  # 6 a minute: the next token comes in 10 s
    assert error_of(limited)["code"] == "rate_limited"
    assert other.status_code == 200


def test_cors_preflight_passes_for_allowed_origins_only(client: TestClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = client.options("/v1/ask", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "content-type" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options("/v1/ask", headers={"Origin": "https://evil.example", **preflight})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/v1/stats", headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["X-Request-ID"]) == 32 and " " not in made.headers["X-Request-ID"]


def test_access_log_is_one_json_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="newsrag.access"):
        client.get("/v1/search", params={"q": "nato", "k": 1}, headers={"X-Request-ID": "r1"})
        client.get("/v1/documents/no-such-id")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "newsrag.access"]
    first = lines[0]
    assert (first["method"], first["route"], first["status"], first["request_id"]) == (
        "GET",
        "/v1/search",
        200,
        "r1",
    )
    assert (lines[1]["route"], lines[1]["path"], lines[1]["status"]) == (
        "/v1/documents/{doc_id}",
        "/v1/documents/no-such-id",
        404,
    )
    assert all(x["latency_ms"] >= 0 and x["client"] == "testclient" for x in lines)


def test_metrics_count_requests_per_route_and_report_the_store(client: TestClient) -> None:
    client.get("/v1/search", params={"q": "nato", "k": 1})
    client.get("/v1/search", params={"q": "nato", "k": 0})
    text = client.get("/metrics").text
    assert 'newsrag_http_requests_total{method="GET",route="/v1/search",status="200"} 1.0' in text
    assert 'newsrag_http_requests_total{method="GET",route="/v1/search",status="422"} 1.0' in text
    assert 'newsrag_http_request_duration_seconds_count{method="GET",route="/v1/search"} 2.0' in text
    assert "newsrag_store_documents 10.0" in text
    assert "newsrag_ingest_documents_total" in text


def test_health_readiness_and_stats(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "documents": None}
    assert client.get("/readyz").json() == {"status": "ready", "documents": 10}
    stats = client.get("/v1/stats").json()
    assert (stats["documents"], stats["chunks"], stats["dimension"]) == (10, 10, 384)


def test_not_ready_until_the_lifespan_has_loaded_the_engine() -> None:
    client = TestClient(create_app(settings()))  # no `with`: the lifespan (model load) never runs
    for path in ("/readyz", "/v1/search?q=nato", "/v1/stats"):
        response = client.get(path)
        assert response.status_code == 503
        assert error_of(response)["code"] == "not_ready"
    assert client.get("/healthz").status_code == 200


def test_widget_files_and_demo_page_are_served_when_present(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes_static, "STATIC_DIR", tmp_path)
    assert client.get("/widget.js").status_code == 404
    (tmp_path / "widget.js").write_text("console.log('hi');")
    (tmp_path / "widget.css").write_text(".x{}")
    (tmp_path / "demo.html").write_text("<html></html>")
    script = client.get("/widget.js")
    assert (script.status_code, script.text) == (200, "console.log('hi');")
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/widget.css").headers["content-type"].startswith("text/css")
    assert client.get("/").text == "<html></html>"


def test_reading_in_two_rounds_is_a_setting_and_one_round_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert engine_config(settings()).answer.rounds.first is None  # all five windows at once
    monkeypatch.setenv("NEWSRAG_READ_FIRST", "1")
    rounds = engine_config(Settings()).answer.rounds
    assert (rounds.windows, rounds.first, rounds.enough) == (5, 1, 0.6)
    for bad in ({"read_first": 6}, {"read_first": -1}, {"read_enough": 1.5}):
        with pytest.raises(ValidationError):
            settings(**bad)


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {
        "/v1/ask",
        "/v1/search",
        "/v1/documents",
        "/v1/documents/{doc_id}",
        "/v1/stats",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    docs = client.get("/docs")
    assert docs.status_code == 200 and "//" not in docs.text  # nothing is fetched from elsewhere
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert f"/docs-assets/{asset}" in docs.text and client.get(f"/docs-assets/{asset}").status_code == 200
    assert client.get("/docs-assets/..%2Fcore.py").status_code == 404
