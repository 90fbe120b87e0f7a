"""Hostile input: text a client can plant costs work linear in its size, bad records are refused
with a clear 422 and write nothing, and no request gets a 500 or breaks its connection."""

from __future__ import annotations

import http.client
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.settings import Settings
from rag.engine import Engine
from rag.errors import CorpusFormatError
from rag.ingest.chunking import ChunkingConfig, chunk_document, split_spans
from rag.ingest.embedder import Embedder
from rag.ingest.loaders import MAX_METADATA_DEPTH, MAX_TITLE_CHARS, iter_digest, parse_record
from rag.language.text import MAX_SENTENCE_CHARS, sentence_spans
from rag.types import Document

KEY = "k3y"
AUTH = {"Authorization": f"Bearer {KEY}"}
DIGEST = Path(__file__).resolve().parents[1] / "data" / "news-digest.txt"


def ordinary(chars: int) -> str:
    """The shipped digest's news summaries, repeated to `chars` characters (cut at a paragraph)."""
    summaries = [d.text for d in iter_digest(DIGEST.read_text(encoding="utf-8")) if isinstance(d, Document)]
    parts: list[str] = []
    while sum(map(len, parts)) < chars:
        parts.extend(summaries)
    return "\n\n".join(parts)[:chars]


def _repeat(unit: str, chars: int) -> str:
    return (unit * (chars // len(unit) + 1))[:chars]


# Each of these once cost work quadratic in its length (sentence splitting searched back to the
# start of the text at every period; a run of stops was re-read from each of its characters; the
# chunker searched the whole text for every chunk of periodic text).
PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "initials": lambda n: _repeat("A. B. C. ", n),
    "abbreviations": lambda n: _repeat("U.S. Dr. Mr. ", n),
    "dotted numbers": lambda n: _repeat("1.", n),
    "dots": lambda n: "." * n,
    "one long word": lambda n: "x" * n,
    "periodic": lambda n: _repeat("Rzeszów", n),
    "periodic words": lambda n: _repeat("ab ", n),
}
SIZE = 40_000


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_splitting_pathological_text_costs_about_what_news_text_costs(name: str, embedder: Embedder) -> None:
    text = PATHOLOGICAL[name](SIZE)
    news = ordinary(SIZE)
    config = ChunkingConfig()

    def split(t: str) -> Callable[[], object]:
        return lambda: (sentence_spans(t), chunk_document(Document("d", t), config, embedder.fits))

    # The ceiling is generous (noisy machines) and the quadratic versions were 20-1000x over it.
    # Both sides take the faster of two runs, so one scheduling stall on a shared box does not decide.
    baseline = min(_seconds(split(news)) for _ in range(2))
    assert min(_seconds(split(text)) for _ in range(2)) < 10 * baseline + 0.5


def test_sentences_are_bounded_and_cover_the_text() -> None:
    text = "Intro. " + "word " * 3000 + "end. Next one."
    spans = sentence_spans(text)
    assert all(0 < s.end - s.start <= MAX_SENTENCE_CHARS for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    assert "".join(text[s.start : s.end] for s in spans).replace(" ", "") == text.replace(" ", "")
    assert text[spans[-1].start : spans[-1].end] == "Next one."


PIECES = ["ab", "a", " ", ". ", "\n", "\n\n", "Rz", "!", ", ", "x" * 40]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=120).map("".join).filter(str.strip),
    st.sampled_from([(16, 0), (25, 5), (50, 10), (200, 40)]),
)
def test_chunk_spans_are_the_text_in_order_without_gaps(text: str, size: tuple[int, int]) -> None:
    spans = split_spans(text, *size)
    assert spans
    for (a, b), (c, _) in itertools.pairwise(spans):
        assert a < c <= b or text[b:c].strip() == ""  # overlapping or abutting (only blanks between)
    covered = set()
    for a, b in spans:
        assert text[a:b] == text[a:b].strip() and b > a
        covered.update(range(a, b))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_digest_marker_parsing_is_linear_in_a_blank_run() -> None:
    text = "Body of a summary." + " " * 200_000 + "x\n… Continue reading\n"
    started = time.perf_counter()
    summaries = list(iter_digest(text))
    assert time.perf_counter() - started < 1.0
    assert len(summaries) == 1


# ---- records refused at ingest, with the reason, at the API and the CLI alike ----


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


