"""The engine with the real model: ingest, idempotence, upsert, delete, search, refusal on mismatch."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from rag.config import EngineConfig
from rag.engine import Engine
from rag.errors import IndexMismatchError, InvalidRequestError
from rag.ingest.chunking import ChunkingConfig
from rag.ingest.embedder import Embedder
from rag.types import Document, Filters

PATRIOT = "5df9e3f3ff27d6f8"


def test_patriot_question_finds_the_deployment_summary(digest_engine: Engine) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        passages = digest_engine.search("Patriot missiles in Poland", k=3, mode=mode)
        assert passages[0].doc_id == PATRIOT, mode
        assert passages[0].text.startswith("Germany will deploy Patriot missile units to Poland")


def test_reingest_unchanged_does_not_embed_again(engine: Engine, digest_documents: list[Document]) -> None:
    first = engine.ingest(digest_documents)
    assert (first.added, first.updated, first.unchanged) == (10, 0, 0)
    assert first.chunks == 10 and first.sentences == engine.stats().sentences > 10
    calls = engine.embedder.calls
    again = engine.ingest(digest_documents)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 10, 0)
    assert engine.embedder.calls == calls


def test_changed_document_replaces_its_chunks(engine: Engine) -> None:
    engine.ingest([Document(doc_id="n1", text="The harbour in Gdańsk reopened after the storm.")])
    report = engine.ingest([Document(doc_id="n1", text="The airport in Rzeszów closed for two days.")])
    assert (report.added, report.updated) == (0, 1)
    assert engine.stats().documents == 1 and engine.stats().chunks == 1
    assert engine.search("harbour Gdańsk", k=5, mode="lexical") == []
    assert engine.search("Rzeszów airport", k=1)[0].doc_id == "n1"


def test_delete_removes_rows_vectors_and_terms(digest_engine: Engine) -> None:
    assert digest_engine.delete([PATRIOT, "no-such-id"]) == 1
    stats = digest_engine.stats()
    assert (stats.documents, stats.chunks) == (9, 9)
    assert digest_engine.store.snapshot().vectors.size == 9
    assert digest_engine.search("Patriot", k=5, mode="lexical") == []
    assert all(p.doc_id != PATRIOT for p in digest_engine.search("Patriot missiles in Poland", k=9))


def test_persistence_round_trip(tmp_path: Path, embedder: Embedder, digest_documents: list[Document]) -> None:
    engine = Engine.open(tmp_path / "s", embedder=embedder)
    engine.ingest(digest_documents)
    expected = [(p.doc_id, round(p.score, 5)) for p in engine.search("German air defence for Poland", k=3)]
    engine.close()
    reopened = Engine.open(tmp_path / "s", embedder=embedder)
    assert [
        (p.doc_id, round(p.score, 5)) for p in reopened.search("German air defence for Poland", k=3)
    ] == expected
    assert reopened.stats().documents == 10


def test_other_chunking_is_refused_with_both_settings_named(tmp_path: Path, embedder: Embedder) -> None:
    Engine.open(tmp_path / "s", embedder=embedder).close()
    other = EngineConfig(chunking=ChunkingConfig(chunk_tokens=120, overlap_tokens=20))
    with pytest.raises(IndexMismatchError, match=r"chunk_tokens 200.*uses 120.*rebuild"):
        Engine.open(tmp_path / "s", other, embedder=embedder)


def test_other_model_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    Engine.open(tmp_path / "s", embedder=embedder).close()
    impostor = object.__new__(Embedder)
    impostor.__dict__.update(embedder.__dict__)
    impostor.fingerprint = "0123456789abcdef"
    with pytest.raises(IndexMismatchError, match="fingerprint"):
        Engine.open(tmp_path / "s", embedder=impostor)


def test_filters_keep_k_results(engine: Engine) -> None:
    docs = [
        Document(
            doc_id=f"r{i}",
            text=f"Storm report number {i} from the coast.",
            source="Reuters" if i % 2 else "AP",
        )
        for i in range(10)
    ]
    engine.ingest(docs)
    hits = engine.search("storm on the coast", k=4, filters=Filters(source="AP"))
    assert len(hits) == 4 and {p.source for p in hits} == {"AP"}


def test_a_half_life_puts_this_weeks_story_above_an_older_closer_match(engine: Engine) -> None:
    older = "The city council voted on the new harbour bridge budget on Monday, approving the bridge budget."
    newer = "Councillors approved more money for the harbour bridge."
    others = ["A storm closed the ski resort.", "The museum opened a new wing.", "Rail fares rise in May."]
    engine.ingest(
        [
            Document(doc_id="older", text=older, published_at=datetime(2024, 1, 8, tzinfo=UTC)),
            Document(doc_id="newer", text=newer, published_at=datetime(2024, 3, 4, tzinfo=UTC)),
            *(
                Document(doc_id=f"other{i}", text=t, published_at=datetime(2024, 1, 1, tzinfo=UTC))
                for i, t in enumerate(others)
            ),
        ]
    )
    question = "council vote on the harbour bridge budget"
    assert [p.doc_id for p in engine.search(question, k=2)] == ["older", "newer"]
    assert [p.doc_id for p in engine.search(question, k=2, half_life_days=7)] == ["newer", "older"]  # 1/256
    for mode in ("dense", "lexical"):  # a single list still decays a pool deeper than k
        assert [p.doc_id for p in engine.search(question, k=1, mode=mode)] == ["older"]
        assert [p.doc_id for p in engine.search(question, k=1, mode=mode, half_life_days=7)] == ["newer"]
    # Eight weeks apart, a half-life of ten years changes nothing.
    assert [p.doc_id for p in engine.search(question, k=2, half_life_days=3650)] == ["older", "newer"]
    answer = engine.ask("What did councillors approve for the harbour bridge?", half_life_days=7)
    assert answer.sources[0].doc_id == "newer" if answer.sources else answer.related[0].doc_id == "newer"


def test_a_date_in_the_question_does_not_hide_undated_summaries(digest_engine: Engine) -> None:
    question = "Which country will host German Patriot units in 2025?"  # the digest carries no dates
    plain = [p.doc_id for p in digest_engine.search(question, k=3)]
    assert [p.doc_id for p in digest_engine.search(question, k=3, half_life_days=7)] == plain
    dated = Filters(published_from=datetime(2024, 1, 1, tzinfo=UTC))  # the caller's own date: dated only
    assert digest_engine.search(question, k=3, filters=dated, half_life_days=7) == []


def test_bad_queries_are_refused(digest_engine: Engine) -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        digest_engine.search("   ")
    with pytest.raises(InvalidRequestError, match="k of 0"):
        digest_engine.search("NATO", k=0)
    with pytest.raises(InvalidRequestError, match="unknown retrieval mode"):
        digest_engine.search("NATO", mode="psychic")
    with pytest.raises(InvalidRequestError, match="half-life of 0 days is out of range"):
        digest_engine.search("NATO", half_life_days=0)


def test_batches_commit_separately(engine: Engine, digest_documents: list[Document]) -> None:
    engine.config = replace(engine.config, ingest_batch=3)
    engine.ingest(digest_documents)
    assert engine.stats().generation == 4  # ten documents in batches of three


def test_a_document_built_in_code_with_a_script_for_a_url_is_refused_whole(engine: Engine) -> None:
    good = Document(
        doc_id="good", text="Floods closed the main road into Kraków.", url="https://news.example/floods"
    )
    bad = Document(doc_id="bad", text="Snow delayed trains.", url="javascript:alert(1)")
    with pytest.raises(
        InvalidRequestError, match="document 'bad': 'url' 'javascript:alert\\(1\\)' is not an absolute"
    ):
        engine.ingest([good, bad])
    assert engine.stats().documents == 0
    assert engine.ingest([good]).added == 1


def test_sentence_vectors_are_pooled_from_the_chunk_pass(
    tmp_path: Path, embedder: Embedder, digest_documents: list[Document]
) -> None:
    engine = Engine.open(tmp_path / "s", embedder=embedder)
    calls = embedder.calls
    report = engine.ingest(digest_documents)
    assert embedder.calls - calls == report.chunks == 10  # each chunk read once, no sentence alone
    snap = engine.store.snapshot()
    texts = {d.doc_id: d.text for d in digest_documents}
    sentences = snap.sentences([(d.doc_id, 0, len(d.text)) for d in digest_documents])
    assert len(sentences) == report.sentences
    vectors = np.stack([s.vector for s in sentences])
    # a sentence's vector says what that sentence says: of the digest's sentences, the question's
    # nearest is the one that answers it
    for question, words in [
        ("How many German fire units are involved?", "Two German fire units"),
        ("Where is the new amphibious warfare training center?", "Sørreisa"),
        ("Which memorandum does Ukraine say failed?", "Budapest Memorandum"),
        ("Who warned Trump against pressuring Ukraine?", "Rutte"),
    ]:
        best = sentences[int(np.argmax(vectors @ embedder.embed(question)))]
        assert words in texts[best.doc_id][best.start : best.end], question
    engine.close()


def test_a_sentence_longer_than_a_chunk_is_embedded_on_its_own(tmp_path: Path, embedder: Embedder) -> None:
    config = EngineConfig(chunking=ChunkingConfig(chunk_tokens=32, overlap_tokens=8))
    engine = Engine.open(tmp_path / "s", config, embedder=embedder)
    long = "The " + " ".join(["storm closed roads and schools across the northern districts"] * 6) + "."
    calls = embedder.calls
    report = engine.ingest([Document(doc_id="d", text=f"Power is back. {long} Schools reopen today.")])
    assert report.chunks > 1 and report.sentences == 3
    assert embedder.calls - calls == report.chunks + 1
    engine.close()


def test_a_store_keeps_the_way_its_sentence_vectors_were_made(tmp_path: Path, embedder: Embedder) -> None:
    documents = [Document(doc_id="a", text="Power is back. Schools reopen today. Roads are clear.")]
    separate = Engine.open(tmp_path / "s", EngineConfig(sentence_vectors="separate"), embedder=embedder)
    calls = embedder.calls
    separate.ingest(documents)
    assert embedder.calls - calls == 1 + 3
    separate.close()
    again = Engine.open(tmp_path / "s", embedder=embedder)  # the default, late, opens it
    calls = embedder.calls
    again.ingest([Document(doc_id="b", text="Rain is due. Rivers are high.")])
    assert embedder.calls - calls == 1 + 2  # still written the way it was built
    again.close()
    conn = sqlite3.connect(tmp_path / "s" / "store.sqlite")  # a store from before the choice existed
    with conn:
        conn.execute("DELETE FROM manifest WHERE key = 'sentence_vectors'")
    conn.close()
    old = Engine.open(tmp_path / "s", embedder=embedder)
    calls = embedder.calls
    old.ingest([Document(doc_id="c", text="Snow is due. Trains are slow.")])
    assert embedder.calls - calls == 1 + 2
    old.close()
    with pytest.raises(InvalidRequestError, match="unknown sentence vectors 'eager'"):
        EngineConfig(sentence_vectors="eager")
