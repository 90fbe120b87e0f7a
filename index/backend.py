"""The store contract: what the engine, retrieval and the answer stage call on a store and its read view.

Two backends implement it: the embedded store (index.store.Store and index.snapshot.Snapshot:
SQLite, FAISS and tantivy in one folder) and Milvus (index.milvus). tests/test_store_contract.py
runs the same suite against both. The protocols hold exactly the methods callers use today; a
backend's own extras (the embedded snapshot's `vectors`, say) are not part of the contract.

Ids: a document's `doc_id` is given by the caller; chunk and sentence ids are integers the store
assigns at write time, counting up from 1 in the order the records list them and never reused,
so the same writes into a new store give the same ids in either backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from index.records import ChunkRow, DocumentRecord, DocumentRow, RowFilter, SentenceRow, WriteResult


class ReadView(Protocol):
    """One generation of the store, as a query reads it. Every method answers from the same
    generation: a write published after the view was taken is not seen, and a document is seen
    whole or not at all (each backend's module docstring says how long that holds)."""

    @property
    def generation(self) -> int:
        """The write this view shows: 0 for an empty store, one more for every committed write."""
        ...

    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Up to k (chunk_id, inner product) pairs, best first; only chunk ids in `allowed` when given
        (empty allowed: []). k <= 0 or an empty store: []. Ties are in no promised order."""
        ...

    def lexical(
        self, phrases: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Up to k (chunk_id, BM25) pairs for chunks matching any phrase (the title counting double),
        best first, scores > 0; only `allowed` when given. No phrase left after analysis: []."""
        ...

    def lexical_scores(self, phrases: Sequence[str], chunk_ids: list[int]) -> dict[int, float]:
        """The BM25 of each listed chunk for the phrases, with corpus-wide statistics as in lexical();
        a chunk that matches no phrase, or does not exist in this view, is absent."""
        ...

    def chunk_vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored unit vectors (float32) of the listed chunks, by id; unknown ids are absent."""
        ...

    def allowed_chunks(self, row_filter: RowFilter) -> np.ndarray:
        """Ids (int64, no promised order) of the chunks whose documents pass the filter: source equal
        ignoring ASCII case, published_at within the inclusive ISO-8601 bounds (undated documents
        pass only with `undated`), each metadata key's value equal as text."""
        ...

    def chunks(self, chunk_ids: list[int]) -> dict[int, ChunkRow]:
        """The listed chunks with their documents' attributes, by id; unknown ids are absent."""
        ...

    def sentences(self, ranges: Sequence[tuple[str, int, int]]) -> list[SentenceRow]:
        """The sentences that start inside any (doc_id, start, end) character range (start inclusive,
        end exclusive), each once, sorted by (doc_id, ordinal); unknown documents add nothing."""
        ...

    def document(self, doc_id: str) -> DocumentRow | None:
        """One stored document, or None when this view does not hold it."""
        ...

    def documents(self, row_filter: RowFilter | None, offset: int, limit: int) -> list[DocumentRow]:
        """Documents passing the filter (None: all), newest published first, undated last, ties by
        doc_id; then `offset` skipped and at most `limit` returned."""
        ...

    def count(self, table: str) -> int:
        """How many documents, chunks or sentences this view holds; another name is a ValueError."""
        ...


class Backend(Protocol):
    """A store: one writer at a time, any number of readers, each on a ReadView."""

    @property
    def manifest(self) -> dict[str, Any]:
        """The facts recorded when the store was made (embedder, dimension, chunking, format
        version, created_at, and what was recorded beside them); checked at every open."""
        ...

    @property
    def read_only(self) -> bool:
        """True when the store was opened read-only: write() then raises ReadOnlyStoreError."""
        ...

    def snapshot(self) -> ReadView:
        """The latest view this process has published or picked up; hold on to it for a whole query."""
        ...

    def refresh(self) -> bool:
        """Pick up writes committed by another process (or client) since the current view; True when a
        newer view was published."""
        ...

    def content_hashes(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The stored content hash of each listed document that exists; unknown ids are absent."""
        ...

    def write(self, records: Sequence[DocumentRecord], delete: Sequence[str] = ()) -> WriteResult:
        """Replace each record's document (its chunks and sentences with it) and delete the listed ids
        (unknown ones are skipped), as one write with one new generation, then publish the view of it.
        Records that cannot be stored as given (InvalidRecordError) are refused before anything is
        written; a failed write (StoreError) leaves the last published view as it was."""
        ...

    def save_vectors(self) -> None:
        """Persist derived search structures that are kept in memory (best effort; may do nothing)."""
        ...

    def size_bytes(self) -> int:
        """Bytes the store occupies on local disk; 0 when it lives elsewhere (a Milvus server)."""
        ...

    def wal_bytes(self) -> int:
        """Bytes of its write-ahead log on local disk, part of size_bytes; 0 when not known."""
        ...

    def close(self) -> None:
        """Persist what is pending and release connections; views taken before fail afterwards."""
        ...
