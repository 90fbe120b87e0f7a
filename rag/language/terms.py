"""Words, terms and stems: every tokenizer, stop list and stemmer the stages use, in one place.

Three consumers analyse words differently on purpose, and each way was measured where it is used:
- the lexical query (`query_terms`, `term_variants`) keeps news tokens whole ("U.S.", "1.44",
  "F-16s") for the lexical index, and drops a short list of function words (`QUERY_STOP_WORDS`:
  a longer, NLTK-sized list measured 0.004 nDCG@10 lower on RealTimeQA dev);
- the answer stage compares a question with sentences by Snowball English stems of content
  words (`stems`, over `ANSWER_STOP_WORDS`), which fold plurals and tenses ("transferring",
  "transfer"; "deployed", "deployment");
- the learned ranker's coverage features use five-character prefixes (`prefix_stem`), which is
  what its trees were trained on.
The two stop lists differ by a few words and the answer stage's calibration was fitted on its
own; merging them changes calibrated features, so it waits for a recalibration. The lexical
index analyses (and stems, with the same Snowball English) inside the store (index/lexical.py);
the query side above picks the terms and never stems for it.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer

# Runs of letters, digits and underscores: the shingles of near-duplicate detection and the
# ranker's coverage features split on this.
_WORD = re.compile(r"\w+", re.UNICODE)
# A word with its inner apostrophes and hyphens, as a conversation refers with it ("it's", "F-16").
_HYPHENATED_WORD = re.compile(r"[\w’'-]+", re.UNICODE)
# A word with its inner apostrophes, dots and hyphens ("Biden's", "U.S", "F-16"), for stems.
_SENTENCE_TERM = re.compile(r"[\w]+(?:[’'.-][\w]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s$")

ANSWER_STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he her his how
    i if in into is it its of on or our she so than that the their them then there these they this
    those to was we were what when where which while who whom whose why will with would you about
    after before also any many much more most not no other over some such up""".split()
)
QUERY_STOP_WORDS = frozenset(
    """
    a an and are as at be by did do does for from had has have how i in is it its of on or that the
    their them they this to was were what when where which who whom whose why will with about after
    before into than then there these those would could should can may
    """.split()
)

MAX_QUERY_TERMS = 32  # a query is bounded anyway; this bounds the posting lists one search reads
_QUERY_TERM = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # dotted initialisms: U.S., U.K., D.C.
    r"|\d+(?:[.,:/]\d+)*(?:[^\W\d_]+)?"  # numbers: 1.44, 1,000, 9:30, 2/3, 16s, 3rd
    r"|[^\W_]+(?:[-'’][^\W_]+)*",  # words, hyphenated compounds (F-16s, COVID-19), contractions
    re.UNICODE,
)
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")
_PART = re.compile(r"[^\W_]+", re.UNICODE)

# Capitalised words not opening a sentence, and numbers: what a query names.
_NAMES_AND_NUMBERS = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]+|\b\d[\d.,:/]*\b")
_CAPITALISED = re.compile(r"\b[A-Z]")

_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()


def words(text: str) -> list[str]:
    """The runs of word characters of text, as written."""
    return _WORD.findall(text)


def whole_words(text: str) -> list[str]:
    """The words of text with their apostrophes and hyphens, lower-cased."""
    return [word.lower() for word in _HYPHENATED_WORD.findall(text)]


def stems(text: str) -> list[str]:
    """Content words (no stop words or possessives) as Snowball English stems."""
    return [_stem(word) for word in _content_words(text)]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    with _STEMMER_LOCK:  # a stemmer keeps the word it works on: one thread at a time
        return str(_STEMMER.stemWord(word))


def _content_words(text: str) -> list[str]:
    found = []
    for raw in _SENTENCE_TERM.findall(text.lower()):
        word = _POSSESSIVE.sub("", raw)
        if word in ANSWER_STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        found.append(word)
    return found


def prefix_stem(word: str) -> str:
    """A crude stem: the first five characters (enough to match plural and tense variants)."""
    return word[:5]


def query_terms(text: str) -> list[str]:
    """The distinct content terms of a query, lower-cased, in order (possessive 's dropped)."""
    terms: list[str] = []
    for match in _QUERY_TERM.finditer(text):
        term = _POSSESSIVE.sub("", match.group(0).lower())
        if term and term not in QUERY_STOP_WORDS:
            terms.append(term)
    return list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]


def term_variants(term: str) -> list[str]:
    """What a term searches for: U.S. -> u.s., us; 1,000 -> 1,000, 1000; F-16s -> f, 16s, f16s."""
    if "." in term and not term[0].isdigit():
        return [term, term.replace(".", "")]
    if _THOUSANDS.match(term):
        return [term, term.replace(",", "")]
    parts = [p for p in _PART.findall(term) if p not in QUERY_STOP_WORDS]
    if len(parts) > 1 and not term[0].isdigit():
        return [*parts, "".join(parts)]
    return [term]


def names_and_numbers(text: str) -> set[str]:
    """The capitalised words (not opening a sentence) and numbers of text, lower-cased."""
    return {found.lower() for found in _NAMES_AND_NUMBERS.findall(text)}


def names_someone(text: str) -> bool:
    """True when text holds a capitalised word (the test of a span that should be a name)."""
    return _CAPITALISED.search(text) is not None
