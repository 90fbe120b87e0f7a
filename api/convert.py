"""Domain records (frozen dataclasses) to response models; nothing else leaves the engine."""

from __future__ import annotations

from api.schemas import (
    AskResponse,
    DocumentOut,
    DocumentSummary,
    IngestResponse,
    PassageOut,
    StatsOut,
)
from rag.types import Answer, Document, IngestReport, Passage, StoredDocument, StoreStats

SNIPPET_CHARS = 200


def passage_out(p: Passage) -> PassageOut:
    """A retrieved passage as a response item."""
    return PassageOut.model_validate(p)


def answer_out(a: Answer) -> AskResponse:
    """An answer as a response body (its sentences, citations, sources and related passages too)."""
    return AskResponse.model_validate(a)


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
    return DocumentOut.model_validate(d)


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
    return StatsOut.model_validate(s)
