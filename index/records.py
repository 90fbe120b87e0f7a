"""Rows going into and coming out of the store; plain values and numpy vectors, no models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ChunkRecord:
    """A chunk to store: its span in the document, its text and its vector."""

    ordinal: int
    start: int
    end: int
    text: str
    vector: np.ndarray


@dataclass(frozen=True)
class SentenceRecord:
    """A sentence to store: its span in the document and its vector."""

    ordinal: int
    start: int
    end: int
    vector: np.ndarray


@dataclass(frozen=True)
class DocumentRecord:
    """A document to store with everything derived from it; replaces any older version."""

    doc_id: str
    content_hash: str
    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: str | None = None  # ISO-8601, UTC, so that text order is time order
    metadata: dict[str, Any] = field(default_factory=dict)
    chunks: tuple[ChunkRecord, ...] = ()
    sentences: tuple[SentenceRecord, ...] = ()


@dataclass(frozen=True)
class DocumentRow:
    """A stored document."""

    doc_id: str
    text: str
    title: str | None
    source: str | None
    url: str | None
    published_at: str | None
    metadata: dict[str, Any]
    ingested_at: str
    chunks: int = 0


@dataclass(frozen=True)
class ChunkRow:
    """A stored chunk joined with its document's attributes."""

    chunk_id: int
    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str | None
    source: str | None
    url: str | None
    published_at: str | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class SentenceRow:
    """A stored sentence span with its vector."""

    sentence_id: int
    doc_id: str
    ordinal: int
    start: int
    end: int
    vector: np.ndarray


@dataclass(frozen=True)
class RowFilter:
    """Which documents a search may return; empty means all."""

    source: str | None = None
    published_from: str | None = None
    published_to: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    undated: bool = False  # a document with no date passes the date bounds

    def is_empty(self) -> bool:
        """True when nothing is restricted."""
        return not (self.source or self.published_from or self.published_to or self.metadata)


@dataclass(frozen=True)
class WriteResult:
    """What one committed write did."""

    added: int
    updated: int
    deleted: int
    chunks: int
    sentences: int
    generation: int
