"""Domain records (frozen dataclasses) to response models; nothing else leaves the engine."""

from __future__ import annotations

from api.schemas import (
    AnswerSentenceOut,
    AskResponse,
    CitationOut,
    DocumentOut,
    DocumentSummary,
    IngestResponse,
    PassageOut,
    ShortAnswerOut,
    SourceOut,
    StatsOut,
)
from rag.types import Answer, Document, IngestReport, Passage, StoredDocument, StoreStats

SNIPPET_CHARS = 200


def passage_out(p: Passage) -> PassageOut:
    """A retrieved passage as a response item."""
    return PassageOut(
        doc_id=p.doc_id,
        chunk_id=p.chunk_id,
        score=p.score,
        text=p.text,
        start=p.start,
        end=p.end,
        title=p.title,
        source=p.source,
        url=p.url,
        published_at=p.published_at,
        also_reported_by=list(p.also_reported_by),
    )


def answer_out(a: Answer) -> AskResponse:
    """An answer as a response body."""
    short = a.short_answer
    return AskResponse(
        question=a.question,
        query=a.query,
        text=a.text,
        abstained=a.abstained,
        confidence=a.confidence,
        message=a.message,
        sentences=[
            AnswerSentenceOut(
                text=s.text,
                score=s.score,
                citations=[
                    CitationOut(number=c.number, doc_id=c.doc_id, start=c.start, end=c.end)
                    for c in s.citations
                ],
            )
            for s in a.sentences
        ],
        sources=[
            SourceOut(
                number=s.number,
                doc_id=s.doc_id,
                label=s.label,
                title=s.title,
                source=s.source,
                url=s.url,
                published_at=s.published_at,
            )
            for s in a.sources
        ],
        short_answer=ShortAnswerOut(
            text=short.text, doc_id=short.doc_id, start=short.start, end=short.end, score=short.score
        )
        if short
        else None,
        related=[passage_out(p) for p in a.related],
        timings=dict(a.timings),
    )


def ingest_out(r: IngestReport, ids: list[str]) -> IngestResponse:
    """An ingest report, with the ids of the documents sent, as a response body."""
    return IngestResponse(
        ids=ids,
        added=r.added,
        updated=r.updated,
        unchanged=r.unchanged,
        documents=r.documents,
        chunks=r.chunks,
        sentences=r.sentences,
        seconds=round(r.seconds, 4),
    )


def document_out(d: Document) -> DocumentOut:
    """A stored document as a response body."""
    return DocumentOut(
        doc_id=d.doc_id,
        text=d.text,
        title=d.title,
        source=d.source,
        url=d.url,
        published_at=d.published_at,
        metadata=dict(d.metadata),
    )


def summary_out(stored: StoredDocument) -> DocumentSummary:
    """A stored document as a listing item."""
    d = stored.document
    flat = " ".join(d.text[: SNIPPET_CHARS * 2].split())
    return DocumentSummary(
        doc_id=d.doc_id,
        title=d.title,
        source=d.source,
        url=d.url,
        published_at=d.published_at,
        ingested_at=stored.ingested_at,
        chars=len(d.text),
        snippet=flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…",
    )


def stats_out(s: StoreStats) -> StatsOut:
    """Store statistics as a response body."""
    return StatsOut(
        documents=s.documents,
        chunks=s.chunks,
        sentences=s.sentences,
        model=s.model,
        dimension=s.dimension,
        format_version=s.format_version,
        generation=s.generation,
        size_bytes=s.size_bytes,
        wal_bytes=s.wal_bytes,
    )
