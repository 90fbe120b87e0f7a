"""Text primitives with offsets: normalisation, content ids, sentence spans."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

from rag.types import Span

_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()

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


_TERM = re.compile(r"[\w]+(?:[’'.-][\w]+)*", re.UNICODE)
STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his how
    i if in into is it its of on or our she so than that the their them then there these they this
    those to was we were what when where which while who whom whose why will with would you about
    after before also any many much more most not no other over some such up""".split()
)


def stems(text: str) -> list[str]:
    """Content words (no stop words or possessives) as Snowball English stems, which fold plurals
    themselves: transferring, transfer; deployed, deployment."""
    return [_stem(word) for word in _content_words(text)]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    with _STEMMER_LOCK:  # a stemmer keeps the word it works on: one thread at a time
        return str(_STEMMER.stemWord(word))


def content_terms(text: str) -> list[str]:
    """Lower-cased words of text without stop words, with possessives and plural -s folded."""
    return [
        word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word
        for word in _content_words(text)
    ]


def _content_words(text: str) -> list[str]:
    words = []
    for raw in _TERM.findall(text.lower()):
        word = re.sub(r"[’']s$", "", raw)
        if word in STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        words.append(word)
    return words
