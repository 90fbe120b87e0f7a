"""Feed ingest: RSS 2.0 and Atom files, and feeds fetched from a real HTTP server on loopback."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

import rag.ingest.feeds
from newsrag.cli import main
from rag.engine import Engine
from rag.ingest.embedder import Embedder
from rag.ingest.feeds import html_to_text
from rag.ingest.loaders import load_documents

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>The Northern Ledger &amp; Co</title>
<link>https://ledger.example</link><description>Local news</description>
<item><title>Bridge vote &#8212; council says yes</title><link>https://ledger.example/bridge</link>
<guid isPermaLink="false">ledger-1001</guid><pubDate>Thu, 05 Dec 2024 14:30:00 +0100</pubDate>
<description><![CDATA[<p>The council <b>approved</b> the bridge &amp; tunnel budget.</p>
<p>Work starts in May.<br/>Tolls follow.</p><script>alert("x")</script>]]></description></item>
<item><title>Trains late</title><link>https://ledger.example/trains</link>
<description>Snow delayed the 7:15 to Tampere by &quot;about an hour&quot;.</description></item>
</channel></rss>
"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Courier</title><id>urn:courier</id>
<updated>2024-12-06T09:00:00Z</updated>
<entry><title type="html">Harbour &lt;em&gt;opens&lt;/em&gt;</title><id>urn:courier:7</id>
<link href="https://courier.example/7"/><updated>2024-12-06T09:00:00Z</updated>
<published>2024-12-05T09:00:00Z</published>
<content type="html">&lt;p&gt;The harbour opened on Friday.&lt;/p&gt;</content>
<summary>Not this one.</summary></entry></feed>
"""
LEDGER_BRIDGE = "The council approved the bridge & tunnel budget.\n\nWork starts in May.\nTolls follow."


def test_rss_and_atom_items_become_plain_text_documents(tmp_path: Path) -> None:
    (tmp_path / "ledger.rss").write_text(RSS, encoding="utf-8")
    (tmp_path / "courier.xml").write_text(ATOM, encoding="utf-8")
    loaded = load_documents([tmp_path / "ledger.rss", tmp_path / "courier.xml"])
    assert loaded.rejected == []
    bridge, trains, harbour = loaded.documents
    assert (bridge.doc_id, bridge.title, bridge.source) == (
        "ledger-1001",
        "Bridge vote — council says yes",
        "The Northern Ledger & Co",
    )
    assert bridge.text == LEDGER_BRIDGE  # no markup, no script, entities decoded
    assert bridge.url == "https://ledger.example/bridge"
    assert bridge.published_at == datetime(2024, 12, 5, 13, 30, tzinfo=UTC)
    assert trains.doc_id == "https://ledger.example/trains"  # no guid: the link is the id
    assert trains.text == 'Snow delayed the 7:15 to Tampere by "about an hour".'
    assert trains.published_at is None
    assert (harbour.doc_id, harbour.title, harbour.text) == (
        "urn:courier:7",
        "Harbour opens",
        "The harbour opened on Friday.",  # the content, not the summary
    )
    assert harbour.published_at == datetime(2024, 12, 5, 9, tzinfo=UTC)  # published, not updated
    renamed = load_documents([tmp_path / "courier.xml"], source="Harbour Courier").documents
    assert renamed[0].source == "Harbour Courier"


def test_html_becomes_paragraphs_of_text() -> None:
    html = "<div><h2>Head</h2><ul><li>one &amp; two</li><li>three</li></ul><style>p{}</style>tail</div>"
    assert html_to_text(html) == "Head\n\none & two\n\nthree\n\ntail"
    assert html_to_text("a <b>bold</b>  move") == "a bold move"


class Feeds(BaseHTTPRequestHandler):
    """Serves the feeds in `pages` by path; /slow answers after the client has given up."""

    pages: ClassVar[dict[str, tuple[str, bytes]]] = {}
    seen: ClassVar[list[tuple[str, str | None]]] = []  # (path, If-None-Match) of each request

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("If-None-Match")))
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/down":
            self.send_error(503, "Service Unavailable")
            return
        if self.path not in self.pages:
            self.send_error(404, "Not Found")
            return
        media, body = self.pages[self.path]
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", media)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # /slow: the client has gone
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """A real HTTP server on loopback, serving Feeds.pages."""
    Feeds.seen = []
    Feeds.pages = {
        "/ledger.rss": ("application/rss+xml", RSS.encode()),
        "/courier": ("application/atom+xml; charset=utf-8", ATOM.encode()),
        "/broken": ("application/rss+xml", b"<rss><channel><title>x</title><item><title>"),
        "/slow": ("application/rss+xml", RSS.encode()),
    }
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_ingest_fetches_feeds_and_a_second_poll_duplicates_nothing(
    server: str,
    tmp_path: Path,
    embedder: Embedder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rag.ingest.feeds, "FETCH_TIMEOUT_SECONDS", 1)
    store = tmp_path / "s"
    urls = [
        f"{server}/ledger.rss",
        f"{server}/courier",
        f"{server}/gone",
        f"{server}/broken",
        f"{server}/slow",
    ]
    code = main(["--store", str(store), "ingest", *urls])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.startswith("3 added, 0 updated, 0 unchanged, 3 rejected")
    assert f"rejected {server}/gone: cannot fetch the feed: HTTP 404 Not Found" in err
    assert f"rejected {server}/broken" in err
    assert f"rejected {server}/slow: cannot fetch the feed:" in err and "Traceback" not in err
    edited = RSS.replace("Work starts in May.", "Work starts in June.")
    Feeds.pages["/ledger.rss"] = ("application/rss+xml", edited.encode())
    assert main(["--store", str(store), "ingest", f"{server}/ledger.rss", f"{server}/courier"]) == 0
    assert capsys.readouterr().out.startswith("0 added, 1 updated, 2 unchanged, 0 rejected")
    with Engine.open(store, embedder=embedder) as engine:
        assert engine.stats().documents == 3
        bridge = engine.document("ledger-1001")
        assert bridge is not None and bridge.text == LEDGER_BRIDGE.replace("May", "June")
        assert bridge.source == "The Northern Ledger & Co"


