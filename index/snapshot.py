"""The read side: an immutable view of the store at one generation (SQLite read txn, FAISS, tantivy)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import faiss
import numpy as np

from index.lexical import LexicalChunk, LexicalIndex, LexicalView
from index.records import ChunkRow, DocumentRow, RowFilter, SentenceRow
from index.vectors import VectorIndex

_CHUNK_COLUMNS = (
    "c.chunk_id, c.doc_id, c.ordinal, c.start, c.end, c.text, "
    "d.title, d.source, d.url, d.published_at, d.metadata"
)
# FAISS searches one query at a time here, which gains nothing from OpenMP threads; with the
# cores busy their spin-waits cost ~30 ms a search against ~0.3 ms single-threaded
# (5,000 vectors, 2 cores under load; bench/retrieval.py). Requests already run side by side.
faiss.omp_set_num_threads(1)
_DOC_COLUMNS = "d.doc_id, d.text, d.title, d.source, d.url, d.published_at, d.metadata, d.ingested_at"


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode, shareable across threads under the caller's lock.
    read_only opens the file as immutable: nothing is written or locked (a read-only mount has no
    room for SQLite's shared-memory file), so the file must not change while it is open."""
    if read_only:
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def read_generation(conn: sqlite3.Connection) -> int:
    """The generation the connection currently sees."""
    return int(conn.execute("SELECT value FROM state WHERE key = 'generation'").fetchone()[0])


def load_vectors(conn: sqlite3.Connection, dimension: int, generation: int) -> VectorIndex:
    """Build the FAISS index from the vectors stored in SQLite."""
    ids: list[int] = []
    blobs: list[bytes] = []
    for chunk_id, blob in conn.execute("SELECT chunk_id, vector FROM chunks ORDER BY chunk_id"):
        ids.append(chunk_id)
        blobs.append(blob)
    vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dimension)
    return VectorIndex.build(dimension, np.asarray(ids, dtype=np.int64), vectors, generation)


def lexical_chunks(conn: sqlite3.Connection) -> Iterator[LexicalChunk]:
    """Every stored chunk as the lexical index holds it, streamed."""
    sql = "SELECT c.chunk_id, d.title, c.text FROM chunks AS c JOIN documents AS d ON d.doc_id = c.doc_id"
    for chunk_id, title, text in conn.execute(sql):
        yield LexicalChunk(int(chunk_id), title or "", text)


_RANGES_PER_QUERY = 300  # bound on one statement's size


