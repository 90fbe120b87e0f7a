"""The store on its own, with seeded random vectors: writes, snapshots, persistence, recovery."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import tantivy

from index import ChunkRecord, DocumentRecord, ManifestMismatchError, RowFilter, SentenceRecord, Store
from index.store import DB_NAME, LEXICAL_NAME, VECTORS_NAME

DIM = 8
MANIFEST = {"embedder": "test", "dimension": DIM, "fingerprint": "f0"}


def _vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _record(doc_id: str, text: str, seed: int, **fields: object) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id,
        content_hash=f"h-{text}",
        text=text,
        chunks=(ChunkRecord(0, 0, len(text), text, _vector(seed)),),
        sentences=(SentenceRecord(0, 0, len(text), _vector(seed + 1000)),),
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "s", MANIFEST)


def test_write_search_upsert_delete(store: Store) -> None:
    store.write([_record("a", "alpha harbour", 1), _record("b", "beta airport", 2)])
    snap = store.snapshot()
    assert snap.dense(_vector(1), 1)[0][0] in snap.chunks([c for c, _ in snap.dense(_vector(1), 2)])
    assert snap.chunks([snap.dense(_vector(1), 1)[0][0]]).popitem()[1].doc_id == "a"
    assert [snap.chunks([c])[c].doc_id for c, _ in snap.lexical(["harbour"], 5)] == ["a"]

    result = store.write([_record("a", "alpha seaport", 3)])
    assert (result.added, result.updated) == (0, 1)
    snap = store.snapshot()
    assert snap.count("documents") == 2 and snap.count("chunks") == 2 and snap.count("sentences") == 2
    assert snap.lexical(["harbour"], 5) == []
    assert len(snap.lexical(["seaport"], 5)) == 1
    assert snap.dense(_vector(3), 1)[0][1] == pytest.approx(1.0, abs=1e-5)

    assert store.write([], delete=["a", "missing"]).deleted == 1
    snap = store.snapshot()
    assert snap.count("documents") == 1 and snap.vectors.size == 1 and snap.lexical(["seaport"], 5) == []


def test_old_snapshot_is_unchanged_by_later_writes(store: Store) -> None:
    store.write([_record("a", "alpha", 1)])
    before = store.snapshot()
    store.write([_record("b", "beta", 2)], delete=["a"])
    assert before.count("documents") == 1 and before.document("a") is not None
    assert len(before.dense(_vector(1), 5)) == 1
    after = store.snapshot()
    assert after.document("a") is None and after.count("documents") == 1


def _open_files(folder: Path) -> list[str]:
    names = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:  # the listing's own descriptor, already closed
            continue
        if target.parent == folder:
            names.append(target.name)
    return names


def test_close_leaves_a_self_contained_database(tmp_path: Path) -> None:
    """After close the database holds everything (no WAL to lose when copied), beside the two
    indexes derived from it, and no file stays open."""
    folder = tmp_path / "s"
    store = Store.open(folder, MANIFEST)
    for n in range(5):  # each write supersedes the snapshot before it
        store.write([_record(f"d{n}", f"report {n}", n)])
    store.close()
    assert _open_files(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == [LEXICAL_NAME, DB_NAME, VECTORS_NAME]
    reopened = Store.open(folder, MANIFEST, create=False)
    assert reopened.snapshot().count("documents") == 5
    reopened.close()


def test_a_reader_never_rewrites_the_vector_file(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    store = Store.open(folder, MANIFEST)
    store.write([_record("a", "alpha harbour", 1)])
    store.close()
    before = (folder / VECTORS_NAME).stat().st_mtime_ns
    reader = Store.open(folder, MANIFEST, create=False)
    assert reader.snapshot().dense(_vector(1), 1)
    reader.save_vectors()
    reader.close()
    assert (folder / VECTORS_NAME).stat().st_mtime_ns == before
    writer = Store.open(folder, MANIFEST, create=False)
    writer.write([_record("b", "beta airport", 2)])
    writer.close()
    assert (folder / VECTORS_NAME).stat().st_mtime_ns != before


def test_filters_apply_inside_retrieval(store: Store) -> None:
    store.write(
        [
            _record("a", "storm news", 1, source="Reuters", published_at="2024-01-05T00:00:00+00:00"),
            _record("b", "storm news too", 2, source="AP", published_at="2024-03-05T00:00:00+00:00"),
            _record("c", "storm again", 3, source="AP", metadata={"section": "weather"}),
        ]
    )
    snap = store.snapshot()
    allowed = snap.allowed_chunks(RowFilter(source="ap"))
    hits = snap.dense(_vector(1), 3, allowed)  # the nearest overall (a) is excluded, two still come back
    assert sorted(snap.chunks([c for c, _ in hits])[c].doc_id for c, _ in hits) == ["b", "c"]
    dated = RowFilter(published_from="2024-02-01", published_to="2024-12-31")
    found = snap.lexical(["storm"], 5, snap.allowed_chunks(dated))
    assert [snap.chunks([c])[c].doc_id for c, _ in found] == ["b"]
    assert len(snap.allowed_chunks(RowFilter(metadata={"section": "weather"}))) == 1


def test_reopen_round_trip_and_rebuild_of_missing_or_corrupt_vectors(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    store = Store.open(folder, MANIFEST)
    store.write([_record("a", "alpha", 1), _record("b", "beta", 2)])
    store.close()
    for damage in ("keep", "delete", "corrupt", "truncate"):
        path = folder / VECTORS_NAME
        if damage == "delete":
            path.unlink()
        elif damage == "corrupt":
            data = bytearray(path.read_bytes())
            data[-10] ^= 0xFF
            path.write_bytes(bytes(data))
        elif damage == "truncate":
            path.write_bytes(path.read_bytes()[:40])
        reopened = Store.open(folder, MANIFEST)
        snap = reopened.snapshot()
        assert snap.vectors.size == 2, damage
        assert snap.chunks([snap.dense(_vector(2), 1)[0][0]]).popitem()[1].doc_id == "b"
        reopened.close()


def test_stale_vector_file_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    store = Store.open(folder, MANIFEST)
    store.write([_record("a", "alpha", 1)])
    store.close()
    stale = (folder / VECTORS_NAME).read_bytes()
    store = Store.open(folder, MANIFEST)
    store.write([_record("b", "beta", 2)])
    store._conn.close()  # a crash: the vector file was not saved after this write
    (folder / VECTORS_NAME).write_bytes(stale)
    reopened = Store.open(folder, MANIFEST)
    assert reopened.snapshot().vectors.size == 2


def _damage_lexical(folder: Path, damage: str, stale: Path) -> None:
    lexical = folder / LEXICAL_NAME
    if damage == "delete":
        shutil.rmtree(lexical)
    elif damage == "corrupt meta":
        (lexical / "meta.json").write_text("{not json")
    elif damage == "truncate segments":
        for path in lexical.iterdir():
            if path.suffix in (".idx", ".term", ".pos"):
                path.write_bytes(path.read_bytes()[:7])
    elif damage == "stale":  # a crash after SQLite's commit but before the index's
        shutil.rmtree(lexical)
        shutil.copytree(stale, lexical)
    elif damage == "older schema":  # the first tantivy index: title and text fields, at SQLite's generation
        shutil.rmtree(lexical)
        lexical.mkdir()
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("chunk_id", indexed=True, fast=True)
        builder.add_integer_field("generation", fast=True)
        builder.add_text_field("title", index_option="position")
        builder.add_text_field("text", index_option="position")
        index = tantivy.Index(builder.build(), path=str(lexical))
        writer = index.writer(15_000_000, 1)
        writer.add_document(tantivy.Document(chunk_id=-1, generation=2))
        writer.commit()
        writer.wait_merging_threads()


@pytest.mark.parametrize(
    "damage", ["keep", "delete", "corrupt meta", "truncate segments", "stale", "older schema"]
)
def test_a_missing_damaged_or_stale_lexical_index_is_rebuilt_from_the_database(
    tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "s"
    store = Store.open(folder, MANIFEST)
    store.write([_record("a", "alpha harbour", 1)])
    store.close()
    stale = tmp_path / "stale"
    shutil.copytree(folder / LEXICAL_NAME, stale)
    store = Store.open(folder, MANIFEST)
    store.write([_record("b", "beta harbours", 2), _record("a", "alpha airport", 3)])
    store.close()
    _damage_lexical(folder, damage, stale)
    reopened = Store.open(folder, MANIFEST)
    snap = reopened.snapshot()
    assert snap.lexical_view.generation == snap.generation == 2
    assert sorted(snap.chunks([c])[c].doc_id for c, _ in snap.lexical(["harbour"], 5)) == ["b"]
    assert [snap.chunks([c])[c].doc_id for c, _ in snap.lexical(["airport"], 5)] == ["a"]
    reopened.close()
    again = Store.open(folder, MANIFEST)  # the rebuilt index was saved, at the right generation
    assert again.snapshot().lexical_view.generation == 2 and again.snapshot().lexical_view.size == 2
    again.close()


def test_a_title_match_counts_double_within_one_bm25_of_the_chunk(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s", MANIFEST)
    store.write(
        [
            _record("titled", "storm damage reported along the coast", 1, title="Harbour"),
            _record("once", "harbour storm damage reported along the coast", 2),
            _record("twice", "harbour storm damage reported at the harbour", 3),
            _record("thrice", "harbour harbour storm damage at the harbour", 4),
        ]
    )
    snap = store.snapshot()
    ranked = [snap.chunks([c])[c].doc_id for c, _ in snap.lexical(["harbour"], 5)]
    # one title match is worth about two in the text: above one, level with two, below three
    assert ranked.index("titled") < ranked.index("once") and ranked.index("thrice") < ranked.index("titled")
    store.close()


def test_a_read_only_store_with_a_stale_lexical_index_searches_one_built_in_memory(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    store = Store.open(folder, MANIFEST)
    store.write([_record("a", "alpha harbour", 1)])
    store.close()
    stale = tmp_path / "stale"
    shutil.copytree(folder / LEXICAL_NAME, stale)
    store = Store.open(folder, MANIFEST)
    store.write([_record("b", "beta harbour", 2)])
    store.close()
    _damage_lexical(folder, "stale", stale)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (folder / LEXICAL_NAME).iterdir())
    reader = Store.open(folder, MANIFEST, read_only=True)
    snap = reader.snapshot()
    assert sorted(snap.chunks([c])[c].doc_id for c, _ in snap.lexical(["harbour"], 5)) == ["a", "b"]
    reader.close()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (folder / LEXICAL_NAME).iterdir()) == before


def test_a_store_from_before_the_lexical_index_is_upgraded_on_open(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    store = Store.open(folder, MANIFEST)
    store.write([_record("a", "alpha harbour", 1)])
    store.close()
    shutil.rmtree(folder / LEXICAL_NAME)
    conn = sqlite3.connect(folder / DB_NAME)  # the first format kept its lexical index in FTS5
    conn.executescript("CREATE VIRTUAL TABLE chunks_fts USING fts5 (title, text); PRAGMA user_version = 1;")
    conn.close()
    reopened = Store.open(folder, MANIFEST)
    snap = reopened.snapshot()
    assert [snap.chunks([c])[c].doc_id for c, _ in snap.lexical(["harbour"], 5)] == ["a"]
    reopened.close()
    conn = sqlite3.connect(folder / DB_NAME)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert "chunks_fts" not in tables


def test_manifest_mismatch_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path / "s", MANIFEST).close()
    with pytest.raises(ManifestMismatchError) as caught:
        Store.open(tmp_path / "s", {**MANIFEST, "fingerprint": "other"})
    assert (caught.value.key, caught.value.stored, caught.value.requested) == ("fingerprint", "f0", "other")


def test_failed_write_changes_nothing(store: Store) -> None:
    store.write([_record("a", "alpha", 1)])
    bad = DocumentRecord(
        doc_id="b", content_hash="h", text="beta", chunks=(ChunkRecord(0, 0, 4, "beta", None),)
    )  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - any failure; the point is what it leaves behind
        store.write([_record("c", "gamma", 3), bad])
    snap = store.snapshot()
    assert snap.count("documents") == 1 and snap.count("chunks") == 1 and snap.vectors.size == 1
    assert (store.folder / DB_NAME).exists()


def test_refresh_picks_up_another_writers_commits(tmp_path: Path) -> None:
    reader = Store.open(tmp_path / "s", MANIFEST)
    writer = Store.open(tmp_path / "s", MANIFEST)  # as another process would
    writer.write([_record("a", "alpha harbour", 1)])
    assert reader.snapshot().count("documents") == 0
    assert reader.refresh() is True
    snap = reader.snapshot()
    assert snap.count("documents") == 1 and snap.vectors.size == 1
    assert [snap.chunks([c])[c].doc_id for c, _ in snap.lexical(["harbour"], 5)] == ["a"]
    assert reader.refresh() is False


def test_size_is_read_while_the_lexical_index_replaces_its_files(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write([_record("a", "alpha harbour", 1)])
    settled = store.size_bytes()
    assert settled > 0
    listed = list((store.folder / LEXICAL_NAME).glob("*"))
    gone = store.folder / LEXICAL_NAME / ".tmp-removed-after-listing"  # listed, then deleted by a commit
    monkeypatch.setattr(Path, "glob", lambda self, pattern: iter([*listed, gone]))
    monkeypatch.setattr(Path, "is_file", lambda self: True)  # ... and there when it was looked at
    assert store.size_bytes() == settled