def test_watch_polls_conditionally_updates_edits_and_backs_off_a_feed_that_is_down(
    server: str, tmp_path: Path, embedder: Embedder
) -> None:
    from rag.ingest.watch import RETRY_FIRST_SECONDS, Watcher

    now = [0.0]
    with Engine.open(tmp_path / "s", embedder=embedder) as engine:
        urls = [f"{server}/down", f"{server}/ledger.rss", f"{server}/courier"]
        watcher = Watcher(urls, engine.ingest, every=600, clock=lambda: now[0], timeout=2)
        first = {p.url.rsplit("/", 1)[1]: p for p in watcher.poll_due()}
        assert (first["ledger.rss"].outcome, first["ledger.rss"].added) == ("ingested", 2)
        assert (first["courier"].outcome, first["courier"].added) == ("ingested", 1)
        assert (first["down"].outcome, first["down"].retry_in) == ("failed", RETRY_FIRST_SECONDS)
        assert "HTTP 503" in first["down"].line()  # the others went on regardless
        now[0] = 30.0  # only the failed feed is due: retried, and backed off further
        (retry,) = watcher.poll_due()
        assert (retry.url, retry.outcome, retry.retry_in) == (urls[0], "failed", 2 * RETRY_FIRST_SECONDS)
        edited = RSS.replace("Work starts in May.", "Work starts in June.")
        Feeds.pages["/ledger.rss"] = ("application/rss+xml", edited.encode())
        now[0] = 600.0
        second = {p.url.rsplit("/", 1)[1]: p for p in watcher.poll_due()}
        assert second["courier"].outcome == "not modified"  # a 304: nothing was parsed
        ledger = second["ledger.rss"]
        assert (ledger.outcome, ledger.added, ledger.updated, ledger.unchanged) == ("ingested", 0, 1, 1)
        assert engine.stats().documents == 3
        bridge = engine.document("ledger-1001")
        assert bridge is not None and "June" in bridge.text
    sent = [tag for path, tag in Feeds.seen if path == "/courier"]
    assert sent[0] is None and sent[1] is not None  # the second GET carried the first's ETag


def test_watch_once_from_the_command_line(
    server: str, tmp_path: Path, embedder: Embedder, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "s")
    assert main(["--store", store, "watch", "--once", f"{server}/courier", f"{server}/down"]) == 0
    out, err = capsys.readouterr()
    assert out == f"{server}/courier: 1 added, 0 updated, 0 unchanged, 0 rejected\n"
    assert err.startswith(f"{server}/down: failed (HTTP 503 Service Unavailable); retrying in 30 s")
    assert main(["--store", store, "watch", "--once", f"{server}/down"]) == 1
    capsys.readouterr()
    for bad in (["--every", "0"], ["--every", "soon"]):
        with pytest.raises(SystemExit) as exited:
            main(["--store", store, "watch", *bad, f"{server}/courier"])
        assert exited.value.code == 2 and "not an interval" in capsys.readouterr().err


def test_the_service_watches_its_feeds_and_counts_the_polls(
    server: str, tmp_path: Path, embedder: Embedder
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    feeds = [f"{server}/courier", f"{server}/down"]
    with Engine.open(tmp_path / "s", embedder=embedder) as engine:
        settings = Settings(rate_limit=0, feeds=",".join(feeds), feed_interval="1s")  # type: ignore[arg-type]
        with TestClient(create_app(settings, engine=engine)) as client:
            deadline = time.monotonic() + 20
            while client.get("/v1/documents/urn:courier:7").status_code != 200:
                assert time.monotonic() < deadline, "the feed was not ingested"
                time.sleep(0.2)
            metrics = client.get("/metrics").text
        assert f'newsrag_feed_polls_total{{feed="{server}/courier",outcome="ingested"}} 1.0' in metrics
        assert f'newsrag_feed_items_total{{change="added",feed="{server}/courier"}} 1.0' in metrics
        assert f'newsrag_feed_polls_total{{feed="{server}/down",outcome="failed"}}' in metrics
    with pytest.raises(ValueError, match="read-only"):
        Settings(feeds=feeds, read_only=True)
    with pytest.raises(ValueError, match="not a feed address"):
        Settings(feeds="ftp://x")  # type: ignore[arg-type]
