"""Sentence spans: exact offsets, in order, covering the words of the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rag.text import sentence_spans


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
