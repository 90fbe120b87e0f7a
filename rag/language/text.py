"""Text with offsets: normalisation, content ids and sentence spans (words are rag.language.terms)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from rag.types import Span

# Abbreviations after which a period does not end a sentence (lower-cased, no period).
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "gov",
        "sen",
        "rep",
        "rev",
        "hon",
        "pres",
        "inc",
        "ltd",
        "co",
        "corp",
        "bros",
        "dept",
        "univ",
        "est",
        "approx",
        "vs",
        "etc",
        "al",
        "fig",
        "no",
        "nos",
        "vol",
        "pp",
        "ca",
        "cf",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "u.s.a",
        "d.c",
        "a.m",
        "p.m",
        "e.g",
        "i.e",
    ]
)

# A sentence ends at . ! ? (or an ellipsis), optionally followed by closing quotes/brackets,
# then whitespace, then something that can start a sentence. A match starts only where a run of
# stops starts and takes each run whole (possessive), so a long run is read once, not once per
# character (quadratic).
_BOUNDARY = re.compile(r"""(?<![.!?…])([.!?…]++)(["'”’)\]]*+)(\s++)(?=["'“‘(\[]?[A-Z0-9À-ÖØ-Þ])""")
MAX_SENTENCE_CHARS = 2000
# Longer than any abbreviation or initial: the word before a period is looked for this far back
# only, so splitting stays linear in the text (a search from the start at every period is not).
_LOOKBACK = 32


def normalise(text: str) -> str:
    """Unicode NFC with runs of whitespace folded to one space and the ends trimmed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_id(text: str) -> str:
    """A stable document id derived from the normalised text (16 hex digits of SHA-256)."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:16]


def _is_abbreviation(text: str, dot_at: int) -> bool:
    low = max(0, dot_at - _LOOKBACK)
    start = dot_at
    while start > low and _in_word(text[start - 1]):
        start -= 1
    if start == dot_at or (start == low and low > 0 and _in_word(text[low - 1])):
        return False  # no word, or one longer than the look-back: neither an abbreviation nor an initial
    word = text[start:dot_at].lower().rstrip(".")
    if word in _ABBREVIATIONS:
        return True
    # Single initials ("J. Smith") and dotted acronyms ("U.S.") do not end a sentence
    # when followed by a capitalised name; we accept the rare miss of "... the U.S. The ...".
    return len(word) == 1 and word.isalpha()


def _in_word(char: str) -> bool:
    return char.isalnum() or char in "._"


def sentence_spans(text: str) -> list[Span]:
    """Split text into sentence spans; each span is trimmed and text[start:end] is the sentence.
    A sentence longer than MAX_SENTENCE_CHARS (no real one is: it is a list, a table or junk) is
    cut into pieces of at most that, at a space where there is one, so that whatever reads a
    sentence does bounded work."""
    return [piece for span in _sentences(text) for piece in _bounded(text, span)]


def _bounded(text: str, span: Span) -> list[Span]:
    if span.end - span.start <= MAX_SENTENCE_CHARS:
        return [span]
    pieces = []
    start = span.start
    while span.end - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, limit)
        end = cut if cut > start else limit
        trimmed = end
        while trimmed > start and text[trimmed - 1].isspace():
            trimmed -= 1
        pieces.append(Span(start, trimmed))
        start = end
        while start < span.end and text[start].isspace():
            start += 1
    if span.end > start:
        pieces.append(Span(start, span.end))
    return pieces


def _sentences(text: str) -> list[Span]:
    spans: list[Span] = []
    for paragraph in _paragraph_spans(text):
        start = paragraph.start
        for match in _BOUNDARY.finditer(text, paragraph.start, paragraph.end):
            if match.group(1) == "." and _is_abbreviation(text, match.start(1)):
                continue
            end = match.start(3)
            if end > start:
                spans.append(Span(start, end))
            start = match.end(3)
        if paragraph.end > start:
            spans.append(Span(start, paragraph.end))
    return spans


def _paragraph_spans(text: str) -> list[Span]:
    """Non-blank lines of text, trimmed, as spans (a newline always ends a sentence)."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group(0)
        left = len(line) - len(line.lstrip())
        right = len(line.rstrip())
        if right > left:
            spans.append(Span(match.start() + left, match.start() + right))
    return spans
