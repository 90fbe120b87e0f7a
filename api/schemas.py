"""Request and response bodies: pydantic models with the bounds every input is held to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.deps import check_metadata_filter, parse_bound
from rag.retrieval import MAX_HALF_LIFE_DAYS

MAX_QUESTION_CHARS = 1000
MAX_K = 50
MAX_HISTORY = 10
MAX_HISTORY_ANSWER_CHARS = 5000
MAX_SOURCE_CHARS = 200
MAX_DATE_CHARS = 40
MAX_METADATA_FILTERS = 8
HALF_LIFE_DESCRIPTION = (
    "favour recent news: scores halve with every this many days of age (default: no decay)"
)


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FiltersIn(Strict):
    """Restrict retrieval to one source and/or a publication-date range (dates inclusive)."""

    source: str | None = Field(None, max_length=MAX_SOURCE_CHARS, examples=["CNN"])
    from_: str | None = Field(None, alias="from", max_length=MAX_DATE_CHARS, examples=["2020-01-01"])
    to: str | None = Field(None, max_length=MAX_DATE_CHARS, examples=["2020-12-31T23:59:59Z"])
    metadata: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_METADATA_FILTERS,
        description="documents whose metadata holds each key with exactly this value",
        examples=[{"section": "world"}],
    )

    @field_validator("from_", "to")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        parse_bound(value, end=False)
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        for key, wanted in value.items():
            check_metadata_filter(key, wanted)
        return value


class TurnIn(Strict):
    """An earlier exchange, so that a follow-up like "and who won?" can be resolved."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field("", max_length=MAX_HISTORY_ANSWER_CHARS)


class AskRequest(Strict):
    """A question, optionally with filters, the conversation so far and how many passages to draw on."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["Who won the election?"])
    filters: FiltersIn | None = None
    history: list[TurnIn] = Field(default_factory=list, max_length=MAX_HISTORY)
    top_k: int | None = Field(
        None, ge=1, le=MAX_K, strict=True, description="passages to retrieve (default: the engine's)"
    )
    half_life_days: float | None = Field(  # strict: true is not a number of days
        None, gt=0, le=MAX_HALF_LIFE_DAYS, strict=True, description=HALF_LIFE_DESCRIPTION, examples=[7]
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank: ask about something")
        return value


class DocumentIn(BaseModel):
    """A document to upsert (the schema of each array item or JSON line); extra fields become metadata."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str | int | None = Field(None, description="stable id (1-200 chars); default: derived from the text")
    text: str = Field(min_length=1, description="the summary; every offset refers to this text")
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: str | None = Field(None, examples=["2024-12-05", "2024-12-05T14:30:00Z"])
    metadata: dict[str, Any] | None = None


class CitationOut(BaseModel):
    """Where a sentence stands in a source: the document's text[start:end] is the sentence."""

    number: int
    doc_id: str
    start: int
    end: int


class AnswerSentenceOut(BaseModel):
    """A verbatim sentence of the answer with the sources that state it."""

    text: str
    score: float
    citations: list[CitationOut]


class SourceOut(BaseModel):
    """A cited document; `number` is what the [n] markers in the answer text refer to."""

    number: int
    doc_id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: datetime | None


class ShortAnswerOut(BaseModel):
    """The exact answer span inside the top sentence: the document's text[start:end]."""

    text: str
    doc_id: str
    start: int
    end: int
    score: float | None


class PassageOut(BaseModel):
    """A retrieved passage: a chunk of a document, text[start:end] of it, with its score."""

    doc_id: str
    chunk_id: int
    score: float
    text: str
    start: int
    end: int
    title: str | None
    source: str | None
    url: str | None
    published_at: datetime | None
    also_reported_by: list[str] = Field(default_factory=list)


class AskResponse(BaseModel):
    """The answer: cited verbatim sentences, or an abstention with related passages."""

    question: str
    query: str = Field(description="the self-contained query used for retrieval")
    text: str = Field(description="the sentences joined, each followed by its [n] citation markers")
    abstained: bool
    confidence: float
    message: str | None
    sentences: list[AnswerSentenceOut]
    sources: list[SourceOut]
    short_answer: ShortAnswerOut | None
    related: list[PassageOut]
    timings: dict[str, float] = Field(description="seconds spent per stage")


class SearchResponse(BaseModel):
    """The best passages for a query, best first."""

    query: str
    k: int
    hits: list[PassageOut]


class IngestResponse(BaseModel):
    """What an upsert did."""

    added: int
    updated: int
    unchanged: int
    documents: int
    chunks: int
    sentences: int
    seconds: float


class DocumentOut(BaseModel):
    """A stored document."""

    doc_id: str
    text: str
    title: str | None
    source: str | None
    url: str | None
    published_at: datetime | None
    metadata: dict[str, Any]


class DocumentSummary(BaseModel):
    """A stored document in a listing: its attributes and the start of its text."""

    doc_id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: datetime | None
    ingested_at: datetime | None
    chars: int
    snippet: str


class DocumentPage(BaseModel):
    """One page of a listing, newest first; `next_offset` is null on the last page."""

    items: list[DocumentSummary]
    offset: int
    limit: int
    next_offset: int | None


class DeleteResponse(BaseModel):
    """The document that was removed."""

    doc_id: str
    deleted: bool


class StatsOut(BaseModel):
    """What the store holds and how it was built."""

    documents: int
    chunks: int
    sentences: int
    model: str
    dimension: int
    format_version: int
    generation: int
    size_bytes: int
    wal_bytes: int = Field(description="the write-ahead log, part of size_bytes")


class StatusOut(BaseModel):
    """Liveness or readiness."""

    status: str
    documents: int | None = None


class ErrorDetail(BaseModel):
    """One problem with a request, naming the field."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """A stable machine code and a message a person can act on."""

    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """The shape of every error response."""

    error: ErrorBody
