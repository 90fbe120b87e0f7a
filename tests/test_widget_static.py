"""The widget's files as text: small, no dependencies, no HTML parsing of data, embedded as customers do."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "api" / "static"
WIDGET = STATIC / "widget.js"
BUDGET_BYTES = 30_000  # uncompressed; the widget loads on every article page of a customer's site


def test_widget_fits_its_size_budget() -> None:
    size = WIDGET.stat().st_size
    assert size < BUDGET_BYTES, f"widget.js is {size} bytes, over its {BUDGET_BYTES}-byte budget"


def test_widget_never_parses_strings_as_html_or_code() -> None:
    source = WIDGET.read_text(encoding="utf-8")
    sinks = r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|ContextualFragment"
    assert re.findall(sinks, source) == []


def test_widget_has_no_dependencies_or_build_step() -> None:
    source = WIDGET.read_text(encoding="utf-8")
    assert re.findall(r"^\s*(import|export)\b|\brequire\(", source, flags=re.MULTILINE) == []
    assert re.findall(r"https?://(?!www\.w3\.org/2000/svg|SERVICE/)", source) == []  # loads nothing else


def test_demo_page_embeds_the_widget_with_one_deferred_script_tag() -> None:
    html = (STATIC / "demo.html").read_text(encoding="utf-8")
    tags = re.findall(r"<script\b[^>]*\bsrc=\"/widget\.js\"[^>]*>", html)
    assert len(tags) == 1
    assert " defer" in tags[0]
    assert "data-endpoint" not in tags[0]  # served by the API itself: the script's own origin is the default