class Snapshot:
    """Everything a query reads, frozen at one generation; readers never wait for the writer."""

    def __init__(
        self,
        path: Path,
        vectors: VectorIndex | None,
        lexical: LexicalView | None,
        dimension: int,
        read_only: bool = False,
    ) -> None:
        self._conn = connect(path, read_only)
        self._lock = threading.Lock()
        # An open read transaction pins this generation in WAL mode until the snapshot dies.
        self._conn.execute("BEGIN")
        self.generation = read_generation(self._conn)
        if vectors is None or vectors.generation != self.generation:
            vectors = load_vectors(self._conn, dimension, self.generation)
        self.vectors = vectors
        # An index at another generation (a read-only store whose index lags, a writer mid-commit)
        # is replaced, for this snapshot only, by one built in memory from this transaction.
        if lexical is None or lexical.generation != self.generation:
            index = LexicalIndex.in_memory()
            index.rebuild(lexical_chunks(self._conn), self.generation)
            lexical = index.view()
        self.lexical_view = lexical

    def close(self) -> None:
        """Release the read transaction."""
        with self._lock:
            self._conn.close()

    def __del__(self) -> None:
        # sqlite3 connections sit in a reference cycle with their statement cache, so without this
        # a superseded snapshot's connection (and its read lock, which blocks the checkpoint at
        # close) would live until the garbage collector happened to run.
        conn = getattr(self, "_conn", None)  # absent when __init__ failed to connect
        if conn is not None:
            conn.close()

    def _rows(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Nearest chunks by inner product."""
        return self.vectors.search(vector, k, allowed)

    def lexical(
        self, phrases: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Chunks matching any phrase by BM25 (the title counting double), best first; or only `allowed`."""
        return self.lexical_view.search(phrases, k, allowed)

    def lexical_scores(self, phrases: Sequence[str], chunk_ids: list[int]) -> dict[int, float]:
        """BM25 of the given chunks for the phrases (corpus-wide statistics); absent when no match."""
        return self.lexical_view.scores(phrases, chunk_ids)

    def chunk_vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored unit vectors of the given chunks, by id."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._rows(f"SELECT chunk_id, vector FROM chunks WHERE chunk_id IN ({marks})", chunk_ids)
        return {int(i): np.frombuffer(blob, dtype=np.float32) for i, blob in rows}

    def allowed_chunks(self, row_filter: RowFilter) -> np.ndarray:
        """Ids of the chunks whose documents pass the filter."""
        where, params = _filter_sql(row_filter)
        sql = f"SELECT c.chunk_id FROM chunks AS c JOIN documents AS d ON d.doc_id = c.doc_id WHERE 1 {where}"
        return np.asarray([r[0] for r in self._rows(sql, params)], dtype=np.int64)

    def chunks(self, chunk_ids: list[int]) -> dict[int, ChunkRow]:
        """Chunks with their documents' attributes, by id."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        sql = (
            f"SELECT {_CHUNK_COLUMNS} FROM chunks AS c JOIN documents AS d ON d.doc_id = c.doc_id "
            f"WHERE c.chunk_id IN ({marks})"
        )
        rows = self._rows(sql, chunk_ids)
        return {r[0]: _chunk_row(r) for r in rows}

    def sentences(self, ranges: Sequence[tuple[str, int, int]]) -> list[SentenceRow]:
        """The sentences that start inside the given (doc_id, start, end) character ranges, each
        once, in document order: work bounded by the ranges, not by the documents' length."""
        found: dict[int, SentenceRow] = {}
        for at in range(0, len(ranges), _RANGES_PER_QUERY):
            part = ranges[at : at + _RANGES_PER_QUERY]
            sql = (
                f"WITH r(doc_id, lo, hi) AS (VALUES {','.join(['(?, ?, ?)'] * len(part))}) "
                "SELECT s.sentence_id, s.doc_id, s.ordinal, s.start, s.end, s.vector "
                "FROM r JOIN sentences AS s ON s.doc_id = r.doc_id AND s.start >= r.lo AND s.start < r.hi"
            )
            for row in self._rows(sql, [value for r in part for value in r]):
                found[row[0]] = SentenceRow(
                    row[0], row[1], row[2], row[3], row[4], np.frombuffer(row[5], np.float32)
                )
        return sorted(found.values(), key=lambda s: (s.doc_id, s.ordinal))

    def document(self, doc_id: str) -> DocumentRow | None:
        """One stored document, or None."""
        rows = self._rows(f"SELECT {_DOC_COLUMNS} FROM documents AS d WHERE d.doc_id = ?", [doc_id])
        return _document_row(rows[0]) if rows else None

    def documents(self, row_filter: RowFilter | None, offset: int, limit: int) -> list[DocumentRow]:
        """Stored documents passing the filter, newest first, paged."""
        where, params = _filter_sql(row_filter)
        sql = (
            f"SELECT {_DOC_COLUMNS} FROM documents AS d WHERE 1 {where} "
            "ORDER BY d.published_at IS NULL, d.published_at DESC, d.doc_id LIMIT ? OFFSET ?"
        )
        return [_document_row(r) for r in self._rows(sql, [*params, limit, offset])]

    def count(self, table: str) -> int:
        """Rows in documents, chunks or sentences."""
        if table not in ("documents", "chunks", "sentences"):
            raise ValueError(f"unknown table {table!r}")
        return int(self._rows(f"SELECT count(*) FROM {table}")[0][0])


def _document_row(row: tuple) -> DocumentRow:
    return DocumentRow(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7])


def _chunk_row(r: tuple) -> ChunkRow:
    return ChunkRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], json.loads(r[10]))


def _filter_sql(row_filter: RowFilter | None) -> tuple[str, list[object]]:
    if row_filter is None or row_filter.is_empty():
        return "", []
    clauses: list[str] = []
    params: list[object] = []
    if row_filter.source:
        clauses.append("d.source = ? COLLATE NOCASE")
        params.append(row_filter.source)
    dates = []
    if row_filter.published_from:
        dates.append("d.published_at >= ?")
        params.append(row_filter.published_from)
    if row_filter.published_to:
        dates.append("d.published_at <= ?")
        params.append(row_filter.published_to)
    if dates:
        within = " AND ".join(dates)
        clauses.append(f"(d.published_at IS NULL OR ({within}))" if row_filter.undated else within)
    for key, value in sorted(row_filter.metadata.items()):
        clauses.append("CAST(json_extract(d.metadata, ?) AS TEXT) = ?")
        params.extend([f'$."{key}"', value])
    return " AND " + " AND ".join(clauses), params
