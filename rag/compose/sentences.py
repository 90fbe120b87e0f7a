"""Candidate sentences: the stored sentences of retrieved passages, their features and scores."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from index import DocumentRow, SentenceRow
from rag.language.terms import stems
from rag.types import Passage

FEATURES = (
    "similarity",  # cosine of the sentence and the question
    "coverage",  # share of the question's content terms in the sentence
    "idf_coverage",  # the same, weighted by IDF over the candidate sentences
    "rank_prior",  # 1 / (1 + rank of the best retrieved passage holding it)
    "novelty",  # share of the sentence's terms the question does not use
    "lead",  # 1 for a document's first sentence
    "doc_coverage",  # IDF-weighted share of the question's terms anywhere in the sentence's document
    "passage_dense",  # cosine of the question with the best retrieved passage holding the sentence
)
# doc_coverage reads this much of a document (with its title): all of any news summary, and a
# bound on the work one ask does for a document of any length.
DOCUMENT_FEATURE_CHARS = 20_000


@dataclass(frozen=True)
class LinearModel:
    """bias + weights · features: the sentence ranker and the reader's confidence model are both this."""

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
class Asked:
    """What sentences are judged against: the question's own words, and the self-contained query
    its conversation resolves to (which picked the passages)."""

    question: str
    query: str


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


def sentence_ranges(passages: Sequence[Passage]) -> list[tuple[str, int, int]]:
    """The (doc_id, start, end) ranges whose stored sentences are the passages' candidates."""
    return [(p.doc_id, p.start, p.end) for p in passages]


def gather_candidates(
    asked: Asked,
    question_vector: np.ndarray,
    passages: list[Passage],
    documents: Mapping[str, DocumentRow | None],
    sentences: Sequence[SentenceRow],
    ranker: LinearModel,
) -> list[Candidate]:
    """The passages' stored sentences (as `sentence_ranges` asks for them), best first by the
    ranker: term coverage and similarity against the question's own words and vector. documents
    holds the passages' documents by id, in passage order (None for one deleted since)."""
    if not passages:
        return []
    raw: list[tuple[str, int, int, int, str, np.ndarray, Passage]] = []
    seen: set[tuple[str, int]] = set()
    for row in sentences:
        document = documents[row.doc_id]
        covering = next(
            (p for p in passages if p.doc_id == row.doc_id and p.start <= row.start < p.end), None
        )
        if document is None or covering is None or (row.doc_id, row.start) in seen:
            continue
        seen.add((row.doc_id, row.start))
        text = document.text[row.start : row.end]
        raw.append((row.doc_id, row.ordinal, row.start, row.end, text, row.vector, covering))
    idf, unseen = _local_idf([r[4] for r in raw])
    question_view = QuestionView.of(asked, idf, unseen)
    rank = {p.chunk_id: i for i, p in enumerate(passages)}
    context = {
        doc_id: question_view.document_features(f"{d.title or ''} {d.text[:DOCUMENT_FEATURE_CHARS]}")
        for doc_id, d in documents.items()
        if d is not None
    }
    candidates = []
    for doc_id, ordinal, start, end, text, vector, passage in raw:
        similarity = float(np.dot(vector, question_vector))
        features = (
            *sentence_features(
                question_view.asked, text, similarity, rank[passage.chunk_id], ordinal, idf, unseen
            ),
            *context[doc_id],
            passage.scores.get("dense", 0.0),
        )
        candidates.append(
            Candidate(doc_id, ordinal, start, end, text, vector, features, ranker.logit(features))
        )
    return sorted(candidates, key=lambda c: (-c.score, c.doc_id, c.start))


@dataclass(frozen=True)
class QuestionView:
    """What the features need of the question: its terms with their weights."""

    asked: list[str]
    weights: dict[str, float]

    @classmethod
    def of(cls, asked: Asked, idf: dict[str, float], unseen: float) -> QuestionView:
        """The view of the question under the candidates' IDF: its own terms."""
        terms = stems(asked.question)
        return cls(terms, {t: idf.get(t, unseen) for t in set(terms)})

    def document_features(self, text: str) -> tuple[float]:
        """doc_coverage of one document."""
        terms = set(stems(text))
        total = sum(self.weights.values())
        return (sum(w for t, w in self.weights.items() if t in terms) / total if total else 0.0,)


def sentence_features(
    asked: list[str],
    text: str,
    similarity: float,
    rank: int,
    ordinal: int,
    idf: dict[str, float],
    unseen: float,
) -> tuple[float, ...]:
    """The sentence's own FEATURES (the first six), in their order."""
    terms = set(stems(text))
    wanted = set(asked)
    matched = wanted & terms
    total_idf = sum(idf.get(t, unseen) for t in wanted)
    return (
        similarity,
        len(matched) / len(wanted) if wanted else 0.0,
        sum(idf.get(t, unseen) for t in matched) / total_idf if total_idf else 0.0,
        1.0 / (1.0 + rank),
        len(terms - wanted) / len(terms) if terms else 0.0,
        1.0 if ordinal == 0 else 0.0,
    )


def _local_idf(texts: list[str]) -> tuple[dict[str, float], float]:
    """Inverse document frequency over the candidate sentences (topic words weigh little), and
    the weight of a term no candidate holds."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(stems(text)))
    n = len(texts)
    return {term: math.log(1.0 + n / (1.0 + df)) for term, df in counts.items()}, math.log(1.0 + n)
