"""The records that flow through newsrag: frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Document:
    """One news summary as ingested: its text is what every offset refers to."""

    doc_id: str
    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredDocument:
    """A document as the store lists it: the document, and when it was ingested."""

    document: Document
    ingested_at: datetime | None


@dataclass(frozen=True)
class Span:
    """A character range [start, end) of a document's text."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A piece of a document sized for the embedder; text == document.text[start:end]."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document; text == document.text[start:end]."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Rejected:
    """An input that could not become a document, with where and why."""

    where: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did: counts of documents by outcome, chunks written, time taken."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: tuple[Rejected, ...] = ()
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0

    @property
    def documents(self) -> int:
        """Documents accepted (added, updated or unchanged)."""
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its document's attributes and its retrieval score."""

    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str
    score: float
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    also_reported_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filters:
    """Restrictions applied inside retrieval, so k results come back when they exist."""

    source: str | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    undated: bool = False  # a document with no date passes the date bounds (dates the question names)

    def is_empty(self) -> bool:
        """True when nothing is restricted."""
        return (
            self.source is None
            and self.published_from is None
            and self.published_to is None
            and not self.metadata
        )


DEFAULT_MODE = "hybrid"  # the retrieval mode search and ask use unless told otherwise


@dataclass(frozen=True, eq=False)
class Query:
    """One retrieval request: what is asked, how many passages, by which mode and under which
    filters. Per-request values travel here, never inside the stages' tuning (RetrievalConfig)."""

    text: str
    k: int = 10
    mode: str = DEFAULT_MODE
    filters: Filters | None = None
    half_life_days: float | None = None  # turns on the recency stage with this half-life
    vector: np.ndarray | None = None  # the text's embedding, when the caller has it already


@dataclass(frozen=True)
class StoreStats:
    """What a store holds and how it was built."""

    documents: int
    chunks: int
    sentences: int
    model: str
    dimension: int
    format_version: int
    generation: int
    size_bytes: int
    wal_bytes: int  # the write-ahead log, part of size_bytes


@dataclass(frozen=True)
class Source:
    """A document cited by an answer; `number` is what its [n] markers show."""

    number: int
    doc_id: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    label: str = ""  # what to call it: the title, else the outlet, else the summary's first words


@dataclass(frozen=True)
class Citation:
    """Where an answer sentence stands in one source: document.text[start:end] == the sentence."""

    number: int
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class AnswerSentence:
    """A verbatim sentence of the answer with the sources that state it."""

    text: str
    citations: tuple[Citation, ...]
    score: float


@dataclass(frozen=True)
class ShortAnswer:
    """The exact answer span inside the top sentence: document.text[start:end] == text."""

    text: str
    doc_id: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    """An extractive answer, or an abstention with the nearest passages offered as related."""

    question: str
    query: str  # the self-contained retrieval query (follow-ups resolved against history)
    text: str  # the sentences joined, each followed by its [n] markers
    sentences: tuple[AnswerSentence, ...]
    sources: tuple[Source, ...]
    abstained: bool
    confidence: float
    short_answer: ShortAnswer | None = None
    message: str | None = None
    related: tuple[Passage, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation, for resolving follow-up questions."""

    question: str
    answer: str = ""
