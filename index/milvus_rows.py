"""Records as the Milvus store's rows, with their ids, checked against the field limits first."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from index.errors import InvalidRecordError, StoreError
from index.milvus_schema import (
    ALIVE,
    FIELD_BYTES,
    ID_BYTES,
    TEXT_PART_CHARS,
    VARCHAR_BYTES,
    ascii_fold,
    literal,
    meta_pairs,
)
from index.milvus_view import lexical_text
from index.records import DocumentRecord

_METADATA_BYTES = 65_536  # Milvus's default largest JSON value


@dataclass(frozen=True)
class Encoded:
    """One write's rows per collection, and the id counters after it."""

    documents: list[dict[str, Any]]
    chunks: list[dict[str, Any]]
    sentences: list[dict[str, Any]]
    counters: dict[str, int]

    def rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """The rows in the order of Names.data()."""
        return (self.documents, self.chunks, self.sentences)


def encode_records(records: Sequence[DocumentRecord], generation: int, counters: dict[str, int]) -> Encoded:
    """The rows of the records born at generation, ids counted on from counters (row, chunk, sentence)
    in record order, as the embedded store's AUTOINCREMENT counts; a value Milvus cannot hold is
    refused here (InvalidRecordError), before anything is written."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    next_id = dict(counters)
    documents: list[dict[str, Any]] = []
    chunks: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    born = {"born": generation, "died": ALIVE, "died_at": 0}
    for r in records:
        shared = _document_fields(r)
        text_parts = [r.text[at : at + TEXT_PART_CHARS] for at in range(0, len(r.text), TEXT_PART_CHARS)] or [
            ""
        ]
        for part, text in enumerate(text_parts):
            documents.append(
                {
                    "row_id": _take(next_id, "row"),
                    **shared,
                    "part": part,
                    "text": text,
                    "content_hash": _bounded("content_hash", r.content_hash, ID_BYTES),
                    "ingested_at": now,
                    "_unused": [0.0, 0.0],
                    **born,
                }
            )
        for c in r.chunks:
            chunks.append(
                {
                    "chunk_id": _take(next_id, "chunk"),
                    **shared,
                    "ordinal": c.ordinal,
                    "start_char": c.start,
                    "end_char": c.end,
                    "text": _bounded(f"chunk {c.ordinal} text", c.text, VARCHAR_BYTES),
                    "lexical": _bounded(
                        f"chunk {c.ordinal} terms", lexical_text(r.title, c.text), VARCHAR_BYTES
                    ),
                    "vector": c.vector.astype("float32").tolist(),
                    **born,
                }
            )
        for s in r.sentences:
            sentences.append(
                {
                    "sentence_id": _take(next_id, "sentence"),
                    "doc_id": r.doc_id,
                    "ordinal": s.ordinal,
                    "start_char": s.start,
                    "end_char": s.end,
                    "vector": s.vector.astype("float32").tolist(),
                    **born,
                }
            )
    return Encoded(documents, chunks, sentences, next_id)


def _take(counters: dict[str, int], kind: str) -> int:
    value = counters[kind]
    counters[kind] = value + 1
    return value


def _document_fields(r: DocumentRecord) -> dict[str, Any]:
    """The document's attributes every row of it carries, so each collection filters on its own."""
    try:
        literal(r.doc_id)  # an id a filter cannot name is refused now, not at its first delete
    except StoreError as exc:
        raise InvalidRecordError(f"doc_id {r.doc_id!r}: {exc}; use printable characters") from None
    metadata = json.loads(json.dumps(r.metadata, ensure_ascii=False, default=str))  # as SQLite keeps it
    if len(json.dumps(metadata, ensure_ascii=False).encode("utf-8")) > _METADATA_BYTES:
        raise InvalidRecordError(
            f"document {r.doc_id!r}: metadata longer than {_METADATA_BYTES} bytes as JSON"
        )
    return {
        "doc_id": _bounded("doc_id", r.doc_id, ID_BYTES),
        "title": _bounded("title", r.title, FIELD_BYTES),
        "source": _bounded("source", r.source, FIELD_BYTES),
        "source_fold": _bounded("source", ascii_fold(r.source), FIELD_BYTES)
        if r.source is not None
        else None,
        "url": _bounded("url", r.url, FIELD_BYTES),
        "published_at": _bounded("published_at", r.published_at, 64),
        "metadata": metadata,
        "meta_pairs": meta_pairs(metadata),
    }


def _bounded(what: str, value: str | None, limit: int) -> Any:
    if value is not None and len(value.encode("utf-8")) > limit:
        raise InvalidRecordError(
            f"{what} is {len(value.encode('utf-8'))} bytes; the Milvus store holds {limit}"
        )
    return value
