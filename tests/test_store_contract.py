"""One contract suite over every store backend (index/backend.py): the embedded store in a folder and
Milvus through milvus-lite in a file. Storage tests use seeded random vectors; search, hybrid ranking
and answers go through the Engine with the real model on a few hand-written summaries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from index import (
    Backend,
    ChunkRecord,
    DocumentRecord,
    InvalidRecordError,
    ManifestMismatchError,
    ReadOnlyStoreError,
    RowFilter,
    SentenceRecord,
    StoreError,
)
from index.location import Location, open_store, store_exists
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.types import Document, Filters

BACKENDS = ["embedded", "milvus-lite"]
DIM = 8
MANIFEST = {"embedder": "test", "dimension": DIM, "fingerprint": "f0"}


def _location(backend: str, folder: Path) -> Location:
    return folder / "store" if backend == "embedded" else f"milvus-lite:{folder / 'store.db'}"


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    return _location(request.param, tmp_path)


@pytest.fixture
def store(location: Location) -> Iterator[Backend]:
    store = open_store(location, MANIFEST)
    yield store
    store.close()


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _record(doc_id: str, texts: list[str], seed: int, **fields: object) -> DocumentRecord:
    """A document whose chunks are the given texts joined by one space, a sentence per chunk."""
    text = " ".join(texts)
    chunks, sentences, at = [], [], 0
    for ordinal, part in enumerate(texts):
        chunks.append(ChunkRecord(ordinal, at, at + len(part), part, _vector(seed + ordinal)))
        sentences.append(SentenceRecord(ordinal, at, at + len(part), _vector(seed + 100 + ordinal)))
        at += len(part) + 1
    return DocumentRecord(
        doc_id=doc_id,
        content_hash=f"h-{text}",
        text=text,
        chunks=tuple(chunks),
        sentences=tuple(sentences),
        **fields,  # type: ignore[arg-type]
    )


def _doc_of_chunks(store: Backend, ids: list[int]) -> dict[int, str]:
    return {i: row.doc_id for i, row in store.snapshot().chunks(ids).items()}


def test_ids_count_up_from_one_in_record_order(store: Backend) -> None:
    result = store.write([_record("a", ["alpha one", "alpha two"], 1), _record("b", ["beta"], 10)])
    assert (result.added, result.updated, result.deleted, result.chunks, result.sentences) == (2, 0, 0, 3, 3)
    assert result.generation == 1 == store.snapshot().generation
    view = store.snapshot()
    assert _doc_of_chunks(store, [1, 2, 3, 4]) == {1: "a", 2: "a", 3: "b"}
    assert [(c.chunk_id, c.ordinal, c.start, c.end, c.text) for c in view.chunks([1, 2]).values()] == [
        (1, 0, 0, 9, "alpha one"),
        (2, 1, 10, 19, "alpha two"),
    ]
    sentences = view.sentences([("a", 0, 19), ("b", 0, 4), ("nobody", 0, 9)])
    assert [(s.sentence_id, s.doc_id, s.ordinal, s.start, s.end) for s in sentences] == [
        (1, "a", 0, 0, 9),
        (2, "a", 1, 10, 19),
        (3, "b", 0, 0, 4),
    ]
    assert np.allclose(sentences[2].vector, _vector(110), atol=1e-6)
    assert view.sentences([("a", 1, 10)]) == []  # sentence 2 starts at 10: outside [1, 10)
    assert [view.count(t) for t in ("documents", "chunks", "sentences")] == [2, 3, 3]
    assert store.content_hashes(["a", "nobody"]) == {"a": "h-alpha one alpha two"}
    row = view.document("a")
    assert row is not None and (row.text, row.metadata) == ("alpha one alpha two", {})
    assert np.allclose(view.chunk_vectors([3, 99])[3], _vector(10), atol=1e-6)
    assert set(view.chunk_vectors([3, 99])) == {3}
    with pytest.raises(ValueError, match="unknown"):
        view.count("vectors")


def test_upsert_replaces_the_documents_chunks_and_sentences(store: Backend) -> None:
    store.write([_record("a", ["harbour one", "harbour two"], 1), _record("b", ["beta"], 10)])
    result = store.write([_record("a", ["seaport"], 20)])
    assert (result.added, result.updated, result.chunks, result.sentences, result.generation) == (
        0,
        1,
        1,
        1,
        2,
    )
    view = store.snapshot()
    assert _doc_of_chunks(store, [1, 2, 3, 4]) == {3: "b", 4: "a"}  # ids are never reused
    assert [(s.sentence_id, s.doc_id) for s in view.sentences([("a", 0, 100)])] == [(4, "a")]
    assert [view.count(t) for t in ("documents", "chunks", "sentences")] == [2, 2, 2]
    assert view.lexical(["harbour"], 5) == []
    assert [i for i, _ in view.lexical(["seaport"], 5)] == [4]
    assert [i for i, _ in view.dense(_vector(20), 1)] == [4]
    assert set(view.chunk_vectors([1, 2, 4])) == {4}
    row = view.document("a")
    assert row is not None and row.text == "seaport"


def test_delete_removes_the_document_whole_and_skips_unknown_ids(store: Backend) -> None:
    store.write([_record("a", ["alpha harbour"], 1), _record("b", ["beta airport"], 2)])
    result = store.write([], delete=["a", "missing"])
    assert (result.added, result.updated, result.deleted, result.generation) == (0, 0, 1, 2)
    view = store.snapshot()
    assert view.document("a") is None and view.count("documents") == 1 and view.count("sentences") == 1
    assert [i for i, _ in view.dense(_vector(1), 5)] == [2]
    assert view.lexical(["harbour"], 5) == [] and view.chunks([1]) == {}
    assert view.sentences([("a", 0, 100)]) == []
    assert store.content_hashes(["a", "b"]) == {"b": "h-beta airport"}
    assert store.write([], delete=["missing"]).deleted == 0


def _filter_corpus(store: Backend) -> None:
    store.write(
        [
            _record(
                "a",
                ["alpha one", "alpha two"],
                1,
                source="BBC",
                published_at="2024-01-10T00:00:00+00:00",
                metadata={"topic": "energy", "n": 3, "flag": True, "ratio": 1.5, "tags": ["x", "y"]},
            ),
            _record(
                "b", ["beta"], 10, source="bbc", published_at="2024-02-01T00:00:00+00:00", metadata={"n": 4}
            ),
            _record("c", ["gamma"], 20, source="Reuters", metadata={"topic": "energy"}),
            _record("d", ["delta"], 30, published_at="2023-12-31T23:00:00+00:00"),
        ]
    )


@pytest.fixture(scope="module")
def filtered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Backend]]:
    """One store per backend holding the filter corpus, read by every filter case."""
    stores = {b: open_store(_location(b, tmp_path_factory.mktemp(b)), MANIFEST) for b in BACKENDS}
    for store in stores.values():
        _filter_corpus(store)
    yield stores
    for store in stores.values():
        store.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("row_filter", "chunk_ids"),
    [
        (RowFilter(source="bbc"), {1, 2, 3}),
        (RowFilter(source="REUTERS"), {4}),
        (RowFilter(source="BBC "), set()),
        (RowFilter(published_from="2024-01-01"), {1, 2, 3}),
        (RowFilter(published_from="2024-01-01", undated=True), {1, 2, 3, 4}),
        (RowFilter(published_to="2024-01-31"), {1, 2, 5}),
        (RowFilter(published_from="2024-01-01", published_to="2024-01-31"), {1, 2}),
        (RowFilter(metadata={"topic": "energy"}), {1, 2, 4}),
        (RowFilter(metadata={"n": "3"}), {1, 2}),
        (RowFilter(metadata={"flag": "1"}), {1, 2}),
        (RowFilter(metadata={"ratio": "1.5"}), {1, 2}),
        (RowFilter(metadata={"tags": '["x","y"]'}), {1, 2}),
        (RowFilter(source="reuters", metadata={"topic": "energy"}), {4}),
        (RowFilter(metadata={"topic": "nothing"}), set()),
    ],
)
def test_filters_mean_the_same_in_every_backend(
    filtered: dict[str, Backend], backend: str, row_filter: RowFilter, chunk_ids: set[int]
) -> None:
    store = filtered[backend]
    view = store.snapshot()
    allowed = view.allowed_chunks(row_filter)
    assert allowed.dtype == np.int64 and set(allowed.tolist()) == chunk_ids
    expected = {c: row.doc_id for c, row in view.chunks(sorted(chunk_ids)).items()}
    listed = {d.doc_id for d in view.documents(row_filter, 0, 10)}
    assert listed == set(expected.values())
    assert {i for i, _ in view.dense(_vector(1), 10, allowed)} == chunk_ids


def test_documents_are_listed_newest_first_undated_last_and_paged(store: Backend) -> None:
    _filter_corpus(store)
    view = store.snapshot()
    assert [d.doc_id for d in view.documents(None, 0, 10)] == ["b", "a", "d", "c"]
    assert [d.doc_id for d in view.documents(None, 1, 2)] == ["a", "d"]
    assert [d.doc_id for d in view.documents(RowFilter(source="BBC"), 0, 10)] == ["b", "a"]
    a = view.document("a")
    assert a is not None and (a.source, a.published_at) == ("BBC", "2024-01-10T00:00:00+00:00")
    assert a.metadata == {"topic": "energy", "n": 3, "flag": True, "ratio": 1.5, "tags": ["x", "y"]}
    assert view.chunks([3])[3].source == "bbc" and view.chunks([4])[4].metadata == {"topic": "energy"}


def test_dense_ranking(store: Backend) -> None:
    _filter_corpus(store)
    view = store.snapshot()
    found = view.dense(_vector(20), 5)
    assert found[0][0] == 4 and found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(found) == 5 and [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    expected = sorted(
        ((i, float(_vector(seed) @ _vector(20))) for i, seed in enumerate([1, 2, 10, 20, 30], 1))
    )
    assert [i for i, _ in sorted(found)] == [i for i, _ in expected]
    assert [s for _, s in sorted(found)] == pytest.approx([s for _, s in expected], abs=1e-5)
    assert [i for i, _ in view.dense(_vector(20), 5, np.asarray([1, 2], dtype=np.int64))] == [1, 2]
    assert view.dense(_vector(20), 0) == [] and view.dense(_vector(20), 5, np.asarray([], np.int64)) == []


def test_lexical_ranking_uses_one_analyzer(store: Backend) -> None:
    store.write(
        [
            _record("a", ["The harbour bridge opened", "Ferries ran late"], 1, title="Harbour news"),
            _record("b", ["A bridge in Rzeszów closed"], 10),
            _record("c", ["Bridges and harbours of the north"], 20),
        ]
    )
    view = store.snapshot()
    assert {i for i, _ in view.lexical(["bridges"], 10)} == {1, 3, 4}  # stemmed: bridge, bridges
    assert [i for i, _ in view.lexical(["rzeszow"], 10)] == [3]  # folded to ASCII
    assert [i for i, _ in view.lexical(["ferry"], 10)] == [2]
    assert view.lexical(["...", ""], 10) == [] and view.lexical(["ferry"], 0) == []
    both = view.lexical(["harbour", "bridge"], 10)
    assert {i for i, _ in both} == {1, 2, 3, 4} and all(s > 0 for _, s in both)
    assert both[0][0] == 1  # both terms, and the title's harbour twice
    assert [i for i, _ in view.lexical(["harbour"], 10, np.asarray([3, 4], dtype=np.int64))] == [4]
    scores = view.lexical_scores(["harbour"], [1, 3, 4, 99])
    assert set(scores) == {1, 4}
    assert scores[1] == pytest.approx(dict(view.lexical(["harbour"], 10))[1], rel=1e-6)


def _bad_records() -> list[tuple[str, DocumentRecord]]:
    good = _record("x", ["some text"], 5)
    chunk = good.chunks[0]
    return [
        ("empty doc_id", DocumentRecord("", "h", "t")),
        (
            "span outside",
            DocumentRecord("x", "h", "short", chunks=(ChunkRecord(0, 0, 9, "short", chunk.vector),)),
        ),
        (
            "text not its span",
            DocumentRecord("x", "h", "some text", chunks=(ChunkRecord(0, 0, 4, "text", chunk.vector),)),
        ),
        (
            "wrong dimension",
            DocumentRecord(
                "x", "h", "some text", chunks=(ChunkRecord(0, 0, 9, "some text", np.ones(3, np.float32)),)
            ),
        ),
        (
            "not finite",
            DocumentRecord(
                "x", "h", "some text", sentences=(SentenceRecord(0, 0, 9, np.full(DIM, np.nan, np.float32)),)
            ),
        ),
        ("repeated", good),
    ]


@pytest.mark.parametrize("case", [name for name, _ in _bad_records()])
def test_bad_input_is_refused_with_nothing_written(store: Backend, case: str) -> None:
    store.write([_record("kept", ["kept text"], 1)])
    bad = dict(_bad_records())[case]
    batch = [_record("fresh", ["fresh text"], 2), bad] + ([bad] if case == "repeated" else [])
    with pytest.raises(InvalidRecordError):
        store.write(batch, delete=["kept"])
    view = store.snapshot()
    assert view.generation == 1 and store.content_hashes(["kept", "fresh", "x"]) == {"kept": "h-kept text"}
    assert [view.count(t) for t in ("documents", "chunks", "sentences")] == [1, 1, 1]
    assert store.write([_record("fresh", ["fresh text"], 2)]).generation == 2
    assert _doc_of_chunks(store, [1, 2, 3]) == {1: "kept", 2: "fresh"}  # no id was used up


def test_an_older_view_is_unchanged_by_later_writes(store: Backend) -> None:
    store.write([_record("a", ["alpha"], 1)])
    before = store.snapshot()
    store.write([_record("b", ["beta"], 2)], delete=["a"])
    assert before.generation == 1 and before.count("documents") == 1 and before.document("a") is not None
    assert [i for i, _ in before.dense(_vector(2), 5)] == [1] and before.document("b") is None
    after = store.snapshot()
    assert after.generation == 2 and after.document("a") is None and after.count("documents") == 1


def test_reopening_sees_the_same_data_and_checks_the_manifest(location: Location) -> None:
    assert not store_exists(location)
    with pytest.raises(StoreError, match="no store"):
        open_store(location, MANIFEST, create=False)
    store = open_store(location, MANIFEST, recorded={"sentence_vectors": "late"})
    store.write([_record("a", ["alpha harbour", "alpha two"], 1)])
    store.write([_record("b", ["beta"], 10)])
    before = store.snapshot().dense(_vector(1), 3)
    store.close()
    assert store_exists(location)
    again = open_store(location, MANIFEST)
    try:
        view = again.snapshot()
        assert view.generation == 2 and [view.count(t) for t in ("documents", "chunks", "sentences")] == [
            2,
            3,
            3,
        ]
        after = view.dense(_vector(1), 3)
        assert [i for i, _ in after] == [i for i, _ in before]
        assert [s for _, s in after] == pytest.approx([s for _, s in before], abs=1e-6)
        assert [i for i, _ in view.lexical(["harbour"], 3)] == [1]
        assert again.manifest["sentence_vectors"] == "late" and again.manifest["dimension"] == DIM
        assert again.write([_record("c", ["gamma"], 20)]).generation == 3
        assert _doc_of_chunks(again, [4]) == {4: "c"}  # the counters survive the reopen
    finally:
        again.close()
    with pytest.raises(ManifestMismatchError):
        open_store(location, {**MANIFEST, "fingerprint": "other"})
    reader = open_store(location, MANIFEST, read_only=True)
    try:
        assert reader.read_only and reader.snapshot().count("documents") == 3
        with pytest.raises(ReadOnlyStoreError):
            reader.write([_record("d", ["delta"], 30)])
    finally:
        reader.close()


def test_refresh_picks_up_another_writers_commit(location: Location) -> None:
    first = open_store(location, MANIFEST)
    second = open_store(location, MANIFEST)
    try:
        first.write([_record("a", ["alpha"], 1)])
        assert second.snapshot().generation == 0 and second.refresh() is True
        assert second.snapshot().document("a") is not None and second.refresh() is False
    finally:
        second.close()
        first.close()


# The engine on each backend: the real model, a few summaries whose answers are plain to read.
SUMMARIES = [
    Document(
        "bridge",
        "Councillors approved a new harbour bridge on Monday. The bridge will cost 40 million euros. "
        "Work starts in the spring.",
        title="Harbour bridge approved",
        source="Tribune",
        published_at=datetime(2024, 3, 1, tzinfo=UTC),
        metadata={"region": "north"},
    ),
    Document(
        "runway",
        "The city airport opened a second runway. Flights to Lisbon resume in May.",
        source="Courier",
        published_at=datetime(2024, 5, 10, tzinfo=UTC),
        metadata={"region": "south"},
    ),
    Document(
        "mayor",
        "Voters in the district elected Anna Berg as mayor. She won 54 percent of the vote.",
        source="Tribune",
        published_at=datetime(2023, 11, 20, tzinfo=UTC),
        metadata={"region": "south"},
    ),
    Document(
        "storm",
        "A storm closed the coastal road for two days. Crews cleared fallen trees from the road.",
        source="courier",
        metadata={"region": "north"},
    ),
]


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[dict[str, Engine]]:
    """One engine per backend holding SUMMARIES, shared by the read-only tests below."""
    opened = {b: Engine.open(_location(b, tmp_path_factory.mktemp(b)), embedder=embedder) for b in BACKENDS}
    for engine in opened.values():
        engine.ingest(SUMMARIES)
    yield opened
    for engine in opened.values():
        engine.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("mode", "query", "doc_id"),
    [
        ("dense", "a new runway at the airport", "runway"),
        ("lexical", "harbour bridge cost", "bridge"),
        ("hybrid", "who won the election for mayor", "mayor"),
        ("hybrid", "fallen trees after the storm", "storm"),
    ],
)
def test_search_finds_the_summary_in_each_mode(
    engines: dict[str, Engine], backend: str, mode: str, query: str, doc_id: str
) -> None:
    assert engines[backend].search(query, k=4, mode=mode)[0].doc_id == doc_id


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("filters", "doc_ids"),
    [
        (Filters(source="TRIBUNE"), {"bridge", "mayor"}),
        (Filters(published_from=datetime(2024, 1, 1, tzinfo=UTC)), {"bridge", "runway"}),
        (
            Filters(published_from=datetime(2024, 1, 1, tzinfo=UTC), undated=True),
            {"bridge", "runway", "storm"},
        ),
        (Filters(metadata={"region": "north"}), {"bridge", "storm"}),
        (Filters(source="courier", metadata={"region": "north"}), {"storm"}),
    ],
)
def test_search_filters(
    engines: dict[str, Engine], backend: str, filters: Filters, doc_ids: set[str]
) -> None:
    for mode in ("dense", "hybrid"):
        found = engines[backend].search("news from the city", k=4, filters=filters, mode=mode)
        assert {p.doc_id for p in found} == doc_ids, mode


def test_both_backends_give_the_same_ids_and_scores(engines: dict[str, Engine]) -> None:
    embedded, milvus = (engines[b] for b in BACKENDS)
    vector = embedded.embed_query("flights to Lisbon")
    for view in (embedded.snapshot(), milvus.snapshot()):
        assert sorted(view.chunks(list(range(1, 6)))) == [1, 2, 3, 4]
    rows = [engine.snapshot().chunks([1, 2, 3, 4]) for engine in (embedded, milvus)]
    assert [(r.doc_id, r.start, r.end, r.text) for r in rows[0].values()] == [
        (rows[1][i].doc_id, rows[1][i].start, rows[1][i].end, rows[1][i].text) for i in rows[0]
    ]
    dense = [engine.snapshot().dense(vector, 4) for engine in (embedded, milvus)]
    assert [i for i, _ in dense[0]] == [i for i, _ in dense[1]]
    assert [s for _, s in dense[0]] == pytest.approx([s for _, s in dense[1]], abs=1e-5)
    lexical = [engine.snapshot().lexical(["road", "storm", "bridge"], 4) for engine in (embedded, milvus)]
    assert [i for i, _ in lexical[0]] == [i for i, _ in lexical[1]] == [4, 1]
    # Close, not equal: tantivy counts its generation marker and rounds lengths (index/milvus.py).
    assert [s for _, s in lexical[0]] == pytest.approx([s for _, s in lexical[1]], rel=0.06)


@pytest.mark.parametrize("backend", BACKENDS)
def test_answers_cite_exact_offsets_of_the_stored_text(engines: dict[str, Engine], backend: str) -> None:
    engine = engines[backend]
    answer = engine.ask("How much will the harbour bridge cost?")
    assert not answer.abstained
    assert "40 million euros" in answer.sentences[0].text
    for sentence in answer.sentences:
        for citation in sentence.citations:
            stored = engine.document(citation.doc_id)
            assert stored is not None and stored.text[citation.start : citation.end] == sentence.text
    assert answer.sources[0].doc_id == "bridge"
    stats = engine.stats()
    assert (stats.documents, stats.chunks, stats.generation) == (4, 4, 1)


def test_a_milvus_write_that_fails_midway_is_undone_and_a_crashed_one_at_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymilvus.exceptions import MilvusException

    from index.milvus import MilvusStore

    location = str(_location("milvus-lite", tmp_path))
    store = open_store(location, MANIFEST)
    assert isinstance(store, MilvusStore)
    store.write([_record("a", ["alpha harbour"], 1), _record("b", ["beta"], 2)])
    client = store._client
    insert = client.insert

    def failing_insert(name: str, rows: list, **kwargs: object) -> object:
        if name.endswith("_sentences"):  # documents and chunks are in; the sentences fail
            raise MilvusException(message="lost connection")
        return insert(name, rows, **kwargs)

    monkeypatch.setattr(client, "insert", failing_insert)
    with pytest.raises(StoreError, match="lost connection"):
        store.write([_record("a", ["alpha seaport"], 3), _record("c", ["gamma"], 4)], delete=["b"])
    monkeypatch.setattr(client, "insert", insert)
    view = store.snapshot()
    assert view.generation == 1 and [view.count(t) for t in ("documents", "chunks", "sentences")] == [2, 2, 2]
    assert [i for i, _ in view.lexical(["harbour"], 5)] == [1] and view.lexical(["seaport"], 5) == []
    # A writer that died after writing rows but before publishing: its rows are never seen, and the next
    # open (and every write, first) deletes them and revives the rows it had ended.
    crashed = [_record("a", ["alpha ferry"], 5)]
    store._replace(crashed, ["b"], 2, _encoded(store, crashed))
    store.close()
    again = open_store(location, MANIFEST)
    try:
        view = again.snapshot()
        assert view.generation == 1 and view.document("b") is not None and view.lexical(["ferry"], 5) == []
        assert again.write([_record("d", ["delta"], 6)]).generation == 2
        view = again.snapshot()
        assert [view.count(t) for t in ("documents", "chunks", "sentences")] == [3, 3, 3]
        assert [i for i, _ in view.lexical(["harbour"], 5)] == [1]
        a = view.document("a")
        assert a is not None and a.text == "alpha harbour"
    finally:
        again.close()


def _encoded(store: Backend, records: list[DocumentRecord]) -> object:
    from index.milvus_rows import encode_records

    counters = store._state("counters", {"row": 1, "chunk": 1, "sentence": 1})  # type: ignore[attr-defined]
    return encode_records(records, 2, counters)
