"""The ask flow: resolve the question, retrieve, compose a cited answer or abstain."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.budget import NO_DEADLINE, Deadline
from rag.compose.answer import ABSTAIN_MESSAGE, AnswerConfig, cite, compose, short_answer
from rag.compose.followup import reading_question, resolve_query
from rag.compose.reading import Finding, read_candidates
from rag.compose.sentences import Asked, Candidate, gather_candidates, sentence_ranges
from rag.errors import InvalidRequestError
from rag.limits import MAX_TOP_K, require_text
from rag.retrieve.pipeline import retrieve
from rag.types import Answer, Filters, Passage, Query, Turn

if TYPE_CHECKING:
    from index import ReadView
    from rag.compose.reader import Reader
    from rag.ingest.embedder import Embedder
    from rag.retrieve.pipeline import RetrievalConfig

RELATED = 3


@dataclass(frozen=True)
class Asking:
    """What the ask flow works with, handed down by the Engine: the embedder, one read view of
    the store for the whole question, the reader, and the retrieval and answer settings."""

    embedder: Embedder
    snapshot: ReadView
    reader: Reader
    retrieval: RetrievalConfig
    answer: AnswerConfig


@dataclass(frozen=True)
class Evidence:
    """What an answer is composed from: what is asked (with the resolved query), the passages,
    their documents' texts, the ranked sentences, and what the reader found in them."""

    asked: Asked
    passages: list[Passage]
    documents: dict[str, str]
    candidates: list[Candidate]
    findings: list[Finding]


def gather_evidence(
    asking: Asking,
    question: str,
    filters: Filters | None,
    history: Sequence[Turn],
    k: int,
    half_life_days: float | None = None,
    deadline: Deadline = NO_DEADLINE,
) -> Evidence:
    """Retrieve passages for the resolved question, then rank their stored sentences against the
    question's own words: the conversation picks the passages, the follow-up what is asked of
    them ("How long will they stay?" is not asked again of the sentence that answered where); then
    the reader reads the windows around the best of them."""
    require_text(question, "question")
    if not 1 <= k <= MAX_TOP_K:
        raise InvalidRequestError(f"top_k of {k} is out of range: use 1 to {MAX_TOP_K}")
    question = question.strip()
    query = resolve_query(question, history)
    # One model call: the question, and its resolved form when a follow-up was rewritten.
    vectors = asking.embedder.encode([question] if query == question else [question, query])
    snapshot = asking.snapshot
    request = Query(query, k, filters=filters, half_life_days=half_life_days, vector=vectors[-1])
    passages = retrieve(snapshot, request, asking.embedder.embed, asking.retrieval, deadline)
    rows = {doc_id: snapshot.document(doc_id) for doc_id in dict.fromkeys(p.doc_id for p in passages)}
    sentences = snapshot.sentences(sentence_ranges(passages)) if passages else []
    config = asking.answer
    asked = Asked(question, query)
    candidates = gather_candidates(asked, vectors[0], passages, rows, sentences, config.ranker)
    deadline.check("ranking sentences")
    documents = {doc_id: row.text for doc_id, row in rows.items() if row is not None}
    findings = read_candidates(
        asking.reader, reading_question(question, history), candidates, documents, config.rounds
    )
    deadline.check("reading")
    return Evidence(asked, passages, documents, candidates, findings)


def answer_question(
    asking: Asking,
    question: str,
    filters: Filters | None,
    history: Sequence[Turn],
    top_k: int | None,
    half_life_days: float | None = None,
    deadline: Deadline = NO_DEADLINE,
) -> Answer:
    """Engine.ask's body: a cited extractive answer, or an abstention with related passages."""
    started = time.perf_counter()
    config = asking.answer
    k = top_k or config.top_k
    evidence = gather_evidence(asking, question, filters, history, k, half_life_days, deadline)
    best = evidence.findings[0] if evidence.findings else None
    score = best.probability if best is not None else 0.0
    if best is None or score < config.threshold:
        related = [p for p in evidence.passages if p.scores.get("dense", 0.0) >= config.related_floor]
        return Answer(
            question=question,
            query=evidence.asked.query,
            text="",
            sentences=(),
            sources=(),
            abstained=True,
            confidence=score,
            message=ABSTAIN_MESSAGE,
            related=tuple(related[:RELATED]),
            timings={"total_ms": (time.perf_counter() - started) * 1000},
        )
    groups = compose(evidence.findings, evidence.candidates, evidence.documents, config)
    sentences, sources, text = cite(groups, evidence.passages, evidence.documents)
    return Answer(
        question=question,
        query=evidence.asked.query,
        text=text,
        sentences=tuple(sentences),
        sources=tuple(sources),
        abstained=False,
        confidence=score,
        short_answer=short_answer(best, evidence.documents),
        timings={"total_ms": (time.perf_counter() - started) * 1000},
    )
