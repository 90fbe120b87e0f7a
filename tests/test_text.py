"""Text primitives: sentence spans with exact offsets, and the stems answers compare."""

from __future__ import annotations

import random
import sys
from concurrent.futures import ThreadPoolExecutor

import snowballstemmer
from hypothesis import given
from hypothesis import strategies as st

from rag.language.terms import _content_words, _stem, stems
from rag.language.text import sentence_spans


def _sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in sentence_spans(text)]


def test_abbreviations_initials_and_amounts_do_not_split() -> None:
    text = 'The U.S. Army said so. Mr. Smith paid $1.44 billion. "Yes," she said. J. K. Rowling wrote.'
    assert _sentences(text) == [
        "The U.S. Army said so.",
        "Mr. Smith paid $1.44 billion.",
        '"Yes," she said.',
        "J. K. Rowling wrote.",
    ]


def test_lines_end_sentences() -> None:
    assert _sentences("A heading\n\nFirst sentence. Second one!\nThird?") == [
        "A heading",
        "First sentence.",
        "Second one!",
        "Third?",
    ]


_sentence_text = st.lists(st.sampled_from([*"abcXYZ .!?\n\"'0123,", "U.S.", "Mr. ", "…"]), max_size=120).map(
    "".join
)


@given(_sentence_text)
def test_spans_are_ordered_trimmed_and_cover_every_word(text: str) -> None:
    spans = sentence_spans(text)
    previous_end = 0
    covered = [False] * len(text)
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip() and piece
        for i in range(span.start, span.end):
            covered[i] = True
        previous_end = span.end
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())


def test_question_view_weighs_the_question_s_terms_found_in_a_document() -> None:
    from rag.compose.sentences import Asked, QuestionView

    question = "How many Patriot batteries does the US keep in Poland’s east?"
    view = QuestionView.of(Asked(question, question), {}, 1.0)
    germany = "Germany will deploy Patriot missile units to Poland, Russia’s neighbour, in January 2025."
    (coverage,) = view.document_features(germany)
    asked = set(view.asked)
    assert coverage == len(asked & {"patriot", "poland"}) / len(asked)
    assert QuestionView.of(Asked("what is it?", "what is it?"), {}, 1.0).document_features("anything") == (
        0.0,
    )


def test_stems_match_a_question_word_to_its_other_forms_in_an_answer() -> None:
    question = stems("What is Russia transferring to the previously deployed units?")
    answer = stems("Rutte warned of the transfer of missile technology after a previous deployment.")
    assert set(question) & set(answer) == {"transfer", "previous", "deploy"}
    assert "the" not in question and "what" not in question  # stop words stay out


def test_stems_are_the_same_from_many_threads_at_once() -> None:
    # The API answers in a thread pool; a shared stemmer must not mix up concurrent words.
    rng = random.Random(1)
    words = [
        "".join(rng.choice("aeioutransferingdeploymntsl") for _ in range(rng.randint(5, 14)))
        for _ in range(40000)
    ]
    texts = [" ".join(words[i : i + 50]) for i in range(0, len(words), 50)]
    reference = snowballstemmer.stemmer("english")
    expected = [
        [reference.stemWord(w) for w in content_words] for content_words in map(_content_words, texts)
    ]
    _stem.cache_clear()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(stems, texts))
    finally:
        sys.setswitchinterval(interval)
    assert got == expected
