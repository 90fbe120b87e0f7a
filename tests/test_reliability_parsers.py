"""Fuzzing the input parsers: arbitrary text and JSON never raise, and every Document is valid."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.errors import CorpusFormatError
from rag.ingest.loaders import iter_digest, iter_jsonl, parse_record
from rag.types import Document, Rejected

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = st.sampled_from(["id", "_id", "text", "title", "source", "url", "published_at", "metadata"])
# Records that look like documents, with each known field holding any JSON value or a plausible one.
_RECORDS = st.dictionaries(
    _FIELDS | st.text(max_size=8),
    _JSON | st.text(min_size=1, max_size=60) | st.sampled_from(["2024-12-05", "2024-12-05T14:30:00Z", " "]),
    max_size=6,
)
_DIGEST_LINES = st.lists(
    st.sampled_from(["Read More", "… Continue reading", "", "   ", "Mayor opens bridge.", "Read More "])
    | st.text(max_size=40),
    max_size=12,
)


def _check(doc: Document) -> None:
    assert isinstance(doc.doc_id, str) and 1 <= len(doc.doc_id) <= 200
    assert doc.doc_id == doc.doc_id.strip()
    assert isinstance(doc.text, str) and doc.text.strip()


def _check_all(items: list[Document | Rejected]) -> None:
    for item in items:
        if isinstance(item, Document):
            _check(item)
        else:
            assert isinstance(item, Rejected) and item.reason


@settings(max_examples=200, deadline=None)
@given(_JSON | _RECORDS)
def test_parse_record_accepts_or_names_the_problem(value: Any) -> None:
    try:
        doc = parse_record(value)
    except CorpusFormatError as exc:
        assert str(exc)
        return
    _check(doc)


@settings(max_examples=200, deadline=None)
@given(st.lists(_JSON | _RECORDS | st.text(max_size=40), max_size=6))
def test_jsonl_of_arbitrary_values_never_raises(values: list[Any]) -> None:
    lines = [v if isinstance(v, str) else json.dumps(v) for v in values]
    text = "\n".join(lines)
    items = list(iter_jsonl(text))
    _check_all(items)
    json_lines = [line for line in text.splitlines() if line.strip()]
    assert len(items) == len(json_lines)  # one outcome per non-blank line, none silently dropped


@settings(max_examples=200, deadline=None)
@given(_DIGEST_LINES)
def test_digest_of_arbitrary_lines_never_raises(lines: list[str]) -> None:
    _check_all(list(iter_digest("\n".join(lines))))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_digest_of_arbitrary_text_never_raises(text: str) -> None:
    _check_all(list(iter_digest(text)))
