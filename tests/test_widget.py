"""The chat widget in a real headless Chromium: a real `newsrag serve`, and the demo page on another origin.

One API server (the shipped digest, a hostile and a titled document) and one browser serve the module;
each test opens the demo page, embedded as a customer would embed the widget, from a second local origin.
Screenshots land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium (make browser)"
    ),
]

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "api" / "static"
ARTIFACTS = REPO / "test-artifacts"
KEY = "widget-test-key"
START_TIMEOUT = 120.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 360, "height": 740}

PATRIOT_Q = "When will Germany deploy Patriot missile units to Poland?"
PATRIOT_SENTENCE = (
    "Germany will deploy Patriot missile units to Poland starting in January 2025, "
    "a decision jointly announced by German and Polish defense ministers."
)
FOLLOW_UP_Q = "Who announced it?"
OFF_TOPIC_Q = "What's a good recipe for banana bread?"
UNANSWERED_Q = "How many Mirage jets has France already delivered to Ukraine?"  # on topic, not answered
HOSTILE_Q = "When will the Klaipeda ferry terminal open to passengers?"
PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
HOSTILE_SENTENCE = (
    "Lithuania’s port of Klaipeda will open its new ferry terminal to passengers in March 2026, "
    f"the harbour authority announced on Tuesday {PAYLOAD}."
)
HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">Klaipeda ferry terminal'
HOSTILE_DOCUMENT = {
    "id": "hostile-1",
    "title": HOSTILE_TITLE,
    "source": "<script>window.__pwned=1</script>Baltic Wire",
    # The API refuses javascript: URLs at ingest; this one is a web address that tries to break out of href.
    "url": 'https://news.example/ferry"><img/src=x/onerror=window.__pwned=1>',
    "published_at": "2024-12-05",
    "text": HOSTILE_SENTENCE
    + " The terminal will serve routes to Kiel and Karlshamn, and officials expect about 400,000 passengers"
    + ' a year. Details: <a href="javascript:window.__pwned=1">the authority’s site</a>.',
}

TITLED_SENTENCE = (
    "Finland will keep all crossings on its eastern border with Russia closed until further notice, "
    "the interior ministry said on Thursday."
)
TITLED_SECOND = (
    "The crossings have been shut since December 2023, after more than 1,300 asylum seekers arrived"
    " without visas in a few months."
)
TITLED_DOCUMENT = {
    "id": "ledger-finland-border",
    "title": "Finland keeps its eastern border closed",
    "source": "The Northern Ledger",
    "url": "https://news.example/2024/12/05/finland-border",
    "published_at": "2024-12-05",
    "text": f"{TITLED_SENTENCE} {TITLED_SECOND} Helsinki accuses Moscow of steering migrants to the frontier,"
    " a charge the Kremlin denies.",
}

# Selectors pierce the widget's open shadow root (Playwright's CSS engine does).
PANEL = "newsrag-chat .panel"
REPLIES = "newsrag-chat .msg.bot:not(.wait)"


@dataclass
class Site:
    """The API server and the demo page's separate origin."""

    api: str
    demo: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Tab:
    """A page on the demo site with what it reported: dialogs and uncaught errors."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_demo_server(folder: Path) -> ThreadingHTTPServer:
    """A tiny static server for the customer's site, on its own loopback port (the page is written later)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_demo_page(folder: Path, api: str) -> None:
    """api/static/demo.html, its style and script as a customer would host them: the widget and its endpoint
    on the API's origin."""
    for asset in ("demo.css", "demo.js"):
        (folder / asset).write_bytes((STATIC / asset).read_bytes())
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    page, count = re.subn(r'src="/widget\.js"', f'src="{api}/widget.js" data-endpoint="{api}"', html)
    if count != 1:
        pytest.fail('api/static/demo.html must load the widget with exactly one <script src="/widget.js">')
    (folder / "index.html").write_text(page, encoding="utf-8")


