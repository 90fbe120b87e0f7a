"""Follow-up questions: rewrite a short or referring question into a self-contained query."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.language.terms import whole_words
from rag.types import Turn

_REFERRING = frozenset("it its they them their theirs he him his she her this that these those there".split())
_QUESTION_WORDS = frozenset("what who whom whose when where which why how".split())
_OPENERS = re.compile(
    r"^\s*(and what about|and how about|what about|how about|what of|and|but|also|so)\b", re.IGNORECASE
)


def needs_context(question: str) -> bool:
    """True when the question leans on an earlier one: it refers back, or is too short to stand alone."""
    words = whole_words(question)
    if _OPENERS.match(question):
        return True
    if any(w in _REFERRING for w in words):
        return True
    content = [w for w in words if len(w) > 3]
    return len(content) <= 1


def is_elliptical(question: str) -> bool:
    """The question asks again what its conversation asked, of something else: "And what about
    Poland?", "How about the drones?". It has no question word past its opener, so the earlier
    question says what kind of answer is wanted."""
    opener = _OPENERS.match(question)
    if opener is None:
        return False
    rest = set(whole_words(question[opener.end() :]))
    return not rest & _QUESTION_WORDS


def resolve_query(question: str, history: Sequence[Turn] = ()) -> str:
    """The retrieval query: the question itself, or the last question it follows up, then it."""
    if not history or not needs_context(question):
        return question.strip()
    return f"{_anchor(history)} {question.strip()}"


def reading_question(question: str, history: Sequence[Turn] = ()) -> str:
    """What the reader is asked: the question's own words, or for an elliptical follow-up the
    question word of the question it follows with its own subject ("Which country is hosting the
    training center?" then "And what about the Patriot units?" reads "Which country the Patriot
    units?"): read whole, the earlier question's own subject would answer it again."""
    question = question.strip()
    opener = _OPENERS.match(question)
    if not history or opener is None or not is_elliptical(question):
        return question
    anchor = _anchor(history)
    words = anchor.split()
    first = next((i for i, w in enumerate(words) if w.lower().strip("?,") in _QUESTION_WORDS), None)
    if first is None:
        return f"{anchor} {question}"
    # "Which country", "How many", "What year": the question word and the word it governs.
    governs = words[first].lower() in {"which", "what", "whose", "how"} and first + 1 < len(words)
    asks = " ".join(words[first : first + 2 if governs else first + 1]).rstrip("?,")
    return f"{asks} {question[opener.end() :].strip()}"


def _anchor(history: Sequence[Turn]) -> str:
    """The question that set the conversation's topic: the last one, walking back past follow-ups."""
    anchor = history[-1].question.strip()
    for turn in reversed(history):
        anchor = turn.question.strip()
        if not needs_context(anchor):
            break
    return anchor


__all__ = ["is_elliptical", "needs_context", "reading_question", "resolve_query"]
