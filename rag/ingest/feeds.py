"""News feeds (RSS 2.0, Atom, RDF) as documents: one per item, its HTML reduced to plain text.

feedparser reads the XML (and sanitises the HTML it carries); this module maps each item to a
record that loaders.parse_record checks like any other, so a feed item is held to the same
limits as a JSON document.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from rag.errors import InvalidRequestError
from rag.types import Rejected

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
MAX_FEED_BYTES = 20_000_000
FETCH_TIMEOUT_SECONDS = 30
USER_AGENT = "newsrag (feed reader)"
_FEED_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S)
_BLOCKS = frozenset(
    "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIPPED = frozenset({"script", "style", "template", "noscript"})


def is_address(text: str) -> bool:
    """Whether an ingest argument is a feed's web address rather than a path."""
    return text.lower().startswith(("http://", "https://"))


def require_feed_addresses(urls: Sequence[str]) -> None:
    """InvalidRequestError naming the first of urls that is not a feed's web address."""
    bad = [url for url in urls if not is_address(url)]
    if bad:
        raise InvalidRequestError(f"{bad[0]!r} is not a feed address: give http:// or https:// URLs")


@dataclass(frozen=True)
class Fetched:
    """A feed's bytes with the validators for the next conditional GET; content None: the
    server answered 304, nothing changed since the validators given."""

    content: bytes | None
    etag: str | None = None
    modified: str | None = None


def fetch_feed(url: str, timeout: float | None = None) -> bytes:
    """The feed's bytes (at most MAX_FEED_BYTES); an HTTP error, a timeout or a feed too large
    is an OSError saying which."""
    content = fetch(url, timeout=timeout).content
    if content is None:  # no validators were sent, so a 304 is the server's error
        raise OSError(f"{url} answered 304 Not Modified to a request without validators")
    return content


def fetch(
    url: str, etag: str | None = None, modified: str | None = None, timeout: float | None = None
) -> Fetched:
    """GET the feed, conditionally when validators from an earlier fetch are given."""
    import urllib.error
    import urllib.request

    timeout = timeout or FETCH_TIMEOUT_SECONDS
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content: bytes = response.read(MAX_FEED_BYTES + 1)
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, modified)
        raise OSError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None
    except TimeoutError:
        raise OSError(f"no answer within {timeout:g} s") from None
    if len(content) > MAX_FEED_BYTES:
        raise OSError(f"the feed is over the {MAX_FEED_BYTES} byte limit")
    return Fetched(content, etag, modified)


def looks_like_feed(head: bytes) -> bool:
    """Whether a file's first bytes open an RSS, Atom or RDF document."""
    return bool(_FEED_START.match(head[:4096]))


def feed_records(
    content: bytes, where: str, source: str | None = None
) -> Iterator[tuple[str, dict[str, Any]] | Rejected]:
    """Each item of the feed as (where it is, its document record), or the feed as a Rejected.

    source names the outlet; by default the feed's own title. loaders.iter_feed checks each record."""
    import feedparser

    if len(content) > MAX_FEED_BYTES:
        yield Rejected(where, f"feed of {len(content)} bytes is over the {MAX_FEED_BYTES} limit")
        return
    parsed = feedparser.parse(content, sanitize_html=True, resolve_relative_uris=True)
    if not parsed.entries:
        problem = parsed.get("bozo_exception")
        reason = f"not a readable feed: {problem}" if problem else "the feed has no items"
        yield Rejected(where, reason)
        return
    outlet = source or html_to_text(parsed.feed.get("title", "")) or None
    for number, entry in enumerate(parsed.entries, start=1):
        yield f"{where} item {number}", item_record(entry, outlet)


def item_record(entry: Any, source: str | None) -> dict[str, Any]:
    """A feed item as a document record: id from its guid (else its link), text from its
    content (else its summary, else its title) as plain text, date from when it was published
    (else updated)."""
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    title = html_to_text(entry.get("title", ""))
    text = html_to_text(contents[0] if contents else entry.get("summary", "")) or title
    record: dict[str, Any] = {"text": text}  # an item with a headline only is its headline
    doc_id = entry.get("id") or entry.get("link")
    if doc_id:
        record["id"] = doc_id
    if title:
        record["title"] = title
    if entry.get("link"):
        record["url"] = entry["link"]
    if source:
        record["source"] = source
    when = entry.get("published_parsed") or entry.get("updated_parsed")
    if when is not None:
        record["published_at"] = datetime.fromtimestamp(calendar.timegm(when), UTC).isoformat()
    return record


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: entities decoded, block elements as paragraph breaks,
    <br> as a line break, scripts and styles dropped, no markup left."""
    reader = _TextOf()
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).split("\n"))
    paragraphs, current = [], []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)
