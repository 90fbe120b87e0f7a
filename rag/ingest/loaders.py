"""Loaders for the input formats: news-digest text, JSON Lines / JSON, folders of .txt/.md."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.errors import CorpusFormatError
from rag.ingest.feeds import FEED_SUFFIXES, feed_records, fetch_feed, is_address, looks_like_feed
from rag.language.text import content_id
from rag.types import Document, Rejected

# What one document may hold (the same at the API and the CLI; docs/limits in the README).
MAX_DOCUMENT_CHARS = 1_000_000
MAX_ID_CHARS = 200
MAX_TITLE_CHARS = 1_000  # the title is embedded with every chunk: a long one multiplies the chunks
MAX_FIELD_CHARS = 2_000  # source and url
MAX_METADATA_BYTES = 16_384  # as JSON
MAX_METADATA_DEPTH = 8  # nested objects and arrays
MAX_METADATA_INTEGER = 2**63 - 1  # what the store (SQLite) holds exactly
# The id and url rules as patterns, read alike by Python, ECMAScript and Rust (no look-around),
# so that the API schema states exactly what is enforced here. Neither may hold whitespace,
# control or invisible formatting characters (nor lone surrogates, which no pattern can name);
# no "/"-separated segment of an id is "." or ".." (web addresses drop them); a url is absolute
# http(s) with an ASCII host (an international one in its xn-- form) and no user part.
_NOT_VISIBLE = r"\x00-\x20\x7f-\xa0\xad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff"
_CHAR, _NOT_DOT = rf"[^/{_NOT_VISIBLE}]", rf"[^/.{_NOT_VISIBLE}]"
_SEGMENT = rf"(?:{_NOT_DOT}{_CHAR}*|\.{_NOT_DOT}{_CHAR}*|\.\.{_CHAR}+)?"  # empty, or not "." or ".."
ID_PATTERN = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~%!$&'()*+,;=-]+(?::[0-9]{{0,5}})?"
    rf"(?:[/?#][^{_NOT_VISIBLE}]*)?$"
)
# Not blank: a character outside str.isspace()'s set, spelt out so every regex engine agrees.
NOT_BLANK_PATTERN = r"[^\t-\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_ID = re.compile(ID_PATTERN)
_INVISIBLE = re.compile(rf"[{_NOT_VISIBLE}\ud800-\udfff]")
_URL = re.compile(URL_PATTERN)
_TEXT_SUFFIXES = (".txt", ".md")
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
_READ_MORE = re.compile(r"^\s*Read More\s*$")
_CONTINUE = "Continue reading"
_KNOWN_FIELDS = frozenset({"id", "_id", "text", "title", "source", "url", "published_at", "metadata"})


@dataclass(frozen=True)
class LoadResult:
    """Documents read from the inputs, and the inputs rejected with file, line and reason."""

    documents: list[Document] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def load_documents(paths: Iterable[Path | str], source: str | None = None) -> LoadResult:
    """Read every path (file or folder) or feed address (http or https) into documents; bad
    inputs are rejected, not fatal. source names the outlet of feed items (default: the feed's
    title)."""
    result = LoadResult()
    for path in paths:
        if isinstance(path, str) and is_address(path):
            try:
                _collect(result, iter_feed(fetch_feed(path), path, source))
            except OSError as exc:
                result.rejected.append(Rejected(path, f"cannot fetch the feed: {_reason(exc)}"))
            continue
        for file in _expand(Path(path), result):
            try:
                _load_file(file, result, source)
            except (OSError, UnicodeDecodeError) as exc:
                result.rejected.append(Rejected(str(file), f"cannot read file: {_reason(exc)}"))
    return result


def iter_feed(content: bytes, where: str, source: str | None = None) -> Iterator[Document | Rejected]:
    """Each item of the feed as a Document, checked like any other record, or as a Rejected naming
    the item and the reason. source names the outlet; by default the feed's own title."""
    for item in feed_records(content, where, source):
        if isinstance(item, Rejected):
            yield item
            continue
        place, record = item
        try:
            yield parse_record(record)
        except CorpusFormatError as exc:
            yield Rejected(place, exc.reason)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _expand(path: Path, result: LoadResult) -> Iterator[Path]:
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in _TEXT_SUFFIXES + _JSON_SUFFIXES + FEED_SUFFIXES
        )
        if not files:
            result.rejected.append(
                Rejected(str(path), "folder holds no .txt, .md, .json, .jsonl or feed (.xml, .rss) files")
            )
        yield from files
    elif path.exists():
        yield path
    else:
        result.rejected.append(Rejected(str(path), "no such file or folder"))


