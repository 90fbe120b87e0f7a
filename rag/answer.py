"""Extractive answers: score stored sentences of the retrieved passages, cite them, or abstain."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tiktoken

from index import Snapshot
from rag.chunking import ENCODING
from rag.shortanswer import answer_type, find_short_answer
from rag.text import content_terms, normalise
from rag.types import AnswerSentence, Citation, Passage, ShortAnswer, Source

ABSTAIN_MESSAGE = "The summaries do not answer this question."
CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


def load_calibration(path: Path = CALIBRATION_FILE) -> dict[str, Any]:
    """The confidence model fitted on dev data by eval.calibrate (bias, weights, threshold)."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


_CALIBRATION = load_calibration()


@dataclass(frozen=True)
class AnswerConfig:
    """How answers are composed and when the service abstains (see eval for the operating point)."""

    top_k: int = 5  # passages whose sentences compete
    max_sentences: int = 3
    token_budget: int = 140  # tiktoken tokens of answer text
    support_ratio: float = 0.85  # a supporting sentence scores at least this share of the best
    duplicate_cosine: float = 0.93  # sentences this similar are one statement from several outlets
    # Confidence = sigmoid(bias + weights · features(best sentence)); abstain below threshold.
    threshold: float = float(_CALIBRATION["threshold"])
    bias: float = float(_CALIBRATION["bias"])
    weights: tuple[float, ...] = tuple(float(w) for w in _CALIBRATION["weights"])


@dataclass(frozen=True)
class Candidate:
    """A stored sentence of a retrieved document, with what it is scored on."""

    doc_id: str
    start: int
    end: int
    text: str
    vector: np.ndarray
    similarity: float
    coverage: float
    rank_prior: float
    typed: float  # +1 holds a span of the asked-for type, -1 holds none, 0 the question asks no type

    @property
    def score(self) -> float:
        """The ranking score: meaning first, then the question's words, the type, the passage's rank."""
        return 0.6 * self.similarity + 0.25 * self.coverage + 0.1 * self.rank_prior + 0.1 * self.typed


def gather_candidates(
    snapshot: Snapshot, question: str, query_vector: np.ndarray, passages: list[Passage]
) -> list[Candidate]:
    """Sentences inside the retrieved passages, scored against the question."""
    if not passages:
        return []
    rank = {p.chunk_id: i for i, p in enumerate(passages)}
    texts = {p.doc_id: snapshot.document(p.doc_id) for p in passages}
    asked = set(content_terms(question))
    kind = answer_type(question)
    found: dict[tuple[str, int], Candidate] = {}
    for row in snapshot.sentences(list(texts)):
        doc = texts[row.doc_id]
        covering = [p for p in passages if p.doc_id == row.doc_id and p.start <= row.start < p.end]
        if doc is None or not covering:
            continue
        text = doc.text[row.start : row.end]
        terms = set(content_terms(text))
        best_rank = min(rank[p.chunk_id] for p in covering)
        found[(row.doc_id, row.start)] = Candidate(
            doc_id=row.doc_id,
            start=row.start,
            end=row.end,
            text=text,
            vector=row.vector,
            similarity=float(np.dot(row.vector, query_vector)),
            coverage=len(asked & terms) / len(asked) if asked else 0.0,
            rank_prior=1.0 / (1.0 + best_rank),
            typed=0.0 if kind is None else (1.0 if find_short_answer(question, text) else -1.0),
        )
    return sorted(found.values(), key=lambda c: -c.score)


def features(best: Candidate) -> tuple[float, float, float, float]:
    """What confidence is computed from: similarity, coverage, type match, passage rank."""
    return (best.similarity, best.coverage, best.typed, best.rank_prior)


def confidence(best: Candidate | None, config: AnswerConfig) -> float:
    """The probability that the best sentence answers the question (calibrated on dev data)."""
    if best is None:
        return 0.0
    z = config.bias + sum(w * f for w, f in zip(config.weights, features(best), strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def select(candidates: list[Candidate], config: AnswerConfig) -> list[list[Candidate]]:
    """The answer's statements, best first: each a group of near-identical sentences."""
    encoding = tiktoken.get_encoding(ENCODING)
    groups: list[list[Candidate]] = []
    used = 0
    for candidate in candidates:
        twin = next((g for g in groups if _same_statement(g[0], candidate, config)), None)
        if twin is not None:
            if all(c.doc_id != candidate.doc_id for c in twin):
                twin.append(candidate)
            continue
        if groups and (
            len(groups) >= config.max_sentences or candidate.score < config.support_ratio * groups[0][0].score
        ):
            continue
        cost = len(encoding.encode(candidate.text, disallowed_special=()))
        if groups and used + cost > config.token_budget:
            continue
        groups.append([candidate])
        used += cost
    return _reading_order(groups)


def _same_statement(a: Candidate, b: Candidate, config: AnswerConfig) -> bool:
    if a.doc_id == b.doc_id:
        return False
    return (
        normalise(a.text) == normalise(b.text) or float(np.dot(a.vector, b.vector)) >= config.duplicate_cosine
    )


def _reading_order(groups: list[list[Candidate]]) -> list[list[Candidate]]:
    """The best first; the rest grouped by document, each document's sentences in their order."""
    if len(groups) <= 1:
        return groups
    best, rest = groups[0], groups[1:]
    doc_order: dict[str, int] = {}
    for group in groups:
        doc_order.setdefault(group[0].doc_id, len(doc_order))
    return [best, *sorted(rest, key=lambda g: (doc_order[g[0].doc_id], g[0].start))]


def cite(
    groups: list[list[Candidate]], passages: list[Passage]
) -> tuple[list[AnswerSentence], list[Source], str]:
    """Number the sources in order of first citation; build the sentences and the marked-up text."""
    by_doc = {p.doc_id: p for p in passages}
    numbers: dict[str, int] = {}
    sentences = []
    for group in groups:
        citations = []
        for c in group:
            number = numbers.setdefault(c.doc_id, len(numbers) + 1)
            citations.append(Citation(number=number, doc_id=c.doc_id, start=c.start, end=c.end))
        sentences.append(AnswerSentence(text=group[0].text, citations=tuple(citations), score=group[0].score))
    sources = [_source(number, by_doc[doc_id]) for doc_id, number in numbers.items()]
    text = " ".join(s.text + "".join(f"[{c.number}]" for c in s.citations) for s in sentences)
    return sentences, sources, text


def _source(number: int, p: Passage) -> Source:
    return Source(number, p.doc_id, p.title, p.source, p.url, p.published_at)


def short_answer(question: str, best: Candidate) -> ShortAnswer | None:
    """The exact answer span inside the best sentence, with document offsets."""
    span = find_short_answer(question, best.text)
    if span is None:
        return None
    start = best.start + span.start
    return ShortAnswer(
        text=span.text, doc_id=best.doc_id, start=start, end=best.start + span.end, score=span.score
    )