def start_api(folder: Path, demo_origin: str) -> tuple[str, subprocess.Popen[bytes], Path]:
    """`newsrag serve` on a new store (it seeds the digest), CORS open to the demo origin, no rate limit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update(NEWSRAG_API_KEY=KEY, NEWSRAG_RATE_LIMIT="0", NEWSRAG_CORS_ORIGINS=demo_origin)
    cli = Path(sys.executable).with_name("newsrag")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "newsrag.cli"]
    command += ["--store", str(folder / "store"), "serve", "--port", str(port)]
    log = folder / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"newsrag serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return url, process, log
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"newsrag serve not ready after {START_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The API (the digest, a hostile and a titled document) and the demo page, each on its own origin."""
    folder = tmp_path_factory.mktemp("widget")
    (folder / "demo").mkdir()
    demo_server = start_demo_server(folder / "demo")
    demo = f"http://127.0.0.1:{demo_server.server_address[1]}"
    try:
        api, process, log = start_api(folder, demo)
        try:
            headers = {"Authorization": f"Bearer {KEY}"}
            documents = [HOSTILE_DOCUMENT, TITLED_DOCUMENT]
            added = httpx.post(f"{api}/v1/documents", json=documents, headers=headers, timeout=60)
            assert added.status_code == 200, added.text
            write_demo_page(folder / "demo", api)
            yield Site(api, demo, process, log)
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        demo_server.shutdown()
        demo_server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (its own browser download is not used)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_tab(browser: Browser, url: str, viewport: dict[str, int] = DESKTOP) -> Tab:
    """A fresh page on url, recording dialogs and uncaught errors; the widget's launcher is there."""
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(15_000)
    tab = Tab(context.new_page())
    tab.page.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    tab.page.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.page.on("console", lambda m: tab.console.append(m.text))
    tab.page.goto(url)
    expect(launcher(tab.page)).to_be_visible()
    return tab


@pytest.fixture
def tab(browser: Browser, site: Site) -> Iterator[Tab]:
    """The demo page on its own origin, at desktop size."""
    tab = open_tab(browser, site.demo)
    yield tab
    tab.page.context.close()
    assert tab.errors == [], "the page threw"


def launcher(page: Page) -> Any:
    """The widget's launcher button."""
    return page.locator("newsrag-chat .launcher")


def open_widget(page: Page) -> None:
    """Click the launcher and wait until the panel has finished its opening animation."""
    launcher(page).click()
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    panel.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")


def question_box(page: Page) -> Any:
    """The widget's question input."""
    return page.get_by_role("textbox", name="Your question")


def ask(page: Page, question: str) -> dict[str, Any]:
    """Send a question with Enter; returns the JSON the widget received, once its reply is on screen."""
    replies = page.locator(REPLIES)
    before = replies.count()
    with page.expect_response(lambda r: r.url.endswith("/v1/ask") and r.request.method == "POST") as info:
        question_box(page).fill(question)
        question_box(page).press("Enter")
    expect(replies).to_have_count(before + 1)
    return dict(info.value.json())


def focused(page: Page) -> str:
    """What has focus inside the widget, as "tag.class" ("" when focus is outside it)."""
    script = """() => {
        const el = document.querySelector('newsrag-chat').shadowRoot.activeElement;
        return el ? `${el.tagName.toLowerCase()}.${el.className}` : '';
    }"""
    return str(page.evaluate(script))


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the viewport to test-artifacts/ (animations settled)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), animations="disabled")


def test_answer_cites_its_sentence_and_the_citation_highlights_it(tab: Tab, site: Site) -> None:
    page = tab.page
    assert site.demo != site.api  # the page and the service are different origins: CORS is exercised
    open_widget(page)
    shot(page, "widget-desktop-open.png")
    answer = ask(page, PATRIOT_Q)
    assert answer["abstained"] is False
    reply = page.locator(REPLIES).last
    expect(reply.locator(".answer")).to_have_text(re.compile(r"^" + re.escape(PATRIOT_SENTENCE) + r"\s*1$"))
    expect(reply.locator(".short")).to_have_text("January 2025")

    citation = answer["sentences"][0]["citations"][0]
    document = httpx.get(f"{site.api}/v1/documents/{citation['doc_id']}", timeout=10).json()
    first_words = " ".join(document["text"].split()[:8]) + "…"  # a digest summary has no title or outlet
    reply.get_by_role("button", name=f"Source 1: {first_words}").click()
    mark = reply.locator(".src mark")
    expect(mark).to_have_text(PATRIOT_SENTENCE)
    expect(reply.locator(".src .src-t")).to_have_text(first_words)
    assert document["text"][citation["start"] : citation["end"]] == PATRIOT_SENTENCE
    passage = reply.locator(".src .passage")
    expect(passage).to_have_text(document["text"])
    expect(reply.locator(".src mark strong")).to_have_text("January 2025")
    expect(reply.get_by_role("button", name=re.compile(r"^Source 1"))).to_have_attribute(
        "aria-expanded", "true"
    )
    shot(page, "widget-desktop-answer-citation.png")

    reply.get_by_role("button", name="Close source").click()
    expect(reply.locator(".src")).to_be_hidden()