def _load_file(path: Path, result: LoadResult, source: str | None = None) -> None:
    suffix = path.suffix.lower()
    if suffix in FEED_SUFFIXES or looks_like_feed(_head(path)):
        _collect(result, iter_feed(path.read_bytes(), str(path), source))
    elif suffix in (".jsonl", ".ndjson"):
        _collect(result, iter_jsonl(path.read_text(encoding="utf-8"), str(path)))
    elif suffix == ".json":
        _collect(result, iter_json_array(path.read_text(encoding="utf-8"), str(path)))
    else:
        text = path.read_text(encoding="utf-8")
        if is_digest(text):
            _collect(result, iter_digest(text, str(path)))
        else:
            _collect(result, iter([_plain_file(text, str(path))]))


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(4096)


def _collect(result: LoadResult, items: Iterator[Document | Rejected]) -> None:
    for item in items:
        if isinstance(item, Document):
            result.documents.append(item)
        else:
            result.rejected.append(item)


def is_digest(text: str) -> bool:
    """True when the text carries the digest's summary markers."""
    return any(_READ_MORE.match(line) or _before_continue(line) is not None for line in text.splitlines())


def _before_continue(line: str) -> str | None:
    """The line without its closing "… Continue reading" marker, or None when it has none (by
    string ends: a search for the pattern at every blank of a long blank run is quadratic)."""
    head = line.rstrip()
    if not head.endswith(_CONTINUE):
        return None
    head = head[: -len(_CONTINUE)].rstrip()
    for mark in ("…", "..."):
        if head.endswith(mark):
            return head[: -len(mark)].rstrip()
    return None


def iter_digest(text: str, where: str = "<digest>") -> Iterator[Document | Rejected]:
    """Split a news digest into summaries: 'Read More' lines and '… Continue reading' end one."""
    paragraphs: list[str] = []
    first_line = 1
    for number, line in enumerate(text.splitlines(), start=1):
        ended = False
        before = _before_continue(line)
        if _READ_MORE.match(line):
            ended = True
        elif before is not None:
            paragraphs.append(before)
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
    if len(body) > MAX_DOCUMENT_CHARS:
        return Rejected(f"{where}:{line}", f"summary of {len(body)} characters exceeds {MAX_DOCUMENT_CHARS}")
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
        title = first[2:].strip()[:MAX_TITLE_CHARS] or None
    return Document(doc_id=content_id(body), text=body, title=title)


