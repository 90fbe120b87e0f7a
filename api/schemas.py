"""Request and response bodies: pydantic models with the bounds every input is held to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from api.deps import (
    MAX_METADATA_VALUE_CHARS,
    METADATA_KEY_PATTERN,
    check_metadata_filter,
    parse_bound,
)
from rag.ingest.loaders import (
    ID_PATTERN,
    MAX_DOCUMENT_CHARS,
    MAX_FIELD_CHARS,
    MAX_ID_CHARS,
    MAX_METADATA_DEPTH,
    MAX_METADATA_INTEGER,
    MAX_TITLE_CHARS,
    NOT_BLANK_PATTERN,
    URL_PATTERN,
)
from rag.limits import MAX_HALF_LIFE_DAYS, MAX_TOP_K

MAX_QUESTION_CHARS = 1000
MAX_HISTORY = 10
MAX_HISTORY_ANSWER_CHARS = 5000
MAX_SOURCE_CHARS = 200
MAX_DATE_CHARS = 40
MAX_METADATA_FILTERS = 8
# A date is RFC 3339: a full date or a date-time with its offset (the service also reads an ISO
# date-time without offset, as UTC); empty means none. The first and last day of years 1 and
# 9999 take no time of day: with an offset it could fall outside the years a date can hold.
DATE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "anyOf": [{"format": "date"}, {"format": "date-time"}, {"maxLength": 0}],
    "pattern": "^(?!0001-01-01T|9999-12-31T)",
    "maxLength": MAX_DATE_CHARS,
}
DateText = Annotated[str, Field(max_length=MAX_DATE_CHARS), WithJsonSchema(DATE_SCHEMA)]
HALF_LIFE_DESCRIPTION = (
    "favour recent news: scores halve with every this many days of age (default: no decay)"
)


class Strict(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error rather than ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FiltersIn(Strict):
    """Restrict retrieval to one source and/or a publication-date range (dates inclusive)."""

    source: str | None = Field(None, max_length=MAX_SOURCE_CHARS, examples=["CNN"])
    from_: DateText | None = Field(None, alias="from", examples=["2020-01-01"])
    to: DateText | None = Field(None, examples=["2020-12-31T23:59:59Z"])
    metadata: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_METADATA_FILTERS,
        description="documents whose metadata holds each key with exactly this value",
        examples=[{"section": "world"}],
        json_schema_extra={  # what _metadata enforces, with its own messages
            "patternProperties": {
                METADATA_KEY_PATTERN: {"type": "string", "maxLength": MAX_METADATA_VALUE_CHARS}
            },
            "additionalProperties": False,
        },
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

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        examples=["Who won the election?"],
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},  # checked by _not_blank, with its message
    )
    filters: FiltersIn | None = None
    history: list[TurnIn] = Field(default_factory=list, max_length=MAX_HISTORY)
    top_k: int | None = Field(
        None, ge=1, le=MAX_TOP_K, strict=True, description="passages to retrieve (default: the engine's)"
    )
    half_life_days: float | None = Field(  # strict: true is not a number of days
        None, gt=0, le=MAX_HALF_LIFE_DAYS, strict=True, description=HALF_LIFE_DESCRIPTION, examples=[7]
    )

    @field_validator("top_k", mode="before")
    @classmethod
    def _integral(cls, value: object) -> object:
        """19.0 is the integer 19 in JSON (and JSON Schema); true is not a number of passages."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is blank: ask about something")
        return value


def metadata_value_schemas() -> dict[str, dict[str, Any]]:
    """The OpenAPI components for a metadata value at each depth (the metadata object is depth 1):
    numbers within the 64-bit integer range, arrays and objects only while the nesting stays
    within MAX_METADATA_DEPTH. (Its 16 KB size limit is the one rule a schema cannot state.)"""
    bound = {"minimum": -MAX_METADATA_INTEGER, "maximum": MAX_METADATA_INTEGER}
    schemas: dict[str, dict[str, Any]] = {}
    for depth in range(2, MAX_METADATA_DEPTH + 2):
        options: list[dict[str, Any]] = [
            {"type": "string"},
            {"type": "number", **bound},
            {"type": "boolean"},
            {"type": "null"},
        ]
        if depth <= MAX_METADATA_DEPTH:
            inner = {"$ref": f"#/components/schemas/MetadataValue{depth + 1}"}
            options += [{"type": "array", "items": inner}, {"type": "object", "additionalProperties": inner}]
        schemas[f"MetadataValue{depth}"] = {"anyOf": options}
    return schemas


METADATA_VALUE = {"$ref": "#/components/schemas/MetadataValue2"}


class DocumentIn(BaseModel):
    """A document to upsert (the schema of each array item or JSON line); extra fields become metadata."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: (
        Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
        | Annotated[int, Field(ge=-MAX_METADATA_INTEGER, le=MAX_METADATA_INTEGER)]
        | None
    ) = Field(
        None,
        description="stable id: 1-200 characters without whitespace, control or invisible ones, and "
        "no '.' or '..' path segment; default: derived from the text",
    )
    text: str = Field(
        min_length=1,
        max_length=MAX_DOCUMENT_CHARS,
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
        description="the summary; every offset refers to this text",
    )
    title: str | None = Field(None, max_length=MAX_TITLE_CHARS)
    source: str | None = Field(None, max_length=MAX_FIELD_CHARS)
    url: str | None = Field(
        None,
        max_length=MAX_FIELD_CHARS,
        pattern=URL_PATTERN,
        description="absolute http(s) address of the story (an international host in its xn-- form)",
    )
    published_at: DateText | None = Field(None, examples=["2024-12-05", "2024-12-05T14:30:00Z"])
    metadata: dict[str, Any] | None = Field(
        None, description="at most 16 KB as JSON, nested at most 8 levels"
    )

    @classmethod
    def openapi_schema(cls) -> dict[str, Any]:
        """The model's schema with its metadata values (and the extra fields that join them) bound
        as MetadataValue components, which pydantic cannot refer to itself."""
        schema = cls.model_json_schema()
        schema["additionalProperties"] = METADATA_VALUE
        schema["properties"]["metadata"]["anyOf"][0]["additionalProperties"] = METADATA_VALUE
        return schema


class FromRecord(BaseModel):
    """A response model read field by field from the domain record of the same shape."""

    model_config = ConfigDict(from_attributes=True)


class CitationOut(FromRecord):
    """Where a sentence stands in a source: the document's text[start:end] is the sentence."""

    number: int
    doc_id: str
    start: int
    end: int


class AnswerSentenceOut(FromRecord):
    """A verbatim sentence of the answer with the sources that state it."""

    text: str
    score: float
    citations: list[CitationOut]


class SourceOut(FromRecord):
    """A cited document; `number` is what the [n] markers in the answer text refer to."""

    number: int
    doc_id: str
    label: str = Field(
        description="what to call the source: its title, else its outlet, else its first words"
    )
    title: str | None
    source: str | None
    url: str | None
    published_at: datetime | None


class ShortAnswerOut(FromRecord):
    """The exact answer span inside the top sentence: the document's text[start:end]."""

    text: str
    doc_id: str
    start: int
    end: int
    score: float | None


class PassageOut(FromRecord):
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


class AskResponse(FromRecord):
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

    ids: list[str] = Field(
        description="each document's id, in the order sent (derived from the text where none was given)"
    )
    added: int
    updated: int
    unchanged: int
    documents: int
    chunks: int
    sentences: int
    seconds: float


class DocumentOut(FromRecord):
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


class StatsOut(FromRecord):
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
