"""Watching feeds: each polled on an interval with a conditional GET, its new and edited items
ingested; a feed that is down or unreadable is retried with backoff while the others go on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rag.ingest.feeds import fetch
from rag.ingest.loaders import iter_feed
from rag.types import Document, IngestReport

RETRY_FIRST_SECONDS = 30.0  # then doubled on each failure in a row, up to the interval


@dataclass
class Feed:
    """One watched feed: its validators from the last fetch, its failures in a row, when it is due."""

    url: str
    etag: str | None = None
    modified: str | None = None
    failures: int = 0
    due: float = 0.0


@dataclass(frozen=True)
class Poll:
    """What one poll of one feed did."""

    url: str
    outcome: str  # "ingested", "not modified" or "failed"
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    error: str | None = None
    retry_in: float | None = None

    def line(self) -> str:
        """The poll as one line of the watch log."""
        if self.outcome == "failed":
            return f"{self.url}: failed ({self.error}); retrying in {self.retry_in:.0f} s"
        if self.outcome == "not modified":
            return f"{self.url}: not modified"
        return (
            f"{self.url}: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.rejected} rejected"
        )


class Watcher:
    """Polls each feed every `every` seconds and hands its items to ingest (an upsert: unchanged
    items cost nothing). Not thread-safe: one thread runs it."""

    def __init__(
        self,
        urls: Iterable[str],
        ingest: Callable[[list[Document]], IngestReport],
        every: float,
        source: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float | None = None,
    ) -> None:
        self.feeds = [Feed(url) for url in dict.fromkeys(urls)]
        self.ingest = ingest
        self.every = every
        self.source = source
        self.clock = clock
        self.timeout = timeout

    def poll_due(self) -> list[Poll]:
        """Poll every feed that is due now, in order."""
        now = self.clock()
        return [self.poll(feed) for feed in self.feeds if feed.due <= now]

    def poll(self, feed: Feed) -> Poll:
        """Fetch one feed (conditionally), ingest its items, and set when it is due again."""
        try:
            fetched = fetch(feed.url, feed.etag, feed.modified, self.timeout)
            if fetched.content is None:
                return self._done(feed, Poll(feed.url, "not modified"))
            items = list(iter_feed(fetched.content, feed.url, self.source))
            documents = [item for item in items if isinstance(item, Document)]
            if not documents:
                reason = items[0].reason if items and not isinstance(items[0], Document) else "no items"
                raise OSError(reason)
            report = self.ingest(documents)
        except OSError as exc:
            feed.failures += 1
            retry = min(self.every, RETRY_FIRST_SECONDS * 2 ** (feed.failures - 1))
            feed.due = self.clock() + retry
            return Poll(feed.url, "failed", error=str(exc), retry_in=retry)
        feed.etag, feed.modified = fetched.etag, fetched.modified
        rejected = len(items) - len(documents)
        poll = Poll(feed.url, "ingested", report.added, report.updated, report.unchanged, rejected)
        return self._done(feed, poll)

    def _done(self, feed: Feed, poll: Poll) -> Poll:
        feed.failures = 0
        feed.due = self.clock() + self.every
        return poll

    def run(self, stop: threading.Event, report: Callable[[Poll], None]) -> None:
        """Poll until stop is set, reporting each poll; sleeps until the next feed is due."""
        while not stop.is_set():
            for poll in self.poll_due():
                report(poll)
            stop.wait(max(0.0, min(feed.due for feed in self.feeds) - self.clock()))


def parse_interval(text: str) -> float:
    """Seconds in "90", "30s", "10m" or "1h"; at least one second."""
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"{text!r} is not an interval: use e.g. 90, 30s, 10m or 1h") from None
    if not 1 <= seconds <= 7 * 86400:  # also refuses nan
        raise ValueError(f"{text!r} is not an interval between 1 s and 7 days")
    return seconds
