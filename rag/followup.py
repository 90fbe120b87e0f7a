"""Follow-up questions: rewrite a short or referring question into a self-contained query."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Turn

_WORD = re.compile(r"[\w’'-]+", re.UNICODE)
_REFERRING = frozenset("it its they them their theirs he him his she her this that these those there".split())
_OPENERS = re.compile(r"^\s*(and|but|also|so|what about|how about|and what about|what of)\b", re.IGNORECASE)


def needs_context(question: str) -> bool:
    """True when the question leans on an earlier one: it refers back, or is too short to stand alone."""
    words = [w.lower() for w in _WORD.findall(question)]
    if _OPENERS.match(question):
        return True
    if any(w in _REFERRING for w in words):
        return True
    content = [w for w in words if len(w) > 3]
    return len(content) <= 1


def resolve_query(question: str, history: Sequence[Turn] = ()) -> str:
    """The retrieval query: the question itself, or the last question it follows up, then it."""
    if not history or not needs_context(question):
        return question.strip()
    anchor = history[-1].question.strip()
    # Walk back past earlier follow-ups to the question that set the topic.
    for turn in reversed(history):
        anchor = turn.question.strip()
        if not needs_context(anchor):
            break
    return f"{anchor} {question.strip()}"


__all__ = ["needs_context", "resolve_query"]
