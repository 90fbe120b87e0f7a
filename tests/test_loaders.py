"""Loading the input formats, and rejecting bad input with file, line and reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.corpus import DEFAULT_CORPUS
from rag.errors import CorpusFormatError
from rag.ingest.loaders import iter_digest, iter_jsonl, load_documents, parse_record
from rag.language.text import content_id
from rag.types import Document, Rejected


def test_seed_digest_has_ten_summaries_with_markers_dropped() -> None:
    docs = load_documents([DEFAULT_CORPUS]).documents
    assert len(docs) == 10
    assert all("Read More" not in d.text and "Continue reading" not in d.text for d in docs)
    two_paragraphs = [d for d in docs if "\n\n" in d.text]
    assert len(two_paragraphs) == 2
    assert two_paragraphs[0].text.startswith("Latvia’s assertion")
    assert two_paragraphs[0].text.endswith("is a recurring theme.")
    assert two_paragraphs[1].text.startswith("Zelensky’s demand for NATO guarantees")
    assert docs[-1].text.startswith("Germany will deploy Patriot missile units to Poland")


def test_digest_ids_are_derived_from_content_and_stable() -> None:
    docs = load_documents([DEFAULT_CORPUS]).documents
    assert [d.doc_id for d in docs] == [content_id(d.text) for d in docs]
    assert len({d.doc_id for d in docs}) == 10
    reflowed = content_id("  Germany will\n deploy  Patriot ")
    assert reflowed == content_id("Germany will deploy Patriot")


def test_digest_without_trailing_marker_keeps_last_summary() -> None:
    items = list(iter_digest("First one.\nRead More\nSecond one… Continue reading\nThird, unterminated."))
    assert [d.text for d in items if isinstance(d, Document)] == [
        "First one.",
        "Second one",
        "Third, unterminated.",
    ]


def test_jsonl_fields_are_parsed() -> None:
    line = json.dumps(
        {
            "id": "a1",
            "text": "Body.",
            "title": "T",
            "source": "Reuters",
            "url": "https://example.com/a",
            "published_at": "2024-12-05T14:30:00+01:00",
            "metadata": {"section": "world"},
        }
    )
    (doc,) = list(iter_jsonl(line))
    assert isinstance(doc, Document)
    assert (doc.doc_id, doc.title, doc.source, doc.url) == ("a1", "T", "Reuters", "https://example.com/a")
    assert doc.published_at == datetime(2024, 12, 5, 13, 30, tzinfo=UTC)
    assert doc.metadata == {"section": "world"}


def test_each_kind_of_bad_jsonl_line_is_rejected_with_its_line(tmp_path: Path) -> None:
    lines = [
        '{"id": "ok", "text": "Fine."}',
        "{not json",
        '{"id": "x"}',
        '{"text": "Dated.", "published_at": "5th of December"}',
        '{"text": "   "}',
        '{"text": 42}',
        '["text"]',
        '{"id": "ok2", "text": "Also fine.", "published_at": "2024-12-05"}',
    ]
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = load_documents([path])
    assert [d.doc_id for d in result.documents] == ["ok", "ok2"]
    reasons = {r.where: r.reason for r in result.rejected}
    assert set(reasons) == {f"{path}:{n}" for n in (2, 3, 4, 5, 6, 7)}
    assert reasons[f"{path}:2"].startswith("invalid JSON")
    assert "missing required field 'text'" in reasons[f"{path}:3"]
    assert "'5th of December' is not an ISO-8601 date" in reasons[f"{path}:4"]
    assert "empty document" in reasons[f"{path}:5"]
    assert "'text' must be a string" in reasons[f"{path}:6"]
    assert "expected a JSON object" in reasons[f"{path}:7"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "/world/story",
        "www.example.com/a",
        "http://",
        "http://[::1",
    ],
)
def test_a_url_that_is_not_an_absolute_web_address_is_refused(url: str) -> None:
    with pytest.raises(CorpusFormatError, match=r"'url' .* is not an absolute http\(s\) address"):
        parse_record({"text": "Floods closed the road.", "url": url})


def test_web_addresses_are_kept_as_given() -> None:
    for url in ("https://news.example/a?b=1#c", "HTTP://Example.com/Story"):
        assert parse_record({"text": "Floods closed the road.", "url": f"  {url} "}).url == url


def test_folder_of_text_files_and_unreadable_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.md").write_text("# Harbour reopens\n\nThe harbour reopened on Monday.\n", encoding="utf-8")
    (folder / "b.txt").write_text("One.\nRead More\nTwo.\nRead More\n", encoding="utf-8")
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    result = load_documents([folder, tmp_path / "missing.jsonl"])
    texts = sorted(d.text for d in result.documents)
    assert texts == ["# Harbour reopens\n\nThe harbour reopened on Monday.", "One.", "Two."]
    assert next(d.title for d in result.documents if d.text.startswith("#")) == "Harbour reopens"
    where = sorted(Path(r.where).name for r in result.rejected)
    assert where == ["binary.txt", "empty.txt", "missing.jsonl"]


@given(st.lists(st.text(min_size=0, max_size=40), max_size=8))
def test_jsonl_parser_never_raises(lines: list[str]) -> None:
    for item in iter_jsonl("\n".join(lines)):
        assert isinstance(item, (Document, Rejected))