def test_follow_up_sends_the_conversation_as_history(tab: Tab) -> None:
    page = tab.page
    open_widget(page)
    ask(page, PATRIOT_Q)
    with page.expect_request(lambda r: r.url.endswith("/v1/ask") and r.method == "POST") as sent:
        answer = ask(page, FOLLOW_UP_Q)
    body = json.loads(sent.value.post_data or "{}")
    assert body == {"question": FOLLOW_UP_Q, "history": [{"question": PATRIOT_Q, "answer": PATRIOT_SENTENCE}]}
    assert answer["query"] == f"{PATRIOT_Q} {FOLLOW_UP_Q}"
    assert answer["abstained"] is False
    reply = page.locator(REPLIES).last
    expect(reply.locator(".answer")).to_contain_text(
        "jointly announced by German and Polish defense ministers"
    )
    expect(reply.locator(".cite")).to_have_count(len(answer["sentences"][0]["citations"]))


def test_off_topic_question_abstains_and_lists_nothing(tab: Tab) -> None:
    page = tab.page
    open_widget(page)
    answer = ask(page, OFF_TOPIC_Q)
    assert answer["abstained"] is True and answer["related"] == []
    reply = page.locator(REPLIES).last
    expect(reply).to_contain_text(answer["message"])
    expect(reply.locator(".rel li")).to_have_count(0)


def test_an_unanswered_question_abstains_with_related_passages(tab: Tab) -> None:
    page = tab.page
    open_widget(page)
    answer = ask(page, UNANSWERED_Q)
    assert answer["abstained"] is True
    assert answer["related"], "the abstention should carry related passages"
    reply = page.locator(REPLIES).last
    expect(reply).to_have_class(re.compile(r"\babstain\b"))
    expect(reply).to_contain_text("Not in the summaries")
    expect(reply).to_contain_text(answer["message"])
    expect(reply.locator(".cite")).to_have_count(0)
    expect(reply.locator(".rel li")).to_have_count(min(3, len(answer["related"])))
    expect(reply.locator(".rel li").first).to_contain_text(answer["related"][0]["text"][:60])
    bubble_border = "el => getComputedStyle(el).borderTopStyle"
    assert reply.locator(".bubble").evaluate(bubble_border) == "dashed"  # muted, unlike an answer's card
    shot(page, "widget-desktop-abstention.png")


def test_keyboard_and_aria(tab: Tab) -> None:
    page = tab.page
    button = launcher(page)
    expect(button).to_have_attribute("aria-expanded", "false")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Ask the newsroom")
    expect(dialog).to_be_visible()
    expect(button).to_have_attribute("aria-expanded", "true")
    assert focused(page) == "textarea."  # focus moved into the question box
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("button", name="Send question")).to_be_visible()

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/v1/ask") else None)
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(question_box(page)).to_have_value("first line\nsecond line")
    assert requests == []  # Shift+Enter breaks the line, it does not send

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    assert focused(page) == "button.launcher"  # and back to the launcher on close


def test_hostile_document_is_shown_as_text_and_never_runs(tab: Tab) -> None:
    page = tab.page
    open_widget(page)
    answer = ask(page, HOSTILE_Q)
    sentences = [s["text"] for s in answer["sentences"]]
    assert sentences == [HOSTILE_SENTENCE], "the engine should answer from the hostile document"
    reply = page.locator(REPLIES).last
    expect(reply.locator(".answer")).to_contain_text(HOSTILE_SENTENCE)
    reply.locator(".cite").first.click()
    expect(reply.locator(".src mark")).to_have_text(HOSTILE_SENTENCE)
    expect(reply.locator(".src-t")).to_have_text(HOSTILE_TITLE)
    expect(reply.locator(".src .meta")).to_contain_text("<script>window.__pwned=1</script>Baltic Wire")
    link = reply.locator(".src a")
    expect(link).to_have_count(1)  # the address stays one attribute value, escaped, never markup
    expect(link).to_have_attribute("href", page.evaluate("u => new URL(u).href", HOSTILE_DOCUMENT["url"]))
    page.wait_for_timeout(300)  # give a broken image's onerror the time it would need

    assert page.evaluate("() => window.__pwned") is None
    assert tab.dialogs == []
    inside = "() => document.querySelector('newsrag-chat').shadowRoot.querySelectorAll('img, script').length"
    assert page.evaluate(inside) == 0
    assert page.evaluate("() => document.querySelectorAll('img[src=x], a[href^=javascript]').length") == 0


