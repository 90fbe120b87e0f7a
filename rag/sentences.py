"""Candidate sentences: the stored sentences of retrieved passages, their features and scores."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from index import Snapshot
from rag.shortanswer import answer_type, find_short_answer
from rag.text import content_terms
from rag.types import Passage

FEATURES = ("similarity", "coverage", "idf_coverage", "type_match", "rank_prior", "novelty", "lead")


@dataclass(frozen=True)
class LinearModel:
    """bias + weights · features: the sentence ranker and the confidence model are both this."""

    bias: float
    weights: tuple[float, ...]

    def logit(self, features: tuple[float, ...]) -> float:
        """The linear score."""
        return self.bias + sum(w * f for w, f in zip(self.weights, features, strict=True))

    def probability(self, features: tuple[float, ...]) -> float:
        """The logistic of the linear score."""
        z = self.logit(features)
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


@dataclass(frozen=True)
class Candidate:
    """A stored sentence of a retrieved document, with its features and its ranking score."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    vector: np.ndarray
    features: tuple[float, ...]
    score: float = 0.0

    @property
    def similarity(self) -> float:
        """Cosine of the sentence to the question."""
        return self.features[0]


def gather_candidates(
    snapshot: Snapshot,
    question: str,
    query_vector: np.ndarray,
    passages: list[Passage],
    ranker: LinearModel,
) -> list[Candidate]:
    """Sentences inside the retrieved passages, best first by the ranker."""
    if not passages:
        return []
    rank = {p.chunk_id: i for i, p in enumerate(passages)}
    documents = {p.doc_id: snapshot.document(p.doc_id) for p in passages}
    raw: list[tuple[str, int, int, int, str, np.ndarray, int]] = []
    seen: set[tuple[str, int]] = set()
    for row in snapshot.sentences(list(documents)):
        document = documents[row.doc_id]
        covering = [
            rank[p.chunk_id] for p in passages if p.doc_id == row.doc_id and p.start <= row.start < p.end
        ]
        if document is None or not covering or (row.doc_id, row.start) in seen:
            continue
        seen.add((row.doc_id, row.start))
        text = document.text[row.start : row.end]
        raw.append((row.doc_id, row.ordinal, row.start, row.end, text, row.vector, min(covering)))
    idf, unseen = _local_idf([r[4] for r in raw])
    asked = content_terms(question)
    kind = answer_type(question)
    candidates = []
    for doc_id, ordinal, start, end, text, vector, best_rank in raw:
        typed = 0.0 if kind is None else (1.0 if find_short_answer(question, text) else -1.0)
        similarity = float(np.dot(vector, query_vector))
        features = sentence_features(asked, text, similarity, typed, best_rank, ordinal, idf, unseen)
        candidates.append(
            Candidate(doc_id, ordinal, start, end, text, vector, features, ranker.logit(features))
        )
    return sorted(candidates, key=lambda c: (-c.score, c.doc_id, c.start))


def sentence_features(
    asked: list[str],
    text: str,
    similarity: float,
    typed: float,
    rank: int,
    ordinal: int,
    idf: dict[str, float],
    unseen: float,
) -> tuple[float, ...]:
    """The FEATURES of one sentence for one question, in their order."""
    terms = set(content_terms(text))
    wanted = set(asked)
    matched = wanted & terms
    total_idf = sum(idf.get(t, unseen) for t in wanted)
    return (
        similarity,
        len(matched) / len(wanted) if wanted else 0.0,
        sum(idf.get(t, unseen) for t in matched) / total_idf if total_idf else 0.0,
        typed,
        1.0 / (1.0 + rank),
        len(terms - wanted) / len(terms) if terms else 0.0,
        1.0 if ordinal == 0 else 0.0,
    )


def _local_idf(texts: list[str]) -> tuple[dict[str, float], float]:
    """Inverse document frequency over the candidate sentences (topic words weigh little), and
    the weight of a term no candidate holds."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(content_terms(text)))
    n = len(texts)
    return {term: math.log(1.0 + n / (1.0 + df)) for term, df in counts.items()}, math.log(1.0 + n)
