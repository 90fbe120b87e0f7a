"""Document endpoints: auth, upsert formats, all-or-nothing writes, listing, delete, ingest under load."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app, engine_config
from api.settings import Settings, get_settings
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.types import Document

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
DOCS = [
    {
        "id": "a1",
        "text": "The council approved the new bridge. Work starts in May.",
        "source": "Gazette",
        "published_at": "2024-03-01",
    },
    {
        "id": "a2",
        "text": "The river flooded the old town. Nobody was hurt.",
        "source": "Herald",
        "published_at": "2024-03-02T08:30:00+02:00",
        "title": "Flood",
        "url": "https://herald.example/flood",
    },
    {
        "id": "a3",
        "text": "The mayor resigned after the vote. An election follows.",
        "source": "Gazette",
        "region": "north",
    },
]


@pytest.fixture(scope="module")
def digest_store(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, digest_documents: list[Document]
) -> Path:
    """The digest indexed once for this module, as the service configures the engine."""
    path = tmp_path_factory.mktemp("api-documents") / "store"
    engine = Engine.open(path, engine_config(Settings()), embedder=embedder)
    engine.ingest(digest_documents)
    engine.close()
    return path


@pytest.fixture
def engine(tmp_path: Path, embedder: Embedder, digest_store: Path) -> Iterator[Engine]:
    """A private copy of the digest store (copying is much cheaper than re-embedding)."""
    shutil.copytree(digest_store, tmp_path / "store")
    engine = Engine.open(tmp_path / "store", engine_config(Settings()), embedder=embedder)
    yield engine
    engine.close()


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    """A client of an app with writes enabled by KEY."""
    with TestClient(
        create_app(Settings(api_key=KEY, rate_limit=0, max_documents=5), engine=engine)
    ) as client:
        yield client


def error_of(response: Any) -> dict[str, Any]:
    """The error object of a response in the one error shape."""
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def test_writes_need_the_key_and_are_disabled_without_one(client: TestClient) -> None:
    missing = client.post("/v1/documents", json=DOCS)
    wrong = client.post("/v1/documents", json=DOCS, headers={"Authorization": "Bearer nope"})
    not_bearer = client.post("/v1/documents", json=DOCS, headers={"Authorization": f"Basic {KEY}"})
    delete = client.delete("/v1/documents/a1")
    for response in (missing, wrong, not_bearer, delete):
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/v1/stats").json()["documents"] == 10
    client.app.dependency_overrides[get_settings] = lambda: Settings(api_key=None)  # type: ignore[attr-defined]
    disabled = client.post("/v1/documents", json=DOCS, headers=AUTH)
    assert disabled.status_code == 403
    assert error_of(disabled)["code"] == "writes_disabled"
    assert "NEWSRAG_API_KEY" in error_of(disabled)["message"]


def test_upsert_adds_updates_and_skips_unchanged(client: TestClient) -> None:
    first = client.post("/v1/documents", json=DOCS, headers=AUTH).json()
    assert {k: first[k] for k in ("added", "updated", "unchanged", "documents")} == {
        "added": 3,
        "updated": 0,
        "unchanged": 0,
        "documents": 3,
    }
    assert first["chunks"] == 3 and first["sentences"] == 6
    changed = [{**DOCS[0], "text": "The council rejected the new bridge."}, DOCS[1]]
    second = client.post("/v1/documents", json=changed, headers=AUTH).json()
    assert (second["added"], second["updated"], second["unchanged"]) == (0, 1, 1)
    stored = client.get("/v1/documents/a1").json()
    assert stored["text"] == "The council rejected the new bridge."
    flood = client.get("/v1/documents/a2").json()
    assert flood["published_at"] == "2024-03-02T06:30:00Z"  # ISO-8601, in UTC
    assert (flood["title"], flood["url"], flood["source"]) == (
        "Flood",
        "https://herald.example/flood",
        "Herald",
    )
    assert client.get("/v1/documents/a3").json()["metadata"] == {"region": "north"}
    assert client.get("/v1/stats").json()["documents"] == 13


def test_metadata_filters_restrict_search_and_ask_inside_retrieval(client: TestClient) -> None:
    regions = [
        {"id": f"m{i}", "text": f"The mayor of town {i} resigned after the vote.", "region": region}
        for i, region in enumerate(["north", "south", "north", "east"])
    ]
    client.post("/v1/documents", json=regions, headers=AUTH)
    query = {"q": "the mayor resigned after the vote", "k": 3}
    north = client.get("/v1/search", params={**query, "meta": "region=north"}).json()["hits"]
    assert sorted(h["doc_id"] for h in north) == ["m0", "m2"]  # both, though the digest outnumbers them
    asked = client.post(
        "/v1/ask", json={"question": "Which mayor resigned?", "filters": {"metadata": {"region": "east"}}}
    ).json()
    assert {s["doc_id"] for s in asked["sources"] + asked["related"]} <= {"m3"}
    bad: str | list[str]
    for bad, says in [
        ("region", "is not KEY=VALUE"),
        ('re"gion=x', "metadata key"),
        ("region=" + "x" * 201, "over 200 characters"),
        (["region=north", "region=south"], "given twice"),
    ]:
        response = client.get("/v1/search", params={**query, "meta": bad})
        assert response.status_code == 422 and says in response.json()["error"]["message"]
    body = {"question": "Which mayor?", "filters": {"metadata": {"bad key": "x"}}}
    refused = client.post("/v1/ask", json=body)
    assert refused.status_code == 422 and "metadata key" in refused.json()["error"]["message"]


def test_json_lines_are_accepted_by_content_type_or_shape(client: TestClient) -> None:
    lines = "\n".join(json.dumps(d) for d in DOCS[:2]) + "\n\n"
    ndjson = client.post(
        "/v1/documents", content=lines, headers={**AUTH, "Content-Type": "application/x-ndjson"}
    )
    assert ndjson.json()["added"] == 2
    as_json = client.post(
        "/v1/documents",
        content=json.dumps(DOCS[2]) + "\n" + json.dumps(DOCS[0]),
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert (as_json.json()["added"], as_json.json()["unchanged"]) == (1, 1)
    single = client.post("/v1/documents", json={"text": "One lone object is a document too."}, headers=AUTH)
    assert single.json()["added"] == 1


def test_an_upsert_says_each_documents_id_so_a_derived_one_can_be_read_back(client: TestClient) -> None:
    sent = [{"id": "named-1", "text": "A named story."}, {"text": "A story sent without an id."}]
    ids = client.post("/v1/documents", json=sent, headers=AUTH).json()["ids"]
    assert ids[0] == "named-1" and len(ids) == 2
    assert client.get(f"/v1/documents/{ids[1]}").json()["text"] == "A story sent without an id."


def test_one_bad_document_means_nothing_is_written(client: TestClient) -> None:
    batch = [
        DOCS[0],
        {"id": "b", "title": "no text"},
        {"text": "dated", "published_at": "yesterday"},
        {"text": "Click me.", "url": "javascript:alert(document.cookie)"},
    ]
    response = client.post("/v1/documents", json=batch, headers=AUTH)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_document"
    assert error["message"].startswith("3 of 4 documents are invalid, so nothing was written: ")
    assert [d["field"] for d in error["details"]] == ["item 2", "item 3", "item 4"]
    assert error["details"][0]["message"] == "item 2: missing required field 'text'"
    assert error["details"][2]["message"].endswith("is not an absolute http(s) address")
    assert client.get("/v1/stats").json()["documents"] == 10
    assert client.get("/v1/documents/a1").status_code == 404
    bad_line = client.post(
        "/v1/documents",
        content='{"text": "ok"}\n{"text": ',
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )
    assert error_of(bad_line)["details"][0]["field"] == "line 2"


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        (b"", "invalid_document", 422),
        (b"[]", "invalid_document", 422),
        (b"[1, 2", "invalid_json", 422),
        (b'[{"text": NaN}]', "invalid_json", 422),
        (b"\xff\xfe", "invalid_document", 422),
        (b"[" * 100_000, "invalid_json", 422),
        (b'[{"text": "\\ud800"}]', "invalid_document", 422),
        (json.dumps([{"text": f"doc {i}"} for i in range(6)]).encode(), "too_many_documents", 413),
    ],
)
def test_malformed_bodies_are_4xx_with_a_reason(
    client: TestClient, body: bytes, code: str, status: int
) -> None:
    response = client.post(
        "/v1/documents", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_listing_pages_through_every_document_newest_first(client: TestClient) -> None:
    client.post("/v1/documents", json=DOCS, headers=AUTH)
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get("/v1/documents", params={"limit": 4, "offset": offset}).json()
        seen += [item["doc_id"] for item in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == 13
    assert seen[:2] == ["a2", "a1"]  # dated documents first, newest first
    gazette = client.get("/v1/documents", params={"source": "gazette"}).json()["items"]
    assert [item["doc_id"] for item in gazette] == ["a1", "a3"]
    march_first = client.get("/v1/documents", params={"from": "2024-03-01", "to": "2024-03-01"}).json()
    assert [item["doc_id"] for item in march_first["items"]] == ["a1"]
    assert march_first["items"][0]["snippet"] == DOCS[0]["text"]


def test_search_filters_by_source_and_inclusive_dates(client: TestClient) -> None:
    client.post("/v1/documents", json=DOCS, headers=AUTH)
    hits = client.get("/v1/search", params={"q": "council bridge flood mayor", "source": "GAZETTE"}).json()[
        "hits"
    ]
    assert sorted(h["doc_id"] for h in hits) == ["a1", "a3"]
    dated = client.get("/v1/search", params={"q": "council bridge flood mayor", "to": "2024-03-02"}).json()[
        "hits"
    ]
    assert sorted(h["doc_id"] for h in dated) == ["a1", "a2"]


def test_delete_removes_a_document_once(client: TestClient) -> None:
    client.post("/v1/documents", json=DOCS, headers=AUTH)
    deleted = client.delete("/v1/documents/a2", headers=AUTH)
    assert deleted.json() == {"doc_id": "a2", "deleted": True}
    again = client.delete("/v1/documents/a2", headers=AUTH)
    assert again.status_code == 404
    assert error_of(again)["message"] == "no document with id 'a2'; nothing was deleted"
    assert client.get("/v1/documents/a2").status_code == 404
    hits = client.get("/v1/search", params={"q": "river flooded the old town", "k": 20}).json()["hits"]
    assert "a2" not in {h["doc_id"] for h in hits}
    metrics = client.get("/metrics").text
    assert "newsrag_deleted_documents_total 1.0" in metrics
    assert 'newsrag_ingest_documents_total{outcome="added"} 3.0' in metrics


def grain_reports(count: int) -> list[dict[str, str]]:
    """Similar small documents from one source, for a big ingest."""
    return [
        {
            "id": f"load-{i}",
            "source": "Load",
            "text": f"Depot {i} received {i * 7} crates of grain today. "
            f"The harbour master of port {i % 9} logged the arrival. Inspectors counted every crate.",
        }
        for i in range(count)
    ]


def test_queries_during_an_ingest_see_all_of_it_or_none_of_it(client: TestClient) -> None:
    observed: list[tuple[int, int, int, int]] = []  # stats status, documents, search status, hits
    hits_seen: list[dict[str, Any]] = []
    done = threading.Event()

    def read() -> None:
        query = {"q": "crates of grain at the harbour", "k": 5, "source": "load"}
        while not done.is_set():
            stats, found = client.get("/v1/stats"), client.get("/v1/search", params=query)
            hits = found.json().get("hits", [])
            observed.append(
                (stats.status_code, stats.json().get("documents", -1), found.status_code, len(hits))
            )
            hits_seen.extend(hits)

    client.app.dependency_overrides[get_settings] = lambda: Settings(api_key=KEY, rate_limit=0)  # type: ignore[attr-defined]
    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        ingest = client.post("/v1/documents", json=grain_reports(120), headers=AUTH)  # one transaction
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert ingest.status_code == 200 and ingest.json()["added"] == 120
    assert observed and {(o[0], o[2]) for o in observed} == {(200, 200)}
    assert {o[1] for o in observed} <= {10, 130}
    assert {o[3] for o in observed} <= {0, 5}
    for hit in hits_seen:
        document = client.get(f"/v1/documents/{hit['doc_id']}").json()
        assert document["text"][hit["start"] : hit["end"]] == hit["text"]
