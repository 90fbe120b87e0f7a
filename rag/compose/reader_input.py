"""What the reader reads: a question and a window of one document's sentences around a candidate.

Training (bench/train_reader.py) and answering (rag/compose/reader.py) build windows here, so the model is
always asked the way it was taught. A window is one slice of the document's own text, from the
start of a sentence to the end of a sentence: the candidate sentence, then its neighbours while
they fit the token budget (the one before first, for the antecedent of "He" or "This", then the
one after), so a span the model picks has exact offsets in the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Tokens of the whole input, [CLS] question [SEP] window [SEP]; chosen by measurement (README).
MAX_TOKENS = 128
MAX_QUESTION_TOKENS = 40


@dataclass(frozen=True)
class Window:
    """Sentences first..last (inclusive) of a document, spanning text[start:end]."""

    first: int
    last: int
    start: int
    end: int


def window_around(
    centre: int,
    sentences: Sequence[tuple[int, int]],
    token_counts: Sequence[int],
    budget: int,
) -> Window:
    """The window around sentence `centre`: it, then the sentence before, then the one after,
    each taken only while the sum of token counts stays within budget (the centre always is)."""
    first = last = centre
    used = token_counts[centre]
    if centre > 0 and used + token_counts[centre - 1] <= budget:
        first = centre - 1
        used += token_counts[centre - 1]
    if centre + 1 < len(sentences) and used + token_counts[centre + 1] <= budget:
        last = centre + 1
    return Window(first, last, sentences[first][0], sentences[last][1])


def window_budget(question_tokens: int, max_tokens: int = MAX_TOKENS) -> int:
    """Tokens left for the window once the question (capped) and the three special tokens are in."""
    return max_tokens - 3 - min(question_tokens, MAX_QUESTION_TOKENS)