BAD_RECORDS = {
    "a title past the limit": ({"text": "A story.", "title": "T" * (MAX_TITLE_CHARS + 1)}, "'title'"),
    "metadata nested 300 deep": ({"text": "A story.", "metadata": _nested(300)}, "nested deeper"),
    "metadata nested one too deep": ({"text": "A story.", "metadata": _nested(MAX_METADATA_DEPTH)}, "nested"),
    "an integer past 64 bits": ({"text": "A story.", "metadata": {"n": 2**64}}, "64-bit"),
    "a date past year 9999 in UTC": (
        {"text": "A story.", "published_at": "9999-12-31T23:59:59-14:00"},
        "range",
    ),
    "a date before year 1 in UTC": (
        {"text": "A story.", "published_at": "0001-01-01T00:00:00+14:00"},
        "range",
    ),
    "an id with a newline": ({"id": "a\nb", "text": "A story."}, "'id'"),
    "an id with a leading space": ({"id": " a1", "text": "A story."}, "'id'"),
    "an id that is a dot segment": ({"id": "news/../a", "text": "A story."}, "'.'"),
    "an id of 201 characters": ({"id": "x" * 201, "text": "A story."}, "1 to 200"),
}


@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_bad_records_are_refused_with_the_reason(name: str) -> None:
    record, said = BAD_RECORDS[name]
    with pytest.raises(CorpusFormatError, match=said):
        parse_record(record)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[TestClient]:
    """An app over an empty store of its own, writes enabled."""
    engine = Engine.open(tmp_path_factory.mktemp("hostile") / "store", embedder=embedder)
    with TestClient(create_app(Settings(api_key=KEY, rate_limit=0), engine=engine)) as client:
        yield client
    engine.close()


@pytest.mark.parametrize("name", sorted(BAD_RECORDS))
def test_bad_records_are_a_422_and_write_nothing(client: TestClient, name: str) -> None:
    record, said = BAD_RECORDS[name]
    good = {"id": "good-neighbour", "text": "The council met. It voted."}
    before = client.get("/v1/stats").json()["generation"]
    response = client.post("/v1/documents", json=[good, record], headers=AUTH)
    assert response.status_code == 422, response.text
    assert said in response.json()["error"]["message"]
    assert client.get("/v1/stats").json()["generation"] == before


def test_a_number_past_the_digit_limit_is_a_422(client: TestClient) -> None:
    body = '[{"text": "A story.", "metadata": {"n": ' + "9" * 5000 + "}}]"
    response = client.post(
        "/v1/documents", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "number too long" in response.json()["error"]["message"]


def test_a_decoder_message_does_not_double_its_words(client: TestClient) -> None:
    response = client.post(
        "/v1/documents",
        content='[{"text": "unterminated',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "at at" not in response.json()["error"]["message"]


ID_ALPHABET = st.characters(codec="utf-8", exclude_categories=("C", "Z"))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=ID_ALPHABET, min_size=1, max_size=40))
def test_every_accepted_id_reads_back_and_deletes(client: TestClient, doc_id: str) -> None:
    try:
        parse_record({"id": doc_id, "text": "x"})
    except CorpusFormatError:
        return  # refused with a reason (a dot segment): nothing stored that cannot be reached
    posted = client.post("/v1/documents", json=[{"id": doc_id, "text": "The council met."}], headers=AUTH)
    assert posted.status_code == 200, posted.text
    path = "/v1/documents/" + urllib.parse.quote(doc_id, safe="")
    got = client.get(path)
    assert got.status_code == 200 and got.json()["doc_id"] == doc_id
    assert client.delete(path, headers=AUTH).status_code == 200
    assert client.get(path).status_code == 404


# ---- responses: security headers; a 500 keeps the connection ----