def test_small_screen_panel_fits_the_viewport(browser: Browser, site: Site) -> None:
    tab = open_tab(browser, site.demo, PHONE)
    page = tab.page
    try:
        open_widget(page)
        box = page.locator(PANEL).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]
        shot(page, "widget-360-open.png")
        ask(page, PATRIOT_Q)
        page.locator(REPLIES).last.locator(".cite").first.click()
        expect(page.locator("newsrag-chat .src mark")).to_have_text(PATRIOT_SENTENCE)
        for part in (".form", ".send", ".head", REPLIES):
            part_box = page.locator(part if part.startswith("newsrag") else f"newsrag-chat {part}").last
            right = part_box.evaluate("el => el.getBoundingClientRect().right")
            assert right <= PHONE["width"], f"{part} sticks out of a 360 px screen"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "widget-360-answer-citation.png")
        assert tab.errors == []
    finally:
        page.context.close()


TEXT_LINES = """el => {
    // The boxes of the text itself, line by line (an element's own box is wider than its words).
    const range = document.createRange();
    range.selectNodeContents(el);
    return [...range.getClientRects()]
        .map(r => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom}));
}"""
FLAGS = """() => {
    // A flag as drawn: the colour of a 6 x 6 grid of points over each of the eight flags on their poles.
    const svg = document.querySelector('figure svg');
    const name = hex => {  // the colour a reader would name: two blues are one blue
        const [r, g, b] = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16) / 255);
        const max = Math.max(r, g, b), min = Math.min(r, g, b), l = (max + min) / 2;
        if (l < 0.15) return 'black';
        if (max - min < 0.12) return l > 0.6 ? 'white' : 'grey';
        const d = max - min;
        const h = max === r ? (60 * ((g - b) / d) + 360) % 360
            : max === g ? 60 * ((b - r) / d) + 120 : 60 * ((r - g) / d) + 240;
        return h < 20 || h >= 330 ? 'red' : h < 70 ? 'yellow' : h < 170 ? 'green'
            : h < 260 ? 'blue' : 'purple';
    };
    const colour = (x, y) => {
        let hit = null;
        for (const el of svg.querySelectorAll('rect, circle')) {
            const b = el.getBBox();
            if (x >= b.x && x <= b.x + b.width && y >= b.y && y <= b.y + b.height) hit = el;
        }
        return hit ? name(hit.getAttribute('fill')) : '';
    };
    return [0, 1, 2, 3, 4, 5, 6, 7].map(k => {
        const dots = [];
        for (let i = 0; i < 6; i++)
            for (let j = 0; j < 6; j++) dots.push(colour(118 + k * 80 + i * 9.6, 100 + j * 6.4));
        return dots.join(' ');
    });
}"""


@pytest.mark.parametrize("size", [{"width": 390, "height": 844}, DESKTOP], ids=["390px", "1280px"])
def test_demo_page_reads_right_on_a_phone_and_a_desktop(
    browser: Browser, site: Site, size: dict[str, int]
) -> None:
    tab = open_tab(browser, site.demo, size)
    page = tab.page
    try:
        button = page.locator("newsrag-chat").get_by_role("button", name="Ask the newsroom")
        expect(button).to_be_visible()  # on a phone the launcher is a round icon, still named for a reader
        shot(page, f"demo-{size['width']}.png")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"]
        for link in page.get_by_role("navigation", name="Sections").get_by_role("link").all():
            box = link.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (
                f"the section link {link.inner_text()!r} is cut off"
            )
        covered = launcher(page).bounding_box()
        assert covered is not None
        for part in ("nav", "h1", "figcaption"):
            lines = page.locator(part).evaluate(TEXT_LINES)
            assert lines
            for line in lines:
                apart = (
                    line["right"] <= covered["x"]
                    or covered["x"] + covered["width"] <= line["left"]
                    or line["bottom"] <= covered["y"]
                    or covered["y"] + covered["height"] <= line["top"]
                )
                assert apart, f"the launcher covers the {part}'s text"
                # a phone's first screen shows the headline, the picture and its caption
                if size["width"] < 520:
                    assert line["bottom"] <= size["height"], f"the {part} is below the first screen"
        flags = page.evaluate(FLAGS)
        assert len(flags) == 8 and len(set(flags)) == 8, "a flag is shown twice"
        assert tab.errors == []
    finally:
        page.context.close()