def load_json(text: str, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """json.loads, with what it raises besides JSONDecodeError as a CorpusFormatError: nesting past
    the interpreter's recursion limit, a number past its 4,300-digit limit."""
    try:
        return json.loads(text, parse_constant=parse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise CorpusFormatError("invalid JSON: nested too deeply") from None
    except ValueError:
        raise CorpusFormatError("invalid JSON: a number too long to read") from None


def json_error(exc: json.JSONDecodeError, *, line: bool = False) -> str:
    """The decoder's message with its place, "Expecting value at column 5" (never "at at")."""
    at = exc.msg if exc.msg.endswith(" at") else f"{exc.msg} at"
    return f"{at} line {exc.lineno} column {exc.colno}" if line else f"{at} column {exc.colno}"


def iter_jsonl(text: str, where: str = "<jsonl>") -> Iterator[Document | Rejected]:
    """Parse JSON Lines: one object per non-blank line, each becoming a document or a rejection."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield parse_record(load_json(line))
        except json.JSONDecodeError as exc:
            yield Rejected(f"{where}:{number}", f"invalid JSON: {json_error(exc)}")
        except CorpusFormatError as exc:
            yield Rejected(f"{where}:{number}", exc.reason)


def iter_json_array(text: str, where: str = "<json>") -> Iterator[Document | Rejected]:
    """Parse a JSON array of document objects (or one object)."""
    try:
        data = load_json(text)
    except json.JSONDecodeError as exc:
        yield Rejected(f"{where}:{exc.lineno}", f"invalid JSON: {json_error(exc)}")
        return
    except CorpusFormatError as exc:
        yield Rejected(where, exc.reason)
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
    doc_id = document_id(record.get("id", record.get("_id")), text)
    metadata = record.get("metadata")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise CorpusFormatError(f"'metadata' must be an object, got {type(metadata).__name__}")
    extra = {k: v for k, v in record.items() if k not in _KNOWN_FIELDS}
    merged = {**extra, **metadata}
    check_metadata(merged)
    title = _optional_str(record, "title", MAX_TITLE_CHARS)
    return Document(
        doc_id=doc_id,
        text=text,
        title=title,
        source=_optional_str(record, "source", MAX_FIELD_CHARS),
        url=web_address(_optional_str(record, "url", MAX_FIELD_CHARS)),
        published_at=parse_date(record.get("published_at")),
        metadata=merged,
    )


def document_id(raw: Any, text: str) -> str:
    """The id a record asks for (a string or an integer), else one derived from the text.

    An id is 1-200 characters, none of them whitespace, control or invisible, and no "/"-separated
    segment of it is "." or "..": such an id reads back and deletes at /v1/documents/{id} (with
    the id percent-encoded) exactly as it was sent. Nothing is trimmed: an id that is not valid
    is refused."""
    if raw is None:
        return content_id(text)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # 7.0 is the integer 7 in JSON
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise CorpusFormatError(f"'id' must be a string or integer, got {type(raw).__name__}")
    if isinstance(raw, int) and abs(raw) > MAX_METADATA_INTEGER:
        raise CorpusFormatError(
            "an integer 'id' must be within the 64-bit range; send a longer id as a string"
        )
    doc_id = str(raw)
    if not doc_id or len(doc_id) > MAX_ID_CHARS:
        raise CorpusFormatError(f"'id' must be 1 to {MAX_ID_CHARS} characters")
    bad = _INVISIBLE.search(doc_id)
    if bad is not None:
        char = bad.group()
        raise CorpusFormatError(
            f"'id' {_shown(doc_id)} holds {unicodedata.name(char, repr(char))}: an id is letters, "
            "digits and punctuation, without whitespace, control or invisible characters"
        )
    if not _ID.fullmatch(doc_id):
        raise CorpusFormatError(
            f"'id' {_shown(doc_id)} has a '.' or '..' path segment, which web addresses drop"
        )
    return doc_id


def check_metadata(metadata: dict[str, Any]) -> None:
    """Refuse metadata the store could not give back as it came: nested deeper than
    MAX_METADATA_DEPTH, larger than MAX_METADATA_BYTES as JSON, or with a number outside the range
    of a 64-bit integer (whose digits SQLite's JSON functions would round)."""
    stack: list[tuple[Any, int]] = [(metadata, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_METADATA_DEPTH:
                raise CorpusFormatError(f"'metadata' is nested deeper than {MAX_METADATA_DEPTH} levels")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(value, float) and not math.isfinite(value):
            raise CorpusFormatError("'metadata' holds a number that is not finite")
        elif (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and abs(value) > MAX_METADATA_INTEGER
        ):
            raise CorpusFormatError("'metadata' holds a number outside the 64-bit integer range")
    size = len(json.dumps(metadata, ensure_ascii=False, default=str).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise CorpusFormatError(f"'metadata' is {size} bytes as JSON; at most {MAX_METADATA_BYTES}")


def _shown(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _optional_str(record: dict[str, Any], key: str, limit: int) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CorpusFormatError(f"'{key}' must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise CorpusFormatError(f"'{key}' of {len(value)} characters exceeds {limit}")
    return value.strip() or None


def web_address(url: str | None) -> str | None:
    """An absolute http(s) address, or None; anything else (javascript:, data:, a bare path) is refused:
    every client renders it as a link to the story."""
    if url is None:
        return None
    if not _URL.fullmatch(url) or _INVISIBLE.search(url):
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
            f"'published_at' value {_shown(value)} is not an ISO-8601 date "
            "(use e.g. 2024-12-05 or 2024-12-05T14:30:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise CorpusFormatError(
            f"'published_at' value {_shown(value)} is out of range (years 0001 to 9999 in UTC)"
        ) from None
