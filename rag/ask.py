"""The ask flow: resolve the question, retrieve, compose a cited answer or abstain."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.answer import ABSTAIN_MESSAGE, cite, confidence, select, short_answer
from rag.errors import InvalidRequestError
from rag.followup import is_elliptical, resolve_query
from rag.retrieval import DEFAULT_MODE, retrieve
from rag.sentences import Asked, Candidate, gather_candidates
from rag.shortanswer import answer_type
from rag.types import Answer, Filters, Passage, Turn

if TYPE_CHECKING:
    from rag.engine import Engine

MAX_TOP_K = 50
RELATED = 3


@dataclass(frozen=True)
class Evidence:
    """What an answer is composed from: what is asked (with the resolved query and the expected
    answer type), the passages, the ranked sentences."""

    asked: Asked
    passages: list[Passage]
    candidates: list[Candidate]


def gather_evidence(
    engine: Engine,
    question: str,
    filters: Filters | None,
    history: Sequence[Turn],
    k: int,
    half_life_days: float | None = None,
) -> Evidence:
    """Retrieve passages for the resolved question, then rank their stored sentences against the
    question's own words: the conversation picks the passages, the follow-up what is asked of
    them ("How long will they stay?" is not asked again of the sentence that answered where). The
    answer type is the question's own; a follow-up that asks nothing of its own ("And what about
    Poland?") takes its conversation's."""
    if not question.strip():
        raise InvalidRequestError("the question is empty: ask about something")
    if not 1 <= k <= MAX_TOP_K:
        raise InvalidRequestError(f"top_k of {k} is out of range: use 1 to {MAX_TOP_K}")
    question = question.strip()
    query = resolve_query(question, history)
    kind = answer_type(question) or (answer_type(query) if is_elliptical(question) else None)
    # One model call: the question, and its resolved form when a follow-up was rewritten.
    vectors = engine.embedder.encode([question] if query == question else [question, query])
    snapshot = engine.snapshot()
    passages = retrieve(
        snapshot, query, lambda _: vectors[-1], k, filters, DEFAULT_MODE, half_life_days=half_life_days
    )
    ranker = engine.config.answer.ranker
    asked = Asked(question, query, kind)
    return Evidence(asked, passages, gather_candidates(snapshot, asked, vectors[0], passages, ranker))


def answer_question(
    engine: Engine,
    question: str,
    filters: Filters | None,
    history: Sequence[Turn],
    top_k: int | None,
    half_life_days: float | None = None,
) -> Answer:
    """Engine.ask's body: a cited extractive answer, or an abstention with related passages."""
    started = time.perf_counter()
    config = engine.config.answer
    evidence = gather_evidence(engine, question, filters, history, top_k or config.top_k, half_life_days)
    groups = select(evidence.candidates, config)
    score = confidence(evidence.asked, evidence.candidates, groups, config)
    if not evidence.candidates or score < config.threshold:
        return Answer(
            question=question,
            query=evidence.asked.query,
            text="",
            sentences=(),
            sources=(),
            abstained=True,
            confidence=score,
            message=ABSTAIN_MESSAGE,
            related=tuple(evidence.passages[:RELATED]),
            timings={"total_ms": (time.perf_counter() - started) * 1000},
        )
    sentences, sources, text = cite(groups, evidence.passages)
    return Answer(
        question=question,
        query=evidence.asked.query,
        text=text,
        sentences=tuple(sentences),
        sources=tuple(sources),
        abstained=False,
        confidence=score,
        short_answer=short_answer(evidence.asked, evidence.candidates[0]),
        timings={"total_ms": (time.perf_counter() - started) * 1000},
    )