def test_rate_limit_shows_the_wait_then_retry_works(tab: Tab, site: Site) -> None:
    page = tab.page
    refused = {
        "status": 429,
        "headers": {"Retry-After": "2", **cors(site)},
        "content_type": "application/json",
        "body": json.dumps({"error": {"code": "rate_limited", "message": "too many requests"}}),
    }
    page.route(f"{site.api}/v1/ask", lambda route: route.fulfill(**refused))
    open_widget(page)
    question_box(page).fill(PATRIOT_Q)
    question_box(page).press("Enter")
    error = page.locator("newsrag-chat .msg.err")
    expect(error).to_contain_text("Please wait 2 s")
    retry = error.get_by_role("button")
    expect(retry).to_be_disabled()
    shot(page, "widget-desktop-rate-limited.png")
    page.unroute(f"{site.api}/v1/ask")
    expect(retry).to_be_enabled(timeout=4000)
    expect(retry).to_have_text("Try again")
    retry.click()
    expect(page.locator("newsrag-chat .msg.bot.answer .answer")).to_contain_text(PATRIOT_SENTENCE)
    expect(error).to_have_count(0)  # the answer took the error's place


@pytest.mark.parametrize(
    ("failure", "message"),
    [("server", "Something went wrong on our side"), ("network", "couldn't reach the news service")],
)
def test_server_and_network_errors_are_friendly_and_retryable(
    tab: Tab, site: Site, failure: str, message: str
) -> None:
    page = tab.page

    def fail(route: Any) -> None:
        if failure == "network":
            route.abort("connectionrefused")
        else:
            route.fulfill(status=503, headers=cors(site), json={"error": {"code": "x", "message": "down"}})

    page.route(f"{site.api}/v1/ask", fail)
    open_widget(page)
    question_box(page).fill(PATRIOT_Q)
    question_box(page).press("Enter")
    error = page.locator("newsrag-chat .msg.err")
    expect(error).to_contain_text(message)
    page.unroute(f"{site.api}/v1/ask")
    error.get_by_role("button", name="Try again").click()
    expect(page.locator("newsrag-chat .msg.bot.answer .answer")).to_contain_text(PATRIOT_SENTENCE)


def cors(site: Site) -> dict[str, str]:
    """The CORS headers the real service sends the demo origin (a faked response needs them too)."""
    return {"Access-Control-Allow-Origin": site.demo, "Access-Control-Expose-Headers": "Retry-After"}


def test_page_css_cannot_reach_in_and_widget_css_cannot_leak_out(tab: Tab) -> None:
    page = tab.page
    page.add_style_tag(
        content="* { font-family: monospace !important; color: lime !important; }"
        "button, div, section { background: lime !important; padding: 30px !important; }"
        "newsrag-chat, section { display: block !important; }"
        ".cite, .launcher, mark { background: lime !important; }"
    )
    button = launcher(page)
    style = "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).height]"
    assert button.evaluate(style) == ["rgb(140, 28, 19)", "52px"]  # the demo's data-accent, intact
    page.evaluate(
        "() => document.body.insertAdjacentHTML('beforeend',"
        " '<p id=probe><mark>m</mark><button class=\"cite send\">1</button></p>')"
    )
    probe = page.locator("#probe .cite")
    assert probe.evaluate("el => getComputedStyle(el).borderRadius") == "0px"  # no widget rule applies
    assert page.evaluate("() => document.styleSheets.length") == page.evaluate(
        "() => document.querySelectorAll('style, link[rel=stylesheet]').length"
    )  # the widget added no stylesheet to the page


def test_theme_follows_the_pages_custom_property(tab: Tab) -> None:
    page = tab.page
    page.evaluate(
        "() => { document.querySelector('newsrag-chat').style.removeProperty('--newsrag-accent');"
        " document.documentElement.style.setProperty('--newsrag-accent', 'rgb(0, 102, 51)'); }"
    )
    assert launcher(page).evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(0, 102, 51)"


