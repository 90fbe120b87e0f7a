"""Copying one store into another of any backend, through the store contract alone (index/backend.py).

Everything a write needs is read back from the source's view: each document with its content hash,
its chunks (spans, text, vectors) and its sentences (spans, vectors); nothing is embedded again.
Documents are copied in the order of their first chunk id, so a source whose ids have no gaps
(never upserted or deleted into) gives the target the same chunk and sentence ids. What is not
kept: each document's ingested_at (the target records when it was copied) and the source's
generation count (the target counts one write per batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from index.backend import Backend, ReadView
from index.errors import StoreError
from index.records import ChunkRecord, DocumentRecord, RowFilter, SentenceRecord

_READ_BATCH = 1_000  # chunk ids per read of the source


@dataclass(frozen=True)
class CopyReport:
    """What a copy wrote."""

    documents: int
    chunks: int
    sentences: int
    writes: int


def target_manifest(source: Backend) -> dict[str, Any]:
    """The manifest a copy is created with: the source's, less the time it was created."""
    return {k: v for k, v in source.manifest.items() if k != "created_at"}


def copy_store(
    source: Backend, target: Backend, batch: int = 256, progress: Callable[[int], None] | None = None
) -> CopyReport:
    """Copy every document of the source's current view into the empty target, `batch` documents
    per write; refuses a target that already holds documents (StoreError)."""
    if batch < 1:
        raise ValueError(f"batch of {batch}: copy at least one document per write")
    held = target.snapshot().count("documents")
    if held:
        raise StoreError(f"the target already holds {held} documents; copy into a new, empty store")
    view = source.snapshot()
    documents = chunks = sentences = writes = 0
    for part in _batches(_documents_in_id_order(view), batch):
        records = _records(source, view, part)
        result = target.write(records)
        documents, chunks, sentences = (
            documents + len(records),
            chunks + result.chunks,
            sentences + result.sentences,
        )
        writes += 1
        if progress is not None:
            progress(len(records))
    target.save_vectors()
    return CopyReport(documents, chunks, sentences, writes)


def _documents_in_id_order(view: ReadView) -> list[tuple[str, list[int]]]:
    """Every document's id with its chunk ids, ordered by its first chunk; chunkless ones last."""
    ids = sorted(int(i) for i in view.allowed_chunks(RowFilter()))
    by_doc: dict[str, list[int]] = {}
    for at in range(0, len(ids), _READ_BATCH):
        rows = view.chunks(ids[at : at + _READ_BATCH])
        for chunk_id in ids[at : at + _READ_BATCH]:
            if chunk_id in rows:
                by_doc.setdefault(rows[chunk_id].doc_id, []).append(chunk_id)
    listed = [(doc_id, chunk_ids) for doc_id, chunk_ids in by_doc.items()]
    total = view.count("documents")
    if total > len(listed):  # documents without chunks (empty text) hold no chunk ids to find them by
        for offset in range(0, total, _READ_BATCH):
            for row in view.documents(None, offset, _READ_BATCH):
                if row.doc_id not in by_doc:
                    listed.append((row.doc_id, []))
    return listed


def _batches(items: Sequence[tuple[str, list[int]]], size: int) -> Iterator[Sequence[tuple[str, list[int]]]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]


def _records(source: Backend, view: ReadView, part: Sequence[tuple[str, list[int]]]) -> list[DocumentRecord]:
    hashes = source.content_hashes([doc_id for doc_id, _ in part])
    chunk_ids = [i for _, ids in part for i in ids]
    rows = view.chunks(chunk_ids)
    vectors = view.chunk_vectors(chunk_ids)
    records: list[DocumentRecord] = []
    for doc_id, ids in part:
        document = view.document(doc_id)
        if document is None or doc_id not in hashes:
            raise StoreError(f"document {doc_id!r} vanished from the source while it was copied; copy again")
        found = view.sentences([(doc_id, 0, len(document.text) + 1)])
        records.append(
            DocumentRecord(
                doc_id=doc_id,
                content_hash=hashes[doc_id],
                text=document.text,
                title=document.title,
                source=document.source,
                url=document.url,
                published_at=document.published_at,
                metadata=document.metadata,
                chunks=tuple(
                    ChunkRecord(rows[i].ordinal, rows[i].start, rows[i].end, rows[i].text, vectors[i])
                    for i in ids
                ),
                sentences=tuple(SentenceRecord(s.ordinal, s.start, s.end, s.vector) for s in found),
            )
        )
    return records
