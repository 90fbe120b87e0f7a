"""Request bodies of POST /v1/documents: a JSON array (or one object) or JSON Lines, all-or-nothing."""

from __future__ import annotations

import json
from typing import Any

from api.errors import ApiError
from api.schemas import DocumentIn
from rag.errors import CorpusFormatError
from rag.ingest.loaders import json_error, load_json, parse_record
from rag.types import Document

JSONL_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "text/jsonl",
    }
)
MAX_REPORTED = 50  # problems listed in an error's details
_HOW = "send a JSON array of document objects, or JSON Lines (one object per line)"

DOCUMENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Documents to upsert: a JSON array (or one object), or JSON Lines with "
        "Content-Type application/x-ndjson. Unknown fields go into metadata.",
        "content": {
            "application/json": {
                "schema": {"type": "array", "minItems": 1, "items": DocumentIn.openapi_schema()},
            },
        },
    }
}


def parse_documents(body: bytes, content_type: str, max_documents: int) -> list[Document]:
    """Every document of the body, or an ApiError naming each bad one (nothing is half-accepted)."""
    text = _decode(body)
    if not text.strip():
        raise ApiError(422, "invalid_document", f"the body is empty: {_HOW}")
    media = content_type.split(";")[0].strip().lower()
    records = _jsonl_records(text) if media in JSONL_TYPES else _json_records(text)
    if not records:
        raise ApiError(422, "invalid_document", f"the body holds no documents: {_HOW}")
    if len(records) > max_documents:
        raise ApiError(
            413,
            "too_many_documents",
            f"{len(records)} documents in one request; send at most {max_documents} per request "
            "(NEWSRAG_MAX_DOCUMENTS)",
        )
    documents: list[Document] = []
    problems: list[dict[str, str]] = []
    for where, record in records:
        try:
            documents.append(_document(record))
        except CorpusFormatError as exc:
            problems.append({"field": where, "message": f"{where}: {exc.reason}"})
    if problems:
        summary = "; ".join(p["message"] for p in problems[:3])
        raise ApiError(
            422,
            "invalid_document",
            f"{len(problems)} of {len(records)} documents are invalid, so nothing was written: {summary}",
            details=problems[:MAX_REPORTED],
        )
    return documents


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(
            422, "invalid_document", f"the body is not UTF-8 text (byte {exc.start}): {_HOW}"
        ) from None


def _json_records(text: str) -> list[tuple[str, Any]]:
    try:
        data = _loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # several values one after another: JSON Lines sent as JSON
            return _jsonl_records(text)
        raise ApiError(
            422,
            "invalid_json",
            f"the body is not valid JSON ({json_error(exc, line=True)}): {_HOW}",
        ) from None
    items = data if isinstance(data, list) else [data]
    return [(f"item {number}", item) for number, item in enumerate(items, start=1)]


def _jsonl_records(text: str) -> list[tuple[str, Any]]:
    records: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((f"line {number}", _loads(line)))
        except json.JSONDecodeError as exc:
            records.append((f"line {number}", CorpusFormatError(f"invalid JSON: {json_error(exc)}")))
    return records


def _loads(text: str) -> Any:
    try:
        return load_json(text, parse_constant=_no_constant)
    except CorpusFormatError as exc:
        raise ApiError(422, "invalid_json", f"the body is not valid JSON ({exc.reason}): {_HOW}") from None


def _no_constant(name: str) -> Any:
    raise ApiError(422, "invalid_json", f"{name} is not valid JSON; send numbers, or null")


def _document(record: Any) -> Document:
    if isinstance(record, CorpusFormatError):
        raise record
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise CorpusFormatError("holds an unpaired surrogate (e.g. \\ud800); send valid Unicode") from None
    return parse_record(record)