def test_same_origin_demo_page_uses_the_scripts_origin(browser: Browser, site: Site) -> None:
    tab = open_tab(browser, f"{site.api}/")  # served by the API, under its strict CSP
    page = tab.page
    try:
        expect(page).to_have_title(re.compile("Northern Ledger"))
        page.locator("#ask-cta").click()  # the page's own script (no inline code is allowed)
        panel = page.locator(PANEL)
        expect(panel).to_be_visible()
        panel.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")
        page.get_by_role("button", name=PATRIOT_Q).click()  # a suggested question
        expect(page.locator("newsrag-chat .msg.bot.answer .answer")).to_contain_text(PATRIOT_SENTENCE)
        assert tab.errors == []
        assert not [m for m in tab.console if "Content Security Policy" in m], tab.console
    finally:
        page.context.close()


def titled_answer(sentences: list[str]) -> dict[str, Any]:
    """A /v1/ask response citing TITLED_DOCUMENT for each sentence, at the offsets the service would give."""
    doc_id = TITLED_DOCUMENT["id"]
    text = TITLED_DOCUMENT["text"]

    def cited(sentence: str) -> dict[str, Any]:
        start = text.index(sentence)
        citation = {"number": 1, "doc_id": doc_id, "start": start, "end": start + len(sentence)}
        return {"text": sentence, "score": 1.0, "citations": [citation]}

    source = {k: TITLED_DOCUMENT[k] for k in ("title", "source", "url")}
    question = "How long will Finland keep its border closed?"
    return {
        "question": question,
        "query": question,
        "text": " ".join(f"{sentence}[1]" for sentence in sentences),
        "abstained": False,
        "confidence": 0.9,
        "message": None,
        "sentences": [cited(sentence) for sentence in sentences],
        "sources": [{"number": 1, "doc_id": doc_id, **source, "published_at": "2024-12-05T00:00:00Z"}],
        "short_answer": {
            "text": "until further notice",
            "doc_id": doc_id,
            "start": 73,
            "end": 93,
            "score": 0.8,
        },
        "related": [],
        "timings": {},
    }


def test_source_card_shows_title_outlet_date_and_a_safe_link(tab: Tab, site: Site) -> None:
    """The answer is fixed here (ranking is not under test); the document comes from the real service."""
    assert TITLED_DOCUMENT["text"][73:93] == "until further notice"
    answer = titled_answer([TITLED_SENTENCE, TITLED_SECOND])
    page = tab.page
    page.route(f"{site.api}/v1/ask", lambda route: route.fulfill(status=200, headers=cors(site), json=answer))
    open_widget(page)
    ask(page, answer["question"])
    reply = page.locator(REPLIES).last
    expect(reply.locator(".short")).to_have_text("until further notice")
    chips = reply.get_by_role("button", name="Source 1: Finland keeps its eastern border closed")
    expect(chips).to_have_count(2)
    with page.expect_response(f"{site.api}/v1/documents/{TITLED_DOCUMENT['id']}") as fetched:
        chips.first.click()
    assert fetched.value.status == 200
    card = reply.locator(".src")
    expect(card.locator(".src-t")).to_have_text(TITLED_DOCUMENT["title"])
    expect(card.locator(".meta")).to_have_text("The Northern Ledger · Dec 5, 2024")
    expect(card.locator("mark")).to_have_text(TITLED_SENTENCE)
    link = card.get_by_role("link", name="Read the full story")
    expect(link).to_have_attribute("href", TITLED_DOCUMENT["url"])
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    shot(page, "widget-desktop-titled-source.png")

    chips.last.click()  # the second sentence's chip moves the highlight (the document is cached)
    expect(card.locator("mark")).to_have_text(TITLED_SECOND)
    expect(chips.first).to_have_attribute("aria-expanded", "false")
    expect(chips.last).to_have_attribute("aria-expanded", "true")


def test_api_docs_show_every_operation_with_no_network(browser: Browser, site: Site) -> None:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(20_000)
    elsewhere: list[str] = []

    def only_the_service(route: Any) -> None:  # the machine has no internet: nor may the page need it
        if route.request.url.startswith(site.api):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_service)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{site.api}/docs")
        expect(page.locator("#operations-answers-ask_v1_ask_post")).to_be_visible()
        expect(page.locator(".opblock")).to_have_count(10)  # every operation of the schema
        assert elsewhere == [] and errors == []
    finally:
        context.close()