def test_security_headers(client: TestClient) -> None:
    page = client.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    widget = client.get("/widget.js")
    assert widget.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    for response in (page, widget, client.get("/v1/stats"), client.get("/v1/nope")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_an_unexpected_error_is_a_500_in_the_error_shape_on_a_connection_that_stays_open(
    embedder: Embedder, tmp_path: Path
) -> None:
    import threading

    import uvicorn

    engine = Engine.open(tmp_path / "store", embedder=embedder)
    app = create_app(Settings(rate_limit=0), engine=engine)

    def boom() -> None:
        raise RuntimeError("internal detail 7f3a")

    app.add_api_route("/boom", boom)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/boom")
        first = conn.getresponse()
        body = json.loads(first.read())
        assert first.status == 500 and body["error"]["code"] == "internal_error"
        assert "7f3a" not in body["error"]["message"]
        conn.request("GET", "/healthz")  # the same keep-alive connection
        second = conn.getresponse()
        assert second.status == 200
        second.read()
        conn.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.close()


# ---- the store: an emptied database is never served as an empty store; the log stays bounded ----


@pytest.mark.parametrize("damage", ["emptied", "removed"])
def test_a_store_whose_database_is_gone_is_refused_and_its_vectors_kept(
    tmp_path: Path, embedder: Embedder, damage: str
) -> None:
    from rag.errors import StoreError as DomainStoreError

    folder = tmp_path / "store"
    with Engine.open(folder, embedder=embedder) as engine:
        engine.ingest([Document("a", "The council met. It voted.")])
    vectors = (folder / "vectors.faiss").read_bytes()
    if damage == "emptied":
        (folder / "store.sqlite").write_bytes(b"")
    else:
        (folder / "store.sqlite").unlink()
    with pytest.raises(DomainStoreError, match=r"restore store\.sqlite from a backup"):
        Engine.open(folder, embedder=embedder)
    assert (folder / "vectors.faiss").read_bytes() == vectors
    assert not (folder / "store.sqlite").exists() or (folder / "store.sqlite").stat().st_size == 0


def test_the_write_ahead_log_is_cut_back_while_writes_go_on(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.store

    limit = 256 * 1024
    monkeypatch.setattr(index.store, "WAL_LIMIT_BYTES", limit)
    with Engine.open(tmp_path / "store", embedder=embedder) as engine:
        sizes = []
        for i in range(60):
            engine.ingest([Document("one", f"Edition {i}. The council met on Tuesday and voted.")])
            sizes.append(engine.stats().wal_bytes)
        assert max(sizes) > limit // 2  # it did grow to the limit, and was cut back there
        assert sizes[-1] <= 2 * limit, sizes
        held = engine.snapshot()  # a reader on an old snapshot stops the cut, and nothing breaks
        for i in range(20):
            engine.ingest([Document("one", f"Held {i}. The council met on Tuesday and voted.")])
        assert held.document("one") is not None
        del held
        for i in range(20):
            engine.ingest([Document("one", f"After {i}. The council met on Tuesday and voted.")])
        assert engine.stats().wal_bytes <= 2 * limit


# ---- the schema says what the server enforces ----


def test_a_boolean_is_not_a_number_of_days_or_passages(client: TestClient) -> None:
    for field in ("half_life_days", "top_k"):
        response = client.post("/v1/ask", json={"question": "Who won?", field: True})
        assert response.status_code == 422, field


def test_metadata_false_is_not_an_object(client: TestClient) -> None:
    response = client.post("/v1/documents", json=[{"text": "A story.", "metadata": False}], headers=AUTH)
    assert response.status_code == 422
    assert "'metadata' must be an object" in response.json()["error"]["message"]


def test_a_405_names_every_method_the_path_takes(client: TestClient) -> None:
    response = client.options("/v1/documents/some-id")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, DELETE"


# ---- the time budget: past it a request's work stops between stages ----


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_question_past_its_budget_stops_before_the_reader_runs(
    digest_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.compose.ask
    from rag.budget import Deadline
    from rag.errors import OverBudgetError

    clock, reads = Clock(), []
    ranked = rag.compose.ask.gather_candidates

    def slow_ranking(*args: Any, **kwargs: Any) -> Any:
        clock.now += 5.0  # ranking the sentences took five seconds
        return ranked(*args, **kwargs)

    monkeypatch.setattr(rag.compose.ask, "gather_candidates", slow_ranking)
    read = digest_engine.reader.read
    monkeypatch.setattr(digest_engine.reader, "read", lambda *a: reads.append(a) or read(*a))
    question = "Where will Germany deploy Patriot missile units?"
    with pytest.raises(OverBudgetError, match=r"past its 2 s time budget after ranking sentences"):
        digest_engine.ask(question, deadline=Deadline.after(2.0, clock))
    assert reads == []  # the work after the budget ran out was not done
    clock.now = 0.0
    with pytest.raises(OverBudgetError):
        digest_engine.ask(question, deadline=Deadline.after(4.99, clock))  # not by a hair either
    digest_engine.ask(question, deadline=Deadline.after(5.0, clock))
    assert len(reads) == 1  # within budget the reader reads


def test_a_search_past_its_budget_stops_after_the_stage_that_overran(digest_engine: Engine) -> None:
    from rag.budget import Deadline
    from rag.errors import OverBudgetError

    clock = Clock()
    embed = digest_engine.embed_query

    def slow_embed(query: str) -> Any:
        clock.now += 1.0
        return embed(query)

    digest_engine.embed_query = slow_embed  # type: ignore[method-assign]
    with pytest.raises(OverBudgetError, match="after embedding the query"):
        digest_engine.search("Patriot missiles", deadline=Deadline.after(0.5, clock))
    assert digest_engine.search("Patriot missiles", deadline=Deadline.after(0, clock))  # 0: no limit


def test_over_budget_is_a_503_in_the_error_shape(
    digest_engine: Engine,
) -> None:
    app = create_app(Settings(rate_limit=0, request_budget_seconds=1e-9), engine=digest_engine)
    with TestClient(app) as client:
        for response in (
            client.post("/v1/ask", json={"question": "Where will Germany deploy Patriot missile units?"}),
            client.get("/v1/search", params={"q": "Patriot missiles"}),
        ):
            assert response.status_code == 503
            error = response.json()["error"]
            assert error["code"] == "over_budget"
            assert "time budget" in error["message"] and "stopped" in error["message"]
        assert client.get("/healthz").status_code == 200
