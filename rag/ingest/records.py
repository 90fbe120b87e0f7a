"""Ingest: documents -> chunks and sentences -> vectors -> store records, batch by batch."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence

import numpy as np

from index import ChunkRecord, DocumentRecord, SentenceRecord
from rag.ingest.chunking import ChunkingConfig, chunk_document
from rag.ingest.embedder import Embedder
from rag.language.text import sentence_spans
from rag.types import Chunk, Document


def content_hash(document: Document) -> str:
    """A hash of everything stored about a document: equal hashes mean nothing to re-embed."""
    payload = json.dumps(
        [
            document.text,
            document.title,
            document.source,
            document.url,
            document.published_at.isoformat() if document.published_at else None,
            document.metadata,
        ],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def embedding_input(document: Document, chunk: Chunk) -> str:
    """What the embedder reads for a chunk: the title, when there is one, then the chunk text."""
    return f"{document.title}\n{chunk.text}" if document.title else chunk.text


def build_records(
    documents: Sequence[Document],
    embedder: Embedder,
    chunking: ChunkingConfig,
    progress: Callable[[int], None] | None = None,
) -> list[DocumentRecord]:
    """Chunk, split and embed a batch of documents with one batched model call."""
    plans = []
    texts: list[str] = []
    for document in documents:

        def fits(piece: str, document: Document = document) -> bool:
            return embedder.fits(f"{document.title}\n{piece}" if document.title else piece)

        chunks = chunk_document(document, chunking, fits)
        spans = sentence_spans(document.text)
        plans.append((document, chunks, spans, len(texts)))
        texts.extend(embedding_input(document, c) for c in chunks)
        texts.extend(document.text[s.start : s.end] for s in spans)
    vectors = embedder.encode(texts)
    records = []
    for document, chunks, spans, offset in plans:
        chunk_vectors = vectors[offset : offset + len(chunks)]
        sentence_vectors = vectors[offset + len(chunks) : offset + len(chunks) + len(spans)]
        records.append(_record(document, chunks, chunk_vectors, spans, sentence_vectors))
    if progress is not None:
        progress(len(documents))
    return records


def _record(
    document: Document,
    chunks: list[Chunk],
    chunk_vectors: np.ndarray,
    spans: list,
    sentence_vectors: np.ndarray,
) -> DocumentRecord:
    return DocumentRecord(
        doc_id=document.doc_id,
        content_hash=content_hash(document),
        text=document.text,
        title=document.title,
        source=document.source,
        url=document.url,
        published_at=document.published_at.isoformat() if document.published_at else None,
        metadata=dict(document.metadata),
        chunks=tuple(
            ChunkRecord(c.ordinal, c.start, c.end, c.text, v)
            for c, v in zip(chunks, chunk_vectors, strict=True)
        ),
        sentences=tuple(
            SentenceRecord(i, s.start, s.end, v)
            for i, (s, v) in enumerate(zip(spans, sentence_vectors, strict=True))
        ),
    )
