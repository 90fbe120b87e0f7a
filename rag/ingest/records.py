"""Ingest: documents -> chunks and sentences -> vectors -> store records, batch by batch."""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from index import ChunkRecord, DocumentRecord, SentenceRecord
from rag.ingest.chunking import ChunkingConfig, chunk_document
from rag.ingest.embedder import Embedder
from rag.language.text import sentence_spans
from rag.types import Chunk, Document, Span


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
    sentence_vectors: str = "late",
) -> list[DocumentRecord]:
    """Chunk, split and embed a batch of documents with one batched model call.

    sentence_vectors "late": a sentence's vector is pooled from the forward pass of the chunk
    that holds it (Embedder.encode_spans), so every text is read once; a sentence no chunk holds
    whole (one longer than a chunk) is embedded on its own. "separate": every sentence is
    embedded on its own, besides the chunks.
    """
    plans = []
    texts: list[str] = []
    hosted: list[list[tuple[int, int]]] = []  # per chunk input: the sentence spans it holds
    late = sentence_vectors == "late"
    for document in documents:
        chunks = document_chunks(document, embedder, chunking)
        spans = sentence_spans(document.text)
        hosts = _hosts(document, chunks, spans, len(texts)) if late else [None] * len(spans)
        rows: list[tuple[int, int] | None] = []  # per sentence: its chunk input and row there
        hosted.extend([] for _ in chunks)
        for host in hosts:
            if host is not None:
                rows.append((host[0], len(hosted[host[0]])))
                hosted[host[0]].append(host[1])
            else:
                rows.append(None)
        plans.append((document, chunks, spans, rows, len(texts)))
        texts.extend(embedding_input(document, c) for c in chunks)
    vectors, pooled = embedder.encode_spans(texts, hosted)
    found: list[list[np.ndarray | None]] = []
    alone: list[str] = []  # sentences that need a pass of their own
    for document, _, spans, rows, _ in plans:
        vectors_of = [pooled[r[0]][r[1]] if r is not None else None for r in rows]
        vectors_of = [v if v is not None and v.any() else None for v in vectors_of]
        alone.extend(
            document.text[s.start : s.end] for s, v in zip(spans, vectors_of, strict=True) if v is None
        )
        found.append(vectors_of)
    own = iter(embedder.encode(alone))
    records = []
    for (document, chunks, spans, _, offset), row in zip(plans, found, strict=True):
        chunk_vectors = vectors[offset : offset + len(chunks)]
        sentence_rows = np.stack([v if v is not None else next(own) for v in row]) if row else vectors[:0]
        records.append(_record(document, chunks, chunk_vectors, spans, sentence_rows))
    if progress is not None:
        progress(len(documents))
    return records


class BuildBatches(Protocol):
    """Makes the records of write batches of documents: one list per batch, in the batches' order."""

    def __call__(
        self, parts: Sequence[Sequence[Document]], chunking: ChunkingConfig, sentence_vectors: str
    ) -> Iterator[list[DocumentRecord]]:
        """Each part's records (build_records of that part), yielded as soon as they are ready in turn."""
        ...


def local_batches(embedder: Embedder) -> BuildBatches:
    """Build each batch here, with this process's embedder, one after the other."""

    def build(
        parts: Sequence[Sequence[Document]], chunking: ChunkingConfig, sentence_vectors: str
    ) -> Iterator[list[DocumentRecord]]:
        for part in parts:
            yield build_records(part, embedder, chunking, None, sentence_vectors)

    return build


def document_chunks(document: Document, embedder: Embedder, chunking: ChunkingConfig) -> list[Chunk]:
    """The document's chunks, each small enough for the model to read whole with the title."""

    def fits(piece: str) -> bool:
        return embedder.fits(f"{document.title}\n{piece}" if document.title else piece)

    return chunk_document(document, chunking, fits)


def _hosts(
    document: Document, chunks: Sequence[Chunk], spans: Sequence[Span], first: int
) -> list[tuple[int, tuple[int, int]] | None]:
    """Per sentence, the chunk input that holds it whole and its span there: of the chunks that
    hold it (they overlap), the one it sits most centrally in, for context on both sides.

    Chunks are in document order, so only those starting at or before the sentence and not
    ending before it are looked at: a few per sentence, linear in the document."""
    prefix = len(document.title) + 1 if document.title else 0
    starts = [c.start for c in chunks]
    hosts: list[tuple[int, tuple[int, int]] | None] = []
    for span in spans:
        best: tuple[int, int] | None = None
        i = bisect.bisect_right(starts, span.start) - 1
        while i >= 0 and chunks[i].end > span.start:
            margin = min(span.start - chunks[i].start, chunks[i].end - span.end)
            if margin >= 0 and (best is None or margin > best[0]):
                best = (margin, i)
            i -= 1
        if best is None:
            hosts.append(None)
            continue
        chunk = chunks[best[1]]
        hosts.append((first + best[1], (span.start - chunk.start + prefix, span.end - chunk.start + prefix)))
    return hosts


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
