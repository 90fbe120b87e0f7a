"""Loaders for the input formats: news-digest text, JSON Lines / JSON, folders of .txt/.md."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import CorpusFormatError
from rag.text import content_id
from rag.types import Document, Rejected

MAX_DOCUMENT_CHARS = 1_000_000
_TEXT_SUFFIXES = (".txt", ".md")
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_READ_MORE = re.compile(r"^\s*Read More\s*$")
_CONTINUE = re.compile(r"\s*(?:…|\.\.\.)\s*Continue reading\s*$")
_KNOWN_FIELDS = frozenset({"id", "_id", "text", "title", "source", "url", "published_at", "metadata"})


@dataclass(frozen=True)
class LoadResult:
    """Documents read from the inputs, and the inputs rejected with file, line and reason."""

    documents: list[Document] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def load_documents(paths: Iterable[Path]) -> LoadResult:
    """Read every path (file or folder) into documents; bad inputs are rejected, not fatal."""
    result = LoadResult()
    for path in paths:
        for file in _expand(path, result):
            try:
                _load_file(file, result)
            except (OSError, UnicodeDecodeError) as exc:
                result.rejected.append(Rejected(str(file), f"cannot read file: {_reason(exc)}"))
    return result


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _expand(path: Path, result: LoadResult) -> Iterator[Path]:
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _TEXT_SUFFIXES + _JSON_SUFFIXES
        )
        if not files:
            result.rejected.append(Rejected(str(path), "folder holds no .txt, .md, .json or .jsonl files"))
        yield from files
    elif path.exists():
        yield path
    else:
        result.rejected.append(Rejected(str(path), "no such file or folder"))


def _load_file(path: Path, result: LoadResult) -> None:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        _collect(result, iter_jsonl(path.read_text(encoding="utf-8"), str(path)))
    elif suffix == ".json":
        _collect(result, iter_json_array(path.read_text(encoding="utf-8"), str(path)))
    else:
        text = path.read_text(encoding="utf-8")
        if is_digest(text):
            _collect(result, iter_digest(text, str(path)))
        else:
            _collect(result, iter([_plain_file(text, str(path))]))


def _collect(result: LoadResult, items: Iterator[Document | Rejected]) -> None:
    for item in items:
        if isinstance(item, Document):
            result.documents.append(item)
        else:
            result.rejected.append(item)


def is_digest(text: str) -> bool:
    """True when the text carries the digest's summary markers."""
    return any(_READ_MORE.match(line) or _CONTINUE.search(line) for line in text.splitlines())


def iter_digest(text: str, where: str = "<digest>") -> Iterator[Document | Rejected]:
    """Split a news digest into summaries: 'Read More' lines and '… Continue reading' end one."""
    paragraphs: list[str] = []
    first_line = 1
    for number, line in enumerate(text.splitlines(), start=1):
        ended = False
        if _READ_MORE.match(line):
            ended = True
        elif _CONTINUE.search(line):
            paragraphs.append(_CONTINUE.sub("", line))
            ended = True
        elif line.strip():
            if not paragraphs:
                first_line = number
            paragraphs.append(line)
        if ended:
            yield _digest_summary(paragraphs, where, first_line)
            paragraphs = []
            first_line = number + 1
    if any(p.strip() for p in paragraphs):
        yield _digest_summary(paragraphs, where, first_line)


def _digest_summary(paragraphs: list[str], where: str, line: int) -> Document | Rejected:
    body = "\n\n".join(p.strip() for p in paragraphs if p.strip())
    if not body:
        return Rejected(f"{where}:{line}", "empty summary (a marker with no text before it)")
    return Document(doc_id=content_id(body), text=body)


def _plain_file(text: str, where: str) -> Document | Rejected:
    body = text.strip()
    if not body:
        return Rejected(where, "empty document")
    if len(body) > MAX_DOCUMENT_CHARS:
        return Rejected(where, f"document of {len(body)} characters exceeds {MAX_DOCUMENT_CHARS}")
    title = None
    first = body.splitlines()[0]
    if first.startswith("# "):
        title = first[2:].strip() or None
    return Document(doc_id=content_id(body), text=body, title=title)


def iter_jsonl(text: str, where: str = "<jsonl>") -> Iterator[Document | Rejected]:
    """Parse JSON Lines: one object per non-blank line, each becoming a document or a rejection."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield parse_record(json.loads(line))
        except json.JSONDecodeError as exc:
            yield Rejected(f"{where}:{number}", f"invalid JSON: {exc.msg} at column {exc.colno}")
        except CorpusFormatError as exc:
            yield Rejected(f"{where}:{number}", exc.reason)


def iter_json_array(text: str, where: str = "<json>") -> Iterator[Document | Rejected]:
    """Parse a JSON array of document objects (or one object)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Rejected(f"{where}:{exc.lineno}", f"invalid JSON: {exc.msg} at column {exc.colno}")
        return
    records = data if isinstance(data, list) else [data]
    for number, record in enumerate(records, start=1):
        try:
            yield parse_record(record)
        except CorpusFormatError as exc:
            yield Rejected(f"{where}[{number}]", exc.reason)


def parse_record(record: Any) -> Document:
    """Turn one JSON object into a Document, or raise CorpusFormatError naming the bad field."""
    if not isinstance(record, dict):
        raise CorpusFormatError(f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if text is None:
        raise CorpusFormatError("missing required field 'text'")
    if not isinstance(text, str):
        raise CorpusFormatError(f"'text' must be a string, got {type(text).__name__}")
    if not text.strip():
        raise CorpusFormatError("empty document: 'text' is blank")
    if len(text) > MAX_DOCUMENT_CHARS:
        raise CorpusFormatError(f"'text' of {len(text)} characters exceeds {MAX_DOCUMENT_CHARS}")
    raw_id = record.get("id", record.get("_id"))
    if raw_id is not None and not isinstance(raw_id, (str, int)):
        raise CorpusFormatError(f"'id' must be a string or integer, got {type(raw_id).__name__}")
    doc_id = str(raw_id).strip() if raw_id is not None else content_id(text)
    if not doc_id or len(doc_id) > 200:
        raise CorpusFormatError("'id' must be 1 to 200 characters")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CorpusFormatError(f"'metadata' must be an object, got {type(metadata).__name__}")
    extra = {k: v for k, v in record.items() if k not in _KNOWN_FIELDS}
    return Document(
        doc_id=doc_id,
        text=text,
        title=_optional_str(record, "title"),
        source=_optional_str(record, "source"),
        url=web_address(_optional_str(record, "url")),
        published_at=parse_date(record.get("published_at")),
        metadata={**extra, **metadata},
    )


def _optional_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CorpusFormatError(f"'{key}' must be a string, got {type(value).__name__}")
    return value.strip() or None


def web_address(url: str | None) -> str | None:
    """An absolute http(s) address, or None; anything else (javascript:, data:, a bare path) is refused:
    every client renders it as a link to the story."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[::1" and the like
        host = None
    if host is None or parts.scheme.lower() not in ("http", "https") or any(c.isspace() for c in url):
        shown = url if len(url) <= 60 else url[:57] + "..."
        raise CorpusFormatError(f"'url' {shown!r} is not an absolute http(s) address")
    return url


def parse_date(value: Any) -> datetime | None:
    """Parse an ISO-8601 date or datetime (naive means UTC); None stays None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CorpusFormatError(f"'published_at' must be an ISO-8601 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("/", "-"))
    except ValueError:
        raise CorpusFormatError(
            f"'published_at' value {value!r} is not an ISO-8601 date "
            "(use e.g. 2024-12-05 or 2024-12-05T14:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
